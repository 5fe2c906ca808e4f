#pragma once
// Signals (docs/signals.md; docs/signals.md has the method, a worked
// example and the costs): mention spikes per (category, brand, platform)
// against an exponentially weighted baseline, and trending hashtags per
// category, computed in the stream over tumbling event-time panes.
//
// Panes: pane k holds event times [k*pane, (k+1)*pane) and closes when the
// processor's T (wall clock, or the largest event time under clock: event)
// reaches (k+1)*pane + delay. An event counts in its pane when it is counted
// by the windows (not a duplicate, not late) and its pane is still open; one
// that arrives after its pane closed is in no pane. When T passes several
// closes at once, the panes close one by one in order, the empty ones with
// x = 0 for every series.
//
// The counts of open panes are kept per source partition (Signals::Partition,
// owned by the processor's partition state, so a revoked partition takes its
// counts along and a rebuilt one recounts them, as the windows do), and are
// merged when the pane closes: plain counts and Space-Saving sketches,
// nothing tied to one process. The baselines (m, v per series and per kept
// hashtag) are the process's.
//
// Cost on the hot path, per counted event that matched a brand: one counter
// increment per brand in a dense array (the "all" series is the sum over
// platforms, taken at close), the event id copied for the first 3 events of
// a series in a pane, and a memchr for '#' over the normalized text; only a
// text with a hashtag costs more (a hash and a sketch update per hashtag and
// category, and per hashtag and brand). Nothing is allocated per event once
// the panes' buffers have grown.
//
// Not thread-safe: the processor calls it under its state lock. The views it
// hands out (SignalsView, SpikeGauge) are plain values.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/count_heap.h"
#include "pipeline/window_state.h"
#include "rules/rule_set.h"

namespace earshot {

// ---------------------------------------------------------------------------
// Building blocks (public for tests)

// a = 1 - 2^(-pane/half_life): the weight of the newest pane.
double SignalsAlpha(int64_t pane_ms, int64_t half_life_ms);

// The running mean and variance of one count series (both 0 when first seen).
struct EwStats {
  double m = 0;
  double v = 0;
  // z of x against the baseline, z = (x - m) / sqrt(v + m + 1) (a Poisson
  // floor: a series of mean m varies by about sqrt(m) even when its past was
  // flat); then d = x - m, m += a*d, v = (1 - a) * (v + a*d*d). Returns z.
  double ScoreAndUpdate(double x, double a);
  // `n` panes of x = 0 at once. Exact (pane by pane) for the last
  // kExactPanes of them; before that, in closed form: with r = (1-a)^n,
  // m' = r*m and v' = r*(v + m*m*(1 - r)). *last_z and *last_m get the z
  // and m of the last of the n panes.
  void ZeroPanes(int64_t n, double a, double* last_z, double* last_m);
  static constexpr int64_t kExactPanes = 4096;
};

// 64-bit hash of a hashtag's bytes (its identity in the sketches: two
// hashtags are confused only on a 64-bit collision).
uint64_t HashtagKey(std::string_view hashtag);

// Calls fn(std::string_view hashtag) for each hashtag of a normalized text,
// in text order (repeats included): '#' followed by a maximal run of word
// characters, the '#' at the text's start or after a non-word character,
// taken with its '#'. `words` are the text's maximal runs of word
// characters (rules::MatchScratch::words after Match()).
// Cost: a memchr over the text; then per '#', a binary search of the words.
template <typename Fn>
void ForEachHashtag(std::string_view text, const rules::WordList& words, Fn&& fn) {
  const char* const base = text.data();
  const char* const end = base + text.size();
  auto next_hash = [end](const char* from) {
    return from >= end ? nullptr
                       : static_cast<const char*>(
                             std::memchr(from, '#', static_cast<size_t>(end - from)));
  };
  for (const char* p = next_hash(base); p != nullptr; p = next_hash(p + 1)) {
    const uint32_t at = static_cast<uint32_t>(p - base);
    // The first word starting after the '#': it must start right after it,
    // and no word may end at the '#' (a word character before it).
    auto w = std::upper_bound(words.begin(), words.end(), at,
                              [](uint32_t pos, const rules::WordSpan& x) { return pos < x.begin; });
    if (w == words.end() || w->begin != at + 1) continue;
    if (w != words.begin() && std::prev(w)->end == at) continue;
    fn(text.substr(at, w->end - at));
  }
}

// The first `max_bytes` bytes of UTF-8 `s`, cut back to a character boundary.
std::string_view CutUtf8(std::string_view s, size_t max_bytes);

// Space-Saving (Metwally, Agrawal, El Abbadi 2005): the counts of at most
// `capacity` keys of a stream. A key not monitored when the summary is full
// replaces the one with the smallest count c and starts from c + 1 (error
// c). Exact while no more than `capacity` distinct keys were added; past
// that every count overestimates by at most its error <= N/capacity (N: the
// adds), and every key counted more than N/capacity times is monitored.
//
// Cost: until the summary fills up, an Add is one probe of an
// open-addressing index whose slot also holds the count (one cache line for
// a key already there). When it fills, a min-heap by count is built, and an
// Add then costs O(log capacity). Memory is fixed by the capacity once
// grown; Reset keeps it. Not thread-safe.
class SpaceSaving {
 public:
  // A monitored key, as ForEach and Find report it.
  struct Item {
    uint64_t key;
    uint64_t count;
    uint64_t error;         // the count the key inherited when it entered
    uint32_t owner;         // a caller's tag (a brand id), set when it entered
    std::string_view label; // the hashtag; valid until the next Add or Reset
  };

  explicit SpaceSaving(size_t capacity = 0) { Reset(capacity); }
  // Empties the summary (memory is kept) and sets its capacity.
  void Reset(size_t capacity);
  // Counts one occurrence of `key`; `label` and `owner` are stored when the
  // key enters the summary.
  void Add(uint64_t key, std::string_view label, uint32_t owner = 0);
  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint64_t total() const { return total_; }  // N: every Add
  // Calls fn(const Item&) for every monitored key, in no particular order.
  template <typename Fn>
  void ForEach(Fn&& fn) const;
  std::optional<Item> Find(uint64_t key) const;

 private:
  struct Slot {
    uint64_t key;
    uint32_t entry_plus_one;  // 0: empty
    uint32_t count;           // the key's count until the heap is built
  };
  struct Entry {
    uint64_t key = 0;
    uint64_t count = 0;  // once the heap is built
    uint64_t error = 0;
    uint32_t owner = 0;
    std::string label;
  };
  size_t SlotOf(uint64_t key) const;
  Slot* Probe(uint64_t key);  // the key's slot, or null
  void IndexInsert(uint64_t key, uint32_t entry, uint32_t count);
  void IndexErase(uint64_t key);
  void BuildHeap();
  // The heap's view of the counts.
  auto Counts() const {
    return [this](uint32_t e) { return entries_[e].count; };
  }
  Item ItemOf(const Slot& s) const {
    const Entry& e = entries_[s.entry_plus_one - 1];
    return {e.key, heap_.empty() ? s.count : e.count, e.error, e.owner, e.label};
  }

  size_t capacity_ = 0;
  size_t size_ = 0;
  uint64_t total_ = 0;
  std::vector<Entry> entries_;  // [0, size_) in use; the rest keep their label buffers
  // Built when the summary fills; from then on the counts live in entries_.
  CountHeap heap_;
  std::vector<Slot> index_;     // power of two, at most half full
};

template <typename Fn>
void SpaceSaving::ForEach(Fn&& fn) const {
  if (size_ == 0) return;
  for (const Slot& s : index_) {
    if (s.entry_plus_one != 0) fn(ItemOf(s));
  }
}

// ---------------------------------------------------------------------------
// Results

// The spike gauges of one series after the last closed pane.
struct SpikeGauge {
  uint32_t brand;     // the processor's stable brand id
  uint32_t platform;  // an index into the platform table; == its size: "all"
  double score;       // z of the last closed pane
  double baseline;    // the m that z used
  uint64_t spikes;    // raises so far
  bool active;
};

// The last closed pane, for /api/v1/signals.
struct SignalsView {
  struct Spike {
    std::string category, brand, platform;
    uint64_t count;
    double baseline, score;
    std::vector<std::string> hashtags;  // up to 5, most frequent first
    std::vector<std::string> samples;   // up to 3 event ids, first counted first
  };
  struct Hashtag {
    std::string hashtag;
    uint64_t count;
    double score;
  };
  struct Trending {
    std::string category;
    std::vector<Hashtag> hashtags;  // z descending, then hashtag
  };
  bool closed = false;    // a pane has closed
  int64_t pane_start_ms = 0;
  std::vector<Spike> spikes;  // active spikes: z descending, then category, brand, platform
  std::vector<Trending> trending;  // every category of the rules, by name
};

// The JSON body of /api/v1/signals (docs/signals.md); hashtags are cut to
// 64 bytes at a character boundary.
std::string SignalsViewJson(const SignalsView& view);

// ---------------------------------------------------------------------------

class Signals {
 public:
  // One source partition's open panes. Created by NewPartition(), owned by
  // the processor's partition state; destroying it drops its counts.
  class Partition;
  struct PartitionDeleter {
    void operator()(Partition* p) const;
  };
  using PartitionPtr = std::unique_ptr<Partition, PartitionDeleter>;

  // `platforms`: the platform table's names (configured + "other"), in
  // index order; the "all" series is index platforms.size().
  Signals(const SignalsConfig& config, std::vector<std::string> platforms);
  ~Signals();
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;

  PartitionPtr NewPartition();

  // The rule set changed. `current`: the stable ids of its brands; `names`:
  // (category, brand) of every stable id. Series of brands that left are
  // forgotten (a brand that comes back starts over), as are the hashtag
  // baselines of categories that left.
  void SetBrands(const std::vector<uint32_t>& current,
                 const std::vector<std::pair<std::string, std::string>>& names);

  // Whether T = `now` closes a pane (inline: called per event).
  bool Due(int64_t now) const { return now >= next_close_ms_; }
  // Closes every pane that T = `now` closes, in order.
  void Advance(int64_t now);

  // A counted event (not a duplicate, not late) at `event_ms`, T = `now`,
  // that matched `brands` (stable ids) on `platform`; `scratch` holds its
  // normalized text and words (after Match()). Call Advance(now) first when
  // Due(now).
  void Add(Partition* part, int64_t now, int64_t event_ms, uint32_t platform,
           const uint32_t* brands, size_t brand_count, std::string_view id,
           const rules::MatchScratch& scratch);

  // The gauges of every series seen (the current rules' brands), by brand
  // id then platform ("all" last): an immutable value replaced when a pane
  // closes, so a scrape copies a pointer under the lock, not the series.
  std::shared_ptr<const std::vector<SpikeGauge>> gauges() const { return gauges_; }
  // The last closed pane (a shared immutable value: cheap to copy out).
  std::shared_ptr<const SignalsView> view() const { return view_; }
  // The first pane that has not closed (for tests); INT64_MIN before any
  // event.
  int64_t next_pane() const { return started_ ? next_pane_ : INT64_MIN; }

 private:
  struct Pane;
  struct Series;
  struct KeptTag;
  friend class Partition;

  void Start(int64_t now);
  void Unregister(Partition* p);
  std::unique_ptr<Pane> TakePane();
  void ClosePane(int64_t k);
  void CloseEmptyPanes(int64_t first, int64_t n);
  void UpdateSeries(Series& s, uint64_t x);
  void Publish(int64_t k, const std::vector<Pane*>& panes);
  void RebuildGauges();
  uint32_t CategoryOf(uint32_t brand) const {
    return brand < brand_category_.size() ? brand_category_[brand] : kNoCategory;
  }

  static constexpr uint32_t kNoCategory = UINT32_MAX;

  const SignalsConfig config_;
  const std::vector<std::string> platforms_;
  const uint32_t P_;  // real platforms; series per brand: P_ + 1
  const double alpha_;
  StepIndex pane_of_;

  bool started_ = false;
  int64_t next_pane_ = 0;               // the first pane not closed
  int64_t next_close_ms_ = INT64_MAX;   // when it closes
  uint64_t seq_ = 0;                    // arrival order, for samples
  bool closed_data_ = false;            // a pane with a counted event has closed

  // Rules.
  std::vector<uint32_t> current_brands_;                       // stable ids, rule order
  std::vector<std::pair<std::string, std::string>> names_;     // stable id -> names
  std::vector<uint32_t> brand_category_;                       // stable id -> category id
  std::vector<std::string> category_names_;                    // category id -> name
  std::unordered_map<std::string, uint32_t> category_ids_;
  std::vector<bool> category_current_;                         // in the current rules
  size_t brand_slots_ = 0;                                     // stable ids known

  std::vector<Partition*> partitions_;
  std::vector<std::unique_ptr<Pane>> free_panes_;
  std::vector<Series> series_;                                 // brand * (P + 1) + platform
  std::vector<std::unordered_map<uint64_t, KeptTag>> kept_;    // per category id
  std::shared_ptr<const std::vector<SpikeGauge>> gauges_;
  std::shared_ptr<const SignalsView> view_;

  // Per-event scratch.
  std::vector<std::pair<uint64_t, std::string_view>> tags_;
  std::unordered_set<uint64_t> tag_keys_;  // tags_'s keys, once there are many
  std::vector<uint32_t> cats_;
  // Close scratch.
  std::vector<uint64_t> x_;
};

}  // namespace earshot
