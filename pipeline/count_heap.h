#pragma once
// The min-heap that a full Space-Saving summary keeps (Metwally, Agrawal,
// El Abbadi 2005): the positions 0..n-1 of its entries ordered by count,
// and each entry's place in the heap. The entry with the smallest count,
// the one a newcomer replaces, is at the top, and an entry whose count
// grew moves down in O(log n). Both summaries use it: the hashtag sketches
// of signals (pipeline/signals.h) and the top authors of audience
// (pipeline/top_authors.h); each keeps its entries, and their counts, in
// its own layout and passes `count`, a callable that returns the count of
// the entry at a position.
//
// Counts only grow while the heap is in use. Ties keep no particular order
// beyond being deterministic: the same calls give the same heap.
// Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace earshot {

class CountHeap {
 public:
  bool empty() const { return heap_.empty(); }
  // The position of an entry with the smallest count. !empty().
  uint32_t top() const { return heap_[0]; }

  // Orders positions 0..n-1 (the heap's previous contents are dropped).
  template <typename CountOf>
  void Build(uint32_t n, const CountOf& count) {
    heap_.resize(n);
    place_.resize(n);
    for (uint32_t i = 0; i < n; ++i) heap_[i] = place_[i] = i;
    for (uint32_t h = n / 2; h-- > 0;) SiftDown(h, count);
  }
  // Restores the order after the count of the entry at `pos` grew.
  template <typename CountOf>
  void Increased(uint32_t pos, const CountOf& count) {
    SiftDown(place_[pos], count);
  }

  // Empties the heap and keeps its memory / frees it.
  void Clear() {
    heap_.clear();
    place_.clear();
  }
  void Free() {
    std::vector<uint32_t>().swap(heap_);
    std::vector<uint32_t>().swap(place_);
  }
  size_t MemoryBytes() const { return (heap_.capacity() + place_.capacity()) * sizeof(uint32_t); }

 private:
  // Moves the entry at heap index h down while a child has a smaller count
  // (the smaller child; the left one on a tie).
  template <typename CountOf>
  void SiftDown(uint32_t h, const CountOf& count) {
    const uint32_t n = static_cast<uint32_t>(heap_.size());
    const uint32_t pos = heap_[h];
    const auto c0 = count(pos);
    for (;;) {
      uint32_t c = 2 * h + 1;
      if (c >= n) break;
      if (c + 1 < n && count(heap_[c + 1]) < count(heap_[c])) ++c;
      if (!(count(heap_[c]) < c0)) break;
      heap_[h] = heap_[c];
      place_[heap_[h]] = h;
      h = c;
    }
    heap_[h] = pos;
    place_[pos] = h;
  }

  std::vector<uint32_t> heap_;   // entry positions, a min-heap by count
  std::vector<uint32_t> place_;  // entry position -> its index in heap_
};

}  // namespace earshot
