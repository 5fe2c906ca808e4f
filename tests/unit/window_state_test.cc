#include "pipeline/window_state.h"

#include <gtest/gtest.h>

#include <utility>

namespace earshot {
namespace {

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;

Values One() {
  Values v;
  v.v[kMentions] = 1;
  v.v[kReach] = 10;
  return v;
}

uint64_t MentionsAt(const HoppingWindow& w, int64_t now) {
  SeriesMap m;
  w.SumInto(now, &m);
  auto it = m.find(MakeSeriesKey(1, 0));
  return it == m.end() ? 0 : it->second.v[kMentions];
}

// docs/windows.md: at T the window covers
// [floor(T/step)*step + step - size, floor(T/step)*step + step).
TEST(HoppingWindowTest, CoversTheLatestHoppingWindowContainingT) {
  HoppingWindow w(WindowSpec{"5m", 5 * kMin, 10 * kSec});
  const int64_t t = 1000 * kMin + 25 * kSec;  // floor(T/step)*step = 1000m20s
  // Window at T: [1000m20s + 10s - 5m, 1000m30s) = [995m30s, 1000m30s).
  EXPECT_EQ(w.WindowStartMillis(t), 995 * kMin + 30 * kSec);
  w.Add(t, 995 * kMin + 30 * kSec, MakeSeriesKey(1, 0), One());      // first ms inside
  w.Add(t, 995 * kMin + 30 * kSec - 1, MakeSeriesKey(1, 0), One());  // last ms before: dropped
  w.Add(t, 1000 * kMin + 29 * kSec + 999, MakeSeriesKey(1, 0), One());  // inside (bucket of T)
  EXPECT_EQ(MentionsAt(w, t), 2u);
}

TEST(HoppingWindowTest, FutureEventsWaitUntilTReachesThem) {
  HoppingWindow w(WindowSpec{"1m", kMin, 10 * kSec});
  const int64_t t = 100 * kMin;
  w.Add(t, t + 10 * kSec, MakeSeriesKey(1, 0), One());  // next bucket: end is exclusive
  EXPECT_EQ(MentionsAt(w, t), 0u);
  EXPECT_EQ(MentionsAt(w, t + 10 * kSec), 1u);
}

TEST(HoppingWindowTest, EventsLeaveAtTheExactStep) {
  HoppingWindow w(WindowSpec{"1m", kMin, 10 * kSec});
  const int64_t e = 100 * kMin + 5 * kSec;  // bucket [100m, 100m10s)
  w.Add(e, e, MakeSeriesKey(1, 0), One());
  // Still inside while floor(T/step)*step + step - size <= 100m, i.e. T < 101m.
  EXPECT_EQ(MentionsAt(w, 101 * kMin - 1), 1u);
  EXPECT_EQ(MentionsAt(w, 101 * kMin), 0u);
  w.Expire(101 * kMin);
  EXPECT_EQ(w.bucket_count(), 0u);
}

TEST(HoppingWindowTest, SizeEqualToStepIsATumblingWindow) {
  HoppingWindow w(WindowSpec{"t", kMin, kMin});
  w.Add(0, 30 * kSec, MakeSeriesKey(1, 0), One());
  EXPECT_EQ(MentionsAt(w, 59 * kSec), 1u);
  EXPECT_EQ(MentionsAt(w, 60 * kSec), 0u);
}

TEST(HoppingWindowTest, NegativeTimesUseFloorDivision) {
  EXPECT_EQ(FloorDiv(-1, 10), -1);
  EXPECT_EQ(FloorDiv(-10, 10), -1);
  EXPECT_EQ(FloorDiv(-11, 10), -2);
  EXPECT_EQ(FloorDiv(9, 10), 0);
}

TEST(HoppingWindowTest, SumsBasesAndSeriesSeparately) {
  HoppingWindow w(WindowSpec{"5m", 5 * kMin, kMin});
  Values a;
  a.v[kMentions] = 1;
  a.v[kReach] = 100;
  a.v[kEngagement] = 7;
  a.v[kViews] = 3;
  w.Add(10 * kMin, 10 * kMin, MakeSeriesKey(1, 0), a);
  w.Add(10 * kMin, 10 * kMin, MakeSeriesKey(1, 0), a);
  w.Add(10 * kMin, 9 * kMin, MakeSeriesKey(2, 3), a);
  SeriesMap m;
  w.SumInto(10 * kMin, &m);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[MakeSeriesKey(1, 0)].v[kReach], 200u);
  EXPECT_EQ(m[MakeSeriesKey(1, 0)].v[kViews], 6u);
  EXPECT_EQ(m[MakeSeriesKey(2, 3)].v[kEngagement], 7u);
}

TEST(HoppingWindowTest, RetainBrandsDropsRemovedBrandsOnly) {
  HoppingWindow w(WindowSpec{"5m", 5 * kMin, kMin});
  w.Add(0, 0, MakeSeriesKey(0, 0), One());
  w.Add(0, 0, MakeSeriesKey(1, 0), One());
  w.RetainBrands({true, false});
  SeriesMap m;
  w.SumInto(0, &m);
  EXPECT_EQ(m.count(MakeSeriesKey(0, 0)), 1u);
  EXPECT_EQ(m.count(MakeSeriesKey(1, 0)), 0u);
}

Values Of(uint64_t k) {
  Values v;
  v.v[kMentions] = k;
  v.v[kViews] = k * 3;
  return v;
}

// Every key inserted so far is found with its value, and absent ones are not.
void ExpectHolds(const SeriesMap& m, uint64_t n) {
  ASSERT_EQ(m.size(), n);
  for (uint64_t k = 0; k < n; ++k) {
    auto it = m.find(MakeSeriesKey(static_cast<uint32_t>(k), 3));
    ASSERT_NE(it, m.end()) << k;
    ASSERT_EQ(it->second.v[kMentions], k);
    ASSERT_EQ(it->second.v[kViews], k * 3);
  }
  EXPECT_EQ(m.find(MakeSeriesKey(static_cast<uint32_t>(n), 3)), m.end());
}

// The window state's map (SeriesMap), through growth from empty across ten
// doublings (lookups after each), reserve, clear and reuse, copies and
// moves (a moved-from map is empty and usable).
TEST(SeriesMapTest, GrowthClearMoveAndReuse) {
  SeriesMap m;
  EXPECT_EQ(m.find(1), m.end());
  for (uint64_t k = 0; k < 12000; ++k) {
    auto [slot, inserted] = m.Insert(MakeSeriesKey(static_cast<uint32_t>(k), 3));
    ASSERT_TRUE(inserted);
    slot->second = Of(k);
    if ((k & (k + 1)) == 0) ExpectHolds(m, k + 1);  // after 1, 3, 7, ... 8191: past each growth
  }
  ExpectHolds(m, 12000);
  EXPECT_FALSE(m.Insert(MakeSeriesKey(5, 3)).second);

  SeriesMap copy = m;
  m.clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.find(MakeSeriesKey(5, 3)), m.end());
  ExpectHolds(copy, 12000);
  for (uint64_t k = 0; k < 100; ++k) m[MakeSeriesKey(static_cast<uint32_t>(k), 3)] = Of(k);
  ExpectHolds(m, 100);

  SeriesMap moved(std::move(copy));
  ExpectHolds(moved, 12000);
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): the documented state
  EXPECT_EQ(copy.find(MakeSeriesKey(5, 3)), copy.end());
  for (uint64_t k = 0; k < 50; ++k) copy[MakeSeriesKey(static_cast<uint32_t>(k), 3)] = Of(k);
  ExpectHolds(copy, 50);

  SeriesMap assigned;
  assigned.reserve(20000);
  for (uint64_t k = 0; k < 20; ++k) assigned[MakeSeriesKey(static_cast<uint32_t>(k), 3)] = Of(k);
  ExpectHolds(assigned, 20);
  assigned = std::move(moved);
  ExpectHolds(assigned, 12000);
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)
  moved[MakeSeriesKey(0, 3)] = Of(0);
  ExpectHolds(moved, 1);

  assigned.EraseIf([](SeriesKey key, const Values&) { return SeriesBrand(key) >= 6000; });
  ExpectHolds(assigned, 6000);
  for (uint64_t k = 6000; k < 12000; ++k) {
    assigned[MakeSeriesKey(static_cast<uint32_t>(k), 3)] = Of(k);
  }
  ExpectHolds(assigned, 12000);
}

}  // namespace
}  // namespace earshot
