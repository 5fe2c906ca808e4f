#include "pipeline/window_state.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace earshot
