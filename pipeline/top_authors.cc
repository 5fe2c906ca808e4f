#include "pipeline/top_authors.h"

#include <algorithm>

namespace earshot {

namespace {
inline uint32_t SaturatingAdd(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }
}  // namespace

void TopAuthors::Reserve(size_t n) {
  entries_.reserve(n);
  if (index_.size() < 2 * n) RebuildIndex(n);
}

void TopAuthors::Add(uint32_t author, uint32_t followers, uint32_t time, uint32_t capacity,
                     uint32_t weight) {
  events_ += weight;
  if (index_.empty()) RebuildIndex(entries_.size() + 1);
  const size_t mask = index_.size() - 1;
  for (size_t i = Home(author);; i = (i + 1) & mask) {
    const uint64_t s = index_[i];
    if (s == 0) break;
    if (static_cast<uint32_t>(s >> 32) != author) continue;
    const uint32_t pos = static_cast<uint32_t>(s) - 1;
    TopEntry& e = entries_[pos];
    e.count = SaturatingAdd(e.count, weight);
    if (time >= e.time) {
      e.followers = followers;
      e.time = time;
    }
    if (!heap_.empty()) heap_.Increased(pos, Counts());
    return;
  }
  if (entries_.size() < capacity) {
    const uint32_t pos = static_cast<uint32_t>(entries_.size());
    entries_.push_back({author, weight, followers, time});
    if (entries_.size() * 2 > index_.size()) RebuildIndex(entries_.size());
    else IndexInsert(author, pos);
    return;
  }
  // Full: the author with the smallest count makes room, and the newcomer
  // inherits that count (Space-Saving's overestimate).
  if (heap_.empty()) heap_.Build(static_cast<uint32_t>(entries_.size()), Counts());
  const uint32_t pos = heap_.top();
  TopEntry& e = entries_[pos];
  IndexErase(e.author);
  e.author = author;
  e.count = SaturatingAdd(e.count, weight);
  e.followers = followers;
  e.time = time;
  IndexInsert(author, pos);
  ++evictions_;
  heap_.Increased(pos, Counts());
}

uint32_t TopAuthors::error_bound() const {
  if (evictions_ == 0 || entries_.empty()) return 0;
  if (!heap_.empty()) return entries_[heap_.top()].count;
  uint32_t m = UINT32_MAX;
  for (const auto& e : entries_) m = std::min(m, e.count);
  return m;
}

void TopAuthors::Compact() {
  std::vector<uint64_t>().swap(index_);
  index_bits_ = 0;
  heap_.Free();
  entries_.shrink_to_fit();
}

size_t TopAuthors::MemoryBytes() const {
  return entries_.capacity() * sizeof(TopEntry) + index_.capacity() * sizeof(uint64_t) +
         heap_.MemoryBytes();
}

void TopAuthors::RebuildIndex(size_t min_entries) {
  int bits = 3;
  while ((size_t{1} << bits) < 2 * std::max<size_t>(min_entries, 4)) ++bits;
  index_bits_ = bits;
  index_.assign(size_t{1} << bits, 0);
  for (uint32_t pos = 0; pos < entries_.size(); ++pos) IndexInsert(entries_[pos].author, pos);
}

void TopAuthors::IndexInsert(uint32_t author, uint32_t pos) {
  const size_t mask = index_.size() - 1;
  size_t i = Home(author);
  while (index_[i] != 0) i = (i + 1) & mask;
  index_[i] = (static_cast<uint64_t>(author) << 32) | (pos + 1);
}

void TopAuthors::IndexErase(uint32_t author) {
  const size_t mask = index_.size() - 1;
  size_t i = Home(author);
  while (index_[i] != 0 && static_cast<uint32_t>(index_[i] >> 32) != author) i = (i + 1) & mask;
  if (index_[i] == 0) return;
  // Backward-shift deletion: later entries of the probe run move up unless
  // their home lies cyclically in (i, j].
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    if (index_[j] == 0) break;
    const size_t k = Home(static_cast<uint32_t>(index_[j] >> 32));
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i] = 0;
}

}  // namespace earshot
