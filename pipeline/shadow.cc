#include "pipeline/shadow.h"

#include "pipeline/json_write.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace earshot {

const char* ShadowChangeName(int change) { return change == kRemoved ? "removed" : "added"; }

namespace {

// Bytes of the first `chars` code points of valid UTF-8 `text`.
size_t PrefixBytes(std::string_view text, size_t chars) {
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && n++ == chars) return i;
  }
  return text.size();
}

}  // namespace

std::string FormatTimeMillis(int64_t ms) {
  const int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms - secs * 1000));
  return buf;
}

// ---------------------------------------------------------------------------
// State

// The latest changed events of one (brand, change): a fixed ring whose slots
// keep their strings' capacity, so a steady stream of changes reuses them.
struct ShadowState::Ring {
  explicit Ring(size_t n) : slots(n) {}
  ShadowSample& Push() {
    ShadowSample& s = slots[next];
    next = (next + 1) % slots.size();
    count = std::min(count + 1, slots.size());
    return s;
  }
  std::vector<ShadowSample> slots;
  size_t next = 0;   // where the next sample goes
  size_t count = 0;  // samples held
};

class ShadowState::Partition {
 public:
  explicit Partition(const std::vector<WindowSpec>& specs) {
    for (const auto& s : specs) {
      candidate.emplace_back(s);
      changed.emplace_back(s);
    }
  }
  std::vector<HoppingWindow> candidate;  // v[kMentions]: the candidate's mentions
  std::vector<HoppingWindow> changed;    // v[kAdded], v[kRemoved]
};

ShadowState::ShadowState(const std::vector<WindowSpec>& windows, const PlatformTable& platforms,
                         size_t max_series, size_t samples_per_change,
                         prometheus::Registry* registry)
    : windows_(windows),
      platform_names_(platforms.names()),
      max_series_(max_series),
      samples_per_change_(samples_per_change) {
  overflow_ = &prometheus::BuildCounter()
                   .Name("earshot_shadow_series_overflow_total")
                   .Help("Shadow counter increments and samples dropped because a new shadow "
                         "series or sample ring would exceed limits.max_series.")
                   .Register(*registry)
                   .Add({});
}

ShadowState::~ShadowState() = default;

void ShadowState::SetRules(std::shared_ptr<const rules::RuleSet> candidate) {
  std::lock_guard<std::mutex> lock(pending_mu_);
  pending_ = std::move(candidate);
  ++pending_generation_;
}

std::shared_ptr<const rules::RuleSet> ShadowState::pending_rules() const {
  std::lock_guard<std::mutex> lock(pending_mu_);
  return pending_;
}

uint32_t ShadowState::Intern(const std::string& category, const std::string& brand) {
  auto [it, inserted] =
      interner_.emplace(category + '\x1f' + brand, static_cast<uint32_t>(names_.size()));
  if (inserted) {
    names_.emplace_back(category, brand);
    totals_.resize(names_.size() * platform_names_.size());
    rings_.resize(names_.size() * kShadowChangeCount);
  }
  return it->second;
}

void ShadowState::ResetChanges() {
  for (auto& [key, part] : partitions_) {
    part->changed.clear();
    for (const auto& s : windows_) part->changed.emplace_back(s);
  }
  for (auto& ring : rings_) {
    if (ring != nullptr) {
      ring.reset();
      --series_;
    }
  }
}

void ShadowState::BeginBatch(const std::shared_ptr<const rules::RuleSet>& live) {
  bool swapped = false;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    if (pending_generation_ != applied_generation_) {
      candidate_ = pending_;
      applied_generation_ = pending_generation_;
      swapped = true;
    }
  }
  if (swapped) {
    candidate_ids_.clear();
    if (candidate_ != nullptr) {
      for (const auto& b : candidate_->brands()) {
        candidate_ids_.push_back(Intern(b.category, b.name));
      }
    }
    // Brands the new candidate lacks leave its windows; the others keep state.
    std::vector<bool> keep(names_.size(), false);
    for (uint32_t id : candidate_ids_) keep[id] = true;
    for (auto& [key, part] : partitions_) {
      for (auto& w : part->candidate) w.RetainBrands(keep);
    }
  }
  if (live != live_) {
    live_ = live;
    live_ids_.clear();
    if (live_ != nullptr) {
      for (const auto& b : live_->brands()) live_ids_.push_back(Intern(b.category, b.name));
    }
    swapped = true;
  }
  if (swapped) ResetChanges();
}

ShadowState::Partition* ShadowState::GetPartition(std::string_view topic, int32_t partition) {
  PartitionKey key{std::string(topic), partition};
  auto it = partitions_.find(key);
  if (it == partitions_.end()) {
    it = partitions_.emplace(std::move(key), std::make_unique<Partition>(windows_)).first;
  }
  return it->second.get();
}

void ShadowState::OnAssigned(const std::vector<PartitionKey>& partitions) {
  for (const auto& p : partitions) partitions_[p] = std::make_unique<Partition>(windows_);
}

void ShadowState::OnRevoked(const std::vector<PartitionKey>& partitions) {
  for (const auto& p : partitions) partitions_.erase(p);
}

void ShadowState::Expire(int64_t now) {
  for (auto& [key, part] : partitions_) {
    for (auto& w : part->candidate) w.Expire(now);
    for (auto& w : part->changed) w.Expire(now);
  }
}

bool ShadowState::TakeSeries() {
  if (series_ >= max_series_) {
    overflow_->Increment();
    return false;
  }
  ++series_;
  return true;
}

void ShadowState::Classify(const ShadowEvent& e, const std::vector<uint32_t>& live_brands,
                           Partition* part) {
  if (candidate_ == nullptr) return;
  match_.clear();
  rules::MatchInput in = *e.in;
  in.normalized = e.live;  // the text is normalized once for both sets
  candidate_->Match(in, &scratch_, &match_);
  const std::vector<uint32_t>& cand = match_.brands;
  if (cand.empty() && live_brands.empty()) return;
  const size_t P = platform_names_.size();
  Values one;
  one.v[kMentions] = 1;
  // What the live mention series would count under the candidate.
  for (uint32_t c : cand) {
    const uint32_t id = candidate_ids_[c];
    if (e.counted) {
      ShadowSnapshot::Totals& t = totals_[static_cast<size_t>(id) * P + e.platform];
      if ((t.present & 1) != 0 || TakeSeries()) {
        t.present |= 1;
        ++t.candidate;
      }
    }
    if (!e.late) {
      for (auto& w : part->candidate) w.Add(e.now, e.event_ms, MakeSeriesKey(id, e.platform), one);
    }
  }
  // The same brand in both sets is the same (category, name): the same id.
  event_live_.clear();
  for (uint32_t l : live_brands) event_live_.push_back(live_ids_[l]);
  for (uint32_t c : cand) {
    const uint32_t id = candidate_ids_[c];
    if (std::find(event_live_.begin(), event_live_.end(), id) == event_live_.end()) {
      Changed(e, part, id, kAdded, *candidate_, c);
    }
  }
  for (size_t i = 0; i < live_brands.size(); ++i) {
    const uint32_t id = event_live_[i];
    bool in_candidate = false;
    for (uint32_t c : cand) in_candidate |= candidate_ids_[c] == id;
    if (!in_candidate) Changed(e, part, id, kRemoved, *live_, live_brands[i]);
  }
}

void ShadowState::Changed(const ShadowEvent& e, Partition* part, uint32_t id, int change,
                          const rules::RuleSet& set, uint32_t rule_brand) {
  if (e.counted) {
    const size_t P = platform_names_.size();
    ShadowSnapshot::Totals& t = totals_[static_cast<size_t>(id) * P + e.platform];
    const uint8_t bit = static_cast<uint8_t>(2 << change);
    if ((t.present & bit) != 0 || TakeSeries()) {
      t.present |= bit;
      ++t.changed[change];
    }
  }
  if (!e.late) {
    Values v;
    v.v[change] = 1;
    for (auto& w : part->changed) w.Add(e.now, e.event_ms, MakeSeriesKey(id, e.platform), v);
  }
  if (!e.counted || samples_per_change_ == 0) return;
  std::unique_ptr<Ring>& ring = rings_[static_cast<size_t>(id) * kShadowChangeCount + change];
  if (ring == nullptr) {
    if (!TakeSeries()) return;
    ring = std::make_unique<Ring>(samples_per_change_);
  }
  ShadowSample& s = ring->Push();
  s.id.assign(e.id);
  s.platform = e.platform;
  s.time_ms = e.event_ms;
  s.text.assign(e.in->text.substr(0, PrefixBytes(e.in->text, kShadowSampleTextChars)));
  s.fired = set.FiredBy(*e.in, rule_brand);
}

void ShadowState::Copy(int64_t now, const std::vector<uint32_t>& live_brand_ids, bool samples,
                       ShadowSnapshot* s) const {
  const size_t P = platform_names_.size();
  const size_t W = windows_.size();
  const size_t B = names_.size();
  s->window_names.clear();
  for (const auto& w : windows_) s->window_names.push_back(w.name);
  s->platform_names = platform_names_;
  s->brand_names = names_;
  s->loaded = candidate_ != nullptr;
  auto categories = [](const rules::RuleSet* set, const std::vector<uint32_t>& ids) {
    std::vector<ShadowSnapshot::Category> out;
    if (set == nullptr) return out;
    out.resize(set->categories().size());
    for (size_t c = 0; c < out.size(); ++c) out[c].name = set->categories()[c];
    const auto& brands = set->brands();
    for (size_t b = 0; b < brands.size() && b < ids.size(); ++b) {
      out[brands[b].category_index].brand_ids.push_back(ids[b]);
    }
    return out;
  };
  s->candidate = categories(candidate_.get(), candidate_ids_);
  s->live = categories(live_.get(), live_ids_);
  s->totals = totals_;
  // The dense tables are usually sized already (outside the lock).
  s->candidate_windows.resize(W);
  s->changed_windows.resize(W);
  for (size_t w = 0; w < W; ++w) {
    std::vector<Values>& cand = s->candidate_windows[w];
    std::vector<Values>& changed = s->changed_windows[w];
    cand.resize(B * P);
    changed.resize(B * P);
    for (const auto& [key, part] : partitions_) {
      auto into = [&](std::vector<Values>& dense) {
        return [&dense, B, P](SeriesKey k, const Values& v) {
          const uint32_t b = SeriesBrand(k), p = SeriesPlatform(k);
          if (b < B && p < P) dense[static_cast<size_t>(b) * P + p].AddSaturating(v);
        };
      };
      part->candidate[w].ForEachInWindow(now, into(cand));
      part->changed[w].ForEachInWindow(now, into(changed));
    }
  }
  s->live_to_shadow.clear();
  for (size_t i = 0; i < live_brand_ids.size() && i < live_ids_.size(); ++i) {
    if (live_brand_ids[i] >= s->live_to_shadow.size()) {
      s->live_to_shadow.resize(live_brand_ids[i] + 1, ShadowSnapshot::kNone);
    }
    s->live_to_shadow[live_brand_ids[i]] = live_ids_[i];
  }
  if (!samples) return;
  s->live_windows.resize(W);
  for (auto& lw : s->live_windows) lw.resize(B * P);
  s->live_totals.resize(B * P);
  s->samples.assign(B * kShadowChangeCount, {});
  for (size_t r = 0; r < rings_.size(); ++r) {
    const Ring* ring = rings_[r].get();
    if (ring == nullptr) continue;
    const size_t n = ring->slots.size();
    for (size_t k = 1; k <= ring->count; ++k) {
      s->samples[r].push_back(ring->slots[(ring->next + n - k) % n]);  // newest first
    }
  }
}

// ---------------------------------------------------------------------------
// Text exposition

namespace {

// Appends lines to a buffer and hands it to the sink in ~1 MiB chunks.
class ChunkedText {
 public:
  explicit ChunkedText(ExpositionSink* sink) : sink_(sink) { buf_.reserve(kChunk + 4096); }
  ~ChunkedText() { Flush(); }
  std::string& buf() { return buf_; }
  void LineDone() {
    if (buf_.size() >= kChunk) Flush();
  }
  void Flush() {
    if (!buf_.empty()) sink_->Write(buf_);
    buf_.clear();
  }
  // HELP and TYPE, once per non-empty family (call before its first line).
  void Header(const char* name, const char* help, const char* type) {
    buf_ += "# HELP ";
    buf_ += name;
    buf_ += ' ';
    buf_ += help;
    buf_ += "\n# TYPE ";
    buf_ += name;
    buf_ += ' ';
    buf_ += type;
    buf_ += '\n';
  }
  void Uint(uint64_t v) {
    char tmp[24];
    buf_.append(tmp, std::to_chars(tmp, tmp + sizeof(tmp), v).ptr);
    buf_ += '\n';
    LineDone();
  }
  void Double(double v) {
    AppendPrometheusValue(v, &buf_);
    buf_ += '\n';
    LineDone();
  }

 private:
  static constexpr size_t kChunk = 1 << 20;
  ExpositionSink* sink_;
  std::string buf_;
};

}  // namespace

void WriteShadowText(const ShadowSnapshot& s, ExpositionSink* sink) {
  const size_t P = s.platform_count();
  const size_t B = s.brand_names.size();
  const size_t W = s.window_names.size();
  ChunkedText out(sink);
  std::string& b = out.buf();
  // Label fragments, escaped once.
  std::vector<std::string> brand(B), platform(P + 1), window(W);
  for (size_t id = 0; id < B; ++id) {
    brand[id] = PrometheusLabel("category", s.brand_names[id].first) + "," +
                PrometheusLabel("brand", s.brand_names[id].second);
  }
  for (size_t p = 0; p <= P; ++p) {
    platform[p] = "," + PrometheusLabel("platform", p == P ? std::string(kAllPlatforms)
                                                           : s.platform_names[p]);
  }
  for (size_t w = 0; w < W; ++w) window[w] = PrometheusLabel("window", s.window_names[w]) + ",";

  // Counters of the candidate's mentions.
  bool header = false;
  for (size_t id = 0; id < B; ++id) {
    for (size_t p = 0; p < P; ++p) {
      const auto& t = s.totals[id * P + p];
      if ((t.present & 1) == 0) continue;
      if (!header) {
        out.Header("earshot_shadow_mentions_total",
                   "Events the candidate rules count per brand and platform: "
                   "earshot_mentions_total under the candidate.",
                   "counter");
        header = true;
      }
      b += "earshot_shadow_mentions_total{";
      b += brand[id];
      b += platform[p];
      b += "} ";
      out.Uint(t.candidate);
    }
  }

  // Window gauges: every brand of a candidate category on each platform
  // where the category has data in some window (as the live gauges).
  const auto& cats = s.candidate;
  std::vector<char> active(cats.size() * P, 0);
  for (size_t c = 0; c < cats.size(); ++c) {
    for (uint32_t id : cats[c].brand_ids) {
      for (size_t p = 0; p < P; ++p) {
        for (size_t w = 0; w < W; ++w) {
          if (s.candidate_windows[w][id * P + p].v[kMentions] != 0) active[c * P + p] = 1;
        }
      }
    }
  }
  header = false;
  for (size_t w = 0; w < W; ++w) {
    for (size_t c = 0; c < cats.size(); ++c) {
      for (size_t p = 0; p < P; ++p) {
        if (!active[c * P + p]) continue;
        for (uint32_t id : cats[c].brand_ids) {
          if (!header) {
            out.Header("earshot_shadow_window_mentions",
                       "Events the candidate rules count within the window: "
                       "earshot_window_mentions under the candidate.",
                       "gauge");
            header = true;
          }
          b += "earshot_shadow_window_mentions{";
          b += window[w];
          b += brand[id];
          b += platform[p];
          b += "} ";
          out.Uint(s.candidate_windows[w][id * P + p].v[kMentions]);
        }
      }
    }
  }

  // Share of voice of mentions under the candidate, per platform and "all".
  header = false;
  std::vector<double> all, vals;
  for (size_t w = 0; w < W; ++w) {
    for (const auto& cat : cats) {
      const size_t n = cat.brand_ids.size();
      all.assign(n, 0);
      vals.resize(n);
      double all_sum = 0;
      auto line = [&](size_t i, size_t p, double value) {
        if (!header) {
          out.Header("earshot_shadow_share_of_voice_ratio",
                     "Brand's share of its category's mentions under the candidate rules, per "
                     "window and platform; platform=\"all\" is the cross-platform value.",
                     "gauge");
          header = true;
        }
        b += "earshot_shadow_share_of_voice_ratio{";
        b += window[w];
        b += brand[cat.brand_ids[i]];
        b += platform[p];
        b += ",basis=\"mentions\"} ";
        out.Double(value);
      };
      for (size_t p = 0; p < P; ++p) {
        double sum = 0;
        for (size_t i = 0; i < n; ++i) {
          const double x =
              static_cast<double>(s.candidate_windows[w][cat.brand_ids[i] * P + p].v[kMentions]);
          vals[i] = x;
          all[i] += x;
          sum += x;
        }
        all_sum += sum;
        if (sum <= 0) continue;
        for (size_t i = 0; i < n; ++i) line(i, p, vals[i] / sum);
      }
      if (all_sum <= 0) continue;
      for (size_t i = 0; i < n; ++i) line(i, P, all[i] / all_sum);
    }
  }

  // Changed events.
  header = false;
  for (size_t id = 0; id < B; ++id) {
    for (size_t p = 0; p < P; ++p) {
      const auto& t = s.totals[id * P + p];
      for (int change = 0; change < kShadowChangeCount; ++change) {
        if ((t.present & (2 << change)) == 0) continue;
        if (!header) {
          out.Header("earshot_shadow_changed_total",
                     "Events the candidate rules count for the brand and the live rules do "
                     "not (change=\"added\"), and the reverse (change=\"removed\").",
                     "counter");
          header = true;
        }
        b += "earshot_shadow_changed_total{";
        b += brand[id];
        b += platform[p];
        b += ",change=\"";
        b += ShadowChangeName(change);
        b += "\"} ";
        out.Uint(t.changed[change]);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Side by side

std::vector<ShadowBrandRow> BuildShadowRows(const ShadowSnapshot& s, size_t w) {
  const size_t P = s.platform_count();
  const size_t B = s.brand_names.size();
  std::vector<char> in_live(B, 0), in_candidate(B, 0);
  for (const auto& c : s.live)
    for (uint32_t id : c.brand_ids) in_live[id] = 1;
  for (const auto& c : s.candidate)
    for (uint32_t id : c.brand_ids) in_candidate[id] = 1;
  auto sum = [P](auto value, uint32_t id) {
    uint64_t x = 0;
    for (size_t p = 0; p < P; ++p) x += value(static_cast<size_t>(id) * P + p);
    return x;
  };
  std::vector<ShadowBrandRow> rows;
  std::vector<size_t> row_of(B, SIZE_MAX);
  for (uint32_t id = 0; id < B; ++id) {
    if (!in_live[id] && !in_candidate[id]) continue;
    ShadowBrandRow r;
    r.category = s.brand_names[id].first;
    r.brand = s.brand_names[id].second;
    r.id = id;
    r.in_live = in_live[id];
    r.in_candidate = in_candidate[id];
    if (r.in_live && !s.live_windows.empty()) {
      r.live_window = sum([&](size_t i) { return s.live_windows[w][i]; }, id);
      r.live_total = sum([&](size_t i) { return s.live_totals[i]; }, id);
    }
    if (r.in_candidate) {
      r.candidate_window =
          sum([&](size_t i) { return s.candidate_windows[w][i].v[kMentions]; }, id);
      r.candidate_total = sum([&](size_t i) { return s.totals[i].candidate; }, id);
    }
    r.added_window = sum([&](size_t i) { return s.changed_windows[w][i].v[kAdded]; }, id);
    r.removed_window = sum([&](size_t i) { return s.changed_windows[w][i].v[kRemoved]; }, id);
    r.added_total = sum([&](size_t i) { return s.totals[i].changed[kAdded]; }, id);
    r.removed_total = sum([&](size_t i) { return s.totals[i].changed[kRemoved]; }, id);
    row_of[id] = rows.size();
    rows.push_back(std::move(r));
  }
  // Shares within each set's own categories.
  auto shares = [&](const std::vector<ShadowSnapshot::Category>& cats, bool live) {
    for (const auto& c : cats) {
      double total = 0;
      for (uint32_t id : c.brand_ids) {
        const ShadowBrandRow& r = rows[row_of[id]];
        total += static_cast<double>(live ? r.live_window : r.candidate_window);
      }
      if (total <= 0) continue;
      for (uint32_t id : c.brand_ids) {
        ShadowBrandRow& r = rows[row_of[id]];
        (live ? r.live_share : r.candidate_share) =
            static_cast<double>(live ? r.live_window : r.candidate_window) / total;
      }
    }
  };
  if (!s.live_windows.empty()) shares(s.live, true);
  shares(s.candidate, false);
  std::sort(rows.begin(), rows.end(), [](const ShadowBrandRow& a, const ShadowBrandRow& b) {
    return a.category != b.category ? a.category < b.category : a.brand < b.brand;
  });
  return rows;
}

namespace {

void JsonShare(JsonWriter& j, const std::optional<double>& share) {
  if (share) j.Double(*share);
  else j.Null();
}

}  // namespace

std::string ShadowJson(const ShadowSnapshot& s, size_t w, int64_t generated_at_ms) {
  const std::vector<ShadowBrandRow> rows = BuildShadowRows(s, w);
  rapidjson::StringBuffer buf;
  JsonWriter j(buf);
  j.StartObject();
  j.Key("window");
  WriteJsonString(j, s.window_names[w]);
  j.Key("generated_at");
  WriteJsonString(j, FormatTimeMillis(generated_at_ms).substr(0, 19) + "Z");  // as share-of-voice
  j.Key("windows");
  j.StartArray();
  for (const auto& name : s.window_names) WriteJsonString(j, name);
  j.EndArray();
  j.Key("loaded");
  j.Bool(s.loaded);
  j.Key("categories");
  j.StartArray();
  for (size_t i = 0; i < rows.size();) {
    size_t end = i;
    uint64_t live_total = 0, candidate_total = 0;
    for (; end < rows.size() && rows[end].category == rows[i].category; ++end) {
      live_total += rows[end].live_window;
      candidate_total += rows[end].candidate_window;
    }
    j.StartObject();
    j.Key("category");
    WriteJsonString(j, rows[i].category);
    j.Key("live_total");
    j.Uint64(live_total);
    j.Key("candidate_total");
    j.Uint64(candidate_total);
    j.Key("brands");
    j.StartArray();
    for (; i < end; ++i) {
      const ShadowBrandRow& r = rows[i];
      j.StartObject();
      j.Key("brand");
      WriteJsonString(j, r.brand);
      j.Key("in_live");
      j.Bool(r.in_live);
      j.Key("in_candidate");
      j.Bool(r.in_candidate);
      j.Key("live");
      j.Uint64(r.live_window);
      j.Key("candidate");
      j.Uint64(r.candidate_window);
      j.Key("live_share");
      JsonShare(j, r.live_share);
      j.Key("candidate_share");
      JsonShare(j, r.candidate_share);
      j.Key("added");
      j.Uint64(r.added_window);
      j.Key("removed");
      j.Uint64(r.removed_window);
      j.Key("samples");
      j.StartObject();
      for (int change = 0; change < kShadowChangeCount; ++change) {
        j.Key(ShadowChangeName(change));
        j.StartArray();
        const size_t k = static_cast<size_t>(r.id) * kShadowChangeCount + change;
        if (k < s.samples.size()) {
          for (const ShadowSample& x : s.samples[k]) {
            j.StartObject();
            j.Key("id");
            WriteJsonString(j, x.id);
            j.Key("platform");
            WriteJsonString(j, s.platform_names[x.platform]);
            j.Key("time");
            WriteJsonString(j, FormatTimeMillis(x.time_ms));
            j.Key("text");
            WriteJsonString(j, x.text);
            j.Key("fired");
            WriteJsonString(j, x.fired);
            j.EndObject();
          }
        }
        j.EndArray();
      }
      j.EndObject();
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace earshot
