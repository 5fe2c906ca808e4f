#pragma once
// The top authors of one brand in one window step: a Space-Saving summary
// (Metwally, Agrawal, El Abbadi 2005) of at most `capacity` authors.
//
// While the step has seen no more than `capacity` distinct authors every
// count is exact. After that a new author replaces the one with the smallest
// count c and starts at c + 1, so each count is an overestimate by at most
// error_bound() (the smallest count, <= events() / capacity), and an author
// no longer in the summary had at most that many events in the step.
// (Weighted adds, for merging summaries, keep the same guarantee with
// events() the total weight: Space-Saving with weights.)
//
// Each entry also keeps the followers of the author's latest event in the
// step (by event time; the later arrival on a tie) for ranking by reach.
//
// Costs: Add is O(1) expected (an open-addressing index of the authors),
// plus O(log capacity) once full (a min-heap of the counts). Memory: 16
// bytes an entry, plus 8 (index) and, once full, 8 (heap); Compact() drops
// the index and the heap of a step that no longer takes many events (the
// next Add rebuilds them). Not thread-safe; a const summary may be read from
// several threads.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipeline/count_heap.h"

namespace earshot {

struct TopEntry {
  uint32_t author;     // the author's reference (AuthorTable)
  uint32_t count;      // events in the step (see the class comment once evictions happened)
  uint32_t followers;  // of the latest event (saturated at 2^32 - 1)
  uint32_t time;       // of the latest event: milliseconds since the step's start
};

class TopAuthors {
 public:
  // Counts `weight` events of `author` whose latest was at `time` with
  // `followers` (weight > 1: an entry of another summary being merged in).
  // `capacity` >= 1, the same on every call.
  void Add(uint32_t author, uint32_t followers, uint32_t time, uint32_t capacity,
           uint32_t weight = 1);
  // Reserves room for `n` entries (at most the capacity).
  void Reserve(size_t n);

  // In no particular order.
  const std::vector<TopEntry>& entries() const { return entries_; }
  // Events counted.
  uint64_t events() const { return events_; }
  // No author was ever evicted: every count is exact.
  bool exact() const { return evictions_ == 0; }
  uint64_t evictions() const { return evictions_; }
  // The most any count overestimates, and the most events an author not in
  // the summary had: 0 while exact, else the smallest count.
  uint32_t error_bound() const;

  // Frees the index and the heap (the entries stay); the next Add rebuilds them.
  void Compact();
  size_t MemoryBytes() const;

 private:
  uint32_t Home(uint32_t author) const {
    return (author * 2654435761u) >> (32 - index_bits_);
  }
  void RebuildIndex(size_t min_entries);
  void IndexInsert(uint32_t author, uint32_t pos);
  uint32_t* IndexFind(uint32_t author);  // the slot holding author, or null
  void IndexErase(uint32_t author);
  // The heap's view of the counts.
  auto Counts() const {
    return [this](uint32_t pos) { return entries_[pos].count; };
  }

  std::vector<TopEntry> entries_;
  // Open addressing, linear probing: (author << 32 | (position + 1)); 0 = empty.
  std::vector<uint64_t> index_;
  int index_bits_ = 0;
  // Once full: the entries by count, smallest first.
  CountHeap heap_;
  uint64_t events_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace earshot
