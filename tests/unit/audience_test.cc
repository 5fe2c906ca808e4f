// Audience: the author table, window steps merged at scrape time, top
// authors across steps and partitions, the processor's series and JSON, and
// the audience config block.
#include "pipeline/audience.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "base/clock.h"
#include "pipeline/processor.h"
#include "rules/loader.h"

namespace earshot {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

// ---------------------------------------------------------------------------
// AuthorTable

TEST(AuthorTableTest, InternsByIdAndKeepsTheLatestHandle) {
  AuthorTable t;
  const uint32_t a = t.Intern(HashBytes("u1"), "u1", "old", kT0);
  const uint32_t b = t.Intern(HashBytes("u2"), "u2", "", kT0);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.Intern(HashBytes("u1"), "u1", "new", kT0 + 1000), a);
  EXPECT_EQ(t.Intern(HashBytes("u1"), "u1", "older", kT0 - 1000), a);  // not the latest
  // The same handle again, later: an older event with another handle
  // arriving after it does not win (it did, against the first "new").
  EXPECT_EQ(t.Intern(HashBytes("u1"), "u1", "new", kT0 + 43000), a);
  EXPECT_EQ(t.Intern(HashBytes("u1"), "u1", "stale", kT0 + 27000), a);
  // Another author: no handle, then no handle later, then an older one.
  t.Intern(HashBytes("u3"), "u3", "", kT0);
  t.Intern(HashBytes("u3"), "u3", "", kT0 + 43000);
  const uint32_t c = t.Intern(HashBytes("u3"), "u3", "h_7", kT0 + 27000);
  // In one second, the later arrival's handle.
  const uint32_t d = t.Intern(HashBytes("u4"), "u4", "first", kT0 + 500);
  t.Intern(HashBytes("u4"), "u4", "second", kT0 + 100);
  AuthorTable::View v = t.Pin();
  EXPECT_EQ(v.id(a), "u1");
  EXPECT_EQ(v.handle(a), "new");
  EXPECT_EQ(v.handle(b), "");
  EXPECT_EQ(v.handle(c), "");
  EXPECT_EQ(v.handle(d), "second");
  t.Unpin();
  EXPECT_EQ(t.size(), 4u);
}

TEST(AuthorTableTest, LongIdsAreHashedWholeAndKeptCutAtACharacter) {
  AuthorTable t;
  // 255 ASCII bytes then a 3-byte character: the cut falls inside it.
  const std::string base(255, 'x');
  const std::string id1 = base + "\xe2\x82\xac" + "one";
  const std::string id2 = base + "\xe2\x82\xac" + "two";
  const uint32_t a = t.Intern(HashBytes(id1), id1, "", kT0);
  const uint32_t b = t.Intern(HashBytes(id2), id2, "", kT0);
  EXPECT_NE(a, b);  // different ids, the same first 256 bytes
  AuthorTable::View v = t.Pin();
  EXPECT_EQ(v.id(a), base);  // 255 bytes: the euro sign would end past 256
  EXPECT_EQ(v.id(b), base);
  t.Unpin();
}

TEST(AuthorTableTest, SweepForgetsAuthorsNotSeenSinceAndWaitsForPins) {
  AuthorTable t;
  t.Intern(HashBytes("old"), "old", "", kT0);
  const uint32_t recent = t.Intern(HashBytes("recent"), "recent", "", kT0 + 10 * kMin);
  AuthorTable::View v = t.Pin();
  EXPECT_EQ(t.Sweep(kT0 + 5 * kMin), 0u);  // pinned: nothing goes
  t.Unpin();
  EXPECT_EQ(t.Sweep(kT0 + 5 * kMin), 1u);
  EXPECT_EQ(t.size(), 1u);
  // A new author reuses the freed reference; the kept one is unchanged.
  const uint32_t again = t.Intern(HashBytes("new"), "new", "", kT0 + 11 * kMin);
  AuthorTable::View w = t.Pin();
  EXPECT_EQ(w.id(recent), "recent");
  EXPECT_EQ(w.id(again), "new");
  t.Unpin();
}

TEST(AuthorBatchTest, InternsABatchsAuthorsWithTheirIdsAndHandlesCut) {
  AuthorTable t;
  AuthorBatch batch;
  // Cut before the euro sign (it would end past byte 256).
  const std::string long_id = std::string(255, 'i') + "\xe2\x82\xac" + "tail";
  const std::string long_handle = std::string(300, 'h');
  const uint32_t short_at = batch.Add(HashBytes("s"), "s", "sh", kT0);
  const uint32_t long_at = batch.Add(HashBytes(long_id), long_id, long_handle, kT0);
  const uint32_t bare_at = batch.Add(HashBytes("bare"), "bare", "", kT0);
  const uint32_t again_at = batch.Add(HashBytes("s"), "s", "sh", kT0);  // the same author
  batch.Intern(&t);
  const uint32_t s = batch.ref(short_at), l = batch.ref(long_at), b = batch.ref(bare_at);
  EXPECT_EQ(batch.ref(again_at), s);
  EXPECT_EQ(t.size(), 3u);
  {
    AuthorTable::View v = t.Pin();
    EXPECT_EQ(v.id(s), "s");
    EXPECT_EQ(v.handle(s), "sh");
    EXPECT_EQ(v.id(l), std::string(255, 'i'));
    EXPECT_EQ(v.handle(l), std::string(256, 'h'));
    EXPECT_EQ(v.id(b), "bare");
    EXPECT_EQ(v.handle(b), "");
    t.Unpin();
  }
  // A later batch: the same references, a newer handle taken.
  batch.Clear();
  EXPECT_TRUE(batch.empty());
  const uint32_t renamed_at = batch.Add(HashBytes("s"), "s", "renamed", kT0 + 1000);
  const uint32_t long_again_at = batch.Add(HashBytes(long_id), long_id, long_handle, kT0);
  batch.Intern(&t);
  EXPECT_EQ(batch.ref(renamed_at), s);
  EXPECT_EQ(batch.ref(long_again_at), l);
  AuthorTable::View v = t.Pin();
  EXPECT_EQ(v.id(s), "s");
  EXPECT_EQ(v.handle(s), "renamed");
  EXPECT_EQ(v.id(l), std::string(255, 'i'));
  t.Unpin();
}

TEST(AuthorTableTest, GrowsAndSweepsKeepingEveryAuthorsReference) {
  // 20,000 authors: the table doubles from 1,024 slots to 32,768 on the way.
  AuthorTable t;
  constexpr uint32_t kAuthors = 20000;
  auto id = [](uint32_t i) { return "author-" + std::to_string(i); };
  std::vector<uint32_t> ref(kAuthors);
  for (uint32_t i = 0; i < kAuthors; ++i) {
    // Half of them last seen a minute later (they stay at the sweep below).
    ref[i] = t.Intern(HashBytes(id(i)), id(i), "", kT0 + (i % 2) * kMin);
  }
  EXPECT_EQ(t.size(), kAuthors);
  EXPECT_EQ(std::set<uint32_t>(ref.begin(), ref.end()).size(), kAuthors);
  for (uint32_t i = 0; i < kAuthors; ++i) {
    ASSERT_EQ(t.Intern(HashBytes(id(i)), id(i), "", kT0), ref[i]);
  }
  EXPECT_EQ(t.size(), kAuthors);
  EXPECT_EQ(t.Sweep(kT0 + 1000), kAuthors / 2);
  for (uint32_t i = 1; i < kAuthors; i += 2) {
    ASSERT_EQ(t.Intern(HashBytes(id(i)), id(i), "", kT0), ref[i]);
  }
  EXPECT_EQ(t.size(), kAuthors / 2);
  AuthorTable::View v = t.Pin();
  for (uint32_t i = 1; i < kAuthors; i += 2) ASSERT_EQ(v.id(ref[i]), id(i));
  t.Unpin();
}

// ---------------------------------------------------------------------------
// PartitionAudience: steps, windows, merging

class StepsTest : public ::testing::Test {
 protected:
  StepsTest() : part_({{"5m", 5 * kMin, kMin}}, AudienceConfig{}) {}
  void Add(int64_t now, int64_t at, uint32_t brand, uint32_t platform, const std::string& author,
           uint64_t followers = 0) {
    const uint32_t ref = authors_.Intern(HashBytes(author), author, "h" + author, at);
    part_.Add(now, at, brand, platform, ref, HllSparseEntry(HashBytes(author)), followers);
  }
  // Unique authors of brand 0 on platforms 0, 1 and all (2 platforms).
  std::vector<uint64_t> Unique(int64_t now) {
    std::vector<StepRef> steps;
    part_.Collect(0, now, &steps);
    auto u = UniqueAuthors(steps, {true}, 2, 12);
    return {u[0], u[1], u[2]};
  }
  AuthorTable authors_;
  PartitionAudience part_;
};

TEST_F(StepsTest, WindowMergesItsStepsAndAllIsTheUnionOfPlatforms) {
  const int64_t now = kT0 + 10 * kMin + 30000;  // window [kT0+6m, kT0+11m)
  Add(now, kT0 + 6 * kMin, 0, 0, "a");
  Add(now, kT0 + 7 * kMin, 0, 0, "a");  // again, another step
  Add(now, kT0 + 8 * kMin, 0, 0, "b");
  Add(now, kT0 + 9 * kMin, 0, 1, "a");  // a on the other platform too
  Add(now, kT0 + 10 * kMin, 0, 1, "c");
  Add(now, kT0 + 5 * kMin, 0, 0, "old");  // before the window: not counted
  EXPECT_EQ(Unique(now), (std::vector<uint64_t>{2, 2, 3}));
  // T moves on: the steps of 6m and 7m leave the window.
  const int64_t later = kT0 + 12 * kMin;  // window [kT0+8m, kT0+13m)
  part_.Expire(later);
  EXPECT_EQ(Unique(later), (std::vector<uint64_t>{1, 2, 3}));
  const int64_t much_later = kT0 + 30 * kMin;
  part_.Expire(much_later);
  EXPECT_EQ(Unique(much_later), (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_EQ(part_.MemoryBytes(), 0u);
}

TEST_F(StepsTest, FutureStepsWaitForT) {
  const int64_t now = kT0 + 10 * kMin;
  Add(now, kT0 + 12 * kMin, 0, 0, "early");  // a later step than T's
  EXPECT_EQ(Unique(now)[2], 0u);
  EXPECT_EQ(Unique(kT0 + 12 * kMin)[2], 1u);
}

TEST_F(StepsTest, AReaderKeepsItsStepsWhileThePipelineGoesOn) {
  const int64_t now = kT0 + 10 * kMin;
  Add(now, now, 0, 0, "a");
  std::vector<StepRef> held;
  part_.Collect(0, now, &held);  // a scrape merging outside the lock
  Add(now, now, 0, 0, "b");      // appended past the held prefix
  part_.Expire(kT0 + 11 * kMin);  // summarized: a new summary, the held log stays
  Add(kT0 + 11 * kMin, now, 0, 0, "c");
  EXPECT_EQ(UniqueAuthors(held, {true}, 2, 12)[0], 1u);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].log.size, 1u);
  EXPECT_EQ(held[0].summary, nullptr);
  part_.Expire(kT0 + 60 * kMin);  // and dropping the step does not free it
  EXPECT_EQ(UniqueAuthors(held, {true}, 2, 12)[0], 1u);
  EXPECT_EQ(Unique(kT0 + 11 * kMin)[0], 0u);
}

TEST_F(StepsTest, SummarizedStepsTakeStragglersAndFoldThemIn) {
  const int64_t now = kT0 + 10 * kMin;
  for (int i = 0; i < 50; ++i) Add(now, kT0 + 7 * kMin, 0, 0, "a" + std::to_string(i), i);
  part_.Expire(now);  // T left the 7m step: summarized
  std::vector<StepRef> steps;
  part_.Collect(0, now, &steps);
  ASSERT_EQ(steps.size(), 1u);
  ASSERT_NE(steps[0].summary, nullptr);
  EXPECT_EQ(steps[0].log.size, 0u);
  EXPECT_EQ(steps[0].summary->records(), 50u);
  // Out of order: logged beside the summary, both read.
  Add(now, kT0 + 7 * kMin + 5, 0, 0, "a1", 99);
  Add(now, kT0 + 7 * kMin + 5, 0, 1, "late-new");
  EXPECT_EQ(Unique(now), (std::vector<uint64_t>{50, 1, 51}));
  steps.clear();
  part_.Collect(0, now, &steps);
  AuthorTable::View v = authors_.Pin();
  auto top = TopAuthorsOf(steps, 0, TopAuthorsBy::kMentions, 1, v);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(v.id(top[0].author), "a1");
  EXPECT_EQ(top[0].mentions, 2u);
  EXPECT_EQ(top[0].followers, 99u);
  authors_.Unpin();
  part_.Expire(now);  // 2 late records: below the fold threshold (64)
  steps.clear();
  part_.Collect(0, now, &steps);
  EXPECT_EQ(steps[0].log.size, 2u);
  for (int i = 0; i < 70; ++i) Add(now, kT0 + 7 * kMin + 9, 0, 1, "b" + std::to_string(i));
  part_.Expire(now);  // 72 >= 64: folded into a new summary
  steps.clear();
  part_.Collect(0, now, &steps);
  EXPECT_EQ(steps[0].log.size, 0u);
  EXPECT_EQ(steps[0].summary->records(), 122u);
  EXPECT_EQ(Unique(now), (std::vector<uint64_t>{50, 71, 121}));
}

TEST(RecordLogTest, PrefixesSpanChunksAndKeepTheirRecordsWhileTheLogGrows) {
  // Chunks are not zeroed: every record read must be one written.
  auto record = [](uint32_t i) { return AudienceRecord{i % 7, i, i * 3, i * 5, i * 11, i % 3}; };
  auto same = [](const AudienceRecord& a, const AudienceRecord& b) {
    return a.brand == b.brand && a.author == b.author && a.hll == b.hll &&
           a.followers == b.followers && a.time == b.time && a.platform == b.platform;
  };
  RecordLog log;
  EXPECT_EQ(log.Prefix().size, 0u);
  const uint32_t held_size = RecordLog::kChunk + 1;  // one into the second chunk
  for (uint32_t i = 0; i < held_size; ++i) log.Append(record(i));
  const RecordLog::View held = log.Prefix();
  const uint32_t total = 2 * RecordLog::kChunk + 3;
  for (uint32_t i = held_size; i < total; ++i) log.Append(record(i));
  ASSERT_EQ(held.size, held_size);
  ASSERT_EQ(held.chunks.size(), 2u);
  for (uint32_t i = 0; i < held_size; ++i) ASSERT_TRUE(same(held[i], record(i))) << i;
  const RecordLog::View all = log.Prefix();
  ASSERT_EQ(all.size, total);
  ASSERT_EQ(all.chunks.size(), 3u);
  EXPECT_EQ(all.chunks[1], held.chunks[1]);  // the same chunk, appended to past the prefix
  for (uint32_t i = 0; i < total; ++i) ASSERT_TRUE(same(all[i], record(i))) << i;
  EXPECT_EQ(log.MemoryBytes(), 3 * sizeof(RecordLog::Chunk));
}

TEST(StepSummaryTest, ExactBelowCapacitySpaceSavingAboveAndLatestFollowers) {
  // Capacity 10: brand 1 has 5 authors (exact), brand 2 has 40 (summarized).
  RecordLog log;
  for (uint32_t i = 0; i < 200; ++i) {
    log.Append({1, i % 5, HllSparseEntry(HashBytes(std::to_string(i % 5))), i, i, 0});
    log.Append({2, i % 40 < 4 ? 0 : i % 40, HllSparseEntry(HashBytes(std::to_string(i % 40))), i, i, 1});
  }
  auto first = StepSummary::Build(nullptr, log.Prefix(), 0, 300, 10, 12);
  auto both = StepSummary::Build(first.get(), log.Prefix(), 300, 400, 10, 12);
  const StepSummary::Brand* b1 = both->Find(1);
  ASSERT_NE(b1, nullptr);
  EXPECT_EQ(b1->error, 0u);
  EXPECT_EQ(b1->events, 200u);
  ASSERT_EQ(b1->top_end - b1->top_begin, 5u);
  for (uint32_t k = b1->top_begin; k < b1->top_end; ++k) {
    const TopEntry& e = both->tops()[k];
    EXPECT_EQ(e.count, 40u);
    EXPECT_EQ(e.followers, 195 + e.author);  // its latest event
  }
  const StepSummary::Brand* b2 = both->Find(2);
  ASSERT_NE(b2, nullptr);
  EXPECT_GT(b2->error, 0u);
  EXPECT_LE(b2->error, 2 * 200u / 10);  // two summaries' bounds, each <= events / capacity
  EXPECT_EQ(b2->top_end - b2->top_begin, 10u);
  // Author 0 (a tenth of brand 2's events) is in it, overestimated by at most the bound.
  bool found = false;
  for (uint32_t k = b2->top_begin; k < b2->top_end; ++k) {
    const TopEntry& e = both->tops()[k];
    if (e.author != 0) continue;
    found = true;
    EXPECT_GE(e.count, 20u);
    EXPECT_LE(e.count, 20u + b2->error);
  }
  EXPECT_TRUE(found);
  HllAccumulator acc(12);
  for (uint32_t k = b2->sketch_begin; k < b2->sketch_end; ++k) both->MergeSketch(both->sketches()[k], &acc);
  EXPECT_EQ(std::llround(acc.Estimate()), 40);  // sketches are exact sets here, whatever the capacity
  EXPECT_EQ(StepSummary::Retain(*both, {false, true, false})->brands().size(), 1u);
}

TEST(StepSummaryTest, RangesOfTheLogAcrossChunksSumUpAsTheWhole) {
  // Two and a half chunks; summarized whole, and in two ranges that split
  // a chunk (the second folded into the first's summary).
  RecordLog log;
  const uint32_t total = 2 * RecordLog::kChunk + RecordLog::kChunk / 2;
  for (uint32_t i = 0; i < total; ++i) {
    const uint32_t author = (i * 7) % 61;
    log.Append({i % 3, author, HllSparseEntry(HashBytes(std::to_string(author))), i, i, i % 2});
  }
  const RecordLog::View v = log.Prefix();
  auto whole = StepSummary::Build(nullptr, v, 0, total, 1000, 12);
  const size_t split = RecordLog::kChunk + 7;
  auto part = StepSummary::Build(nullptr, v, 0, split, 1000, 12);
  auto both = StepSummary::Build(part.get(), v, split, total, 1000, 12);
  EXPECT_EQ(whole->records(), total);
  EXPECT_EQ(both->records(), total);
  ASSERT_EQ(whole->brands().size(), 3u);
  ASSERT_EQ(both->brands().size(), 3u);
  uint64_t events = 0;
  for (uint32_t brand = 0; brand < 3; ++brand) {
    const StepSummary::Brand* w = whole->Find(brand);
    const StepSummary::Brand* b = both->Find(brand);
    ASSERT_NE(w, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(w->events, b->events);
    events += w->events;
    ASSERT_EQ(w->top_end - w->top_begin, 61u);  // every author, exact
    ASSERT_EQ(b->top_end - b->top_begin, 61u);
    std::map<uint32_t, std::array<uint32_t, 3>> tw, tb;
    for (uint32_t k = w->top_begin; k < w->top_end; ++k) {
      const TopEntry& e = whole->tops()[k];
      tw[e.author] = {e.count, e.followers, e.time};
    }
    for (uint32_t k = b->top_begin; k < b->top_end; ++k) {
      const TopEntry& e = both->tops()[k];
      tb[e.author] = {e.count, e.followers, e.time};
    }
    EXPECT_EQ(tw, tb);
    HllAccumulator aw(12), ab(12);
    for (uint32_t k = w->sketch_begin; k < w->sketch_end; ++k) {
      whole->MergeSketch(whole->sketches()[k], &aw);
    }
    for (uint32_t k = b->sketch_begin; k < b->sketch_end; ++k) {
      both->MergeSketch(both->sketches()[k], &ab);
    }
    EXPECT_EQ(std::llround(aw.Estimate()), 61);
    EXPECT_EQ(std::llround(ab.Estimate()), 61);
  }
  EXPECT_EQ(events, total);
}

TEST(StepSummaryTest, NewBrandsSketchEachPlatformsAuthorsInArrivalOrder) {
  // Precision 4: a platform's sketch turns dense past m/4 = 4 entries.
  // Capacity 5: brand 1 (6 authors) overflows into Space-Saving before
  // brand 3 is summarized with the same scratch; brand 3 (5 authors) and
  // brand 4 do not. The scratch is then reused for a second summary.
  constexpr int kPrecision = 4;
  constexpr uint32_t kCapacity = 5;
  auto hll = [](uint32_t author) {
    return HllSparseEntry(HashBytes("author" + std::to_string(author)));
  };
  // brand, author, platform, in arrival order.
  const std::vector<std::array<uint32_t, 3>> events = {
      {1, 10, 7}, {3, 1, 2}, {1, 11, 7}, {3, 2, 0}, {1, 12, 7}, {3, 3, 7}, {1, 13, 0},
      {3, 1, 2},  // again on the same platform: one entry
      {3, 1, 0},  // on another platform: one there too
      {1, 14, 7}, {3, 4, 0}, {1, 15, 7}, {3, 5, 0}, {3, 3, 0}, {4, 9, 7}, {3, 2, 7}};
  auto scratch = StepSummary::NewScratch();
  for (int round = 0; round < 2; ++round) {
    RecordLog log;
    for (const auto& [brand, author, platform] : events) {
      log.Append({brand, author, hll(author), 0, 0, platform});
    }
    auto sum = StepSummary::Build(nullptr, log.Prefix(), 0, log.size(), kCapacity, kPrecision,
                                  scratch.get());
    // What each new brand's sketches must hold: per platform ascending, its
    // authors' entries in order of first arrival there.
    auto check = [&](uint32_t brand, const std::map<uint32_t, std::vector<uint32_t>>& want) {
      SCOPED_TRACE("round " + std::to_string(round) + " brand " + std::to_string(brand));
      const StepSummary::Brand* b = sum->Find(brand);
      ASSERT_NE(b, nullptr);
      ASSERT_EQ(b->sketch_end - b->sketch_begin, want.size());
      uint32_t k = b->sketch_begin;
      for (const auto& [platform, authors] : want) {
        const StepSummary::Sketch& sk = sum->sketches()[k++];
        EXPECT_EQ(sk.platform, platform);
        ASSERT_EQ(sk.dense, authors.size() > 4) << platform;
        if (!sk.dense) {
          std::vector<uint32_t> entries(sum->sparse() + sk.begin, sum->sparse() + sk.end);
          std::vector<uint32_t> expected;
          for (uint32_t a : authors) expected.push_back(hll(a));
          EXPECT_EQ(entries, expected) << platform;
          continue;
        }
        std::vector<uint8_t> regs(16, 0);
        for (uint32_t a : authors) {
          uint32_t index;
          uint8_t rank;
          HllSparseToDense(hll(a), kPrecision, &index, &rank);
          regs[index] = std::max(regs[index], rank);
        }
        ASSERT_EQ(sk.end - sk.begin, 16u);
        EXPECT_EQ(std::vector<uint8_t>(sum->dense() + sk.begin, sum->dense() + sk.end), regs);
      }
    };
    check(3, {{0, {2, 1, 4, 5, 3}}, {2, {1}}, {7, {3, 2}}});
    check(4, {{7, {9}}});
    // Brand 1 went through Space-Saving: its sketches are sorted by entry.
    const StepSummary::Brand* b1 = sum->Find(1);
    ASSERT_NE(b1, nullptr);
    EXPECT_GT(b1->error, 0u);
    ASSERT_EQ(b1->sketch_end - b1->sketch_begin, 2u);
    EXPECT_EQ(sum->sketches()[b1->sketch_begin].platform, 0u);
    EXPECT_EQ(sum->sketches()[b1->sketch_begin + 1].platform, 7u);
    EXPECT_TRUE(sum->sketches()[b1->sketch_begin + 1].dense);  // 5 authors on platform 7
  }
}

TEST_F(StepsTest, RetainBrandsDropsRemovedBrands) {
  const int64_t now = kT0 + 10 * kMin;
  Add(now, now, 0, 0, "a");
  Add(now, now, 1, 0, "b");
  part_.RetainBrands({false, true});
  std::vector<StepRef> steps;
  part_.Collect(0, now, &steps);
  auto u = UniqueAuthors(steps, {true, true}, 2, 12);
  EXPECT_EQ(u[2], 0u);  // brand 0, all
  EXPECT_EQ(u[5], 1u);  // brand 1, all
}

TEST(TopAuthorsOfTest, SumsStepsAndPartitionsFollowersOfTheLatestTiesById) {
  AuthorTable authors;
  std::vector<WindowSpec> w = {{"1h", 60 * kMin, 10 * kMin}};
  PartitionAudience p0(w, AudienceConfig{}), p1(w, AudienceConfig{});
  const int64_t now = kT0 + 59 * kMin;
  auto add = [&](PartitionAudience& p, int64_t at, const std::string& a, uint64_t followers) {
    p.Add(now, at, 3, 0, authors.Intern(HashBytes(a), a, "@" + a, at),
          HllSparseEntry(HashBytes(a)), followers);
  };
  add(p0, kT0 + 1 * kMin, "carol", 500);
  add(p1, kT0 + 25 * kMin, "carol", 50);   // her latest: 50
  add(p0, kT0 + 15 * kMin, "bob", 10);
  add(p0, kT0 + 16 * kMin, "bob", 20);
  add(p1, kT0 + 40 * kMin, "bob", 30);     // 3 mentions, latest 30
  add(p0, kT0 + 30 * kMin, "alice", 400);
  add(p1, kT0 + 31 * kMin, "dave", 400);   // ties alice on followers
  add(p1, kT0 + 32 * kMin, "erin", 1);
  std::vector<StepRef> steps;
  p0.Collect(0, now, &steps);
  p1.Collect(0, now, &steps);
  AuthorTable::View v = authors.Pin();
  auto by_mentions = TopAuthorsOf(steps, 3, TopAuthorsBy::kMentions, 10, v);
  ASSERT_EQ(by_mentions.size(), 5u);
  std::vector<std::string> ids;
  for (const auto& a : by_mentions) ids.emplace_back(v.id(a.author));
  EXPECT_EQ(ids, (std::vector<std::string>{"bob", "carol", "alice", "dave", "erin"}));
  EXPECT_EQ(by_mentions[0].mentions, 3u);
  EXPECT_EQ(by_mentions[0].followers, 30u);
  EXPECT_EQ(by_mentions[1].followers, 50u);
  auto by_reach = TopAuthorsOf(steps, 3, TopAuthorsBy::kReach, 3, v);
  ids.clear();
  for (const auto& a : by_reach) ids.emplace_back(v.id(a.author));
  EXPECT_EQ(ids, (std::vector<std::string>{"alice", "dave", "carol"}));
  EXPECT_EQ(TopAuthorsJson({by_reach[0]}, v),
            R"({"authors":[{"id":"alice","handle":"@alice","mentions":1,"followers":400}]})");
  EXPECT_TRUE(TopAuthorsOf(steps, 4, TopAuthorsBy::kMentions, 10, v).empty());
  authors.Unpin();
}

// Two events of one author at the same instant in one partition's current
// step (still a log, not a summary): the later arrival's followers, as a
// summary of the step would give them, not the larger.
TEST(TopAuthorsOfTest, ATieInOnePartitionIsTheLaterArrivals) {
  AuthorTable authors;
  std::vector<WindowSpec> w = {{"1h", 60 * kMin, kMin}};
  PartitionAudience p(w, AudienceConfig{});
  const int64_t now = kT0 + 30 * kMin;
  for (uint64_t followers : {100, 50}) {
    p.Add(now, now, 3, 0, authors.Intern(HashBytes("k"), "k", "k", now),
          HllSparseEntry(HashBytes("k")), followers);
  }
  std::vector<StepRef> steps;
  p.Collect(0, now, &steps);
  AuthorTable::View v = authors.Pin();
  const auto top = TopAuthorsOf(steps, 3, TopAuthorsBy::kReach, 10, v);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].followers, 50u);
  EXPECT_EQ(top[0].mentions, 2u);
  authors.Unpin();
}

TEST(StepSummaryTest, BigSketchesTurnDenseAndFoldAgain) {
  // One brand: 3,000 authors on platform 0 (past m/4 = 1,024: dense), 10 on
  // platform 1; then a fold adds 1,000 more on platform 0 and 5 on platform 2.
  RecordLog log;
  auto add = [&](uint32_t platform, uint32_t author) {
    log.Append({7, author, HllSparseEntry(HashBytes("a" + std::to_string(author))), 1, author,
                platform});
  };
  for (uint32_t a = 0; a < 3000; ++a) add(0, a);
  for (uint32_t a = 0; a < 10; ++a) add(1, 100000 + a);
  auto first = StepSummary::Build(nullptr, log.Prefix(), 0, log.size(), 5000, 12);
  for (uint32_t a = 3000; a < 4000; ++a) add(0, a);
  for (uint32_t a = 0; a < 5; ++a) add(2, 200000 + a);
  auto both = StepSummary::Build(first.get(), log.Prefix(), 3010, log.size(), 5000, 12);
  auto estimate = [](const StepSummary& s, uint32_t platform) {
    HllAccumulator acc(12);
    const StepSummary::Brand* b = s.Find(7);
    for (uint32_t k = b->sketch_begin; k < b->sketch_end; ++k) {
      if (s.sketches()[k].platform == platform) s.MergeSketch(s.sketches()[k], &acc);
    }
    return acc.Estimate();
  };
  auto dense = [](const StepSummary& s, uint32_t platform) {
    const StepSummary::Brand* b = s.Find(7);
    for (uint32_t k = b->sketch_begin; k < b->sketch_end; ++k) {
      if (s.sketches()[k].platform == platform) return s.sketches()[k].dense;
    }
    return false;
  };
  EXPECT_TRUE(dense(*first, 0));
  EXPECT_FALSE(dense(*first, 1));
  EXPECT_NEAR(estimate(*first, 0), 3000, 3000 * 0.05);
  EXPECT_EQ(std::llround(estimate(*first, 1)), 10);
  EXPECT_TRUE(dense(*both, 0));
  EXPECT_NEAR(estimate(*both, 0), 4000, 4000 * 0.05);
  EXPECT_EQ(std::llround(estimate(*both, 1)), 10);  // kept though no new record
  EXPECT_EQ(std::llround(estimate(*both, 2)), 5);
  const StepSummary::Brand* b = both->Find(7);
  EXPECT_EQ(b->top_end - b->top_begin, 4015u);  // every author, exact: capacity 5,000
  EXPECT_EQ(b->error, 0u);
  EXPECT_EQ(b->events, 4015u);
}

// ---------------------------------------------------------------------------
// The processor

std::shared_ptr<const rules::RuleSet> Compile(const std::string& yaml) {
  fs::path dir = fs::temp_directory_path() / ("earshot_audience_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "rules.yaml") << yaml;
  rules::RuleSetDef def;
  Diagnostics d;
  EXPECT_TRUE(rules::LoadRuleFiles({(dir / "rules.yaml").string()}, &def, &d)) << d.ToString();
  auto rs = rules::RuleSet::Compile(def, rules::CompileOptions{}, &d);
  fs::remove_all(dir);
  return rs;
}

const char* kRules = R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: adidas
    terms: [adidas]
)";

std::string Ev(const std::string& id, const std::string& platform, const std::string& text,
               int64_t ms, const std::string& author, int followers = 0) {
  std::string a = author.empty() ? "" : R"("id":")" + author + R"(","handle":"@)" + author + R"(",)";
  return R"({"id":")" + id + R"(","platform":")" + platform + R"(","text":")" + text +
         R"(","created_at":)" + std::to_string(ms) + R"(,"author":{)" + a + R"("followers":)" +
         std::to_string(followers) + "}}";
}

class AudienceProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.windows = {{"5m", 5 * kMin, kMin}, {"1h", 60 * kMin, 10 * kMin}};
    config_.platforms = {"twitter", "instagram"};
    clock_.Set(kT0 + 120 * kMin);
    Recreate();
  }
  void Recreate() {
    auto p = Processor::Create(config_, &clock_, std::make_shared<prometheus::Registry>(), nullptr);
    ASSERT_TRUE(p.ok()) << p.message();
    proc_ = std::move(p).value();
    proc_->SetRules(Compile(kRules));
  }
  void Feed(const std::vector<std::string>& payloads, bool rebuild = false, int32_t partition = 0) {
    storage_.push_back(payloads);
    std::vector<Record> batch;
    for (const auto& p : storage_.back()) {
      Record r;
      r.payload = p;
      r.partition = partition;
      r.topic = "t";
      r.rebuild = rebuild;
      batch.push_back(r);
    }
    proc_->ProcessBatch("file", batch);
  }
  double Unique(const std::string& brand, const std::string& platform, const std::string& window) {
    for (const auto& f : proc_->CollectResults()) {
      if (f.name != "earshot_window_unique_authors") continue;
      for (const auto& m : f.metric) {
        std::map<std::string, std::string> l;
        for (const auto& x : m.label) l[x.name] = x.value;
        if (l["brand"] == brand && l["platform"] == platform && l["window"] == window)
          return m.gauge.value;
      }
    }
    return -1;
  }
  Config config_;
  FakeClock clock_;
  std::unique_ptr<Processor> proc_;
  std::vector<std::vector<std::string>> storage_;
};

TEST_F(AudienceProcessorTest, CountsTheWindowsEventsOnly) {
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now - kMin, "ann"),
        Ev("2", "twitter", "nike and adidas", now - kMin, "bob"),
        Ev("2", "twitter", "nike and adidas", now - kMin, "dup-author"),  // duplicate event
        Ev("3", "instagram", "nike", now - 2 * kMin, "ann"),
        Ev("4", "twitter", "nike", now - kMin, ""),                    // no author.id
        Ev("5", "twitter", "nike", now - 3 * 60 * kMin, "late-author"),  // late
        Ev("6", "twitter", "nothing", now - kMin, "carl"),             // unmatched
        Ev("7", "instagram", "nike", now - 30 * kMin, "dora")});       // 1h only
  EXPECT_EQ(Unique("nike", "twitter", "5m"), 2);
  EXPECT_EQ(Unique("nike", "instagram", "5m"), 1);
  EXPECT_EQ(Unique("nike", "all", "5m"), 2);  // ann on both platforms counts once
  EXPECT_EQ(Unique("nike", "all", "1h"), 3);
  EXPECT_EQ(Unique("adidas", "twitter", "5m"), 1);
  EXPECT_EQ(Unique("adidas", "instagram", "5m"), 0);  // exported like the window gauges
  EXPECT_EQ(Unique("adidas", "all", "1h"), 1);
}

TEST_F(AudienceProcessorTest, RebuildRecordsFeedThePartitionAndRevokeDropsIt) {
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now - kMin, "ann")}, /*rebuild=*/true, 3);
  Feed({Ev("2", "twitter", "nike", now - kMin, "bob")}, false, 4);
  EXPECT_EQ(Unique("nike", "twitter", "5m"), 2);
  proc_->OnRevoked({{"t", 3}});
  EXPECT_EQ(Unique("nike", "twitter", "5m"), 1);
}

TEST_F(AudienceProcessorTest, TopAuthorsJsonAndBadParameters) {
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now - kMin, "ann", 10),
        Ev("2", "twitter", "nike", now - kMin, "bob", 500),
        Ev("3", "instagram", "nike", now - kMin + 1, "ann", 20)});
  auto body = proc_->TopAuthorsJson("sneakers", "nike", "5m", "mentions");
  ASSERT_TRUE(body.ok()) << body.message();
  EXPECT_EQ(*body,
            R"({"authors":[{"id":"ann","handle":"@ann","mentions":2,"followers":20},)"
            R"({"id":"bob","handle":"@bob","mentions":1,"followers":500}]})");
  body = proc_->TopAuthorsJson("sneakers", "nike", "", "reach");  // window: the first
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->find(R"({"authors":[{"id":"bob")"), 0u) << *body;
  EXPECT_FALSE(proc_->TopAuthorsJson("sneakers", "nike", "7d", "").ok());
  EXPECT_FALSE(proc_->TopAuthorsJson("sneakers", "nike", "5m", "likes").ok());
  EXPECT_FALSE(proc_->TopAuthorsJson("sneakers", "reebok", "5m", "").ok());
  EXPECT_FALSE(proc_->TopAuthorsJson("", "nike", "5m", "").ok());
  EXPECT_EQ(*proc_->TopAuthorsJson("sneakers", "adidas", "1h", ""), R"({"authors":[]})");
  auto unique = proc_->UniqueAuthorsJson("5m", "");
  ASSERT_TRUE(unique.ok());
  EXPECT_EQ(*unique,
            R"({"window":"5m","platform":"all","categories":[{"category":"sneakers","brands":[)"
            R"({"brand":"nike","unique_authors":2},{"brand":"adidas","unique_authors":0}]}]})");
  EXPECT_FALSE(proc_->UniqueAuthorsJson("5m", "myspace").ok());
  ASSERT_TRUE(proc_->UniqueAuthorsJson("1h", "instagram").ok());
  EXPECT_NE(proc_->UniqueAuthorsJson("1h", "instagram")->find(R"("unique_authors":1)"),
            std::string::npos);
  // An alias is answered, and echoed as the platform it names (as
  // share-of-voice does).
  auto alias = proc_->UniqueAuthorsJson("5m", "X");
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->find(R"({"window":"5m","platform":"twitter",)"), 0u) << *alias;
}

TEST_F(AudienceProcessorTest, DisabledMeansNoSeriesAndNoApi) {
  config_.audience.enabled = false;
  Recreate();
  Feed({Ev("1", "twitter", "nike", clock_.NowMillis() - kMin, "ann")});
  EXPECT_EQ(Unique("nike", "twitter", "5m"), -1);
  EXPECT_FALSE(proc_->TopAuthorsJson("sneakers", "nike", "5m", "").ok());
  EXPECT_FALSE(proc_->UniqueAuthorsJson("5m", "").ok());
}

// ---------------------------------------------------------------------------
// Config

TEST(AudienceConfigTest, DefaultsAndValues) {
  Config c;
  Diagnostics d;
  ASSERT_TRUE(ParseConfig("clock: event\n", "c.yaml", &c, &d)) << d.ToString();
  EXPECT_TRUE(c.audience.enabled);
  EXPECT_EQ(c.audience.top_authors_capacity, 1000u);
  EXPECT_EQ(c.audience.hll_precision, 12);
  Config e;
  ASSERT_TRUE(ParseConfig(
      "audience: {enabled: false, top_authors_capacity: 50, hll_precision: 14}\n", "c.yaml", &e, &d))
      << d.ToString();
  EXPECT_FALSE(e.audience.enabled);
  EXPECT_EQ(e.audience.top_authors_capacity, 50u);
  EXPECT_EQ(e.audience.hll_precision, 14);
}

TEST(AudienceConfigTest, ErrorsPointAtTheValue) {
  Config c;
  Diagnostics d;
  EXPECT_FALSE(ParseConfig("audience:\n  hll_precison: 12\n  top_authors_capacity: 5\n"
                           "  hll_precision: 20\n  enabled: maybe\n",
                           "c.yaml", &c, &d));
  const std::string s = d.ToString();
  EXPECT_NE(s.find("c.yaml:2:3: "), std::string::npos) << s;
  EXPECT_NE(s.find("did you mean \"hll_precision\""), std::string::npos) << s;
  EXPECT_NE(s.find("c.yaml:3:25: audience.top_authors_capacity: must be between 10 and 1000000"),
            std::string::npos) << s;
  EXPECT_NE(s.find("c.yaml:4:18: audience.hll_precision: must be between 12 and 18"),
            std::string::npos) << s;
  EXPECT_NE(s.find("c.yaml:5:12: audience.enabled: expected true or false"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace earshot
