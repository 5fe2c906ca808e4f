// Space-Saving top authors: exact below capacity (counts and the followers
// of the latest event), the error bound above it, compaction; and the
// count heap that it shares with signals' hashtag sketches.
#include "pipeline/top_authors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "pipeline/count_heap.h"

namespace earshot {
namespace {

// Random growth of random entries, ties included: the top is always an
// entry with the smallest count, and every position stays in the heap once.
TEST(CountHeapTest, TopIsASmallestCountAfterAnyGrowth) {
  std::mt19937 rng(5);
  for (uint32_t n : {1u, 2u, 3u, 7u, 64u, 1000u}) {
    std::vector<uint64_t> counts(n);
    for (auto& c : counts) c = rng() % 4;
    const auto count = [&](uint32_t p) { return counts[p]; };
    CountHeap heap;
    heap.Build(n, count);
    for (int step = 0; step < 5000; ++step) {
      ASSERT_EQ(counts[heap.top()], *std::min_element(counts.begin(), counts.end())) << n;
      // Half the time the smallest grows (an eviction), else any entry.
      const uint32_t p = step % 2 == 0 ? heap.top() : static_cast<uint32_t>(rng() % n);
      counts[p] += 1 + rng() % 3;
      heap.Increased(p, count);
    }
    // Popping by hand (growing the top past everything) visits each position once.
    std::vector<bool> seen(n, false);
    const uint64_t big = *std::max_element(counts.begin(), counts.end()) + 1;
    for (uint32_t k = 0; k < n; ++k) {
      const uint32_t p = heap.top();
      ASSERT_FALSE(seen[p]) << n;
      seen[p] = true;
      counts[p] = big + k;
      heap.Increased(p, count);
    }
    EXPECT_GT(heap.MemoryBytes(), 0u);
    heap.Free();
    EXPECT_TRUE(heap.empty());
  }
}

struct Exact {
  uint32_t count = 0;
  uint32_t followers = 0;
  uint32_t time = 0;
};

std::map<uint32_t, TopEntry> ByAuthor(const TopAuthors& t) {
  std::map<uint32_t, TopEntry> m;
  for (const auto& e : t.entries()) {
    EXPECT_TRUE(m.emplace(e.author, e).second) << "author " << e.author << " twice";
  }
  return m;
}

TEST(TopAuthorsTest, ExactBelowCapacity) {
  constexpr uint32_t kCapacity = 100;
  std::mt19937_64 rng(1);
  TopAuthors t;
  std::map<uint32_t, Exact> exact;
  for (uint32_t i = 0; i < 20000; ++i) {
    const uint32_t author = static_cast<uint32_t>(rng() % kCapacity) * 7919;  // 100 distinct
    const uint32_t followers = static_cast<uint32_t>(rng() % 100000);
    const uint32_t time = static_cast<uint32_t>(rng() % 60000);  // out of order within the step
    t.Add(author, followers, time, kCapacity);
    Exact& e = exact[author];
    ++e.count;
    if (time >= e.time) {
      e.time = time;
      e.followers = followers;
    }
  }
  EXPECT_TRUE(t.exact());
  EXPECT_EQ(t.error_bound(), 0u);
  EXPECT_EQ(t.events(), 20000u);
  auto got = ByAuthor(t);
  ASSERT_EQ(got.size(), exact.size());
  for (const auto& [author, e] : exact) {
    EXPECT_EQ(got[author].count, e.count) << author;
    EXPECT_EQ(got[author].followers, e.followers) << author;
  }
}

TEST(TopAuthorsTest, ErrorBoundAboveCapacity) {
  // Zipf-like authors (weight 1/rank over 5,000): far more than the capacity.
  constexpr uint32_t kCapacity = 200;
  constexpr int kAuthors = 5000;
  std::vector<double> cdf(kAuthors);
  double sum = 0;
  for (int r = 0; r < kAuthors; ++r) cdf[r] = sum += 1.0 / (r + 1);
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> u(0, sum);
  TopAuthors t;
  std::map<uint32_t, uint32_t> exact;
  const uint32_t n = 100000;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t author =
        static_cast<uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
    t.Add(author, author, i, kCapacity);
    ++exact[author];
  }
  EXPECT_FALSE(t.exact());
  EXPECT_EQ(t.entries().size(), kCapacity);
  const uint32_t bound = t.error_bound();
  EXPECT_GT(bound, 0u);
  EXPECT_LE(bound, n / kCapacity);  // the smallest of kCapacity counts summing to n
  auto got = ByAuthor(t);
  for (const auto& [author, count] : exact) {
    auto it = got.find(author);
    if (it != got.end()) {
      EXPECT_GE(it->second.count, count) << author;          // never under
      EXPECT_LE(it->second.count, count + bound) << author;  // over by at most the bound
    } else {
      EXPECT_LE(count, bound) << author;  // a missing author had at most the bound
    }
  }
  // Authors above the bound are all kept, and their order is the exact order
  // wherever counts differ by more than the bound.
  for (const auto& [author, count] : exact) {
    if (count > bound) {
      EXPECT_TRUE(got.count(author)) << author;
    }
  }
  std::printf("\nSpace-Saving capacity %u over %u events of %d Zipf authors: bound %u "
              "(n/capacity = %u); max overestimate seen %u\n",
              kCapacity, n, kAuthors, bound, n / kCapacity, [&] {
                uint32_t worst = 0;
                for (const auto& [a, e] : got) worst = std::max(worst, e.count - exact[a]);
                return worst;
              }());
}

TEST(TopAuthorsTest, CompactKeepsEntriesAndAddsStillWork) {
  TopAuthors t;
  for (uint32_t a = 0; a < 50; ++a) t.Add(a, a, a, 60);
  const size_t before = t.MemoryBytes();
  t.Compact();
  EXPECT_LT(t.MemoryBytes(), before);
  EXPECT_EQ(t.entries().size(), 50u);
  t.Add(7, 700, 1000, 60);  // an existing author after compaction
  t.Add(99, 1, 1000, 60);   // a new one
  auto got = ByAuthor(t);
  EXPECT_EQ(got[7].count, 2u);
  EXPECT_EQ(got[7].followers, 700u);
  EXPECT_EQ(got[99].count, 1u);
  EXPECT_TRUE(t.exact());
  // Filled past the capacity after a compaction: the heap is rebuilt.
  for (uint32_t a = 100; a < 200; ++a) t.Add(a, 0, 0, 60);
  EXPECT_EQ(t.entries().size(), 60u);
  EXPECT_FALSE(t.exact());
  uint64_t sum = 0;
  for (const auto& e : t.entries()) sum += e.count;
  EXPECT_EQ(sum, t.events());  // Space-Saving's counts always add up to the events
}

}  // namespace
}  // namespace earshot
