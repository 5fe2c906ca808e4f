#pragma once
// A flat open-addressing hash map from uint64_t keys to small values, for the
// hot path's per-series state (window buckets, topic counters): one probe into
// contiguous memory instead of std::map's pointer chase or
// std::unordered_map's node per entry. Linear probing, power-of-two capacity,
// load factor at most 3/4. The key ~0 is reserved (marks an empty slot).
// Iteration order is unspecified. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/prefetch.h"

namespace earshot {

template <typename V>
class FlatMap {
 public:
  static constexpr uint64_t kEmpty = ~0ULL;
  using value_type = std::pair<uint64_t, V>;

  template <typename Slot>
  class Iter {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::remove_const_t<Slot>;
    using difference_type = std::ptrdiff_t;
    using pointer = Slot*;
    using reference = Slot&;
    Iter(Slot* p, Slot* end) : p_(p), end_(end) { Skip(); }
    Slot& operator*() const { return *p_; }
    Slot* operator->() const { return p_; }
    Iter& operator++() {
      ++p_;
      Skip();
      return *this;
    }
    bool operator==(const Iter& o) const { return p_ == o.p_; }
    bool operator!=(const Iter& o) const { return p_ != o.p_; }

   private:
    void Skip() {
      while (p_ != end_ && p_->first == kEmpty) ++p_;
    }
    Slot* p_;
    Slot* end_;
  };
  using iterator = Iter<value_type>;
  using const_iterator = Iter<const value_type>;

  FlatMap() = default;
  FlatMap(const FlatMap&) = default;
  FlatMap& operator=(const FlatMap&) = default;
  // A moved-from map is empty (capacity_ must follow slots_).
  FlatMap(FlatMap&& o) noexcept
      : slots_(std::move(o.slots_)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {
    o.slots_.clear();
  }
  FlatMap& operator=(FlatMap&& o) noexcept {
    if (this != &o) {
      slots_ = std::move(o.slots_);
      o.slots_.clear();
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() {
    slots_.clear();
    size_ = 0;
    capacity_ = 0;
  }

  iterator begin() { return iterator(slots_.data(), slots_.data() + slots_.size()); }
  iterator end() { return iterator(slots_.data() + slots_.size(), slots_.data() + slots_.size()); }
  const_iterator begin() const {
    return const_iterator(slots_.data(), slots_.data() + slots_.size());
  }
  const_iterator end() const {
    return const_iterator(slots_.data() + slots_.size(), slots_.data() + slots_.size());
  }

  iterator find(uint64_t key) {
    value_type* s = Lookup(key);
    return s == nullptr ? end() : iterator(s, slots_.data() + slots_.size());
  }
  const_iterator find(uint64_t key) const {
    const value_type* s = const_cast<FlatMap*>(this)->Lookup(key);
    return s == nullptr ? end() : const_iterator(s, slots_.data() + slots_.size());
  }
  size_t count(uint64_t key) const { return find(key) != end() ? 1 : 0; }

  // Makes room for `n` entries, so that filling the map up to them never
  // rehashes on the way.
  void reserve(size_t n) {
    size_t want = 16;
    while (want * 3 < n * 4) want *= 2;  // load factor at most 3/4
    if (want > slots_.size()) Rehash(want);
  }

  // Inserts a value-initialized V when `key` is absent.
  V& operator[](uint64_t key) { return Insert(key).first->second; }
  // Returns (slot, inserted).
  std::pair<value_type*, bool> Insert(uint64_t key) {
    if ((size_ + 1) * 4 > capacity_ * 3) [[unlikely]] Grow();
    value_type* const slots = slots_.data();
    const size_t mask = capacity_ - 1;
    size_t i = Hash(key) & mask;
    for (;;) {
      value_type& s = slots[i];
      if (s.first == key) return {&s, false};
      if (s.first == kEmpty) {
        s.first = key;
        s.second = V{};
        ++size_;
        return {&s, true};
      }
      i = (i + 1) & mask;
    }
  }

  // Starts loading `key`'s home slot into the cache (a hint; no effect on
  // contents), so a later find/insert after other work does not stall.
  void Prefetch(uint64_t key) const {
    if (slots_.empty()) return;
    const value_type* home = &slots_[Hash(key) & (capacity_ - 1)];
    // The key is often a slot or two past its home (linear probing at up to
    // 3/4 load): the next line too.
    PrefetchForRead(home);
    PrefetchForRead(reinterpret_cast<const char*>(home) + 64);
  }

  // Removes every entry for which pred(key, value) holds.
  template <typename Pred>
  void EraseIf(Pred pred) {
    bool any = false;
    for (auto& s : slots_) {
      if (s.first != kEmpty && pred(s.first, s.second)) {
        any = true;
        break;
      }
    }
    if (!any) return;
    std::vector<value_type> old;
    old.swap(slots_);
    size_ = 0;
    slots_.assign(old.size(), value_type{kEmpty, V{}});
    for (auto& s : old) {
      if (s.first == kEmpty || pred(s.first, s.second)) continue;
      PutNew(std::move(s));
    }
  }

 private:
  static size_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 29;
    return static_cast<size_t>(k);
  }
  value_type* Lookup(uint64_t key) {
    if (slots_.empty()) return nullptr;
    value_type* const slots = slots_.data();
    const size_t mask = capacity_ - 1;
    size_t i = Hash(key) & mask;
    for (;;) {
      value_type& s = slots[i];
      if (s.first == key) return &s;
      if (s.first == kEmpty) return nullptr;
      i = (i + 1) & mask;
    }
  }
  // Out of line: Insert's common path then stays small enough to inline.
  [[gnu::noinline]] void Grow() { Rehash(slots_.empty() ? 16 : slots_.size() * 2); }
  [[gnu::noinline]] void Rehash(size_t new_size) {
    std::vector<value_type> old;
    old.swap(slots_);
    slots_.assign(new_size, value_type{kEmpty, V{}});
    capacity_ = new_size;
    size_ = 0;
    for (auto& s : old) {
      if (s.first != kEmpty) PutNew(std::move(s));
    }
  }
  // Puts an entry whose key is absent, with room known to be there (a
  // rehash): no load check, no key comparison.
  void PutNew(value_type&& e) {
    const size_t mask = capacity_ - 1;
    size_t i = Hash(e.first) & mask;
    while (slots_[i].first != kEmpty) i = (i + 1) & mask;
    slots_[i] = std::move(e);
    ++size_;
  }

  std::vector<value_type> slots_;
  size_t size_ = 0;
  size_t capacity_ = 0;  // slots_.size(), kept apart: a vector's size is a division
};

}  // namespace earshot
