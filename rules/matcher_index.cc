#include "rules/matcher_index.h"

#include <algorithm>

namespace earshot::rules::internal {
namespace {

uint64_t TableSize(size_t keys) {
  uint64_t n = 16;
  while (n < keys * 2) n <<= 1;  // load factor <= 0.5 keeps probes short
  return n;
}

}  // namespace

namespace {

// Sorts (key, value) items by key, keeping the values of a key in insertion
// order, and returns the number of distinct keys.
template <typename Key>
size_t SortByKey(std::vector<std::pair<Key, uint32_t>>* items) {
  std::stable_sort(items->begin(), items->end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t distinct = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    if (i == 0 || (*items)[i].first != (*items)[i - 1].first) ++distinct;
  }
  return distinct;
}

}  // namespace

void StringIndex::Build(std::vector<std::pair<std::string, uint32_t>> items) {
  const size_t distinct = SortByKey(&items);
  slots_.clear();
  pool_.clear();
  values_.clear();
  keys_ = 0;
  uint64_t size = TableSize(distinct);
  slots_.assign(size, Slot{});
  mask_ = size - 1;
  uint64_t filter_bits = 4096;
  while (filter_bits < distinct * 16 && filter_bits < (uint64_t{1} << 20)) filter_bits <<= 1;
  filter_.assign(filter_bits / 64, 0);
  filter_mask_ = filter_bits - 1;
  // values_[0] is a dummy so that a used slot always has end > 0.
  values_.push_back(0);
  for (size_t i = 0; i < items.size();) {
    size_t j = i;
    uint32_t begin = static_cast<uint32_t>(values_.size());
    while (j < items.size() && items[j].first == items[i].first) values_.push_back(items[j++].second);
    const std::string& key = items[i].first;
    Slot s;
    s.hash = HashBytes(key.data(), key.size());
    s.key_off = static_cast<uint32_t>(pool_.size());
    s.key_len = static_cast<uint32_t>(key.size());
    s.begin = begin;
    s.end = static_cast<uint32_t>(values_.size());
    pool_ += key;
    uint64_t fb = (s.hash >> 32) & filter_mask_;
    filter_[fb >> 6] |= uint64_t{1} << (fb & 63);
    uint64_t k = s.hash & mask_;
    while (slots_[k].end != 0) k = (k + 1) & mask_;
    slots_[k] = s;
    ++keys_;
    i = j;
  }
  pool_.append(16, '\0');  // EqualPadded reads 16 bytes from a key's start
}

void CodeIndex::Build(std::vector<std::pair<uint64_t, uint32_t>> items) {
  const size_t distinct = SortByKey(&items);
  slots_.clear();
  values_.clear();
  size_t firsts = 0;  // distinct first code points: sorted keys group them
  for (size_t i = 0; i < items.size(); ++i) {
    firsts += i == 0 || (items[i].first >> 21) != (items[i - 1].first >> 21);
  }
  first_.Reset(firsts);
  keys_ = 0;
  uint64_t size = TableSize(distinct);
  slots_.assign(size, Slot{});
  mask_ = size - 1;
  values_.push_back(0);
  for (size_t i = 0; i < items.size();) {
    size_t j = i;
    uint32_t begin = static_cast<uint32_t>(values_.size());
    while (j < items.size() && items[j].first == items[i].first) values_.push_back(items[j++].second);
    Slot s;
    s.key = items[i].first;
    first_.Add(s.key >> 21);
    s.begin = begin;
    s.end = static_cast<uint32_t>(values_.size());
    uint64_t k = HashU64(s.key) & mask_;
    while (slots_[k].end != 0) k = (k + 1) & mask_;
    slots_[k] = s;
    ++keys_;
    i = j;
  }
}

}  // namespace earshot::rules::internal
