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
  for (const auto& [cls, child] : children[0]) queue.push_back(child);
  all[0] = own[0];
  while (!queue.empty()) {
    const uint32_t u = queue.front();
    queue.pop_front();
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

  // Packed.
  root_next_.assign(nclasses, 0);
  for (const auto& [cls, child] : children[0]) root_next_[cls] = child;
  states_.assign(n, State{});
  edge_class_.clear();
  edge_next_.clear();
  outputs_.clear();
  for (size_t s = 0; s < n; ++s) {
    State& st = states_[s];
    st.fail = fail[s];
    st.edges_begin = static_cast<uint32_t>(edge_class_.size());
    if (s != 0) {
      for (const auto& [cls, child] : children[s]) {  // sorted by class
        edge_class_.push_back(cls);
        edge_next_.push_back(child);
      }
    }
    st.edges_end = static_cast<uint32_t>(edge_class_.size());
    st.out_begin = static_cast<uint32_t>(outputs_.size());
    outputs_.insert(outputs_.end(), all[s].begin(), all[s].end());
    st.out_end = static_cast<uint32_t>(outputs_.size());
  }
}

uint32_t LiteralAutomaton::ClassSlow(char32_t cp) const {
  auto it = std::lower_bound(far_classes_.begin(), far_classes_.end(),
                             std::make_pair(cp, uint32_t{0}));
  return it != far_classes_.end() && it->first == cp ? it->second : 0;
}

}  // namespace earshot::rules::internal
