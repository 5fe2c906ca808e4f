#pragma once
// Hopping (sliding) windows of docs/windows.md. At time T a window of size S
// and step P covers event times in
//   [floor(T/P)*P + P - S, floor(T/P)*P + P)
// i.e. the S/P step-buckets ending with the bucket that holds T. Each bucket
// keeps sparse per-series values; buckets that leave the window are dropped
// as T advances. Events in future buckets wait until T reaches them.
// A running sum of the buckets inside the window at the last Expire(), but
// for T's own bucket, keeps SumInto() proportional to the series, not
// series x buckets (a scrape holds the pipeline's lock while it sums).
// Not thread-safe: owned by one partition's state, guarded by the caller.

#include <cstdint>
#include <map>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/flat_map.h"

namespace earshot {

enum Basis : int { kMentions = 0, kReach = 1, kEngagement = 2, kViews = 3 };
inline constexpr int kBasisCount = 4;
const char* BasisName(int basis);  // "mentions" | "reach" | "engagement" | "views"

struct Values {
  uint64_t v[kBasisCount] = {0, 0, 0, 0};
  void Add(const Values& o) {
    for (int i = 0; i < kBasisCount; ++i) v[i] += o.v[i];
  }
  // A sum past 2^64-1 stays there instead of wrapping round: the _total
  // counters (a counter never goes down), a window's buckets and running
  // sum, and the sums over partitions. Returns whether a value is now
  // 2^64-1 (HoppingWindow then rebuilds its running sum, which Sub cannot
  // take a bucket out of once it has stopped there).
  bool AddSaturating(const Values& o) {
    bool at_max = false;
    for (int i = 0; i < kBasisCount; ++i) {
      if (__builtin_add_overflow(v[i], o.v[i], &v[i])) v[i] = UINT64_MAX;
      at_max |= v[i] == UINT64_MAX;
    }
    return at_max;
  }
  void Sub(const Values& o) {
    for (int i = 0; i < kBasisCount; ++i) v[i] -= o.v[i];
  }
  bool zero() const { return (v[0] | v[1] | v[2] | v[3]) == 0; }
};

// A series: a stable brand id and a platform index.
using SeriesKey = uint64_t;
inline SeriesKey MakeSeriesKey(uint32_t brand_id, uint32_t platform) {
  return (static_cast<uint64_t>(brand_id) << 32) | platform;
}
inline uint32_t SeriesBrand(SeriesKey k) { return static_cast<uint32_t>(k >> 32); }
inline uint32_t SeriesPlatform(SeriesKey k) { return static_cast<uint32_t>(k); }

// Flat open addressing: the windows add into it once per matched brand and
// window, so this is on the hot path.
using SeriesMap = FlatMap<Values>;

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// floor(t / step) with the step of the last t remembered: consecutive
// times mostly fall in the same step, and a 64-bit division costs more than
// the rest of a window update. Not thread-safe.
class StepIndex {
 public:
  explicit StepIndex(int64_t step) : step_(step) {}
  int64_t operator()(int64_t t) {
    // Unsigned: t - start_ cannot overflow; a t before start_ wraps large.
    if (static_cast<uint64_t>(t) - static_cast<uint64_t>(start_) < static_cast<uint64_t>(step_)) {
      return index_;
    }
    index_ = FloorDiv(t, step_);
    start_ = index_ * step_;
    return index_;
  }

 private:
  int64_t step_;
  int64_t start_ = 0;  // [start_, start_ + step_) is step index_ (0 holds [0, step))
  int64_t index_ = 0;
};

class HoppingWindow {
 public:
  explicit HoppingWindow(const WindowSpec& spec);

  const WindowSpec& spec() const { return spec_; }
  // The first bucket index inside the window at time `now_ms`.
  int64_t FirstBucket(int64_t now_ms) const {
    return FloorDiv(now_ms, spec_.step_ms) + 1 - buckets_per_window_;
  }
  // The start of the window at `now_ms`, in ms.
  int64_t WindowStartMillis(int64_t now_ms) const {
    return FloorDiv(now_ms, spec_.step_ms) * spec_.step_ms + spec_.step_ms - spec_.size_ms;
  }

  // Adds `v` to `key` at event time `event_ms`; ignored when the event is
  // already older than the window at `now_ms`.
  void Add(int64_t now_ms, int64_t event_ms, SeriesKey key, const Values& v);
  // Cache hint for a coming Add() of `key` at `event_ms` (newest bucket only).
  void Prefetch(int64_t event_ms, SeriesKey key) const {
    if (last_bucket_ != nullptr &&
        static_cast<uint64_t>(event_ms) - static_cast<uint64_t>(last_index_ * spec_.step_ms) <
            static_cast<uint64_t>(spec_.step_ms)) {
      last_bucket_->Prefetch(key);
    }
  }
  // Drops buckets that have left the window at `now_ms` and moves the
  // running sum to the window at `now_ms`.
  void Expire(int64_t now_ms);
  // Calls add(key, values) for the window's values at `now_ms`, a series
  // possibly more than once (from the running sum when `now_ms` is in the
  // step of the last Expire(), plus T's own bucket).
  template <typename AddFn>
  void ForEachInWindow(int64_t now_ms, AddFn&& add) const;
  // Adds the window's values at `now_ms` into `*out`.
  void SumInto(int64_t now_ms, SeriesMap* out) const {
    ForEachInWindow(now_ms,
                    [out](SeriesKey key, const Values& v) { (*out)[key].AddSaturating(v); });
  }
  // Removes series whose brand is not kept.
  void RetainBrands(const std::vector<bool>& keep_brand_id);
  size_t bucket_count() const { return buckets_.size(); }

 private:
  WindowSpec spec_;
  int64_t buckets_per_window_;
  void AdvanceSum(int64_t now_ms);
  // Calls add(key, values) for each series of each bucket in [first, last].
  template <typename AddFn>
  void ForEachInBuckets(int64_t first, int64_t last, AddFn&& add) const {
    for (auto it = buckets_.lower_bound(first); it != buckets_.end() && it->first <= last; ++it) {
      for (const auto& [key, v] : it->second) add(key, v);
    }
  }

  StepIndex event_step_;  // bucket index of an event time
  StepIndex now_step_;    // step index of T
  std::map<int64_t, SeriesMap> buckets_;
  // sum_ = the sum of buckets [sum_first_, sum_last_] (empty range at first);
  // sum_last_ is the bucket before T's at the last Expire().
  SeriesMap sum_;
  int64_t sum_first_ = 0;
  int64_t sum_last_ = -1;
  // A value of sum_ reached 2^64-1: it may have stopped there, so the next
  // AdvanceSum adds the buckets up afresh instead of subtracting (only a
  // window whose true sum passes 2^64 ever does).
  bool sum_at_max_ = false;
  // Most events land in the newest bucket: remember it.
  int64_t last_index_ = INT64_MIN;
  SeriesMap* last_bucket_ = nullptr;
};

template <typename AddFn>
void HoppingWindow::ForEachInWindow(int64_t now_ms, AddFn&& add) const {
  const int64_t first = FirstBucket(now_ms);
  const int64_t last = FloorDiv(now_ms, spec_.step_ms);
  if (first != sum_first_ || last - 1 != sum_last_) {
    ForEachInBuckets(first, last, add);
    return;
  }
  for (const auto& [key, v] : sum_) {
    if (!v.zero()) add(key, v);
  }
  ForEachInBuckets(last, last, add);
}

}  // namespace earshot
