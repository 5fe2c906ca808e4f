// The running window sum (HoppingWindow's fast SumInto) against a naive
// recomputation from every accepted event, under random event times, clock
// advances and expiries; and FlatMap basics.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "pipeline/flat_map.h"
#include "pipeline/window_state.h"

namespace earshot {
namespace {

struct Accepted {
  int64_t index;
  SeriesKey key;
  Values v;
};

TEST(WindowSumTest, RunningSumEqualsNaiveSum) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    WindowSpec spec{"w", 60 * 1000, 10 * 1000};
    HoppingWindow w(spec);
    std::vector<Accepted> events;
    int64_t now = 1000000;
    for (int i = 0; i < 3000; ++i) {
      now += static_cast<int64_t>(rng() % 400);  // T advances (event clock: monotonic)
      int64_t event_ms = now - static_cast<int64_t>(rng() % 90000) + 20000;  // late, current, future
      SeriesKey key = MakeSeriesKey(static_cast<uint32_t>(rng() % 5), static_cast<uint32_t>(rng() % 3));
      Values v;
      v.v[kMentions] = 1;
      v.v[kReach] = rng() % 100;
      int64_t index = FloorDiv(event_ms, spec.step_ms);
      if (index >= w.FirstBucket(now)) events.push_back({index, key, v});
      w.Add(now, event_ms, key, v);
      if (rng() % 50 == 0) w.Expire(now);
      if (rng() % 25 == 0) {
        SeriesMap got;
        w.SumInto(now, &got);
        SeriesMap want;
        int64_t first = w.FirstBucket(now), last = FloorDiv(now, spec.step_ms);
        for (const auto& e : events)
          if (e.index >= first && e.index <= last) want[e.key].Add(e.v);
        ASSERT_EQ(got.size(), want.size()) << "seed " << seed << " step " << i;
        for (const auto& [k, v] : want) {
          auto it = got.find(k);
          ASSERT_NE(it, got.end());
          for (int b = 0; b < kBasisCount; ++b) ASSERT_EQ(it->second.v[b], v.v[b]);
        }
      }
    }
  }
}

TEST(WindowSumTest, RetainBrandsDropsFromTheRunningSum) {
  WindowSpec spec{"w", 60 * 1000, 10 * 1000};
  HoppingWindow w(spec);
  Values one;
  one.v[kMentions] = 1;
  w.Expire(0);
  w.Add(0, 0, MakeSeriesKey(0, 0), one);
  w.Add(0, 0, MakeSeriesKey(1, 0), one);
  w.RetainBrands({true, false});
  SeriesMap m;
  w.SumInto(0, &m);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.count(MakeSeriesKey(0, 0)), 1u);
}

TEST(FlatMapTest, InsertFindGrowEraseIf) {
  FlatMap<uint64_t> m;
  for (uint64_t k = 0; k < 10000; ++k) m[k * 7919] += k;
  EXPECT_EQ(m.size(), 10000u);
  for (uint64_t k = 0; k < 10000; ++k) {
    auto it = m.find(k * 7919);
    ASSERT_NE(it, m.end());
    EXPECT_EQ(it->second, k);
  }
  EXPECT_EQ(m.find(3), m.end());
  m.EraseIf([](uint64_t, uint64_t v) { return v % 2 == 1; });
  EXPECT_EQ(m.size(), 5000u);
  size_t n = 0;
  for (const auto& [k, v] : m) {
    EXPECT_EQ(v % 2, 0u);
    ++n;
  }
  EXPECT_EQ(n, 5000u);
}

}  // namespace
}  // namespace earshot
