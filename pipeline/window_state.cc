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
    : spec_(spec), buckets_per_window_(spec.size_ms / spec.step_ms) {}

void HoppingWindow::Add(int64_t now_ms, int64_t event_ms, SeriesKey key, const Values& v) {
  int64_t index = FloorDiv(event_ms, spec_.step_ms);
  if (index < FirstBucket(now_ms)) return;
  if (index != last_index_ || last_bucket_ == nullptr) {
    last_bucket_ = &buckets_[index];
    last_index_ = index;
  }
  (*last_bucket_)[key].Add(v);
}

void HoppingWindow::Expire(int64_t now_ms) {
  int64_t first = FirstBucket(now_ms);
  while (!buckets_.empty() && buckets_.begin()->first < first) {
    if (buckets_.begin()->first == last_index_) {
      last_bucket_ = nullptr;
      last_index_ = INT64_MIN;
    }
    buckets_.erase(buckets_.begin());
  }
}

void HoppingWindow::SumInto(int64_t now_ms, SeriesMap* out) const {
  int64_t first = FirstBucket(now_ms);
  int64_t last = FloorDiv(now_ms, spec_.step_ms);
  for (auto it = buckets_.lower_bound(first); it != buckets_.end() && it->first <= last; ++it) {
    for (const auto& [key, v] : it->second) (*out)[key].Add(v);
  }
}

void HoppingWindow::RetainBrands(const std::vector<bool>& keep) {
  for (auto& [index, bucket] : buckets_) {
    bucket.EraseIf([&](SeriesKey key, const Values&) {
      uint32_t b = SeriesBrand(key);
      return b >= keep.size() || !keep[b];
    });
  }
}

}  // namespace earshot
