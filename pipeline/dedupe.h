#pragma once
// Exact dedupe of (platform, id) within a horizon of event time, in memory
// bounded by configuration (docs/windows.md).
//
// Entries are 64-bit fingerprints in an open-addressing table, each tagged
// with its event-time bucket; buckets older than the horizon expire lazily
// (their slots are reused) and purged in place when the table fills. When the
// number of live entries would exceed `max_entries`, the oldest buckets are
// evicted early (the effective horizon shrinks) and counted in evictions().
// Memory: 16 bytes a slot; the table is a power of two that grows to at
// least twice the live entries, so below 4x max_entries slots (2.1x at the
// round caps 1M and 8M). The table grows in place (base/zeroed_buffer.h:
// mremap, then a rehash within the doubled table), so growth neither holds
// the old and the new table at once nor touches memory the final table
// does not use.
// Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "base/prefetch.h"
#include "base/zeroed_buffer.h"

namespace earshot {

class Deduper {
 public:
  explicit Deduper(size_t max_entries);

  // Returns true when `fingerprint` was already seen in a live bucket;
  // otherwise records it in `bucket` and returns false. `bucket` is clamped
  // to the oldest live bucket (so late events are still deduped while that
  // bucket lives). A fingerprint of 0 is remapped internally.
  bool SeenOrInsert(uint64_t fingerprint, int64_t bucket);
  // Cache hint for a coming SeenOrInsert(fingerprint, ...): the table is
  // megabytes, so its probe is a cache miss unless started early.
  void Prefetch(uint64_t fingerprint) const {
    const uint64_t fp = fingerprint == 0 ? 1 : fingerprint;
    PrefetchForRead(&slots_[fp & (size_ - 1)]);
  }

  // Expires every bucket older than `min_bucket`.
  void ExpireBefore(int64_t min_bucket);
  // Changes the cap; the oldest buckets are evicted (counted) down to it.
  void set_max_entries(size_t max_entries);

  size_t live_entries() const { return live_; }
  uint64_t evictions() const { return evictions_; }
  // Evictions since the last call (for a metric).
  uint64_t TakeEvictions() {
    uint64_t n = evictions_ - reported_evictions_;
    reported_evictions_ = evictions_;
    return n;
  }
  size_t capacity_slots() const { return size_; }

 private:
  struct Slot {
    uint64_t fp = 0;  // 0 = empty (all zero bits: a fresh ZeroedBuffer is empty)
    int64_t bucket = 0;
  };
  bool IsLive(const Slot& s) const { return s.fp != 0 && s.bucket >= min_bucket_; }
  void Grow(size_t new_size);  // rehashes in place, dropping expired slots
  void PurgeExpired();         // drops expired slots in place
  void EvictOldest();

  size_t max_entries_;
  ZeroedBuffer table_;     // size_ slots
  Slot* slots_ = nullptr;  // table_.data()
  size_t size_ = 0;        // a power of two
  size_t used_ = 0;  // non-empty slots, live or expired
  size_t live_ = 0;
  int64_t min_bucket_ = INT64_MIN;
  std::map<int64_t, size_t> per_bucket_;  // live entries per bucket
  // Most inserts go to the newest bucket: remember its entry.
  int64_t cached_bucket_ = INT64_MIN;
  std::map<int64_t, size_t>::iterator cached_;
  std::vector<Slot> scratch_;  // one cluster's live entries (purge); deferred entries (grow)
  uint64_t evictions_ = 0;
  uint64_t reported_evictions_ = 0;
};

// The fingerprint of a (platform, id) pair.
uint64_t DedupeFingerprint(std::string_view platform, std::string_view id);

}  // namespace earshot
