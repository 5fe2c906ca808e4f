#pragma once
// HyperLogLog distinct counting (Flajolet, Fusy, Gandouet, Meunier 2007),
// estimated with Ertl's improved raw estimator ("New cardinality estimation
// algorithms for HyperLogLog sketches", 2017): one formula from 0 to 2^64
// items, no empirical bias tables, relative standard error ~1.04/sqrt(m)
// for m = 2^precision registers (1.6% at precision 12, 0.8% at 14), and
// nearly exact for sets much smaller than m (linear counting in effect).
//
// A sketch is sparse while it is small (as in HyperLogLog++, Heule, Nunkesser,
// Hall 2013): a sorted list of 4-byte entries, one per register in use at
// the finer precision 25 (index << 6 | rank), so 3 items cost 12 bytes and
// sets of up to a few thousand items are counted nearly exactly (two items
// share a register with probability 2^-25). Past m/4 entries (the size of
// the dense form) it becomes dense: m one-byte registers at `precision`,
// each derived from the finer ones, so sparse and dense sketches merge.
//
// Not thread-safe; a const sketch may be read from several threads.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace earshot {

// A 64-bit hash of a byte string for distinct counting: every output bit
// depends on every input byte, and it is the same on every machine and
// build (golden files pin estimates made from it).
uint64_t HashBytes(std::string_view bytes);

// Register index and rank of `hash` at `precision`: the top `precision`
// bits pick the register; the rank is 1 + the number of leading zeros of
// the remaining 64 - precision bits (64 - precision + 1 when all are zero).
inline uint32_t HllIndex(uint64_t hash, int precision) {
  return static_cast<uint32_t>(hash >> (64 - precision));
}
inline uint8_t HllRank(uint64_t hash, int precision) {
  const uint64_t w = hash << precision;
  return w == 0 ? static_cast<uint8_t>(64 - precision + 1)
                : static_cast<uint8_t>(__builtin_clzll(w) + 1);
}

// Sparse entries: (index << 6 | rank) at kSparsePrecision.
inline constexpr int kSparsePrecision = 25;
inline uint32_t HllSparseEntry(uint64_t hash) {
  return (HllIndex(hash, kSparsePrecision) << 6) | HllRank(hash, kSparsePrecision);
}
inline uint32_t HllSparseIndex(uint32_t entry) { return entry >> 6; }
// The register at `precision` (< kSparsePrecision) a sparse entry falls in,
// and its rank there: the bits between the two precisions decide it unless
// they are all zero.
inline void HllSparseToDense(uint32_t entry, int precision, uint32_t* index, uint8_t* rank) {
  const int extra = kSparsePrecision - precision;
  const uint32_t fine = entry >> 6;
  *index = fine >> extra;
  const uint32_t low = fine & ((1u << extra) - 1);
  *rank = low != 0 ? static_cast<uint8_t>(extra - (32 - __builtin_clz(low)) + 1)
                   : static_cast<uint8_t>(extra + (entry & 63));
}

// The estimate from a register histogram: hist[k] = registers holding k,
// for k = 0 .. 64 - precision + 1 (precision up to kSparsePrecision).
// `max_rank`, when the caller knows it, bounds the ranks present (hist[k]
// is 0 above it): the empty top of the histogram is then not scanned (~35
// steps at the sparse precision). The same double either way.
double HllEstimate(const uint32_t* hist, int precision, int max_rank = 64 + 1);

class HllAccumulator;

class HyperLogLog {
 public:
  static constexpr int kMinPrecision = 4;
  static constexpr int kMaxPrecision = 18;

  // `precision` in [kMinPrecision, kMaxPrecision].
  explicit HyperLogLog(int precision = 12);

  int precision() const { return precision_; }
  bool sparse() const { return !dense_; }
  // Fine registers in use (sparse), or m (dense).
  size_t entries() const { return dense_ ? size_t{1} << precision_ : data_.size(); }
  // Heap bytes held (capacity, not size).
  size_t MemoryBytes() const { return data_.capacity() * sizeof(uint32_t); }

  // Counts an item by its hash. Sparse: a binary search and at most a move of
  // the entries after it (m/4 at most); dense: one byte.
  void Add(uint64_t hash);
  // Union with `other` (same precision).
  void Merge(const HyperLogLog& other);
  // Raises `acc`'s registers to this sketch's (same precision).
  void MergeInto(HllAccumulator* acc) const;
  double Estimate() const;
  // Releases spare capacity.
  void ShrinkToFit() { data_.shrink_to_fit(); }

 private:
  void AddSparse(uint32_t entry);
  void ToDense();
  uint8_t* registers() { return reinterpret_cast<uint8_t*>(data_.data()); }
  const uint8_t* registers() const { return reinterpret_cast<const uint8_t*>(data_.data()); }

  // Sparse: entries at kSparsePrecision sorted by index, one per register in
  // use. Dense: m one-byte registers at precision_, four to a word.
  std::vector<uint32_t> data_;
  uint8_t precision_;
  bool dense_ = false;
};

// The union of many sketches (or raw hashes), estimated, then reused. Like
// a sketch it stays sparse (fine entries in a small hash set, nearly exact)
// while the union has at most m distinct fine registers, then turns dense
// (m registers); Clear() resets only what was touched when that was little.
// Not thread-safe.
class HllAccumulator {
 public:
  explicit HllAccumulator(int precision = 12);
  int precision() const { return precision_; }
  bool dense() const { return dense_; }
  void AddSparse(uint32_t entry) {
    if (dense_) {
      uint32_t index;
      uint8_t rank;
      HllSparseToDense(entry, precision_, &index, &rank);
      AddDense(index, rank);
      return;
    }
    if (table_.empty()) table_.assign(2 * limit_, 0);
    const uint32_t mask = static_cast<uint32_t>(table_.size() - 1);
    const uint32_t index = HllSparseIndex(entry);
    for (uint32_t h = (index * 2654435761u) & mask;; h = (h + 1) & mask) {
      uint32_t& slot = table_[h];
      if (slot == 0) {  // entries are never 0: ranks start at 1
        slot = entry;
        used_.push_back(h);
        if (used_.size() > limit_) Densify();
        return;
      }
      if (HllSparseIndex(slot) == index) {
        if (entry > slot) slot = entry;
        return;
      }
    }
  }
  void AddDense(uint32_t index, uint8_t rank) {
    if (!dense_) Densify();
    uint8_t& r = regs_[index];
    if (r == 0) touched_.push_back(index);
    if (rank > r) r = rank;
  }
  void AddHash(uint64_t hash) { AddSparse(HllSparseEntry(hash)); }
  // The union with `other` (same precision).
  void Merge(const HllAccumulator& other);
  bool empty() const { return used_.empty() && touched_.empty(); }
  double Estimate() const;
  void Clear();

 private:
  void Densify();

  int precision_;
  size_t limit_;  // distinct fine registers kept sparse: m
  bool dense_ = false;
  std::vector<uint32_t> table_;    // sparse: open addressing by fine index (2 * limit_ slots)
  std::vector<uint32_t> used_;     // sparse: the slots in use
  std::vector<uint8_t> regs_;      // dense: m registers (allocated on first use)
  std::vector<uint32_t> touched_;  // dense: registers that left 0, each once
};

}  // namespace earshot
