#pragma once
// Internal to the rules library: an Aho-Corasick automaton over code points
// for the literals of no-space scripts (ナイキ, 耐克, ไนกี้): every
// occurrence of every key in a run of text in one left-to-right pass, one
// transition per code point, whatever the number of keys and however many
// of them share their first characters (katakana brand names do).
//
// Layout: the keys' code points are numbered (classes 1..C; 0 is every
// other code point, which sends the automaton back to its root) through a
// two-level table. The transitions are those of the complete automaton
// (failure links resolved at build time), so a step is one look-up and no
// loop: a state's transitions that do not lead where the root's would are
// packed into one double array (slot base[s] + class, owned by s), and
// every other transition is the root's, a dense array. A state id carries
// a flag when the state has outputs (its keys and those of the states on
// its failure chain, one flat list). Built once, then read-only and
// thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/matcher_chars.h"

namespace earshot::rules::internal {

class LiteralAutomaton {
 public:
  // `keys`: (UTF-8 string of one or more code points, value). A value may
  // come with several keys and a key with several values.
  void Build(const std::vector<std::pair<std::string, uint32_t>>& keys);
  bool empty() const { return outputs_.empty(); }
  size_t states() const { return base_.size(); }

  // Calls fn(end, value, key_bytes) for every occurrence in text[begin, end)
  // (whole code points) of a key: the key is text[end - key_bytes, end).
  // Occurrences come in order of their end.
  template <typename Fn>
  void Scan(std::string_view text, size_t begin, size_t end, Fn&& fn) const;

 private:
  struct Output {
    uint32_t value;
    uint32_t bytes;
  };
  struct Slot {
    uint32_t owner;  // the state whose transition this is; kNoOwner if free
    uint32_t next;   // its target (with kHasOutputs)
  };
  static constexpr uint32_t kNoOwner = 0xFFFFFFFF;
  static constexpr uint32_t kHasOutputs = 0x80000000;  // on a state id: it has outputs
  static constexpr size_t kPageBits = 8;
  static constexpr char32_t kPagedLimit = 0x30000;  // planes 0-2 are paged

  uint32_t Class(char32_t cp) const {
    if (cp < kPagedLimit) return pages_[(static_cast<size_t>(page_of_[cp >> kPageBits]) << kPageBits) | (cp & 0xFF)];
    return ClassSlow(cp);
  }
  uint32_t ClassSlow(char32_t cp) const;
  // The next state (with kHasOutputs) from state `s` (without) on `cls`:
  // a load and a select, no branch on the text.
  uint32_t Next(uint32_t s, uint32_t cls) const {
    const Slot slot = slots_[base_[s] + cls];
    return slot.owner == s ? slot.next : root_next_[cls];
  }

  std::vector<uint16_t> page_of_;  // cp >> 8 -> page (0: the all-zero page)
  std::vector<uint32_t> pages_;    // page * 256 + (cp & 0xFF) -> class
  std::vector<std::pair<char32_t, uint32_t>> far_classes_;  // cp >= kPagedLimit, sorted
  std::vector<uint32_t> root_next_;  // class -> state (with kHasOutputs)
  std::vector<uint32_t> base_;       // state -> its slots' base
  std::vector<Slot> slots_;          // base + class (room for every class after each base)
  std::vector<uint32_t> out_begin_;  // state -> into outputs_; out_begin_[s + 1] ends it
  std::vector<Output> outputs_;
};

template <typename Fn>
void LiteralAutomaton::Scan(std::string_view text, size_t begin, size_t end, Fn&& fn) const {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  uint32_t s = 0;
  size_t i = begin;
  while (i < end) {
    char32_t cp;
    const unsigned c = p[i];
    if ((c & 0xF0) == 0xE0 && i + 2 < end) {  // kana, Han, Thai, ...: three bytes
      cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
      i += 3;
    } else {
      cp = DecodeUtf8Fast(text, &i);
    }
    const uint32_t next = Next(s, Class(cp));  // class 0: the root's next is the root
    s = next & ~kHasOutputs;
    if (next & kHasOutputs) {
      for (uint32_t o = out_begin_[s]; o < out_begin_[s + 1]; ++o) {
        fn(i, outputs_[o].value, outputs_[o].bytes);
      }
    }
  }
}

}  // namespace earshot::rules::internal
