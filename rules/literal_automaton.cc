#include "rules/literal_automaton.h"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

#include "rules/normalizer.h"

namespace earshot::rules::internal {

void LiteralAutomaton::Build(const std::vector<std::pair<std::string, uint32_t>>& keys) {
  // Classes: the keys' code points, numbered from 1.
  std::unordered_map<char32_t, uint32_t> classes;
  std::vector<std::vector<uint32_t>> key_classes;
  for (const auto& [key, value] : keys) {
    std::vector<uint32_t> cls;
    for (size_t i = 0; i < key.size();) {
      const char32_t cp = DecodeUtf8(key, &i);
      auto it = classes.emplace(cp, static_cast<uint32_t>(classes.size() + 1)).first;
      cls.push_back(it->second);
    }
    key_classes.push_back(std::move(cls));
  }
  const uint32_t nclasses = static_cast<uint32_t>(classes.size()) + 1;

  page_of_.assign(kPagedLimit >> kPageBits, 0);
  pages_.assign(size_t{1} << kPageBits, 0);  // page 0: all zero
  far_classes_.clear();
  for (const auto& [cp, cls] : classes) {
    if (cp >= kPagedLimit) {
      far_classes_.emplace_back(cp, cls);
      continue;
    }
    uint16_t& page = page_of_[cp >> kPageBits];
    if (page == 0) {
      page = static_cast<uint16_t>(pages_.size() >> kPageBits);
      pages_.resize(pages_.size() + (size_t{1} << kPageBits), 0);
    }
    pages_[(static_cast<size_t>(page) << kPageBits) | (cp & 0xFF)] = cls;
  }
  std::sort(far_classes_.begin(), far_classes_.end());

  // The trie, with each state's own outputs.
  std::vector<std::map<uint32_t, uint32_t>> children(1);
  std::vector<std::vector<Output>> own(1);
  for (size_t k = 0; k < keys.size(); ++k) {
    if (key_classes[k].empty()) continue;
    uint32_t s = 0;
    for (uint32_t cls : key_classes[k]) {
      auto it = children[s].find(cls);
      if (it == children[s].end()) {
        const uint32_t next = static_cast<uint32_t>(children.size());
        children[s].emplace(cls, next);
        children.emplace_back();
        own.emplace_back();
        s = next;
      } else {
        s = it->second;
      }
    }
    own[s].push_back(Output{keys[k].second, static_cast<uint32_t>(keys[k].first.size())});
  }

  // Failure links and inherited outputs, breadth first (a state's failure
  // target is shallower, so it is complete when the state is reached).
  const size_t n = children.size();
  std::vector<uint32_t> fail(n, 0);
  std::vector<std::vector<Output>> all(n);
  std::deque<uint32_t> queue;
  std::vector<uint32_t> order;  // breadth first
  for (const auto& [cls, child] : children[0]) queue.push_back(child);
  all[0] = own[0];
  while (!queue.empty()) {
    const uint32_t u = queue.front();
    queue.pop_front();
    order.push_back(u);
    all[u] = own[u];
    const auto& inherited = all[fail[u]];
    all[u].insert(all[u].end(), inherited.begin(), inherited.end());
    for (const auto& [cls, v] : children[u]) {
      uint32_t f = fail[u];
      for (;;) {
        auto it = children[f].find(cls);
        if (it != children[f].end() && it->second != v) {
          fail[v] = it->second;
          break;
        }
        if (f == 0) break;
        f = fail[f];
      }
      queue.push_back(v);
    }
  }

  // Outputs, flat.
  out_begin_.assign(n + 1, 0);
  outputs_.clear();
  for (size_t s = 0; s < n; ++s) {
    out_begin_[s] = static_cast<uint32_t>(outputs_.size());
    outputs_.insert(outputs_.end(), all[s].begin(), all[s].end());
  }
  out_begin_[n] = static_cast<uint32_t>(outputs_.size());
  auto id = [&](uint32_t s) { return all[s].empty() ? s : s | kHasOutputs; };

  // The complete automaton: from state s on class c it goes where its trie
  // edge leads, else where fail(s) goes on c. The root's transitions are
  // dense; a state's others are kept only where they differ from the
  // root's, which a state inherits from its failure target (breadth first:
  // the target is done before the state). Edges from s != root lead two or
  // more levels deep, the root's one level, so an edge always differs.
  root_next_.assign(nclasses, 0);
  for (const auto& [cls, child] : children[0]) root_next_[cls] = id(child);
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> trans(n);  // sorted by class
  for (const uint32_t u : order) {
    if (u == 0) continue;
    const auto& inherited = trans[fail[u]];
    auto& t = trans[u];
    auto e = children[u].begin();
    for (const auto& [cls, next] : inherited) {
      for (; e != children[u].end() && e->first < cls; ++e) t.emplace_back(e->first, id(e->second));
      if (e != children[u].end() && e->first == cls) continue;  // the edge, next
      t.emplace_back(cls, next);
    }
    for (; e != children[u].end(); ++e) t.emplace_back(e->first, id(e->second));
  }

  // The double array: each state's transitions at base + class, first fit,
  // the states with the most transitions first (the small ones then fill
  // the holes); the root owns no slot. A state that fits nowhere in
  // kMaxTries places goes past the end, so the build stays linear in the
  // transitions. At the end, room for every class after the last base: a
  // step reads base[s] + class for any class.
  constexpr size_t kMaxTries = 256;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t x, uint32_t y) { return trans[x].size() > trans[y].size(); });
  base_.assign(n, 0);
  slots_.assign(nclasses, Slot{kNoOwner, 0});
  size_t first_free = 1;  // no slot below it is free
  size_t last_base = 0;
  for (const uint32_t u : order) {
    const auto& t = trans[u];
    if (t.empty()) break;  // and so are the rest
    const uint32_t low = t.front().first, high = t.back().first;
    while (first_free < slots_.size() && slots_[first_free].owner != kNoOwner) ++first_free;
    size_t b = first_free > low ? first_free - low : 1;
    for (size_t tries = 0;; ++b, ++tries) {
      if (tries == kMaxTries) b = std::max(b, slots_.size() - low);
      if (b + high >= slots_.size()) slots_.resize(b + high + 1, Slot{kNoOwner, 0});
      bool fits = true;
      for (const auto& [cls, next] : t) {
        if (slots_[b + cls].owner != kNoOwner) {
          fits = false;
          break;
        }
      }
      if (fits) break;
    }
    base_[u] = static_cast<uint32_t>(b);
    last_base = std::max(last_base, b);
    for (const auto& [cls, next] : t) slots_[b + cls] = Slot{u, next};
  }
  slots_.resize(std::max(slots_.size(), last_base + nclasses), Slot{kNoOwner, 0});
  slots_.shrink_to_fit();
}

uint32_t LiteralAutomaton::ClassSlow(char32_t cp) const {
  auto it = std::lower_bound(far_classes_.begin(), far_classes_.end(),
                             std::make_pair(cp, uint32_t{0}));
  return it != far_classes_.end() && it->first == cp ? it->second : 0;
}

}  // namespace earshot::rules::internal
