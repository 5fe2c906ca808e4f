// HyperLogLog: empty, one item, sparse -> dense, merging, the estimate
// against a plain reading of Ertl's formula (bit for bit), and the error
// distribution against exact counts over many seeds (printed).
#include "pipeline/hyperloglog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace earshot {
namespace {

uint64_t H(uint64_t seed, uint64_t i) {
  return HashBytes("author-" + std::to_string(seed) + "-" + std::to_string(i));
}

TEST(HyperLogLogTest, EmptyIsZeroAndSparse) {
  HyperLogLog h(12);
  EXPECT_TRUE(h.sparse());
  EXPECT_EQ(h.entries(), 0u);
  EXPECT_EQ(h.Estimate(), 0.0);
  EXPECT_EQ(h.MemoryBytes(), 0u);
  HllAccumulator acc(12);
  EXPECT_TRUE(acc.empty());
  EXPECT_EQ(acc.Estimate(), 0.0);
}

TEST(HyperLogLogTest, OneAuthorIsOneHoweverOftenSeen) {
  HyperLogLog h(12);
  for (int i = 0; i < 100; ++i) h.Add(HashBytes("only-author"));
  EXPECT_EQ(h.entries(), 1u);
  EXPECT_EQ(std::llround(h.Estimate()), 1);
}

TEST(HyperLogLogTest, SmallSetsAreExactAfterRoundingAndCostBytes) {
  for (int n : {1, 2, 3, 10, 50, 200}) {
    HyperLogLog h(12);
    for (int i = 0; i < n; ++i) h.Add(H(7, i));
    EXPECT_TRUE(h.sparse());
    EXPECT_NEAR(h.Estimate(), n, std::max(0.5, n * 0.005)) << n;
  }
  // "A brand with 3 authors costs bytes, not kilobytes."
  HyperLogLog three(12);
  for (int i = 0; i < 3; ++i) three.Add(H(1, i));
  three.ShrinkToFit();
  EXPECT_LE(three.MemoryBytes(), 16u);
  EXPECT_EQ(std::llround(three.Estimate()), 3);
}

TEST(HyperLogLogTest, SparseBecomesDensePastAQuarterOfTheRegisters) {
  for (int p : {12, 14}) {
    const size_t m = size_t{1} << p;
    HyperLogLog h(p);
    uint64_t i = 0;
    while (h.sparse()) {
      ASSERT_LE(h.entries(), m / 4);
      h.Add(H(3, i++));
      // Sparse: the fine registers count nearly exactly.
      if (i % 97 == 0) {
        ASSERT_NEAR(h.Estimate(), static_cast<double>(i), 0.5) << i;
      }
    }
    EXPECT_EQ(i, m / 4 + 1);
    EXPECT_EQ(h.entries(), m);
    EXPECT_EQ(h.MemoryBytes(), m);  // one byte a register
    EXPECT_NEAR(h.Estimate(), static_cast<double>(i), 0.05 * static_cast<double>(i));
    // Dense registers are the fine ones folded: the same as counting the
    // hashes at `p` directly.
    HllAccumulator ref(p);
    for (uint64_t k = 0; k < i; ++k) {
      const uint64_t x = H(3, k);
      ref.AddDense(HllIndex(x, p), HllRank(x, p));
    }
    EXPECT_EQ(h.Estimate(), ref.Estimate());
    for (int k = 0; k < 20000; ++k) {
      const uint64_t x = H(3, i++);
      h.Add(x);
      ref.AddDense(HllIndex(x, p), HllRank(x, p));
    }
    EXPECT_EQ(h.Estimate(), ref.Estimate());
    EXPECT_NEAR(h.Estimate(), static_cast<double>(i), 0.05 * static_cast<double>(i));
  }
}

TEST(HyperLogLogTest, MergeIsTheUnionInEveryForm) {
  // Sizes that give sparse+sparse, sparse+dense, dense+sparse, dense+dense.
  const std::vector<std::pair<int, int>> sizes = {{100, 300}, {50, 5000}, {5000, 50}, {4000, 9000}};
  for (const auto& [na, nb] : sizes) {
    HyperLogLog a(12), b(12), both(12);
    // Overlapping sets: a = [0, na), b = [na / 2, na / 2 + nb).
    for (int i = 0; i < na; ++i) {
      a.Add(H(9, i));
      both.Add(H(9, i));
    }
    for (int i = na / 2; i < na / 2 + nb; ++i) {
      b.Add(H(9, i));
      both.Add(H(9, i));
    }
    HyperLogLog merged = a;
    merged.Merge(b);
    EXPECT_EQ(merged.Estimate(), both.Estimate()) << na << "+" << nb;
    HllAccumulator acc(12);
    a.MergeInto(&acc);
    b.MergeInto(&acc);
    EXPECT_EQ(acc.Estimate(), both.Estimate());
    const int exact = std::max(na, na / 2 + nb);
    EXPECT_NEAR(merged.Estimate(), exact, 0.05 * exact);
  }
}

TEST(HyperLogLogTest, MergingStepSketchesEqualsOneSketchOfTheWindow) {
  // A window of 30 steps: per-step sketches merged at scrape time hold the
  // same registers as one sketch of every event (authors repeat across steps).
  std::mt19937_64 rng(42);
  std::vector<HyperLogLog> steps(30, HyperLogLog(12));
  HyperLogLog whole(12);
  for (int e = 0; e < 20000; ++e) {
    const uint64_t x = H(5, rng() % 6000);
    steps[e % 30].Add(x);
    whole.Add(x);
  }
  HllAccumulator acc(12);
  for (const auto& s : steps) s.MergeInto(&acc);
  EXPECT_EQ(acc.Estimate(), whole.Estimate());
  acc.Clear();
  EXPECT_EQ(acc.Estimate(), 0.0);
}

TEST(HyperLogLogTest, HashSpreadsEveryBit) {
  // Sequential ids: each output bit set about half the time.
  int ones[64] = {};
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const uint64_t h = HashBytes(std::to_string(i));
    for (int b = 0; b < 64; ++b) ones[b] += (h >> b) & 1;
  }
  for (int b = 0; b < 64; ++b) EXPECT_NEAR(ones[b], n / 2, n / 20) << "bit " << b;
  EXPECT_NE(HashBytes(""), HashBytes(std::string(1, '\0')));
  EXPECT_EQ(HashBytes("abc"), HashBytes("abc"));
}

// Ertl's improved estimator (2017, algorithm 6) as written, without the
// shortcuts of HllEstimate: the same doubles are expected, bit for bit.
double PlainEstimate(const uint32_t* hist, int precision) {
  auto sigma = [](double x) {
    if (x == 1) return std::numeric_limits<double>::infinity();
    double y = 1, z = x, prev;
    do {
      x *= x;
      prev = z;
      z += x * y;
      y += y;
    } while (z != prev);
    return z;
  };
  auto tau = [](double x) {
    if (x == 0 || x == 1) return 0.0;
    double y = 1, z = 1 - x, prev;
    do {
      x = std::sqrt(x);
      prev = z;
      y *= 0.5;
      z -= (1 - x) * (1 - x) * y;
    } while (z != prev);
    return z / 3;
  };
  const double m = static_cast<double>(uint64_t{1} << precision);
  const int q = 64 - precision;
  double z = m * tau(1 - hist[q + 1] / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + hist[k]);
  z += m * sigma(hist[0] / m);
  return m * m / (2 * std::log(2.0) * z);
}

TEST(HyperLogLogTest, EstimateIsErtlsFormulaBitForBit) {
  std::mt19937_64 rng(7);
  int checked = 0;
  auto check = [&](const uint32_t* hist, int precision) {
    const double want = PlainEstimate(hist, precision);
    // Twice: the second call may take the remembered sigma.
    for (int pass = 0; pass < 2; ++pass) {
      const double got = HllEstimate(hist, precision);
      ASSERT_EQ(std::memcmp(&got, &want, sizeof got), 0)
          << "precision " << precision << " zeros " << hist[0] << ": " << got << " vs " << want;
    }
    // With the highest rank present given (and a looser bound): the same double.
    int top = 0;
    for (int k = 1; k <= 64 + 1; ++k) {
      if (hist[k] != 0) top = k;
    }
    for (int bound : {top, top + 3}) {
      const double got = HllEstimate(hist, precision, bound);
      ASSERT_EQ(std::memcmp(&got, &want, sizeof got), 0)
          << "precision " << precision << " max rank " << bound << ": " << got << " vs " << want;
    }
    ++checked;
  };
  for (int precision : {4, 12, 14, 18, kSparsePrecision}) {
    const uint32_t m = uint32_t{1} << precision;
    const int q = 64 - precision;
    for (int round = 0; round < 3000; ++round) {
      uint32_t hist[64 + 2] = {};
      // Nearly empty (a few registers, low ranks), half full, or full; now
      // and then a register at q + 1 (Tau's term) or at the top rank q.
      const int shape = round % 3;
      const uint64_t filled = shape == 0   ? rng() % 8
                              : shape == 1 ? rng() % (m / 2 + 1)
                                           : m;
      uint64_t left = filled;
      for (int k = 1; k <= q + 1 && left > 0; ++k) {
        const uint64_t take = k == q + 1 ? left : (rng() % 2 == 0 ? left / 2 : rng() % (left + 1));
        hist[k] = static_cast<uint32_t>(take);
        left -= take;
      }
      if (round % 7 == 0 && filled > 0) {
        for (int k = 1; k <= q + 1; ++k) hist[k] = 0;
        hist[round % 14 == 0 ? q + 1 : q] = static_cast<uint32_t>(filled);
      }
      hist[0] = static_cast<uint32_t>(m - filled);
      check(hist, precision);
    }
  }
  // Zero counts that share a slot of the remembered sigmas, in turn.
  for (uint32_t zeros : {1u << 20, (1u << 20) + 256, 1u << 20, (1u << 20) + 512}) {
    uint32_t hist[64 + 2] = {};
    hist[0] = zeros;
    hist[1] = (1u << kSparsePrecision) - zeros;
    check(hist, kSparsePrecision);
  }
  EXPECT_EQ(checked, 5 * 3000 + 4);
}

// The contract: within 2% of the exact count at one standard error. Over
// many seeds per size, the observed relative error's RMS is that standard
// error; printed as a distribution.
TEST(HyperLogLogTest, ErrorDistributionAgainstExactCounts) {
  constexpr int kPrecision = 12;
  constexpr int kSeeds = 200;
  std::printf("\nHyperLogLog precision %d (theory: 1.04/sqrt(m) = %.2f%%), %d seeds a size:\n",
              kPrecision, 104.0 / std::sqrt(1 << kPrecision), kSeeds);
  std::printf("%9s %9s %9s %9s %9s %9s %9s\n", "exact", "mean %", "rms %", "p5 %", "p50 %",
              "p95 %", "max |%|");
  for (int n : {10, 100, 1000, 5000, 20000, 100000}) {
    std::vector<double> errs;
    for (int seed = 0; seed < kSeeds; ++seed) {
      HyperLogLog h(kPrecision);
      for (int i = 0; i < n; ++i) h.Add(H(1000 + seed, i));
      errs.push_back((h.Estimate() - n) / n);
    }
    double mean = 0, sq = 0, worst = 0;
    int beyond = 0;  // past 6%, three times the 2% standard error
    for (double e : errs) {
      mean += e;
      sq += e * e;
      worst = std::max(worst, std::fabs(e));
      beyond += std::fabs(e) > 0.06;
    }
    mean /= kSeeds;
    const double rms = std::sqrt(sq / kSeeds);
    std::sort(errs.begin(), errs.end());
    auto q = [&](double f) { return errs[static_cast<size_t>(f * (errs.size() - 1))]; };
    std::printf("%9d %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", n, 100 * mean, 100 * rms,
                100 * q(0.05), 100 * q(0.5), 100 * q(0.95), 100 * worst);
    EXPECT_LT(rms, 0.02) << n;           // one standard error within 2%
    EXPECT_LT(std::fabs(mean), 0.005) << n;  // no bias worth the name
    EXPECT_LE(beyond, kSeeds / 100) << n;     // (0.3% expected for a normal error)
  }
}

}  // namespace
}  // namespace earshot
