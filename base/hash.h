#pragma once
// Integer hash finalizers, for hash tables and sketches keyed by integers or
// by hashes that need their bits spread. Thread-safe (pure).

#include <cstdint>

namespace earshot {

// MurmurHash3's 64-bit finalizer: every output bit depends on every input bit.
inline uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// splitmix64's finalizer (a different mix: for keys hashed twice).
inline uint64_t SplitMix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace earshot
