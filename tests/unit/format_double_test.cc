#include "base/format_double.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

namespace earshot {
namespace {

std::string Fast(double v) {
  char buf[kMaxG16Chars];
  return std::string(buf, FormatG16(buf, v));
}

std::string Reference(double v) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 16).ptr);
}

// Compares v, its neighbours and their negations; counts the mismatches
// (the first few are reported).
int Check(double v, int* reported) {
  int bad = 0;
  for (double w : {v, std::nextafter(v, 0.0), std::nextafter(v, INFINITY)}) {
    for (double x : {w, -w}) {
      if (!std::isfinite(x)) continue;
      const std::string got = Fast(x), want = Reference(x);
      if (got != want) {
        ++bad;
        if ((*reported)++ < 10) {
          uint64_t bits;
          std::memcpy(&bits, &x, sizeof bits);
          ADD_FAILURE() << "bits 0x" << std::hex << bits << ": FormatG16 writes " << got
                        << ", std::to_chars " << want;
        }
      }
    }
  }
  return bad;
}

TEST(FormatG16Test, ExamplesAsPrometheusWritesThem) {
  EXPECT_EQ(Fast(0.25), "0.25");
  EXPECT_EQ(Fast(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(Fast(9.3), "9.300000000000001");  // 16 digits of the binary value
  EXPECT_EQ(Fast(0.1 + 0.2), "0.3");
  EXPECT_EQ(Fast(1e-05), "1e-05");
  EXPECT_EQ(Fast(1.5e-07), "1.5e-07");
  EXPECT_EQ(Fast(0.0001), "0.0001");
  EXPECT_EQ(Fast(1), "1");
  EXPECT_EQ(Fast(-42), "-42");
  EXPECT_EQ(Fast(123456.5), "123456.5");
  EXPECT_EQ(Fast(1e15), "1000000000000000");
  EXPECT_EQ(Fast(1e16), "1e+16");
  EXPECT_EQ(Fast(0.0), "0");
  EXPECT_EQ(Fast(5e-324), "4.940656458412465e-324");
  // An exact tie at the 17th digit goes to the even 16th.
  EXPECT_EQ(Fast(1234567890123456.5), "1234567890123456");
  EXPECT_EQ(Fast(1234567890123457.5), "1234567890123458");
}

TEST(FormatG16Test, EqualsToCharsOnRatiosOfCounts) {
  // Share-of-voice ratios: a / b for counts up to 1,000.
  int reported = 0, bad = 0;
  for (int b = 1; b <= 1000; ++b) {
    for (int a = 0; a <= b; ++a) bad += Check(static_cast<double>(a) / b, &reported);
  }
  EXPECT_EQ(bad, 0);
}

TEST(FormatG16Test, EqualsToCharsOnRandomValues) {
  std::mt19937_64 rng(20261204);
  int reported = 0, bad = 0;
  // Uniform over the bit patterns (every exponent, the slow path too).
  for (int i = 0; i < 300000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, 8);
    bad += Check(v, &reported);
  }
  // Log-uniform over the fast path's magnitudes and a little beyond.
  std::uniform_real_distribution<double> exp10(-9, 18);
  for (int i = 0; i < 500000; ++i) bad += Check(std::pow(10.0, exp10(rng)), &reported);
  // Integers and halves, where exact ties live.
  for (int i = 0; i < 300000; ++i) {
    const uint64_t n = rng() >> (rng() % 64);
    bad += Check(static_cast<double>(n), &reported);
    bad += Check(static_cast<double>(n >> 11) + 0.5, &reported);
  }
  EXPECT_EQ(bad, 0);
}

TEST(FormatG16Test, EqualsToCharsAtDecimalBoundaries) {
  // Powers of ten and the values that round up to the next one.
  int reported = 0, bad = 0;
  for (int k = -12; k <= 20; ++k) {
    const double t = std::pow(10.0, k);
    double v = t;
    for (int step = 0; step < 64; ++step) {
      bad += Check(v, &reported);
      v = std::nextafter(v, 0.0);
    }
    bad += Check(t * (1 - 5e-17), &reported);
    bad += Check(t * 0.99999999999999995, &reported);
    bad += Check(t * 9.9999999999999995, &reported);
  }
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace earshot
