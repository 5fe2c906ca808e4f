#include "pipeline/dedupe.h"

#include <gtest/gtest.h>

#include "base/zeroed_buffer.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace earshot {
namespace {

TEST(DeduperTest, SecondSightingIsADuplicate) {
  Deduper d(100);
  EXPECT_FALSE(d.SeenOrInsert(DedupeFingerprint("twitter", "1"), 10));
  EXPECT_TRUE(d.SeenOrInsert(DedupeFingerprint("twitter", "1"), 10));
  EXPECT_TRUE(d.SeenOrInsert(DedupeFingerprint("twitter", "1"), 12));  // any live bucket
  EXPECT_FALSE(d.SeenOrInsert(DedupeFingerprint("instagram", "1"), 10));
  EXPECT_EQ(d.live_entries(), 2u);
}

TEST(DeduperTest, ExpiredBucketsAreForgotten) {
  Deduper d(100);
  EXPECT_FALSE(d.SeenOrInsert(DedupeFingerprint("twitter", "1"), 10));
  d.ExpireBefore(11);
  EXPECT_EQ(d.live_entries(), 0u);
  EXPECT_FALSE(d.SeenOrInsert(DedupeFingerprint("twitter", "1"), 11));
}

TEST(DeduperTest, LateEventsAreClampedToTheOldestLiveBucket) {
  Deduper d(100);
  d.ExpireBefore(50);
  EXPECT_FALSE(d.SeenOrInsert(DedupeFingerprint("twitter", "late"), 3));
  EXPECT_TRUE(d.SeenOrInsert(DedupeFingerprint("twitter", "late"), 3));
}

TEST(DeduperTest, MemoryIsBoundedByMaxEntries) {
  Deduper d(1000);
  for (int i = 0; i < 100000; ++i) {
    // One bucket per 100 ids: the oldest buckets are evicted to stay at the cap.
    d.SeenOrInsert(DedupeFingerprint("twitter", std::to_string(i)), i / 100);
  }
  EXPECT_LE(d.live_entries(), 1000u);
  EXPECT_GE(d.evictions(), 99000u);
  EXPECT_LE(d.capacity_slots(), 4096u);
  // The newest ids are still remembered.
  EXPECT_TRUE(d.SeenOrInsert(DedupeFingerprint("twitter", "99999"), 999));
}

TEST(DeduperTest, ExactWithManyEntriesAndChurn) {
  Deduper d(1 << 20);
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 5000; ++i) {
      std::string id = std::to_string(round * 5000 + i);
      ASSERT_FALSE(d.SeenOrInsert(DedupeFingerprint("reddit", id), round)) << id;
    }
    for (int i = 0; i < 5000; i += 7) {
      ASSERT_TRUE(d.SeenOrInsert(DedupeFingerprint("reddit", std::to_string(round * 5000 + i)), round));
    }
    d.ExpireBefore(round - 2);  // keep 3 rounds live
  }
  EXPECT_LE(d.live_entries(), 15000u);
}

// Expired entries are purged in place once the table fills (no growth at
// a steady live count): every live id is still found, no expired one is.
TEST(DeduperTest, InPlacePurgeKeepsExactlyTheLiveEntries) {
  Deduper d(1 << 20);
  constexpr int kPerBucket = 3000;
  constexpr int kLiveBuckets = 4;
  size_t slots_after_warmup = 0;
  for (int bucket = 0; bucket < 60; ++bucket) {
    d.ExpireBefore(bucket - kLiveBuckets + 1);
    for (int i = 0; i < kPerBucket; ++i) {
      const std::string id = std::to_string(bucket * kPerBucket + i);
      ASSERT_FALSE(d.SeenOrInsert(DedupeFingerprint("x", id), bucket)) << id;
    }
    if (bucket == 10) slots_after_warmup = d.capacity_slots();
    // Every id of the live buckets is a duplicate; the bucket before is gone.
    for (int b = std::max(0, bucket - kLiveBuckets + 1); b <= bucket; ++b) {
      for (int i = 0; i < kPerBucket; i += 97) {
        ASSERT_TRUE(d.SeenOrInsert(DedupeFingerprint("x", std::to_string(b * kPerBucket + i)), bucket));
      }
    }
    if (bucket >= kLiveBuckets) {
      const int gone = bucket - kLiveBuckets;
      d.ExpireBefore(bucket - kLiveBuckets + 1);
      EXPECT_FALSE(d.SeenOrInsert(DedupeFingerprint("x", std::to_string(gone * kPerBucket + 1)),
                                  bucket))
          << "bucket " << gone << " should have expired";
    }
  }
  EXPECT_EQ(d.capacity_slots(), slots_after_warmup);  // steady state: purged, not grown
}

TEST(DeduperTest, ZeroCapacityDisablesDedupe) {
  Deduper d(0);
  EXPECT_FALSE(d.SeenOrInsert(1, 0));
  EXPECT_FALSE(d.SeenOrInsert(1, 0));
}

// The dedupe table's storage: from malloc, then a mapping, then mremap'd
// larger; the contents survive each step and the bytes added are zero.
TEST(ZeroedBufferTest, GrowthKeepsContentsAndZeroesTheRest) {
  ZeroedBuffer b;
  size_t filled = 0;
  for (size_t size : {size_t{1000}, size_t{4096}, ZeroedBuffer::kMapBytes + 8, size_t{1} << 20,
                      (size_t{1} << 22) + 123}) {
    b.Grow(size);
    ASSERT_EQ(b.size(), size);
    EXPECT_EQ(b.mapped(), size >= ZeroedBuffer::kMapBytes);
    const unsigned char* p = static_cast<const unsigned char*>(b.data());
    for (size_t i = 0; i < filled; ++i) ASSERT_EQ(p[i], static_cast<unsigned char>(i * 7 + 1)) << i;
    for (size_t i = filled; i < size; ++i) ASSERT_EQ(p[i], 0) << i;
    unsigned char* w = static_cast<unsigned char*>(b.data());
    for (size_t i = filled; i < size; ++i) w[i] = static_cast<unsigned char>(i * 7 + 1);
    filled = size;
  }
  b.Grow(1000);  // smaller: no effect
  EXPECT_EQ(b.size(), filled);
  ZeroedBuffer moved(std::move(b));
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(moved.size(), filled);
  EXPECT_EQ(static_cast<const unsigned char*>(moved.data())[filled - 1],
            static_cast<unsigned char>((filled - 1) * 7 + 1));
}

// Fingerprints whose low 16 bits are among the last 64 of every table size
// up to 64Ki slots: their homes are the table's last slots, so they form
// clusters that wrap past the end, before and after each doubling (the
// table's home is the fingerprint's low bits).
uint64_t WrappingFingerprint(std::mt19937_64& rng) {
  return (rng() << 16) | (0xFFFF - rng() % 64);
}

// Grows from 1024 slots across five doublings with every entry in clusters
// that wrap past the end of the table: each entry is found after each
// growth, and a new one is not.
TEST(DeduperTest, GrowthKeepsWrappingClusters) {
  Deduper d(1 << 20);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> inserted;
  size_t last_slots = d.capacity_slots();
  int growths = 0;
  while (growths < 5) {
    const uint64_t fp = WrappingFingerprint(rng);
    ASSERT_FALSE(d.SeenOrInsert(fp, 0)) << inserted.size();
    inserted.push_back(fp);
    if (d.capacity_slots() != last_slots) {
      ++growths;
      last_slots = d.capacity_slots();
      for (uint64_t seen : inserted) ASSERT_TRUE(d.SeenOrInsert(seen, 0)) << growths;
    }
  }
  EXPECT_EQ(d.capacity_slots(), 1024u << 5);
  EXPECT_EQ(d.live_entries(), inserted.size());
}

// The documented semantics, as a map: an id is a duplicate while its bucket
// (clamped to the oldest live one) is live; at the cap the oldest bucket is
// forgotten.
class ReferenceDeduper {
 public:
  explicit ReferenceDeduper(size_t max_entries) : max_entries_(max_entries) {}
  bool SeenOrInsert(uint64_t fp, int64_t bucket) {
    bucket = std::max(bucket, min_bucket_);
    auto it = bucket_of_.find(fp);
    if (it != bucket_of_.end() && it->second >= min_bucket_) return true;
    if (live_ >= max_entries_) {
      evictions_ += per_bucket_.begin()->second;
      ExpireBefore(per_bucket_.begin()->first + 1);
      bucket = std::max(bucket, min_bucket_);
    }
    bucket_of_[fp] = bucket;
    ++per_bucket_[bucket];
    ++live_;
    return false;
  }
  void ExpireBefore(int64_t min_bucket) {
    if (min_bucket <= min_bucket_) return;
    min_bucket_ = min_bucket;
    while (!per_bucket_.empty() && per_bucket_.begin()->first < min_bucket_) {
      live_ -= per_bucket_.begin()->second;
      per_bucket_.erase(per_bucket_.begin());
    }
  }
  size_t live() const { return live_; }
  uint64_t evictions() const { return evictions_; }

 private:
  size_t max_entries_;
  int64_t min_bucket_ = INT64_MIN;
  size_t live_ = 0;
  uint64_t evictions_ = 0;
  std::unordered_map<uint64_t, int64_t> bucket_of_;
  std::map<int64_t, size_t> per_bucket_;
};

// A random stream of new ids, repeats of live and of expired ids, late
// events, expiry and evictions at the cap, with a fifth of the ids in wrapping
// clusters, while the table grows from 1024 slots past 64Ki and purges in
// place: every answer is the reference's.
TEST(DeduperTest, MatchesTheReferenceThroughGrowthExpiryAndEviction) {
  constexpr size_t kCap = 40000;
  Deduper d(kCap);
  ReferenceDeduper ref(kCap);
  std::mt19937_64 rng(11);
  std::vector<uint64_t> history;
  int64_t bucket = 0;
  size_t max_slots = 0;
  for (int step = 0; step < 240000; ++step) {
    if (step % 3000 == 2999) {
      ++bucket;
      // A horizon of 16 buckets (48,000 ids) for the first half: growth,
      // then early eviction at the cap; 3 later: expiry and in-place purges.
      const int64_t horizon = step < 120000 ? 16 : 3;
      d.ExpireBefore(bucket - horizon + 1);
      ref.ExpireBefore(bucket - horizon + 1);
    }
    uint64_t fp;
    const uint64_t pick = rng() % 10;
    if (pick < 2 && !history.empty()) {
      fp = history[rng() % history.size()];  // a repeat: live, expired or evicted
    } else {
      fp = pick < 4 ? WrappingFingerprint(rng) : rng();
      history.push_back(fp);
    }
    const int64_t b = rng() % 20 == 0 ? bucket - 3 : bucket;  // some late events
    ASSERT_EQ(d.SeenOrInsert(fp, b), ref.SeenOrInsert(fp, b)) << "step " << step;
    ASSERT_EQ(d.live_entries(), ref.live()) << "step " << step;
    max_slots = std::max(max_slots, d.capacity_slots());
  }
  EXPECT_EQ(d.evictions(), ref.evictions());
  EXPECT_GT(d.evictions(), 0u);
  EXPECT_GE(max_slots, 65536u);  // grew through several doublings
  EXPECT_LT(max_slots, 4 * kCap);  // the documented bound
}

}  // namespace
}  // namespace earshot
