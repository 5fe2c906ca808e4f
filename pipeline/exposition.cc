#include "pipeline/exposition.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

#include "base/format_double.h"
#include "rules/sentiment.h"

namespace earshot {
namespace {

using prometheus::MetricType;

using rules::kSentimentCount;

const char* const kTotalNames[kBasisCount] = {"earshot_mentions_total", "earshot_reach_total",
                                              "earshot_engagement_total", "earshot_views_total"};
const char* const kTotalHelp[kBasisCount] = {
    "Matched events per brand and platform (a post naming two brands counts for both).",
    "Sum of author.followers of matched events.",
    "Sum of likes + shares + comments of matched events.", "Sum of views of matched events."};
const char* const kWindowNames[kBasisCount] = {"earshot_window_mentions", "earshot_window_reach",
                                               "earshot_window_engagement",
                                               "earshot_window_views"};
const char* const kWindowHelp[kBasisCount] = {
    "Matched events within the window.", "Sum of author.followers within the window.",
    "Sum of likes + shares + comments within the window.", "Sum of views within the window."};
const char* const kShareName = "earshot_share_of_voice_ratio";
const char* const kShareHelp =
    "Brand's share of its category's total, per window, platform and basis; "
    "platform=\"all\" is the cross-platform value.";
const char* const kTopicName = "earshot_topic_mentions_total";
const char* const kTopicHelp =
    "Events matching a topic, per brand matched with it (category=\"none\", "
    "brand=\"none\" when no brand matched).";
const char* const kSentimentName = "earshot_sentiment_mentions_total";
const char* const kSentimentHelp = "Matched events per brand, platform and lexicon sentiment.";

// Signals (docs/signals.md): score, baseline, active, spikes_total.
constexpr int kSpikeFamilies = 4;
const char* const kSpikeNames[kSpikeFamilies] = {"earshot_spike_score", "earshot_spike_baseline",
                                                 "earshot_spike_active", "earshot_spikes_total"};
const char* const kSpikeHelp[kSpikeFamilies] = {
    ("z-score of the brand's mentions in the last closed signals pane against its baseline: "
     "(x - m) / sqrt(v + m + 1)."),
    "The baseline (exponentially weighted mean of mentions per pane) the last score used.",
    "1 while a mention spike is active (raised at signals.threshold, cleared below half of it).",
    "Mention spikes raised."};
double SpikeValue(int family, const SpikeGauge& g) {
  switch (family) {
    case 0: return g.score;
    case 1: return g.baseline;
    case 2: return g.active ? 1 : 0;
    default: return static_cast<double>(g.spikes);
  }
}
// audience
const char* const kUniqueAuthorsName = "earshot_window_unique_authors";
const char* const kUniqueAuthorsHelp =
    "Distinct author.id among the brand's events within the window (HyperLogLog estimate); "
    "platform=\"all\" is across platforms. Summed over replicas it is an upper bound.";

const char* SentimentLabel(int k) { return rules::SentimentName(static_cast<rules::Sentiment>(k)); }

// Receives the result series in exposition order, by index into the
// snapshot (the sink resolves names). `platform` == P is platform="all".
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void Family(const char* name, const char* help, MetricType type) = 0;
  virtual void EndFamily() = 0;
  virtual void Total(int basis, uint32_t brand, uint32_t platform, uint64_t value) = 0;
  virtual void Window(int basis, size_t window, uint32_t brand, uint32_t platform,
                      uint64_t value) = 0;
  virtual void Share(size_t window, uint32_t brand, uint32_t platform, int basis,
                     double value) = 0;
  virtual void Topic(uint32_t topic, uint32_t brand_plus_one, uint32_t platform,
                     uint64_t value) = 0;
  virtual void Sentiment(uint32_t brand, uint32_t platform, int sentiment, uint64_t value) = 0;
  // Family `family` of kSpikeNames; `platform` == P is "all".
  virtual void Spike(int family, uint32_t brand, uint32_t platform, double value) = 0;
  virtual void UniqueAuthors(size_t window, uint32_t brand, uint32_t platform,
                             uint64_t value) = 0;  // audience
};

// The one definition of which series exist and in what order.
void EmitResults(const ResultsSnapshot& s, ResultSink* sink) {
  const uint32_t P = static_cast<uint32_t>(s.platform_count());
  const uint32_t B = static_cast<uint32_t>(s.brand_names.size());
  const size_t W = s.windows.size();
  const auto& cats = s.categories;

  // Monotonic totals.
  for (int basis = 0; basis < kBasisCount; ++basis) {
    sink->Family(kTotalNames[basis], kTotalHelp[basis], MetricType::Counter);
    for (uint32_t id = 0; id < B; ++id) {
      for (uint32_t p = 0; p < P; ++p) {
        const auto& t = s.totals[static_cast<size_t>(id) * P + p];
        if (t.present) sink->Total(basis, id, p, t.v.v[basis]);
      }
    }
    sink->EndFamily();
  }

  // Window gauges: every brand of a category on each platform where that
  // category has data in some window (zeros included, so stacked panels and
  // cross-replica sums see a complete category).
  constexpr uint32_t kNoCategory = UINT32_MAX;
  std::vector<uint32_t> category_of(B, kNoCategory);
  for (size_t c = 0; c < cats.size(); ++c)
    for (uint32_t id : cats[c].brand_ids) category_of[id] = static_cast<uint32_t>(c);
  std::vector<char> active(cats.size() * P, 0);  // [category * P + platform]
  for (uint32_t id = 0; id < B; ++id) {
    if (category_of[id] == kNoCategory) continue;
    for (uint32_t p = 0; p < P; ++p) {
      for (size_t w = 0; w < W; ++w) {
        if (!s.window(w, id, p).zero()) active[static_cast<size_t>(category_of[id]) * P + p] = 1;
      }
    }
  }
  for (int basis = 0; basis < kBasisCount; ++basis) {
    sink->Family(kWindowNames[basis], kWindowHelp[basis], MetricType::Gauge);
    for (size_t w = 0; w < W; ++w) {
      for (size_t c = 0; c < cats.size(); ++c) {
        for (uint32_t p = 0; p < P; ++p) {
          if (!active[c * P + p]) continue;
          for (uint32_t id : cats[c].brand_ids)
            sink->Window(basis, w, id, p, s.window(w, id, p).v[basis]);
        }
      }
    }
    sink->EndFamily();
  }

  // Share of voice: brand / category sum, per window, platform (and "all"),
  // basis. The sums are doubles added in this order, as before.
  sink->Family(kShareName, kShareHelp, MetricType::Gauge);
  std::vector<double> all, vals;
  for (size_t w = 0; w < W; ++w) {
    for (const auto& cat : cats) {
      const size_t n = cat.brand_ids.size();
      for (int basis = 0; basis < kBasisCount; ++basis) {
        all.assign(n, 0);
        vals.resize(n);
        double all_sum = 0;
        for (uint32_t p = 0; p < P; ++p) {
          double sum = 0;
          for (size_t i = 0; i < n; ++i) {
            const double x = static_cast<double>(s.window(w, cat.brand_ids[i], p).v[basis]);
            vals[i] = x;
            all[i] += x;
            sum += x;
          }
          all_sum += sum;
          if (sum <= 0) continue;
          for (size_t i = 0; i < n; ++i) sink->Share(w, cat.brand_ids[i], p, basis, vals[i] / sum);
        }
        if (all_sum <= 0) continue;
        for (size_t i = 0; i < n; ++i) sink->Share(w, cat.brand_ids[i], P, basis, all[i] / all_sum);
      }
    }
  }
  sink->EndFamily();

  sink->Family(kTopicName, kTopicHelp, MetricType::Counter);
  for (const auto& t : s.topics) sink->Topic(t.topic, t.brand_plus_one, t.platform, t.count);
  sink->EndFamily();

  sink->Family(kSentimentName, kSentimentHelp, MetricType::Counter);
  for (uint32_t id = 0; id < B; ++id) {
    for (uint32_t p = 0; p < P; ++p) {
      const auto& t = s.totals[static_cast<size_t>(id) * P + p];
      if (!t.present) continue;
      for (int k = 0; k < kSentimentCount; ++k) sink->Sentiment(id, p, k, t.sentiment[k]);
    }
  }
  sink->EndFamily();

  // Signals: spike series (platform="all" included), as pipeline/signals.h
  // ordered them.
  for (int f = 0; f < kSpikeFamilies; ++f) {
    sink->Family(kSpikeNames[f], kSpikeHelp[f], f == 3 ? MetricType::Counter : MetricType::Gauge);
    for (const SpikeGauge& g : s.spikes) {
      if (g.brand < B && g.platform <= P) sink->Spike(f, g.brand, g.platform, SpikeValue(f, g));
    }
    sink->EndFamily();
  }

  // audience: distinct authors, on the platforms where the window gauges
  // are (same series), then across all of them (platform="all").
  if (!s.unique_authors.empty()) {
    sink->Family(kUniqueAuthorsName, kUniqueAuthorsHelp, MetricType::Gauge);
    for (size_t w = 0; w < W; ++w) {
      for (size_t c = 0; c < cats.size(); ++c) {
        bool any = false;
        for (uint32_t p = 0; p < P; ++p) {
          if (!active[c * P + p]) continue;
          any = true;
          for (uint32_t id : cats[c].brand_ids) sink->UniqueAuthors(w, id, p, s.unique(w, id, p));
        }
        if (!any) continue;
        for (uint32_t id : cats[c].brand_ids) sink->UniqueAuthors(w, id, P, s.unique(w, id, P));
      }
    }
    sink->EndFamily();
  }
}

// ---------------------------------------------------------------------------
// MetricFamily objects

class FamilySink : public ResultSink {
 public:
  FamilySink(const ResultsSnapshot& s, std::vector<prometheus::MetricFamily>* out)
      : s_(s), out_(out) {}
  void Family(const char* name, const char* help, MetricType type) override {
    f_ = prometheus::MetricFamily{};
    f_.name = name;
    f_.help = help;
    f_.type = type;
  }
  void EndFamily() override { out_->push_back(std::move(f_)); }
  void Total(int basis, uint32_t brand, uint32_t platform, uint64_t value) override {
    Add({{"category", Category(brand)}, {"brand", Brand(brand)}, {"platform", Platform(platform)}},
        static_cast<double>(value));
  }
  void Window(int basis, size_t window, uint32_t brand, uint32_t platform,
              uint64_t value) override {
    Add({{"window", s_.window_names[window]},
         {"category", Category(brand)},
         {"brand", Brand(brand)},
         {"platform", Platform(platform)}},
        static_cast<double>(value));
  }
  void Share(size_t window, uint32_t brand, uint32_t platform, int basis, double value) override {
    Add({{"window", s_.window_names[window]},
         {"category", Category(brand)},
         {"brand", Brand(brand)},
         {"platform", Platform(platform)},
         {"basis", BasisName(basis)}},
        value);
  }
  void Topic(uint32_t topic, uint32_t brand_plus_one, uint32_t platform, uint64_t value) override {
    std::string category = "none", brand = "none";
    if (brand_plus_one != 0) {
      category = Category(brand_plus_one - 1);
      brand = Brand(brand_plus_one - 1);
    }
    Add({{"topic", s_.topic_names[topic]},
         {"category", category},
         {"brand", brand},
         {"platform", Platform(platform)}},
        static_cast<double>(value));
  }
  void Sentiment(uint32_t brand, uint32_t platform, int sentiment, uint64_t value) override {
    Add({{"category", Category(brand)},
         {"brand", Brand(brand)},
         {"platform", Platform(platform)},
         {"sentiment", SentimentLabel(sentiment)}},
        static_cast<double>(value));
  }
  void Spike(int, uint32_t brand, uint32_t platform, double value) override {
    Add({{"category", Category(brand)}, {"brand", Brand(brand)}, {"platform", Platform(platform)}},
        value);
  }
  void UniqueAuthors(size_t window, uint32_t brand, uint32_t platform,
                     uint64_t value) override {  // audience
    Add({{"window", s_.window_names[window]},
         {"category", Category(brand)},
         {"brand", Brand(brand)},
         {"platform", Platform(platform)}},
        static_cast<double>(value));
  }

 private:
  const std::string& Category(uint32_t brand) const { return s_.brand_names[brand].first; }
  const std::string& Brand(uint32_t brand) const { return s_.brand_names[brand].second; }
  std::string Platform(uint32_t p) const {
    return p == s_.platform_count() ? "all" : s_.platform_names[p];
  }
  void Add(std::vector<prometheus::ClientMetric::Label> labels, double value) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    if (f_.type == MetricType::Counter) m.counter.value = value;
    else m.gauge.value = value;
    f_.metric.push_back(std::move(m));
  }

  const ResultsSnapshot& s_;
  std::vector<prometheus::MetricFamily>* out_;
  prometheus::MetricFamily f_;
};

// ---------------------------------------------------------------------------
// Text

// A buffer of about kChunkBytes in front of an ExpositionSink: callers
// reserve room for a whole line and write into it with raw pointers.
class ChunkWriter {
 public:
  static constexpr size_t kChunkBytes = 1 << 20;

  explicit ChunkWriter(ExpositionSink* sink)
      : sink_(sink), buf_(new char[kChunkBytes]), cap_(kChunkBytes), p_(buf_.get()) {}
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  // Returns where to write at most `n` bytes; pass the end to Commit().
  char* Reserve(size_t n) {
    if (static_cast<size_t>(buf_.get() + cap_ - p_) < n) MakeRoom(n);
    return p_;
  }
  void Commit(char* end) { p_ = end; }
  void Append(std::string_view s) { Commit(Put(Reserve(s.size()), s)); }
  void Flush() {
    if (p_ != buf_.get()) sink_->Write({buf_.get(), static_cast<size_t>(p_ - buf_.get())});
    p_ = buf_.get();
  }

  static char* Put(char* p, std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
  }

 private:
  void MakeRoom(size_t n) {
    Flush();
    if (n > cap_) {  // a line longer than a chunk (absurdly long label values)
      buf_.reset(new char[n]);
      cap_ = n;
      p_ = buf_.get();
    }
  }

  ExpositionSink* sink_;
  std::unique_ptr<char[]> buf_;
  size_t cap_;
  char* p_;
};

// Value text: an integer is at most 20 digits; a double at most
// kMaxG16Chars ("-2.225073858507201e-308", 16 significant digits).
constexpr size_t kMaxValueChars = 32;
static_assert(kMaxG16Chars <= kMaxValueChars);

char* FormatUint(char* p, uint64_t v) {
  if (v < 10) {
    *p = static_cast<char>('0' + v);
    return p + 1;
  }
  return std::to_chars(p, p + kMaxValueChars, v).ptr;
}

// As prometheus::TextSerializer writes a value (an ostream with precision
// digits10 + 1, i.e. %.16g): special values spelled its way, otherwise 16
// significant digits, trailing zeros dropped, e.g. 0.25, 0.3333333333333333,
// 1e-05. Byte-identical to the text the daemon served through prometheus-cpp.
char* FormatDouble(char* p, double v) {
  if (std::isnan(v)) return ChunkWriter::Put(p, "Nan");
  if (std::isinf(v)) return ChunkWriter::Put(p, v < 0 ? "-Inf" : "+Inf");
  if (v == 0) {
    *p = '0';
    return p + 1;
  }
  return FormatG16(p, v);
}

void AppendEscapedLabelValue(std::string_view v, std::string* out) {
  for (char c : v) {
    if (c == '\\') *out += "\\\\";
    else if (c == '"') *out += "\\\"";
    else if (c == '\n') *out += "\\n";
    else *out += c;
  }
}

// `name="value"`, escaped.
std::string LabelPair(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  AppendEscapedLabelValue(value, &out);
  out += '"';
  return out;
}

// The label fragments of one snapshot, back to back in one buffer that ends
// in kBlock spare bytes: a fragment is copied in whole kBlock-byte blocks
// (inlined moves instead of a memcpy call of a few dozen bytes), reading at
// most kBlock - 1 bytes past its end, which stay inside the buffer.
class Fragments {
 public:
  static constexpr size_t kBlock = 16;
  struct Ref {
    uint32_t offset;
    uint32_t size;
  };

  Ref Add(std::string_view s) {
    Ref r{static_cast<uint32_t>(buf_.size()), static_cast<uint32_t>(s.size())};
    buf_ += s;
    return r;
  }
  // After the last Add().
  void Seal() { buf_.append(kBlock, '\0'); }
  // Copies `r` to `dst`, writing up to kBlock - 1 bytes past its end.
  char* Copy(char* dst, Ref r) const {
    const char* src = buf_.data() + r.offset;
    for (uint32_t i = 0; i < r.size; i += kBlock) std::memcpy(dst + i, src + i, kBlock);
    return dst + r.size;
  }

 private:
  std::string buf_;
};

// Every line is prefix + middle + suffix + value: the name and leading
// labels, the brand's `category="..",brand=".."`, and the trailing labels
// with "} ". All three are built once per snapshot, so a line costs three
// short copies and a number.
class TextSink : public ResultSink {
 public:
  TextSink(const ResultsSnapshot& s, ExpositionSink* out) : w_(out) {
    const size_t P = s.platform_count();
    brand_.reserve(s.brand_names.size());
    for (const auto& [category, brand] : s.brand_names)
      brand_.push_back(f_.Add(LabelPair("category", category) + "," + LabelPair("brand", brand)));
    none_ = f_.Add(LabelPair("category", "none") + "," + LabelPair("brand", "none"));
    for (int b = 0; b < kBasisCount; ++b) {
      total_prefix_[b] = f_.Add(std::string(kTotalNames[b]) + "{");
      for (const auto& w : s.window_names) {
        window_prefix_[b].push_back(
            f_.Add(std::string(kWindowNames[b]) + "{" + LabelPair("window", w) + ","));
      }
    }
    for (const auto& w : s.window_names)
      share_prefix_.push_back(f_.Add(std::string(kShareName) + "{" + LabelPair("window", w) + ","));
    for (const auto& t : s.topic_names)
      topic_prefix_.push_back(f_.Add(std::string(kTopicName) + "{" + LabelPair("topic", t) + ","));
    sentiment_prefix_ = f_.Add(std::string(kSentimentName) + "{");
    for (int f = 0; f < kSpikeFamilies; ++f)
      spike_prefix_[f] = f_.Add(std::string(kSpikeNames[f]) + "{");
    for (const auto& w : s.window_names) {  // audience
      unique_prefix_.push_back(
          f_.Add(std::string(kUniqueAuthorsName) + "{" + LabelPair("window", w) + ","));
    }
    all_suffix_ = f_.Add("," + LabelPair("platform", "all") + "} ");
    for (size_t p = 0; p <= P; ++p) {
      const std::string platform =
          "," + LabelPair("platform", p == P ? "all" : s.platform_names[p]);
      if (p < P) platform_suffix_.push_back(f_.Add(platform + "} "));
      spike_suffix_.push_back(p < P ? platform_suffix_.back() : f_.Add(platform + "} "));
      for (int b = 0; b < kBasisCount; ++b)
        share_suffix_.push_back(f_.Add(platform + "," + LabelPair("basis", BasisName(b)) + "} "));
      if (p < P) {
        for (int k = 0; k < kSentimentCount; ++k) {
          sentiment_suffix_.push_back(
              f_.Add(platform + "," + LabelPair("sentiment", SentimentLabel(k)) + "} "));
        }
      }
    }
    f_.Seal();
  }
  // Writes out the last chunk.
  void Finish() { w_.Flush(); }

  void Family(const char* name, const char* help, MetricType type) override {
    name_ = name;
    help_ = help;
    type_ = type;
    header_written_ = false;
  }
  void EndFamily() override {}
  void Total(int basis, uint32_t brand, uint32_t platform, uint64_t value) override {
    EndUint(Line(total_prefix_[basis], brand_[brand], platform_suffix_[platform]), value);
  }
  void Window(int basis, size_t window, uint32_t brand, uint32_t platform,
              uint64_t value) override {
    EndUint(Line(window_prefix_[basis][window], brand_[brand], platform_suffix_[platform]), value);
  }
  void Share(size_t window, uint32_t brand, uint32_t platform, int basis, double value) override {
    char* p = Line(share_prefix_[window], brand_[brand],
                   share_suffix_[static_cast<size_t>(platform) * kBasisCount + basis]);
    End(FormatDouble(p, value));
  }
  void Topic(uint32_t topic, uint32_t brand_plus_one, uint32_t platform, uint64_t value) override {
    EndUint(Line(topic_prefix_[topic], brand_plus_one == 0 ? none_ : brand_[brand_plus_one - 1],
                 platform_suffix_[platform]),
            value);
  }
  void Sentiment(uint32_t brand, uint32_t platform, int sentiment, uint64_t value) override {
    EndUint(Line(sentiment_prefix_, brand_[brand],
                 sentiment_suffix_[static_cast<size_t>(platform) * kSentimentCount + sentiment]),
            value);
  }
  void Spike(int family, uint32_t brand, uint32_t platform, double value) override {
    End(FormatDouble(Line(spike_prefix_[family], brand_[brand], spike_suffix_[platform]), value));
  }
  void UniqueAuthors(size_t window, uint32_t brand, uint32_t platform,
                     uint64_t value) override {  // audience
    const Ref suffix = platform < platform_suffix_.size() ? platform_suffix_[platform] : all_suffix_;
    EndUint(Line(unique_prefix_[window], brand_[brand], suffix), value);
  }

 private:
  using Ref = Fragments::Ref;

  // Starts a line with its labels; returns where its value goes. The value
  // and '\n' must follow, through End().
  char* Line(Ref a, Ref b, Ref c) {
    if (!header_written_) Header();
    char* p = w_.Reserve(a.size + b.size + c.size + kMaxValueChars + 1 + Fragments::kBlock);
    return f_.Copy(f_.Copy(f_.Copy(p, a), b), c);
  }
  void EndUint(char* p, uint64_t value) { End(FormatUint(p, value)); }
  void End(char* p) {
    *p++ = '\n';
    w_.Commit(p);
  }
  // HELP and TYPE before a family's first series (empty families are left out).
  void Header() {
    header_written_ = true;
    // The help texts are constants without '\\' or a newline: written as
    // they are, as TextSerializer writes them.
    std::string h = "# HELP ";
    h += name_;
    h += ' ';
    h += help_;
    h += "\n# TYPE ";
    h += name_;
    h += type_ == MetricType::Counter ? " counter\n" : " gauge\n";
    w_.Append(h);
  }

  ChunkWriter w_;
  const char* name_ = "";
  const char* help_ = "";
  MetricType type_ = MetricType::Gauge;
  bool header_written_ = false;

  Fragments f_;
  std::vector<Ref> brand_;  // by brand id
  Ref none_;
  Ref total_prefix_[kBasisCount];
  std::vector<Ref> window_prefix_[kBasisCount];  // by window
  std::vector<Ref> share_prefix_;                // by window
  std::vector<Ref> topic_prefix_;                // by topic id
  Ref sentiment_prefix_;
  std::vector<Ref> platform_suffix_;   // by platform
  std::vector<Ref> share_suffix_;      // [platform (P = all) * kBasisCount + basis]
  std::vector<Ref> sentiment_suffix_;  // [platform * kSentimentCount + sentiment]
  Ref spike_prefix_[kSpikeFamilies];
  std::vector<Ref> spike_suffix_;  // by platform, P = "all"
  std::vector<Ref> unique_prefix_;     // audience: by window
  Ref all_suffix_;                     // audience: platform="all"
};

}  // namespace

void WriteResultsText(const ResultsSnapshot& s, ExpositionSink* sink) {
  TextSink text(s, sink);
  EmitResults(s, &text);
  text.Finish();
}

std::vector<prometheus::MetricFamily> ResultFamilies(const ResultsSnapshot& s) {
  std::vector<prometheus::MetricFamily> out;
  FamilySink sink(s, &out);
  EmitResults(s, &sink);
  return out;
}

std::string PrometheusLabel(std::string_view name, std::string_view value) {
  return LabelPair(name, value);
}

void AppendPrometheusValue(double v, std::string* out) {
  char buf[kMaxValueChars];
  out->append(buf, FormatDouble(buf, v));
}

}  // namespace earshot
