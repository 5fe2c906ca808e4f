#include "pipeline/dedupe.h"

#include <functional>
#include <string>
#include <string_view>

namespace earshot {

uint64_t DedupeFingerprint(std::string_view platform, std::string_view id) {
  // Two independent std::hash (murmur-based in libstdc++) mixes; collisions
  // among live entries are ~n^2/2^65: negligible.
  uint64_t h = std::hash<std::string_view>{}(id);
  uint64_t p = std::hash<std::string_view>{}(platform);
  h ^= p + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

Deduper::Deduper(size_t max_entries) : max_entries_(max_entries) {
  table_.Grow(1024 * sizeof(Slot));
  slots_ = static_cast<Slot*>(table_.data());
  size_ = 1024;
}

bool Deduper::SeenOrInsert(uint64_t fp, int64_t bucket) {
  if (max_entries_ == 0) return false;
  if (fp == 0) fp = 1;
  if (bucket < min_bucket_) bucket = min_bucket_;
  const size_t mask = size_ - 1;
  size_t i = fp & mask;
  size_t reuse = SIZE_MAX;
  for (;;) {
    Slot& s = slots_[i];
    if (s.fp == 0) break;
    if (s.bucket < min_bucket_) {
      if (reuse == SIZE_MAX) reuse = i;
    } else if (s.fp == fp) {
      return true;
    }
    i = (i + 1) & mask;
  }
  if (live_ >= max_entries_) {
    EvictOldest();
    if (bucket < min_bucket_) bucket = min_bucket_;
  }
  if (reuse != SIZE_MAX) {
    slots_[reuse] = Slot{fp, bucket};
  } else {
    slots_[i] = Slot{fp, bucket};
    ++used_;
  }
  ++live_;
  if (bucket != cached_bucket_) {
    cached_ = per_bucket_.try_emplace(bucket, 0).first;
    cached_bucket_ = bucket;
  }
  ++cached_->second;
  if (used_ * 4 > size_ * 3) {
    // Grow when live entries need the room; otherwise drop the expired
    // slots in place (a rehash into a new table would hold both).
    size_t n = size_;
    while (live_ * 2 > n) n *= 2;
    if (n > size_) Grow(n);
    else PurgeExpired();
  }
  return false;
}

void Deduper::PurgeExpired() {
  const size_t n = size_;
  const size_t mask = n - 1;
  // Cluster by cluster (maximal runs of used slots), from just after an
  // empty slot so that none wraps past the start: the cluster is emptied
  // and its live entries put back. Every entry's home is inside its
  // cluster, so they land inside it again.
  size_t start = 0;
  while (slots_[start].fp != 0) start = (start + 1) & mask;  // used_ < n: there is one
  std::vector<Slot>& live = scratch_;
  for (size_t k = 1; k < n;) {
    size_t i = (start + k) & mask;
    if (slots_[i].fp == 0) {
      ++k;
      continue;
    }
    live.clear();
    for (; slots_[i].fp != 0; i = (i + 1) & mask, ++k) {
      if (IsLive(slots_[i])) live.push_back(slots_[i]);
      else --used_;
      slots_[i] = Slot{};
    }
    for (const Slot& s : live) {
      size_t j = s.fp & mask;
      while (slots_[j].fp != 0) j = (j + 1) & mask;
      slots_[j] = s;
    }
  }
}

void Deduper::ExpireBefore(int64_t min_bucket) {
  if (min_bucket <= min_bucket_) return;
  min_bucket_ = min_bucket;
  while (!per_bucket_.empty() && per_bucket_.begin()->first < min_bucket_) {
    live_ -= per_bucket_.begin()->second;
    if (per_bucket_.begin()->first == cached_bucket_) cached_bucket_ = INT64_MIN;
    per_bucket_.erase(per_bucket_.begin());
  }
}

void Deduper::set_max_entries(size_t max_entries) {
  max_entries_ = max_entries;
  while (live_ > max_entries_ && !per_bucket_.empty()) EvictOldest();
}

void Deduper::EvictOldest() {
  if (per_bucket_.empty()) return;
  evictions_ += per_bucket_.begin()->second;
  ExpireBefore(per_bucket_.begin()->first + 1);
}

void Deduper::Grow(size_t new_size) {
  // The old table's contents stay at [0, old_size), the rest is empty.
  // Every entry is taken out and put back under the new mask, in an order
  // in which no put-back entry's probe passes a slot that is emptied later
  // (that would cut its probe path):
  // - the slots before the first empty one go to scratch first (they may
  //   belong to a cluster that wraps past the end of the old table);
  // - then the slots after it, in increasing order. An entry at i has its
  //   old home h in its own cluster, which does not wrap: h <= i. If its
  //   new home is h, the probe meets only slots in [h, i), already done,
  //   and stops at i at the latest (emptied). If it is h plus a multiple of
  //   old_size, the probe meets only put-back entries up to the end of the
  //   table and, if it wraps, slots below i, all done, and stops at i at
  //   the latest;
  // - last, scratch goes into the now consistent table.
  const size_t old_size = size_;
  table_.Grow(new_size * sizeof(Slot));
  slots_ = static_cast<Slot*>(table_.data());
  size_ = new_size;
  const size_t mask = new_size - 1;
  std::vector<Slot>& wrapped = scratch_;
  wrapped.clear();
  size_t first_empty = 0;
  while (slots_[first_empty].fp != 0) ++first_empty;  // used_ < old_size: there is one
  for (size_t i = 0; i < first_empty; ++i) {
    if (IsLive(slots_[i])) wrapped.push_back(slots_[i]);
    slots_[i] = Slot{};
  }
  used_ = 0;
  auto put = [this, mask](const Slot& s) {
    size_t j = s.fp & mask;
    while (slots_[j].fp != 0) j = (j + 1) & mask;
    slots_[j] = s;
    ++used_;
  };
  for (size_t i = first_empty + 1; i < old_size; ++i) {
    const Slot s = slots_[i];
    if (s.fp == 0) continue;
    slots_[i] = Slot{};
    if (IsLive(s)) put(s);
  }
  for (const Slot& s : wrapped) put(s);
}

}  // namespace earshot
