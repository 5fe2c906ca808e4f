#include "pipeline/dedupe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

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

}  // namespace
}  // namespace earshot
