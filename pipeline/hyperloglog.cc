#include "pipeline/hyperloglog.h"

#include "base/hash.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace earshot {
namespace {

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// Little-endian load of n <= 8 bytes (the same value on every machine).
inline uint64_t Load(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}


// Ertl's sigma and tau (2017, algorithm 6): series summed until they stop changing.
double Sigma(double x) {
  if (x == 1) return std::numeric_limits<double>::infinity();
  double y = 1, z = x, prev;
  do {
    x *= x;
    prev = z;
    z += x * y;
    y += y;
  } while (z != prev);
  return z;
}

double Tau(double x) {
  if (x == 0 || x == 1) return 0;
  double y = 1, z = 1 - x, prev;
  do {
    x = std::sqrt(x);
    prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (z != prev);
  return z / 3;
}

// Sigma(zeros / 2^precision), remembered per thread: a scrape's sketches
// are mostly nearly empty, so the same few zero counts come back, and the
// series converges slowly next to 1 (~30 steps). A pure function, so a
// remembered value is the same double.
double MemoSigma(uint32_t zeros, int precision) {
  struct Entry {
    uint64_t key = UINT64_MAX;
    double value = 0;
  };
  thread_local Entry memo[256];
  const uint64_t key = (static_cast<uint64_t>(precision) << 32) | zeros;
  Entry& e = memo[(zeros ^ static_cast<uint32_t>(precision)) & 255];
  if (e.key != key) {
    e.value = Sigma(zeros / static_cast<double>(uint64_t{1} << precision));
    e.key = key;
  }
  return e.value;
}

constexpr int kRankBits = 6;  // sparse ranks go up to 64 - 25 + 1 = 40
constexpr uint32_t kRankMask = (1u << kRankBits) - 1;

}  // namespace

uint64_t HashBytes(std::string_view bytes) {
  // One lane of MurmurHash3 x64 over 8-byte words, then its finalizer.
  constexpr uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (static_cast<uint64_t>(n) * c2);
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t k = Load(p, 8);
    k *= c1;
    k = Rotl(k, 31);
    k *= c2;
    h ^= k;
    h = Rotl(h, 27) * 5 + 0x52dce729;
  }
  if (n > 0) {
    uint64_t k = Load(p, n);
    k *= c1;
    k = Rotl(k, 31);
    k *= c2;
    h ^= k;
  }
  return Fmix64(h);
}

double HllEstimate(const uint32_t* hist, int precision, int max_rank) {
  const double m = static_cast<double>(uint64_t{1} << precision);
  const int q = 64 - precision;
  double z = m * Tau(1 - hist[q + 1] / m);
  int k = q;
  // Most sketches a scrape estimates hold a few authors: their ranks stop
  // far below q. With no register at q + 1, z is +0, and z = 0.5 * (z + 0)
  // leaves it +0, so the loop may start at the highest rank present: the
  // same double, without ~35 idle steps.
  if (hist[q + 1] == 0) {
    k = std::min(q, max_rank);
    while (k >= 1 && hist[k] == 0) --k;
  }
  for (; k >= 1; --k) z = 0.5 * (z + hist[k]);
  z += m * MemoSigma(hist[0], precision);
  return m * m / (2 * std::log(2.0) * z);  // alpha_inf = 1 / (2 ln 2)
}

// ---------------------------------------------------------------------------

HyperLogLog::HyperLogLog(int precision)
    : precision_(static_cast<uint8_t>(std::clamp(precision, kMinPrecision, kMaxPrecision))) {}

void HyperLogLog::Add(uint64_t hash) {
  if (dense_) {
    uint8_t& r = registers()[HllIndex(hash, precision_)];
    r = std::max(r, HllRank(hash, precision_));
    return;
  }
  AddSparse(HllSparseEntry(hash));
}

void HyperLogLog::AddSparse(uint32_t entry) {
  const uint32_t index = HllSparseIndex(entry);
  auto it = std::lower_bound(data_.begin(), data_.end(), index << kRankBits);
  if (it != data_.end() && HllSparseIndex(*it) == index) {
    *it = std::max(*it, entry);  // same index: the larger rank
    return;
  }
  data_.insert(it, entry);
  // Past m/4 entries the sparse list is larger than the m registers.
  if (data_.size() > (size_t{1} << precision_) / 4) ToDense();
}

void HyperLogLog::ToDense() {
  std::vector<uint32_t> sparse;
  sparse.swap(data_);
  data_.assign((size_t{1} << precision_) / 4, 0);
  dense_ = true;
  uint8_t* regs = registers();
  for (uint32_t e : sparse) {
    uint32_t index;
    uint8_t rank;
    HllSparseToDense(e, precision_, &index, &rank);
    regs[index] = std::max(regs[index], rank);
  }
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (other.precision_ != precision_) return;
  if (other.dense_) {
    if (!dense_) ToDense();
    uint8_t* regs = registers();
    const uint8_t* o = other.registers();
    const size_t m = size_t{1} << precision_;
    for (size_t i = 0; i < m; ++i) regs[i] = std::max(regs[i], o[i]);
    return;
  }
  if (dense_) {
    uint8_t* regs = registers();
    for (uint32_t e : other.data_) {
      uint32_t index;
      uint8_t rank;
      HllSparseToDense(e, precision_, &index, &rank);
      regs[index] = std::max(regs[index], rank);
    }
    return;
  }
  // Both sparse: one sorted merge, the larger rank per index.
  std::vector<uint32_t> out;
  out.reserve(data_.size() + other.data_.size());
  size_t i = 0, j = 0;
  while (i < data_.size() || j < other.data_.size()) {
    if (j == other.data_.size() ||
        (i < data_.size() && HllSparseIndex(data_[i]) < HllSparseIndex(other.data_[j]))) {
      out.push_back(data_[i++]);
    } else if (i == data_.size() || HllSparseIndex(other.data_[j]) < HllSparseIndex(data_[i])) {
      out.push_back(other.data_[j++]);
    } else {
      out.push_back(std::max(data_[i++], other.data_[j++]));
    }
  }
  data_.swap(out);
  if (data_.size() > (size_t{1} << precision_) / 4) ToDense();
}

void HyperLogLog::MergeInto(HllAccumulator* acc) const {
  if (acc->precision() != precision_) return;
  if (dense_) {
    const uint8_t* regs = registers();
    const uint32_t m = uint32_t{1} << precision_;
    for (uint32_t i = 0; i < m; ++i) {
      if (regs[i] != 0) acc->AddDense(i, regs[i]);
    }
    return;
  }
  for (uint32_t e : data_) acc->AddSparse(e);
}

double HyperLogLog::Estimate() const {
  HllAccumulator acc(precision_);
  MergeInto(&acc);
  return acc.Estimate();
}

// ---------------------------------------------------------------------------

HllAccumulator::HllAccumulator(int precision)
    : precision_(std::clamp(precision, HyperLogLog::kMinPrecision, HyperLogLog::kMaxPrecision)),
      limit_(size_t{1} << precision_) {}


void HllAccumulator::Densify() {
  if (dense_) return;
  dense_ = true;
  if (regs_.empty()) regs_.assign(size_t{1} << precision_, 0);
  for (uint32_t h : used_) {
    uint32_t index;
    uint8_t rank;
    HllSparseToDense(table_[h], precision_, &index, &rank);
    table_[h] = 0;
    AddDense(index, rank);
  }
  used_.clear();
}

void HllAccumulator::Merge(const HllAccumulator& other) {
  if (other.precision_ != precision_) return;
  if (other.dense_) {
    for (uint32_t i : other.touched_) AddDense(i, other.regs_[i]);
    return;
  }
  for (uint32_t h : other.used_) AddSparse(other.table_[h]);
}

double HllAccumulator::Estimate() const {
  uint32_t hist[64 + 2] = {};
  uint32_t max_rank = 0;  // the scan of the histogram starts there
  if (!dense_) {
    hist[0] = (uint32_t{1} << kSparsePrecision) - static_cast<uint32_t>(used_.size());
    for (uint32_t h : used_) {
      const uint32_t rank = table_[h] & kRankMask;
      ++hist[rank];
      max_rank = std::max(max_rank, rank);
    }
    return HllEstimate(hist, kSparsePrecision, static_cast<int>(max_rank));
  }
  hist[0] = static_cast<uint32_t>(regs_.size() - touched_.size());
  for (uint32_t i : touched_) {
    ++hist[regs_[i]];
    max_rank = std::max<uint32_t>(max_rank, regs_[i]);
  }
  return HllEstimate(hist, precision_, static_cast<int>(max_rank));
}

void HllAccumulator::Clear() {
  for (uint32_t h : used_) table_[h] = 0;
  used_.clear();
  if (dense_) {
    if (touched_.size() < regs_.size() / 16) {
      for (uint32_t i : touched_) regs_[i] = 0;
    } else {
      std::fill(regs_.begin(), regs_.end(), 0);
    }
    touched_.clear();
    dense_ = false;
  }
}

}  // namespace earshot
