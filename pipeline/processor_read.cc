// The Processor's read side (pipeline/processor.h): snapshots of the
// results for a scrape, the Prometheus text of the results and of the shadow
// set, and the JSON API (share of voice, shadow, signals, audience). The hot
// path (ProcessBatch and the state it keeps) is pipeline/processor.cc.
#include "pipeline/processor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstring>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/strings.h"

#include "pipeline/processor_partition.h"

namespace earshot {

StatusOr<std::string> Processor::SignalsJson() const {
  std::shared_ptr<const SignalsView> view;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (signals_ == nullptr) return Status::Error("signals are off (signals: {enabled: false})");
    view = signals_->view();
  }
  return SignalsViewJson(*view);
}


// ---------------------------------------------------------------------------
// Snapshots

namespace {

// Per category, the stable brand ids of the current rule set's brands.
std::vector<ResultsSnapshot::Category> GroupByCategory(const rules::RuleSet* rules,
                                                       const std::vector<uint32_t>& brand_ids) {
  std::vector<ResultsSnapshot::Category> out;
  if (rules == nullptr) return out;
  out.resize(rules->categories().size());
  for (size_t c = 0; c < out.size(); ++c) out[c].name = rules->categories()[c];
  const auto& brands = rules->brands();
  for (size_t b = 0; b < brands.size() && b < brand_ids.size(); ++b) {
    out[brands[b].category_index].brand_ids.push_back(brand_ids[b]);
  }
  return out;
}

}  // namespace

ResultsSnapshot Processor::TakeSnapshot(int64_t* lock_held_ns, bool audience) const {
  const uint32_t P = static_cast<uint32_t>(platforms_.size());
  const size_t W = config_.windows.size();
  ResultsSnapshot s;
  for (const auto& w : config_.windows) s.window_names.push_back(w.name);
  s.platform_names = platforms_.names();

  // The window sums are added straight into the dense tables, allocated and
  // zeroed here outside the lock for the brands known now (fresh pages
  // under the lock, and maps growing there, made most of its hold time:
  // 70-95 ms of ~100 at 10,000 brands).
  size_t brands_hint;
  {
    std::lock_guard<std::mutex> lock(mu_);
    brands_hint = brand_names_.size();
  }
  s.windows.assign(W, std::vector<Values>(brands_hint * P));
  std::shared_ptr<const rules::RuleSet> rules;
  std::vector<uint32_t> brand_ids;
  FlatMap<uint64_t> topic_totals;
  std::shared_ptr<const std::vector<SpikeGauge>> spikes;  // signals: copied below
  std::vector<std::vector<StepRef>> audience_steps;  // audience: per window
  audience = audience && audience_ != nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t now = NowLocked();
    rules = rules_;
    brand_ids = brand_ids_;
    s.brand_names = brand_names_;
    s.topic_names = topic_names_;
    const size_t B = brand_names_.size();
    for (size_t w = 0; w < W; ++w) {
      std::vector<Values>& dense = s.windows[w];
      dense.resize(B * P);  // brands added since the hint
      for (const auto& [key, part] : partitions_) {
        part->windows[w].ForEachInWindow(now, [&](SeriesKey key, const Values& v) {
          const uint32_t b = SeriesBrand(key), p = SeriesPlatform(key);
          if (b < B && p < P) dense[static_cast<size_t>(b) * P + p].AddSaturating(v);
        });
      }
    }
    s.totals = totals_;
    if (signals_ != nullptr) spikes = signals_->gauges();
    topic_totals = topic_totals_;  // one copy of the slots; sorted below
    if (audience) {  // audience: references to the steps, merged below
      audience_steps.resize(W);
      for (size_t w = 0; w < W; ++w) {
        for (const auto& [key, part] : partitions_) part->audience->Collect(w, now, &audience_steps[w]);
      }
    }
    if (lock_held_ns != nullptr) {
      *lock_held_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
    }
  }

  if (spikes != nullptr) s.spikes = *spikes;
  s.categories = GroupByCategory(rules.get(), brand_ids);
  const size_t B = s.brand_names.size();
  // Ascending (topic, brand, platform): a counting sort by (topic, brand),
  // then an insertion sort that moves each series at most past the few
  // platforms of its group. Linear; std::sort took ~14 ms for 316k series.
  const size_t T = s.topic_names.size();
  auto group = [B](uint32_t topic, uint32_t brand_plus_one) {
    return static_cast<size_t>(topic) * (B + 1) + brand_plus_one;
  };
  std::vector<uint32_t> next(T * (B + 1) + 1, 0);  // group -> where its next series goes
  std::vector<ResultsSnapshot::TopicCount> counts;
  counts.reserve(topic_totals.size());
  for (const auto& [key, count] : topic_totals) {
    ResultsSnapshot::TopicCount c{static_cast<uint32_t>(key >> 40),
                                  static_cast<uint32_t>((key >> 12) & ((1u << 28) - 1)),
                                  static_cast<uint32_t>(key & 0xfff), count};
    if (c.topic >= T || c.brand_plus_one > B) continue;  // cannot happen: same lock
    ++next[group(c.topic, c.brand_plus_one) + 1];
    counts.push_back(c);
  }
  for (size_t g = 1; g < next.size(); ++g) next[g] += next[g - 1];
  s.topics.resize(counts.size());
  for (const auto& c : counts) s.topics[next[group(c.topic, c.brand_plus_one)]++] = c;
  for (size_t i = 1; i < s.topics.size(); ++i) {
    const ResultsSnapshot::TopicCount c = s.topics[i];
    size_t j = i;
    for (; j > 0; --j) {
      const ResultsSnapshot::TopicCount& prev = s.topics[j - 1];
      if (prev.topic != c.topic || prev.brand_plus_one != c.brand_plus_one) break;
      if (prev.platform < c.platform) break;
      s.topics[j] = prev;
    }
    s.topics[j] = c;
  }
  if (audience) {  // audience: the sketches of each window's steps, merged outside the lock
    std::vector<bool> want(B, false);
    for (const auto& c : s.categories) {
      for (uint32_t id : c.brand_ids) want[id] = true;
    }
    s.unique_authors.resize(W);
    for (size_t w = 0; w < W; ++w) {
      s.unique_authors[w] = UniqueAuthors(audience_steps[w], want, P, config_.audience.hll_precision);
    }
  }
  return s;
}

std::vector<prometheus::MetricFamily> Processor::CollectResults() const {
  return ResultFamilies(TakeSnapshot());
}

void Processor::WriteResultsText(ExpositionSink* sink) const {
  earshot::WriteResultsText(TakeSnapshot(), sink);
}

StatusOr<std::string> Processor::ShareOfVoiceJson(const std::string& window_name,
                                                  const std::string& platform_name,
                                                  const std::string& basis_name) const {
  size_t w = 0;
  if (!window_name.empty()) {
    w = config_.windows.size();
    for (size_t i = 0; i < config_.windows.size(); ++i)
      if (config_.windows[i].name == window_name) w = i;
    if (w == config_.windows.size()) return Status::Error("unknown window \"" + window_name + "\"");
  }
  std::string platform = platform_name.empty() ? "all" : AsciiLowered(platform_name);
  int64_t pidx = -1;  // -1 = all
  if (platform != "all") {
    const uint32_t p = platforms_.Index(platform);
    if (platforms_.Name(p) != CanonicalPlatformName(platform)) {
      return Status::Error("unknown platform \"" + platform + "\"");
    }
    pidx = p;
    platform = std::string(platforms_.Name(p));  // the value used: "x" is "twitter"
  }
  int basis = -1;
  std::string bname = basis_name.empty() ? "mentions" : basis_name;
  for (int b = 0; b < kBasisCount; ++b)
    if (bname == BasisName(b)) basis = b;
  if (basis < 0) return Status::Error("unknown basis \"" + bname + "\"");

  ResultsSnapshot s = TakeSnapshot(nullptr, /*audience=*/false);
  std::vector<ResultsSnapshot::Category> cats = std::move(s.categories);
  std::sort(cats.begin(), cats.end(), [](const auto& a, const auto& b) { return a.name < b.name; });

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> j(buf);
  j.StartObject();
  j.Key("window");
  j.String(config_.windows[w].name.c_str());
  j.Key("platform");
  j.String(platform.c_str());
  j.Key("basis");
  j.String(BasisName(basis));
  j.Key("generated_at");
  {
    std::time_t secs = wall_->NowMillis() / 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[32];
    std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    j.String(ts);
  }
  j.Key("windows");
  j.StartArray();
  for (const auto& spec : config_.windows) j.String(spec.name.c_str());
  j.EndArray();
  j.Key("platforms");
  j.StartArray();
  for (const auto& p : platforms_.names()) j.String(p.c_str());
  j.EndArray();
  j.Key("bases");
  j.StartArray();
  for (int b = 0; b < kBasisCount; ++b) j.String(BasisName(b));
  j.EndArray();
  j.Key("categories");
  j.StartArray();
  for (const auto& c : cats) {
    // Values exact to the unit (stopping at 2^64-1, as the gauges do);
    // shares from doubles, as the ratio metric computes them.
    struct Value {
      std::string name;
      uint64_t exact = 0;
      double x = 0;
    };
    std::vector<Value> vals;
    uint64_t total = 0;
    double total_x = 0;
    auto add = [](uint64_t* sum, uint64_t v) {
      if (__builtin_add_overflow(*sum, v, sum)) *sum = UINT64_MAX;
    };
    for (uint32_t id : c.brand_ids) {
      Value v{s.brand_names[id].second};
      for (size_t p = 0; p < platforms_.size(); ++p) {
        if (pidx >= 0 && static_cast<int64_t>(p) != pidx) continue;
        const uint64_t u = s.window(w, id, static_cast<uint32_t>(p)).v[basis];
        add(&v.exact, u);
        v.x += static_cast<double>(u);
      }
      add(&total, v.exact);
      total_x += v.x;
      vals.push_back(std::move(v));
    }
    std::sort(vals.begin(), vals.end(), [](const Value& a, const Value& b) {
      return a.exact != b.exact ? a.exact > b.exact : a.name < b.name;
    });
    j.StartObject();
    j.Key("category");
    j.String(c.name.c_str());
    j.Key("total");
    j.Uint64(total);
    j.Key("leader");
    if (total > 0) j.String(vals[0].name.c_str());
    else j.Null();
    j.Key("brands");
    j.StartArray();
    for (const Value& v : vals) {
      j.StartObject();
      j.Key("brand");
      j.String(v.name.c_str());
      j.Key("value");
      j.Uint64(v.exact);
      j.Key("share");
      if (total > 0) j.Double(v.x / total_x);
      else j.Null();
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// ---------------------------------------------------------------------------
// Shadow rules (docs/shadow.md): the state is pipeline/shadow.cc's; these
// take its snapshot under the state lock, with the live side it is shown
// beside.

void Processor::SetShadowRules(std::shared_ptr<const rules::RuleSet> candidate) {
  if (shadow_ != nullptr) shadow_->SetRules(std::move(candidate));
}

std::shared_ptr<const rules::RuleSet> Processor::shadow_rules() const {
  return shadow_ != nullptr ? shadow_->pending_rules() : nullptr;
}

ShadowSnapshot Processor::TakeShadowSnapshot(bool full) const {
  ShadowSnapshot s;
  if (shadow_ == nullptr) return s;
  const size_t P = platforms_.size();
  const size_t W = config_.windows.size();
  // The dense tables are allocated outside the lock, as in TakeSnapshot.
  size_t hint;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hint = shadow_->brand_count();
  }
  s.candidate_windows.assign(W, std::vector<Values>(hint * P));
  s.changed_windows.assign(W, std::vector<Values>(hint * P));
  if (full) {
    s.live_windows.assign(W, std::vector<uint64_t>(hint * P));
    s.live_totals.assign(hint * P, 0);
  }
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = NowLocked();
  shadow_->Copy(now, brand_ids_, full, &s);
  if (!full) return s;
  for (size_t w = 0; w < W; ++w) {
    for (const auto& [key, part] : partitions_) {
      part->windows[w].ForEachInWindow(now, [&](SeriesKey k, const Values& v) {
        s.AddLiveWindow(w, SeriesBrand(k), SeriesPlatform(k), v.v[kMentions]);
      });
    }
  }
  for (size_t i = 0; i < totals_.size(); ++i) {
    if (totals_[i].present) {
      s.AddLiveTotal(static_cast<uint32_t>(i / P), static_cast<uint32_t>(i % P),
                     totals_[i].v.v[kMentions]);
    }
  }
  return s;
}

void Processor::WriteShadowText(ExpositionSink* sink) const {
  if (shadow_ != nullptr) earshot::WriteShadowText(TakeShadowSnapshot(false), sink);
}

StatusOr<std::string> Processor::ShadowJson(const std::string& window_name) const {
  if (shadow_ == nullptr) return Status::Error("no shadow rules configured (shadow.paths)");
  size_t w = 0;
  if (!window_name.empty()) {
    w = config_.windows.size();
    for (size_t i = 0; i < config_.windows.size(); ++i)
      if (config_.windows[i].name == window_name) w = i;
    if (w == config_.windows.size()) return Status::Error("unknown window \"" + window_name + "\"");
  }
  return earshot::ShadowJson(TakeShadowSnapshot(true), w, wall_->NowMillis());
}
// audience: /api/v1/top-authors and /api/v1/unique-authors (docs/audience.md)

StatusOr<size_t> Processor::AudienceWindow(const std::string& name) const {
  if (name.empty()) return size_t{0};
  for (size_t i = 0; i < config_.windows.size(); ++i) {
    if (config_.windows[i].name == name) return i;
  }
  return Status::Error("unknown window \"" + name + "\"");
}

StatusOr<std::string> Processor::TopAuthorsJson(const std::string& category,
                                                const std::string& brand,
                                                const std::string& window,
                                                const std::string& by_name) const {
  if (audience_ == nullptr) return Status::Error("audience is disabled (audience.enabled: false)");
  auto w = AudienceWindow(window);
  if (!w.ok()) return w.status();
  TopAuthorsBy by;
  if (by_name.empty() || by_name == "mentions") by = TopAuthorsBy::kMentions;
  else if (by_name == "reach") by = TopAuthorsBy::kReach;
  else return Status::Error("unknown by \"" + by_name + "\" (mentions or reach)");
  if (category.empty() || brand.empty()) return Status::Error("category and brand are required");

  std::vector<StepRef> steps;
  AuthorTable::View view;
  uint32_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = brand_interner_.find(category + '\x1f' + brand);
    const bool current = it != brand_interner_.end() &&
                         std::find(brand_ids_.begin(), brand_ids_.end(), it->second) != brand_ids_.end();
    if (!current) return Status::Error("unknown brand \"" + brand + "\" in category \"" + category + "\"");
    id = it->second;
    const int64_t now = NowLocked();
    for (const auto& [key, part] : partitions_) part->audience->Collect(*w, now, &steps);
    view = audience_->authors().Pin();  // no author changes or goes until Unpin
  }
  std::string body = earshot::TopAuthorsJson(TopAuthorsOf(steps, id, by, 10, view), view);
  {
    std::lock_guard<std::mutex> lock(mu_);
    audience_->authors().Unpin();
  }
  return body;
}

StatusOr<std::string> Processor::UniqueAuthorsJson(const std::string& window,
                                                   const std::string& platform_name) const {
  if (audience_ == nullptr) return Status::Error("audience is disabled (audience.enabled: false)");
  auto w = AudienceWindow(window);
  if (!w.ok()) return w.status();
  const uint32_t P = static_cast<uint32_t>(platforms_.size());
  std::string platform = platform_name.empty() ? "all" : AsciiLowered(platform_name);
  uint32_t pidx = P;  // all
  if (platform != "all") {
    pidx = platforms_.Index(platform);
    if (platforms_.Name(pidx) != CanonicalPlatformName(platform)) {
      return Status::Error("unknown platform \"" + platform + "\"");
    }
    platform = platforms_.Name(pidx);  // "x" is twitter: echo what was used
  }
  std::vector<StepRef> steps;
  std::shared_ptr<const rules::RuleSet> rules;
  std::vector<uint32_t> brand_ids;
  std::vector<std::pair<std::string, std::string>> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rules = rules_;
    brand_ids = brand_ids_;
    names = brand_names_;
    const int64_t now = NowLocked();
    for (const auto& [key, part] : partitions_) part->audience->Collect(*w, now, &steps);
  }
  std::vector<ResultsSnapshot::Category> cats = GroupByCategory(rules.get(), brand_ids);
  std::sort(cats.begin(), cats.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<bool> want(names.size(), false);
  for (const auto& c : cats) {
    for (uint32_t id : c.brand_ids) want[id] = true;
  }
  const std::vector<uint64_t> unique =
      UniqueAuthors(steps, want, P, config_.audience.hll_precision);

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> j(buf);
  j.StartObject();
  j.Key("window");
  j.String(config_.windows[*w].name.c_str());
  j.Key("platform");
  j.String(platform.c_str());
  j.Key("categories");
  j.StartArray();
  for (const auto& c : cats) {
    j.StartObject();
    j.Key("category");
    j.String(c.name.c_str());
    j.Key("brands");
    j.StartArray();
    for (uint32_t id : c.brand_ids) {
      j.StartObject();
      j.Key("brand");
      j.String(names[id].second.c_str());
      j.Key("unique_authors");
      j.Uint64(unique[static_cast<size_t>(id) * (P + 1) + pidx]);
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}
// end audience

}  // namespace earshot
