#include "pipeline/window_state.h"

namespace earshot {

const char* BasisName(int basis) {
  switch (basis) {
    case kMentions: return "mentions";
    case kReach: return "reach";
    case kEngagement: return "engagement";
    case kViews: return "views";
  }
  return "mentions";
}

HoppingWindow::HoppingWindow(const WindowSpec& spec)
    : spec_(spec),
      buckets_per_window_(spec.size_ms / spec.step_ms),
      event_step_(spec.step_ms),
      now_step_(spec.step_ms) {}

void HoppingWindow::Add(int64_t now_ms, int64_t event_ms, SeriesKey key, const Values& v) {
  const int64_t index = event_step_(event_ms);
  if (index < now_step_(now_ms) + 1 - buckets_per_window_) return;  // FirstBucket(now_ms)
  if (index != last_index_ || last_bucket_ == nullptr) {
    // A new bucket is sized like the last one: growing it step by step
    // rehashes everything several times, into cold memory.
    const size_t hint = last_bucket_ != nullptr ? last_bucket_->size() : 0;
    auto [it, inserted] = buckets_.try_emplace(index);
    if (inserted) it->second.reserve(hint);
    last_bucket_ = &it->second;
    last_index_ = index;
  }
  (*last_bucket_)[key].AddSaturating(v);
  if (index >= sum_first_ && index <= sum_last_) sum_at_max_ |= sum_[key].AddSaturating(v);
}

void HoppingWindow::AdvanceSum(int64_t now_ms) {
  // The running sum stops before T's own bucket, which takes nearly every Add:
  // the hot path then updates one map, and a scrape adds that bucket itself.
  const int64_t first = FirstBucket(now_ms);
  const int64_t last = FloorDiv(now_ms, spec_.step_ms) - 1;
  if (first == sum_first_ && last == sum_last_) return;
  auto add = [this](SeriesKey key, const Values& v) { sum_at_max_ |= sum_[key].AddSaturating(v); };
  if (sum_at_max_ || first < sum_first_ || first > sum_last_ || last < sum_last_) {
    // Backwards (a wall clock step), no overlap, or a value stopped at
    // 2^64-1: start over.
    sum_.clear();
    sum_at_max_ = false;
    ForEachInBuckets(first, last, add);
  } else {
    // Forwards: subtract the buckets that left, add the ones that entered.
    ForEachInBuckets(sum_first_, first - 1, [this](SeriesKey key, const Values& v) { sum_[key].Sub(v); });
    ForEachInBuckets(sum_last_ + 1, last, add);
    // Series whose values all left stay as zeros (ForEachInWindow skips
    // them): at most one entry per series ever seen, and no scan of the sum
    // per step.
  }
  sum_first_ = first;
  sum_last_ = last;
}

void HoppingWindow::Expire(int64_t now_ms) {
  AdvanceSum(now_ms);
  int64_t first = FirstBucket(now_ms);
  while (!buckets_.empty() && buckets_.begin()->first < first) {
    if (buckets_.begin()->first == last_index_) {
      last_bucket_ = nullptr;
      last_index_ = INT64_MIN;
    }
    buckets_.erase(buckets_.begin());
  }
}

void HoppingWindow::RetainBrands(const std::vector<bool>& keep) {
  auto dropped = [&](SeriesKey key, const Values&) {
    uint32_t b = SeriesBrand(key);
    return b >= keep.size() || !keep[b];
  };
  for (auto& [index, bucket] : buckets_) bucket.EraseIf(dropped);
  sum_.EraseIf(dropped);
}

}  // namespace earshot
