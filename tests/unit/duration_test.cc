// base/duration: the duration strings of docs/config.md ("250ms", "10s",
// "5m", "1h", "7d", "2w", compound "1h30m") and their shortest spelling.
#include "base/duration.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace earshot {
namespace {

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

int64_t Parse(const std::string& s) {
  auto r = ParseDurationMillis(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.message();
  return r.ok() ? r.value() : -1;
}

std::string ParseError(const std::string& s) {
  auto r = ParseDurationMillis(s);
  EXPECT_FALSE(r.ok()) << s << " parsed as " << (r.ok() ? r.value() : 0);
  return r.ok() ? "" : r.message();
}

TEST(DurationTest, EveryUnit) {
  EXPECT_EQ(Parse("250ms"), 250);
  EXPECT_EQ(Parse("90s"), 90 * kSec);
  EXPECT_EQ(Parse("5m"), 5 * kMin);
  EXPECT_EQ(Parse("1h"), kHour);
  EXPECT_EQ(Parse("1d"), kDay);
  EXPECT_EQ(Parse("7d"), 7 * kDay);
  EXPECT_EQ(Parse("2w"), 14 * kDay);
  EXPECT_EQ(Parse("0s"), 0);
  EXPECT_EQ(Parse("0ms"), 0);
  EXPECT_EQ(Parse("007s"), 7 * kSec);  // leading zeros are only digits
}

TEST(DurationTest, CompoundSpellingsAdd) {
  EXPECT_EQ(Parse("1h30m"), kHour + 30 * kMin);
  EXPECT_EQ(Parse("1d12h"), kDay + 12 * kHour);
  EXPECT_EQ(Parse("1m30s500ms"), kMin + 30 * kSec + 500);
  EXPECT_EQ(Parse("1w2d3h4m5s6ms"), 9 * kDay + 3 * kHour + 4 * kMin + 5 * kSec + 6);
  EXPECT_EQ(Parse("1d1s"), kDay + kSec);  // units may be skipped
  EXPECT_EQ(Parse("0h30m"), 30 * kMin);
}

TEST(DurationTest, CompoundUnitsGoFromLargestToSmallestEachOnce) {
  // Prometheus's rule: "30m1h" is not another spelling of "1h30m", and
  // "5m5m" is not "10m".
  EXPECT_NE(ParseError("30m1h").find("invalid duration \"30m1h\": \"h\" after \"m\": "
                                     "units go from largest to smallest, each at most once "
                                     "(as in 1h30m)"),
            std::string::npos)
      << ParseError("30m1h");
  EXPECT_NE(ParseError("5m5m").find("invalid duration \"5m5m\": \"m\" twice: units go"),
            std::string::npos)
      << ParseError("5m5m");
  for (const char* bad : {"30s1m", "1s1s", "1ms1s", "1d1w", "1h2d", "0s0s", "1h30m1h", "1m1m1m"}) {
    EXPECT_NE(ParseError(bad).find("units go from largest to smallest"), std::string::npos)
        << bad;
  }
}

TEST(DurationTest, InvalidInputsAreErrorsThatQuoteTheText) {
  EXPECT_EQ(ParseError(""), "empty duration");
  for (const char* bad : {"-5m", "+5m", " 5m", "5m ", "5 m", "m", "ms", "1.5h", "5", "5m3",
                          "5x", "5sec", "5M", "5S", "5min", "10mss", "1h-30m", "5m!", "5m\n"}) {
    std::string err = ParseError(bad);
    EXPECT_NE(err.find("invalid duration \"" + std::string(bad) + "\""), std::string::npos)
        << bad << " -> " << err;
  }
  // An unknown or missing unit names every unit there is.
  EXPECT_NE(ParseError("5y").find("missing or unknown unit (use w, d, h, m, s or ms)"),
            std::string::npos);
  EXPECT_NE(ParseError("5").find("missing or unknown unit"), std::string::npos);
  // A leading non-digit is a different message: a number is expected. It
  // names the same units.
  EXPECT_NE(ParseError("-5m").find("expected a number followed by a unit (w, d, h, m, s or ms)"),
            std::string::npos)
      << ParseError("-5m");
  // A NUL byte is not a unit.
  EXPECT_FALSE(ParseDurationMillis(std::string_view("5m\0", 3)).ok());
}

TEST(DurationTest, OverflowIsAnErrorNotAWrap) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  // The largest whole days in an int64 of milliseconds, and one more.
  const int64_t max_days = kMax / kDay;
  EXPECT_EQ(Parse(std::to_string(max_days) + "d"), max_days * kDay);
  EXPECT_NE(ParseError(std::to_string(max_days + 1) + "d").find("too large"), std::string::npos);
  // The largest int64 itself is a duration; one more is not.
  EXPECT_EQ(Parse("9223372036854775807ms"), kMax);
  EXPECT_NE(ParseError("9223372036854775808ms").find("too large"), std::string::npos);
  EXPECT_EQ(Parse("9223372036854775700ms"), 9223372036854775700);
  // A number with more digits than an int64 holds.
  EXPECT_NE(ParseError("99999999999999999999999ms").find("too large"), std::string::npos);
  EXPECT_NE(ParseError("18446744073709551617s").find("too large"), std::string::npos);
  // Each part fits, the sum does not: the whole days leave 25,975,807 ms.
  const std::string days = std::to_string(max_days) + "d";
  EXPECT_EQ(Parse(days + "7h"), max_days * kDay + 7 * kHour);
  EXPECT_EQ(Parse(days + "25975807ms"), kMax);
  EXPECT_NE(ParseError(days + "8h").find("too large"), std::string::npos);
  EXPECT_NE(ParseError(days + "25975808ms").find("too large"), std::string::npos);
  EXPECT_NE(ParseError(days + std::to_string(kDay) + "ms").find("too large"), std::string::npos);
}

TEST(DurationTest, FormatIsTheShortestExactSpelling) {
  EXPECT_EQ(FormatDurationMillis(0), "0s");
  EXPECT_EQ(FormatDurationMillis(250), "250ms");
  EXPECT_EQ(FormatDurationMillis(1500), "1500ms");
  EXPECT_EQ(FormatDurationMillis(90 * kSec), "90s");
  EXPECT_EQ(FormatDurationMillis(5 * kMin), "5m");
  EXPECT_EQ(FormatDurationMillis(90 * kMin), "90m");
  EXPECT_EQ(FormatDurationMillis(kHour), "1h");
  EXPECT_EQ(FormatDurationMillis(36 * kHour), "36h");
  EXPECT_EQ(FormatDurationMillis(7 * kDay), "7d");
}

TEST(DurationTest, FormatThenParseRoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{999}, kSec, kSec + 1, 90 * kSec, 5 * kMin,
                     kHour + 30 * kMin, kDay, 7 * kDay, 365 * kDay, kDay + 1,
                     std::numeric_limits<int64_t>::max() / kDay * kDay}) {
    std::string s = FormatDurationMillis(ms);
    EXPECT_EQ(Parse(s), ms) << s;
  }
  // And a parsed compound spelling formats to its shortest form.
  EXPECT_EQ(FormatDurationMillis(Parse("1h30m")), "90m");
  EXPECT_EQ(FormatDurationMillis(Parse("60s")), "1m");
  EXPECT_EQ(FormatDurationMillis(Parse("1000ms")), "1s");
  EXPECT_EQ(FormatDurationMillis(Parse("2w")), "14d");
}

}  // namespace
}  // namespace earshot
