#pragma once
// Internal to the rules library: the open-addressing hash indexes the
// matcher probes once per token (StringIndex, keyed by the token's bytes) and
// once per no-space-script position (CodeIndex, keyed by the first two code
// points of a literal). Built once at compile time, then read-only and
// thread-safe; a probe allocates nothing.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "base/prefetch.h"

namespace earshot::rules::internal {

// Token hashing. Keys of up to 16 bytes (nearly every token) are hashed
// from two 64-bit words: bytes [0, 8) and [8, 16) of the key, zero beyond
// its end, little-endian. HashBytes reads exactly the key (any buffer);
// HashPadded computes the same value with two loads and two masks, no
// branch on the length, but reads 16 bytes from p, so the caller must
// guarantee that much (the matcher's FindAtoms reserves it behind the
// normalized text).

inline uint64_t MixWords(uint64_t a, uint64_t b, size_t n) {
  uint64_t h = (a ^ 0xD6E8FEB86659FD93ULL) * 0x9E3779B97F4A7C15ULL;
  h ^= (b + n) * 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 31);
}

// Keys of more than 16 bytes: 8 bytes a step.
inline uint64_t HashLong(const char* p, size_t n) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t h = 0x8E3C5B2F1A4D6E7BULL ^ (n * kMul);
  uint64_t v;
  const char* last = p + n - 8;
  while (p < last) {
    std::memcpy(&v, p, 8);
    h = (h ^ v) * kMul;
    h ^= h >> 29;
    p += 8;
  }
  std::memcpy(&v, last, 8);
  return MixWords(h ^ v, n, n);
}

[[gnu::always_inline]] inline uint64_t HashBytes(const char* p, size_t n) {
  // Fixed-size loads only (a variable-size memcpy becomes a libc call and a
  // store-forwarding stall, which dominated token look-ups).
  if (n > 16) return HashLong(p, n);
  uint64_t a = 0, b = 0;
  if (n >= 8) {
    std::memcpy(&a, p, 8);
    if (n > 8) {
      std::memcpy(&b, p + n - 8, 8);
      b >>= 8 * (16 - n);  // the last n - 8 bytes, at the bottom
    }
  } else if (n >= 4) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    a = lo | ((static_cast<uint64_t>(hi) >> (8 * (8 - n))) << 32);
  } else if (n > 0) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    a = u[0] | (static_cast<uint64_t>(u[n >> 1]) << (8 * (n >> 1))) |
        (static_cast<uint64_t>(u[n - 1]) << (8 * (n - 1)));
  }
  return MixWords(a, b, n);
}

// The byte masks of HashPadded: word 0 keeps min(n, 8) bytes, word 1 the
// next min(max(n - 8, 0), 8).
struct PadMasks {
  uint64_t lo[17], hi[17];
  constexpr PadMasks() : lo(), hi() {
    for (int n = 0; n <= 16; ++n) {
      const int l = n < 8 ? n : 8, h = n > 8 ? n - 8 : 0;
      lo[n] = l == 8 ? ~0ULL : (1ULL << (8 * l)) - 1;
      hi[n] = h == 8 ? ~0ULL : (1ULL << (8 * h)) - 1;
    }
  }
};
inline constexpr PadMasks kPadMasks;

[[gnu::always_inline]] inline uint64_t HashPadded(const char* p, size_t n) {
  if (n > 16) return HashLong(p, n);
  uint64_t a, b;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 8, 8);
  return MixWords(a & kPadMasks.lo[n], b & kPadMasks.hi[n], n);
}

inline uint64_t HashU64(uint64_t x) { return Fmix64(x); }

// A read-only multimap from byte strings to uint32 values.
class StringIndex {
 public:
  // `items` (key, value); values of one key keep their relative order.
  void Build(std::vector<std::pair<std::string, uint32_t>> items);
  bool empty() const { return keys_ == 0; }
  // Calls fn(key, value) for every stored pair, in no particular order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (s.end == 0) continue;
      const std::string_view key(pool_.data() + s.key_off, s.key_len);
      for (uint32_t v = s.begin; v < s.end; ++v) fn(key, values_[v]);
    }
  }

  // The values stored under the key p[0..n), as [*begin, *end); false if none.
  bool Find(const char* p, uint32_t n, const uint32_t** begin, const uint32_t** end) const {
    const uint64_t h = HashBytes(p, n);
    if (!MayContain(h)) return false;  // also for an empty index: its filter is all zero
    return Probe(
        h, n, [&](const char* key) { return std::memcmp(key, p, n) == 0; }, begin, end);
  }
  // The same in two steps, for callers that hash many tokens at once
  // (HashBytes or HashPadded of the key): a small bit filter (fits in L1)
  // turns most misses away before the slot array (which may not) is
  // touched.
  bool MayContain(uint64_t h) const {
    const uint64_t fb = (h >> 32) & filter_mask_;
    return (filter_[fb >> 6] >> (fb & 63)) & 1;
  }
  // Starts loading the slot a FindHashed(.., h, ..) probes first.
  void Prefetch(uint64_t h) const { earshot::PrefetchForRead(&slots_[h & mask_]); }
  // `h` is HashPadded(p, n), and 16 bytes from p are readable: keys of up
  // to 16 bytes are compared with two masked loads instead of a memcmp call
  // (the pool keeps 16 bytes of padding too).
  bool FindHashed(const char* p, uint32_t n, uint64_t h, const uint32_t** begin,
                  const uint32_t** end) const {
    return Probe(
        h, n, [&](const char* key) { return EqualPadded(key, p, n); }, begin, end);
  }

 private:
  // Linear probing from h's slot for the key of length n that `eq` accepts.
  template <typename Eq>
  bool Probe(uint64_t h, uint32_t n, Eq eq, const uint32_t** begin, const uint32_t** end) const {
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.end == 0) return false;
      if (s.hash == h && s.key_len == n && eq(pool_.data() + s.key_off)) {
        *begin = values_.data() + s.begin;
        *end = values_.data() + s.end;
        return true;
      }
    }
  }
  static bool EqualPadded(const char* a, const char* b, uint32_t n) {
    if (n > 16) return std::memcmp(a, b, n) == 0;
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&a1, a + 8, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&b1, b + 8, 8);
    return (((a0 ^ b0) & kPadMasks.lo[n]) | ((a1 ^ b1) & kPadMasks.hi[n])) == 0;
  }
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_off = 0, key_len = 0;
    uint32_t begin = 0, end = 0;  // end == 0: empty slot
  };
  std::vector<Slot> slots_;
  std::vector<uint64_t> filter_ = std::vector<uint64_t>(1, 0);  // empty: rejects everything
  uint64_t filter_mask_ = 0;
  std::string pool_;
  std::vector<uint32_t> values_;
  uint64_t mask_ = 0;
  size_t keys_ = 0;
};

// A one-hash bit filter over uint64 keys, ~16 bits a key within 1,024 and
// 2^20 bits (so it stays in L1 or L2): MayContain is false for most keys
// never added, and always true for those added.
class BitFilter {
 public:
  // Empties the filter, sized for `n` keys.
  void Reset(size_t n) {
    uint32_t log2_bits = 10;
    while ((uint64_t{1} << log2_bits) < n * 16 && log2_bits < 20) ++log2_bits;
    bits_.assign((size_t{1} << log2_bits) / 64, 0);
    shift_ = 64 - log2_bits;
  }
  void Add(uint64_t key) {
    const uint32_t b = Bit(key);
    bits_[b >> 6] |= uint64_t{1} << (b & 63);
  }
  bool MayContain(uint64_t key) const {
    const uint32_t b = Bit(key);
    return (bits_[b >> 6] >> (b & 63)) & 1;
  }

 private:
  uint32_t Bit(uint64_t key) const {
    return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  std::vector<uint64_t> bits_ = std::vector<uint64_t>(1, 0);  // empty: rejects everything
  uint32_t shift_ = 64 - 6;                                  // 64 - log2(bits)
};

// A read-only multimap from uint64 keys to uint32 values.
class CodeIndex {
 public:
  void Build(std::vector<std::pair<uint64_t, uint32_t>> items);
  bool empty() const { return keys_ == 0; }
  // False when no key's first code point can be `c1`: a bit test in a
  // filter of ~16 bits a distinct first code point (a few KiB at most, so
  // it stays in L1 while no-space text is scanned code point by code point).
  bool MayStartWith(char32_t c1) const { return first_.MayContain(c1); }
  bool Find(uint64_t key, const uint32_t** begin, const uint32_t** end) const {
    if (keys_ == 0) return false;
    for (uint64_t i = HashU64(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.end == 0) return false;
      if (s.key == key) {
        *begin = values_.data() + s.begin;
        *end = values_.data() + s.end;
        return true;
      }
    }
  }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t begin = 0, end = 0;
  };
  std::vector<Slot> slots_;
  BitFilter first_;  // the keys' first code points
  std::vector<uint32_t> values_;
  uint64_t mask_ = 0;
  size_t keys_ = 0;
};

// Key of a literal starting with code points c1, c2 (c2 = 0: any, used for
// one-code-point literals).
inline uint64_t CodeKey(char32_t c1, char32_t c2) {
  return (static_cast<uint64_t>(c1) << 21) | static_cast<uint64_t>(c2);
}

// Calls fn(value) for every literal of `index` that may start at code points
// (c1, c2): those keyed by both (c2 = 0 at the end of the text: none), then,
// when the index holds one-code-point literals, those keyed by c1 alone.
template <typename Fn>
inline void ForEachLiteral(const CodeIndex& index, bool has_single, char32_t c1, char32_t c2,
                           Fn&& fn) {
  const uint32_t *vb, *ve;
  if (c2 != 0 && index.Find(CodeKey(c1, c2), &vb, &ve)) {
    for (; vb != ve; ++vb) fn(*vb);
  }
  if (has_single && index.Find(CodeKey(c1, 0), &vb, &ve)) {
    for (; vb != ve; ++vb) fn(*vb);
  }
}

}  // namespace earshot::rules::internal
