#include "pipeline/signals.h"

#include "base/hash.h"

#include "pipeline/json_write.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "rules/normalizer.h"

namespace earshot {
namespace {


// The key of (hashtag, brand) in the per-category sketch of brand hashtags.
inline uint64_t PairKey(uint64_t tag, uint32_t brand) {
  return SplitMix64(tag + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(brand) + 1));
}

// Events per series and pane whose ids are kept as samples.
constexpr uint32_t kSamples = 3;
// Hashtags listed as the cause of a spike.
constexpr size_t kCauseHashtags = 5;
// Hashtags are cut to this many bytes in the API.
constexpr size_t kHashtagBytes = 64;

// A count with its label, for ranking: count descending, then label.
struct Counted {
  uint64_t key;
  uint64_t count;
  uint32_t owner;
  std::string_view label;
};

bool ByCountThenLabel(const Counted& a, const Counted& b) {
  return a.count != b.count ? a.count > b.count : a.label < b.label;
}

// The union of sketches (one per partition) with counts summed, cut to the
// `capacity` largest when more (the mergeable form of Space-Saving: exact
// when the union is within the capacity).
void MergeSketches(const std::vector<const SpaceSaving*>& sketches, size_t capacity,
                   std::vector<Counted>* out) {
  out->clear();
  if (sketches.size() == 1) {
    sketches[0]->ForEach([&](const SpaceSaving::Item& e) {
      out->push_back({e.key, e.count, e.owner, e.label});
    });
    return;
  }
  std::unordered_map<uint64_t, size_t> at;
  for (const SpaceSaving* s : sketches) {
    s->ForEach([&](const SpaceSaving::Item& e) {
      auto [it, inserted] = at.try_emplace(e.key, out->size());
      if (inserted) out->push_back({e.key, e.count, e.owner, e.label});
      else (*out)[it->second].count += e.count;
    });
  }
  if (out->size() > capacity) {
    std::nth_element(out->begin(), out->begin() + static_cast<std::ptrdiff_t>(capacity),
                     out->end(), ByCountThenLabel);
    out->resize(capacity);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Building blocks

double SignalsAlpha(int64_t pane_ms, int64_t half_life_ms) {
  return 1.0 - std::exp2(-static_cast<double>(pane_ms) / static_cast<double>(half_life_ms));
}

double EwStats::ScoreAndUpdate(double x, double a) {
  const double z = (x - m) / std::sqrt(v + m + 1);
  const double d = x - m;
  m += a * d;
  v = (1 - a) * (v + a * d * d);
  return z;
}

void EwStats::ZeroPanes(int64_t n, double a, double* last_z, double* last_m) {
  if (n <= 0) return;
  const int64_t exact = std::min(n, kExactPanes);
  if (n > exact) {
    // n - exact panes of x = 0 in closed form: m_k = r^k m, and
    // v_k = r^k (v + m^2 (1 - r^k)) with r = 1 - a (by induction from
    // v' = r (v + a m^2)). By then both are ~r^n of what they were.
    const double r = std::pow(1 - a, static_cast<double>(n - exact));
    v = r * (v + m * m * (1 - r));
    m = r * m;
  }
  for (int64_t i = 0; i < exact; ++i) {
    *last_m = m;
    *last_z = ScoreAndUpdate(0, a);
  }
}

uint64_t HashtagKey(std::string_view s) {
  uint64_t h = 0x243F6A8885A308D3ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = SplitMix64(h ^ w);
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < s.size(); ++k)
    tail |= static_cast<uint64_t>(static_cast<unsigned char>(s[i + k])) << (8 * k);
  return SplitMix64(h ^ tail ^ 0x13198A2E03707344ULL);
}

std::string_view CutUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  // Back off continuation bytes (10xxxxxx) to the start of a character.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// ---------------------------------------------------------------------------
// Space-Saving

void SpaceSaving::Reset(size_t capacity) {
  capacity_ = capacity;
  total_ = 0;
  size_ = 0;
  heap_.Clear();
  for (Slot& s : index_) s.entry_plus_one = 0;
}

size_t SpaceSaving::SlotOf(uint64_t key) const { return SplitMix64(key) & (index_.size() - 1); }

SpaceSaving::Slot* SpaceSaving::Probe(uint64_t key) {
  if (index_.empty()) return nullptr;
  const size_t mask = index_.size() - 1;
  for (size_t i = SlotOf(key);; i = (i + 1) & mask) {
    Slot& s = index_[i];
    if (s.entry_plus_one == 0) return nullptr;
    if (s.key == key) return &s;
  }
}

std::optional<SpaceSaving::Item> SpaceSaving::Find(uint64_t key) const {
  const Slot* s = const_cast<SpaceSaving*>(this)->Probe(key);
  if (s == nullptr) return std::nullopt;
  return ItemOf(*s);
}

void SpaceSaving::IndexInsert(uint64_t key, uint32_t entry, uint32_t count) {
  if ((size_ + 1) * 2 > index_.size()) {
    // Grow (at most half full): the slots move to their new homes.
    std::vector<Slot> old(index_.empty() ? 16 : index_.size() * 2, Slot{0, 0, 0});
    index_.swap(old);
    const size_t mask = index_.size() - 1;
    for (const Slot& s : old) {
      if (s.entry_plus_one == 0) continue;
      size_t i = SlotOf(s.key);
      while (index_[i].entry_plus_one != 0) i = (i + 1) & mask;
      index_[i] = s;
    }
  }
  const size_t mask = index_.size() - 1;
  size_t i = SlotOf(key);
  while (index_[i].entry_plus_one != 0) i = (i + 1) & mask;
  index_[i] = Slot{key, entry + 1, count};
}

void SpaceSaving::IndexErase(uint64_t key) {
  const size_t mask = index_.size() - 1;
  size_t i = SlotOf(key);
  while (index_[i].key != key || index_[i].entry_plus_one == 0) i = (i + 1) & mask;
  // Backward-shift deletion: later slots of the probe run move up into the
  // hole unless their home is cyclically after it.
  for (size_t j = (i + 1) & mask; index_[j].entry_plus_one != 0; j = (j + 1) & mask) {
    const size_t home = SlotOf(index_[j].key);
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i].entry_plus_one = 0;
}

void SpaceSaving::BuildHeap() {
  // The counts move from the index slots to the entries, where the heap
  // can compare them.
  for (const Slot& s : index_) {
    if (s.entry_plus_one != 0) entries_[s.entry_plus_one - 1].count = s.count;
  }
  heap_.Build(static_cast<uint32_t>(size_), Counts());
}

void SpaceSaving::Add(uint64_t key, std::string_view label, uint32_t owner) {
  if (capacity_ == 0) return;
  ++total_;
  if (Slot* s = Probe(key)) {
    if (heap_.empty()) {
      ++s->count;
    } else {
      const uint32_t e = s->entry_plus_one - 1;
      ++entries_[e].count;
      heap_.Increased(e, Counts());
    }
    return;
  }
  if (size_ < capacity_) {
    const uint32_t e = static_cast<uint32_t>(size_);
    if (entries_.size() <= e) entries_.emplace_back();
    Entry& en = entries_[e];
    en.key = key;
    en.error = 0;
    en.owner = owner;
    en.label.assign(label);
    IndexInsert(key, e, 1);
    ++size_;
    return;
  }
  // Full: the key replaces the one with the smallest count.
  if (heap_.empty()) BuildHeap();
  const uint32_t e = heap_.top();
  Entry& en = entries_[e];
  IndexErase(en.key);
  en.error = en.count;
  ++en.count;
  en.key = key;
  en.owner = owner;
  en.label.assign(label);
  IndexInsert(key, e, 0);
  heap_.Increased(e, Counts());
}

// ---------------------------------------------------------------------------
// JSON

std::string SignalsViewJson(const SignalsView& view) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("pane_start");
  if (view.closed) w.Int64(view.pane_start_ms);
  else w.Null();
  w.Key("spikes");
  w.StartArray();
  for (const auto& s : view.spikes) {
    w.StartObject();
    w.Key("category");
    WriteJsonString(w, s.category);
    w.Key("brand");
    WriteJsonString(w, s.brand);
    w.Key("platform");
    WriteJsonString(w, s.platform);
    w.Key("count");
    w.Uint64(s.count);
    w.Key("baseline");
    w.Double(s.baseline);
    w.Key("score");
    w.Double(s.score);
    w.Key("hashtags");
    w.StartArray();
    for (const auto& h : s.hashtags) WriteJsonString(w, CutUtf8(h, kHashtagBytes));
    w.EndArray();
    w.Key("samples");
    w.StartArray();
    for (const auto& id : s.samples) WriteJsonString(w, id);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("trending");
  w.StartArray();
  for (const auto& t : view.trending) {
    w.StartObject();
    w.Key("category");
    WriteJsonString(w, t.category);
    w.Key("hashtags");
    w.StartArray();
    for (const auto& h : t.hashtags) {
      w.StartObject();
      w.Key("hashtag");
      WriteJsonString(w, CutUtf8(h.hashtag, kHashtagBytes));
      w.Key("count");
      w.Uint64(h.count);
      w.Key("score");
      w.Double(h.score);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// ---------------------------------------------------------------------------
// Signals

// One partition's counts of one open pane.
struct Signals::Pane {
  struct Sample {
    uint32_t series;  // brand * P + platform
    uint32_t offset, size;  // the id in `ids`
    uint64_t seq;           // arrival order
  };
  int64_t index = 0;
  std::vector<uint32_t> counts;  // brand * P + platform
  std::vector<Sample> samples;   // the first kSamples events of each series
  std::string ids;
  // Per category id: its hashtags, and (hashtag, brand) pairs.
  std::vector<SpaceSaving> tags, brand_tags;  // empty ones (capacity 0) until used
  std::vector<uint32_t> used;     // category ids with sketches in use
  std::vector<uint8_t> in_use;    // by category id

  void Use(uint32_t c, size_t capacity) {
    if (c < in_use.size() && in_use[c]) return;
    if (c >= in_use.size()) {
      in_use.resize(c + 1, 0);
      tags.resize(c + 1);
      brand_tags.resize(c + 1);
    }
    in_use[c] = 1;
    used.push_back(c);
    tags[c].Reset(capacity);
    brand_tags[c].Reset(capacity);
  }
  const SpaceSaving* Tags(uint32_t c) const { return c < tags.size() ? &tags[c] : nullptr; }
  const SpaceSaving* BrandTags(uint32_t c) const {
    return c < brand_tags.size() ? &brand_tags[c] : nullptr;
  }
  void Reset() {
    std::fill(counts.begin(), counts.end(), 0);
    samples.clear();
    ids.clear();
    for (uint32_t c : used) {
      tags[c].Reset(0);
      brand_tags[c].Reset(0);
      in_use[c] = 0;
    }
    used.clear();
  }
};

struct Signals::Series {
  EwStats ew;
  double z = 0, baseline = 0;
  uint64_t x = 0;
  uint64_t history = 0;  // closed panes since first seen
  uint64_t spikes = 0;
  bool seen = false;
  bool active = false;
};

struct Signals::KeptTag {
  EwStats ew;
  std::string label;
  int64_t last_pane = INT64_MIN;  // the last pane it was counted in
};

class Signals::Partition {
 public:
  explicit Partition(Signals* owner) : owner_(owner) {}
  ~Partition() {
    // The open panes' counts go with the partition; the buffers are reused.
    for (auto& p : panes_) {
      p->Reset();
      owner_->free_panes_.push_back(std::move(p));
    }
    owner_->Unregister(this);
  }

  Pane* Get(int64_t k) {
    if (last_ != nullptr && last_->index == k) return last_;
    for (auto& p : panes_) {
      if (p->index == k) return last_ = p.get();
    }
    panes_.push_back(owner_->TakePane());
    panes_.back()->index = k;
    return last_ = panes_.back().get();
  }
  std::unique_ptr<Pane> Detach(int64_t k) {
    for (size_t i = 0; i < panes_.size(); ++i) {
      if (panes_[i]->index != k) continue;
      std::unique_ptr<Pane> p = std::move(panes_[i]);
      panes_.erase(panes_.begin() + static_cast<std::ptrdiff_t>(i));
      if (last_ == p.get()) last_ = nullptr;
      return p;
    }
    return nullptr;
  }
  int64_t Earliest() const {
    int64_t e = INT64_MAX;
    for (const auto& p : panes_) e = std::min(e, p->index);
    return e;
  }

 private:
  Signals* owner_;
  std::vector<std::unique_ptr<Pane>> panes_;  // open panes with events
  Pane* last_ = nullptr;                      // the one of the last Get()
};

void Signals::PartitionDeleter::operator()(Partition* p) const { delete p; }

Signals::Signals(const SignalsConfig& config, std::vector<std::string> platforms)
    : config_(config),
      platforms_(std::move(platforms)),
      P_(static_cast<uint32_t>(platforms_.size())),
      alpha_(SignalsAlpha(config.pane_ms, config.half_life_ms)),
      pane_of_(config.pane_ms),
      gauges_(std::make_shared<std::vector<SpikeGauge>>()),
      view_(std::make_shared<SignalsView>()) {}

Signals::~Signals() = default;

Signals::PartitionPtr Signals::NewPartition() {
  PartitionPtr p(new Partition(this));
  partitions_.push_back(p.get());
  return p;
}

void Signals::Unregister(Partition* p) {
  partitions_.erase(std::remove(partitions_.begin(), partitions_.end(), p), partitions_.end());
}

std::unique_ptr<Signals::Pane> Signals::TakePane() {
  std::unique_ptr<Pane> p;
  if (!free_panes_.empty()) {
    p = std::move(free_panes_.back());
    free_panes_.pop_back();
  } else {
    p = std::make_unique<Pane>();
  }
  p->counts.resize(brand_slots_ * P_, 0);
  return p;
}

void Signals::SetBrands(const std::vector<uint32_t>& current,
                        const std::vector<std::pair<std::string, std::string>>& names) {
  names_ = names;
  brand_slots_ = names.size();
  series_.resize(brand_slots_ * (P_ + 1));
  brand_category_.assign(brand_slots_, kNoCategory);
  std::fill(category_current_.begin(), category_current_.end(), false);
  std::vector<bool> is_current(brand_slots_, false);
  for (uint32_t b : current) {
    if (b >= brand_slots_) continue;
    is_current[b] = true;
    auto [it, inserted] =
        category_ids_.try_emplace(names[b].first, static_cast<uint32_t>(category_names_.size()));
    if (inserted) {
      category_names_.push_back(names[b].first);
      category_current_.push_back(false);
    }
    brand_category_[b] = it->second;
    category_current_[it->second] = true;
  }
  current_brands_.clear();
  for (uint32_t b : current)
    if (b < brand_slots_) current_brands_.push_back(b);
  std::sort(current_brands_.begin(), current_brands_.end());
  current_brands_.erase(std::unique(current_brands_.begin(), current_brands_.end()),
                        current_brands_.end());
  // Brands that left start over if they come back.
  for (uint32_t b = 0; b < brand_slots_; ++b) {
    if (is_current[b]) continue;
    for (uint32_t p = 0; p <= P_; ++p) series_[static_cast<size_t>(b) * (P_ + 1) + p] = Series{};
  }
  kept_.resize(category_names_.size());
  for (size_t c = 0; c < kept_.size(); ++c)
    if (!category_current_[c]) kept_[c].clear();
  RebuildGauges();
  // The view keeps the last pane's numbers for the brands and categories
  // that stay.
  auto v = std::make_shared<SignalsView>();
  v->closed = view_->closed;
  v->pane_start_ms = view_->pane_start_ms;
  std::set<std::pair<std::string, std::string>> staying;
  for (uint32_t b : current_brands_) staying.insert(names_[b]);
  for (const auto& s : view_->spikes)
    if (staying.count({s.category, s.brand}) != 0) v->spikes.push_back(s);
  for (size_t c = 0; c < category_names_.size(); ++c) {
    if (!category_current_[c]) continue;
    SignalsView::Trending t{category_names_[c], {}};
    for (const auto& old : view_->trending)
      if (old.category == t.category) t.hashtags = old.hashtags;
    v->trending.push_back(std::move(t));
  }
  std::sort(v->trending.begin(), v->trending.end(),
            [](const auto& a, const auto& b) { return a.category < b.category; });
  view_ = std::move(v);
}

void Signals::Start(int64_t now) {
  started_ = true;
  // The first pane T has not closed: the smallest k with
  // (k+1)*pane + delay > T.
  next_pane_ = FloorDiv(now - config_.delay_ms, config_.pane_ms);
  next_close_ms_ = (next_pane_ + 1) * config_.pane_ms + config_.delay_ms;
}

void Signals::Add(Partition* part, int64_t now, int64_t event_ms, uint32_t platform,
                  const uint32_t* brands, size_t brand_count, std::string_view id,
                  const rules::MatchScratch& scratch) {
  if (!started_) Start(now);
  const int64_t k = pane_of_(event_ms);
  if (k < next_pane_) return;  // its pane has closed
  Pane* pane = part->Get(k);
  const size_t need = brand_slots_ * P_;
  if (pane->counts.size() < need) pane->counts.resize(need, 0);
  for (size_t i = 0; i < brand_count; ++i) {
    const uint32_t b = brands[i];
    if (b >= brand_slots_) continue;
    const uint32_t series = b * P_ + platform;
    if (pane->counts[series]++ < kSamples) {
      pane->samples.push_back({series, static_cast<uint32_t>(pane->ids.size()),
                               static_cast<uint32_t>(id.size()), seq_});
      pane->ids.append(id);
    }
  }
  ++seq_;

  // Hashtags: each counts once per event. A post has a few, compared in a
  // list; past kListedTags they go to a set, so that a post made of
  // 100,000 distinct hashtags costs in proportion to them, not their square.
  constexpr size_t kListedTags = 32;
  tags_.clear();
  if (!tag_keys_.empty()) tag_keys_.clear();
  ForEachHashtag(scratch.normalized, scratch.words, [this](std::string_view tag) {
    const uint64_t key = HashtagKey(tag);
    if (tags_.size() < kListedTags) {
      for (const auto& t : tags_)
        if (t.first == key) return;
    } else {
      if (tag_keys_.empty()) {
        for (const auto& t : tags_) tag_keys_.insert(t.first);
      }
      if (!tag_keys_.insert(key).second) return;
    }
    tags_.emplace_back(key, tag);
  });
  if (tags_.empty()) return;
  const size_t capacity = static_cast<size_t>(config_.trending_capacity);
  cats_.clear();
  for (size_t i = 0; i < brand_count; ++i) {
    const uint32_t c = CategoryOf(brands[i]);
    if (c == kNoCategory || std::find(cats_.begin(), cats_.end(), c) != cats_.end()) continue;
    cats_.push_back(c);
    pane->Use(c, capacity);
  }
  for (const auto& [key, tag] : tags_) {
    for (uint32_t c : cats_) pane->tags[c].Add(key, tag);
    for (size_t i = 0; i < brand_count; ++i) {
      const uint32_t c = CategoryOf(brands[i]);
      if (c != kNoCategory) pane->brand_tags[c].Add(PairKey(key, brands[i]), tag, brands[i]);
    }
  }
}

void Signals::Advance(int64_t now) {
  if (!started_) return;
  while (now >= next_close_ms_) {
    const int64_t k = next_pane_;
    // The last pane T closes, and the first one any partition has events in.
    const int64_t last = FloorDiv(now - config_.delay_ms, config_.pane_ms) - 1;
    int64_t earliest = INT64_MAX;
    for (const Partition* p : partitions_) earliest = std::min(earliest, p->Earliest());
    if (earliest > k) {
      const int64_t end = std::min(last, earliest - 1);
      CloseEmptyPanes(k, end - k + 1);
      next_pane_ = end + 1;
    } else {
      ClosePane(k);
      next_pane_ = k + 1;
    }
    next_close_ms_ = (next_pane_ + 1) * config_.pane_ms + config_.delay_ms;
  }
}

void Signals::UpdateSeries(Series& s, uint64_t x) {
  if (!s.seen) {
    if (x == 0) return;  // a series starts with its first counted event's pane
    s.seen = true;
  }
  const double m = s.ew.m;
  const double z = s.ew.ScoreAndUpdate(static_cast<double>(x), alpha_);
  const bool active =
      s.active ? z >= config_.threshold / 2
               : (s.history >= static_cast<uint64_t>(config_.min_history) &&
                  z >= config_.threshold && x >= static_cast<uint64_t>(config_.min_count));
  if (active && !s.active) ++s.spikes;
  s.active = active;
  s.z = z;
  s.baseline = m;
  s.x = x;
  ++s.history;
}

void Signals::CloseEmptyPanes(int64_t first, int64_t n) {
  // Panes before the first one with a counted event change nothing, and
  // are not reported as the last closed pane.
  if (!closed_data_) return;
  for (uint32_t b : current_brands_) {
    for (uint32_t p = 0; p <= P_; ++p) {
      Series& s = series_[static_cast<size_t>(b) * (P_ + 1) + p];
      if (!s.seen) continue;
      s.ew.ZeroPanes(n, alpha_, &s.z, &s.baseline);
      s.x = 0;
      s.active = false;  // z <= 0 < threshold / 2
      s.history += static_cast<uint64_t>(n);
    }
  }
  // Every kept hashtag takes one x = 0 update a pane: Publish gives the
  // last pane's (as for any pane), so the n - 1 before it are applied here.
  if (n > 1) {
    double z, m;
    for (size_t c = 0; c < kept_.size(); ++c) {
      for (auto& [key, kt] : kept_[c]) kt.ew.ZeroPanes(n - 1, alpha_, &z, &m);
    }
  }
  Publish(first + n - 1, {});
}

void Signals::ClosePane(int64_t k) {
  closed_data_ = true;
  std::vector<std::unique_ptr<Pane>> owned;
  std::vector<Pane*> panes;
  for (Partition* p : partitions_) {
    if (auto pane = p->Detach(k)) {
      panes.push_back(pane.get());
      owned.push_back(std::move(pane));
    }
  }
  const size_t n = brand_slots_ * P_;
  x_.assign(n, 0);
  for (const Pane* pane : panes) {
    const size_t m = std::min(n, pane->counts.size());
    for (size_t i = 0; i < m; ++i) x_[i] += pane->counts[i];
  }
  for (uint32_t b : current_brands_) {
    uint64_t all = 0;
    for (uint32_t p = 0; p < P_; ++p) {
      const uint64_t x = x_[static_cast<size_t>(b) * P_ + p];
      all += x;
      UpdateSeries(series_[static_cast<size_t>(b) * (P_ + 1) + p], x);
    }
    UpdateSeries(series_[static_cast<size_t>(b) * (P_ + 1) + P_], all);
  }
  Publish(k, panes);
  for (auto& pane : owned) {
    pane->Reset();
    free_panes_.push_back(std::move(pane));
  }
}

void Signals::Publish(int64_t k, const std::vector<Pane*>& panes) {
  auto v = std::make_shared<SignalsView>();
  v->closed = true;
  v->pane_start_ms = k * config_.pane_ms;
  const size_t capacity = static_cast<size_t>(config_.trending_capacity);
  std::vector<const SpaceSaving*> sketches;
  std::vector<Counted> merged;

  // Trending hashtags: every kept hashtag and every one of the pane is
  // updated; the list is the pane's with x >= min_count by z.
  for (size_t c = 0; c < category_names_.size(); ++c) {
    if (!category_current_[c]) continue;
    SignalsView::Trending t{category_names_[c], {}};
    sketches.clear();
    for (const Pane* p : panes)
      if (const SpaceSaving* s = p->Tags(static_cast<uint32_t>(c)); s != nullptr && !s->empty())
        sketches.push_back(s);
    auto& kept = kept_[c];
    if (!sketches.empty() || !kept.empty()) {
      merged.clear();
      if (!sketches.empty()) MergeSketches(sketches, capacity, &merged);
      std::vector<SignalsView::Hashtag> listed;
      for (const Counted& e : merged) {
        auto [it, inserted] = kept.try_emplace(e.key);
        KeptTag& kt = it->second;
        if (inserted) kt.label.assign(e.label);
        kt.last_pane = k;
        const double z = kt.ew.ScoreAndUpdate(static_cast<double>(e.count), alpha_);
        if (e.count >= static_cast<uint64_t>(config_.trending_min_count))
          listed.push_back({kt.label, e.count, z});
      }
      for (auto& [key, kt] : kept) {
        if (kt.last_pane != k) kt.ew.ScoreAndUpdate(0, alpha_);
      }
      std::sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) {
        return a.score != b.score ? a.score > b.score : a.hashtag < b.hashtag;
      });
      if (listed.size() > static_cast<size_t>(config_.trending_top))
        listed.resize(static_cast<size_t>(config_.trending_top));
      t.hashtags = std::move(listed);
      // At most `capacity` baselines: the smallest m forgotten first (ties:
      // the hashtag that sorts last).
      if (kept.size() > capacity) {
        struct Ranked {
          double m;
          const std::string* label;
          uint64_t key;
        };
        std::vector<Ranked> order;
        order.reserve(kept.size());
        for (const auto& [key, kt] : kept) order.push_back({kt.ew.m, &kt.label, key});
        std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(capacity),
                         order.end(), [](const Ranked& a, const Ranked& b) {
                           return a.m != b.m ? a.m > b.m : *a.label < *b.label;
                         });
        std::vector<uint64_t> forget;
        for (size_t i = capacity; i < order.size(); ++i) forget.push_back(order[i].key);
        for (uint64_t key : forget) kept.erase(key);
      }
    }
    v->trending.push_back(std::move(t));
  }
  std::sort(v->trending.begin(), v->trending.end(),
            [](const auto& a, const auto& b) { return a.category < b.category; });

  // Active spikes, with their cause: the brand's most frequent hashtags in
  // the pane and the first events of the series.
  std::vector<uint32_t> merged_category(category_names_.size(), UINT32_MAX);
  std::vector<std::vector<Counted>> brand_tags;
  for (uint32_t b : current_brands_) {
    for (uint32_t p = 0; p <= P_; ++p) {
      const Series& s = series_[static_cast<size_t>(b) * (P_ + 1) + p];
      if (!s.active) continue;
      SignalsView::Spike spike;
      spike.category = names_[b].first;
      spike.brand = names_[b].second;
      spike.platform = p == P_ ? "all" : platforms_[p];
      spike.count = s.x;
      spike.baseline = s.baseline;
      spike.score = s.z;
      const uint32_t c = CategoryOf(b);
      if (c != kNoCategory && !panes.empty()) {
        if (merged_category[c] == UINT32_MAX) {
          sketches.clear();
          for (const Pane* pane : panes)
            if (const SpaceSaving* bt = pane->BrandTags(c); bt != nullptr && !bt->empty())
              sketches.push_back(bt);
          merged_category[c] = static_cast<uint32_t>(brand_tags.size());
          brand_tags.emplace_back();
          if (!sketches.empty()) MergeSketches(sketches, capacity, &brand_tags.back());
        }
        std::vector<Counted> mine;
        for (const Counted& e : brand_tags[merged_category[c]])
          if (e.owner == b) mine.push_back(e);
        std::sort(mine.begin(), mine.end(), ByCountThenLabel);
        for (size_t i = 0; i < mine.size() && i < kCauseHashtags; ++i)
          spike.hashtags.emplace_back(mine[i].label);
        std::vector<std::pair<uint64_t, std::string_view>> samples;
        for (const Pane* pane : panes) {
          for (const auto& sm : pane->samples) {
            if (sm.series / P_ != b || (p != P_ && sm.series % P_ != p)) continue;
            samples.emplace_back(sm.seq, std::string_view(pane->ids).substr(sm.offset, sm.size));
          }
        }
        std::sort(samples.begin(), samples.end());
        for (size_t i = 0; i < samples.size() && i < kSamples; ++i)
          spike.samples.emplace_back(samples[i].second);
      }
      v->spikes.push_back(std::move(spike));
    }
  }
  std::sort(v->spikes.begin(), v->spikes.end(), [](const auto& a, const auto& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.category != b.category) return a.category < b.category;
    if (a.brand != b.brand) return a.brand < b.brand;
    return a.platform < b.platform;
  });
  view_ = std::move(v);
  RebuildGauges();
}

void Signals::RebuildGauges() {
  auto g = std::make_shared<std::vector<SpikeGauge>>();
  g->reserve(gauges_ != nullptr ? gauges_->size() : 0);
  for (uint32_t b : current_brands_) {
    for (uint32_t p = 0; p <= P_; ++p) {
      const Series& s = series_[static_cast<size_t>(b) * (P_ + 1) + p];
      if (!s.seen) continue;
      g->push_back(SpikeGauge{b, p, s.z, s.baseline, s.spikes, s.active});
    }
  }
  gauges_ = std::move(g);
}

}  // namespace earshot
