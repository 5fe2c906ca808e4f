#pragma once
// docs/matching.md read literally, as the oracle of the matcher's
// differential tests: tests/unit/rule_set_test.cc gives it random texts made
// of pieces, the fuzz target fuzz_matcher_differential any bytes libFuzzer
// finds. Slow on purpose (a code point at a time, every start position,
// every way a term may be written) and written without the matcher's code:
// only the normalizer and its character classes are shared.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/normalizer.h"

namespace earshot::rules::reference {

inline std::u32string Cps(std::string_view s) {
  std::u32string r;
  for (size_t i = 0; i < s.size();) r.push_back(DecodeUtf8(s, &i));
  return r;
}

inline bool IsArabicLetterRef(char32_t c) {
  return (c >= 0x0621 && c <= 0x064A) || (c >= 0x066E && c <= 0x06D3) ||
         (c >= 0x06FA && c <= 0x06FF);
}

// docs/matching.md read literally, one start position at a time: the term's
// normalized words at s, each gap a run of non-word characters (or none at
// a no-space edge), word boundaries at both ends unless a no-space-script
// character is at that edge; for a term starting with an Arabic letter, the
// first word also written with a proclitic (a term with ال: its ال as one
// of the forms with ال), the proclitic starting at a word boundary, unless
// `arabic_proclitics` is false (the rule file's key).
// Each occurrence is a range [begin, end) of code points of the normalized
// text, the proclitic included; a tag term's occurrence starts after its
// tag.
using Occurrence = std::pair<size_t, size_t>;
inline std::vector<Occurrence> ReferenceOccurrences(const std::string& term,
                                                    const std::string& text,
                                                    bool arabic_proclitics = true) {
  std::vector<Occurrence> found;
  std::string t = term;
  bool prefix = !t.empty() && t.back() == '*';
  if (prefix) t.pop_back();
  std::string nt, nx;
  Normalize(t, &nt);
  Normalize(text, &nx);
  std::u32string tc = Cps(nt), xc = Cps(nx);
  char32_t tag = 0;
  if (tc.size() >= 2 && (tc[0] == '#' || tc[0] == '@') && IsWordChar(tc[1])) tag = tc[0];
  std::vector<std::u32string> words;
  std::vector<char32_t> word_tags;  // a later word's '#'/'@' after a separator
  bool in = false;
  for (size_t i = 0; i < tc.size(); ++i) {
    const char32_t c = tc[i];
    if (IsWordChar(c)) {
      if (!in) {
        words.emplace_back();
        const bool tagged = words.size() > 1 && i >= 2 && (tc[i - 1] == '#' || tc[i - 1] == '@') &&
                            !IsWordChar(tc[i - 2]);
        word_tags.push_back(tagged ? tc[i - 1] : 0);
      }
      words.back().push_back(c);
      in = true;
    } else {
      in = false;
    }
  }
  if (words.empty()) return found;
  auto ns = [](char32_t c) { return IsNoSpaceScript(c); };
  // The ways the first word may be written: (form, needs a word boundary
  // before it because a proclitic starts it).
  const std::u32string al = U"\u0627\u0644";
  std::vector<std::pair<std::u32string, bool>> firsts;
  if (!tag && arabic_proclitics && IsArabicLetterRef(words[0][0])) {
    if (words[0].compare(0, 2, al) == 0) {
      const std::u32string rest = words[0].substr(2);
      for (const char32_t* f : {U"\u0627\u0644", U"\u0648\u0627\u0644", U"\u0628\u0627\u0644",
                                U"\u0643\u0627\u0644", U"\u0641\u0627\u0644", U"\u0644\u0644"}) {
        firsts.emplace_back(std::u32string(f) + rest, true);
      }
    } else {
      firsts.emplace_back(words[0], false);
      for (const char32_t* p : {U"\u0648", U"\u0627\u0644", U"\u0648\u0627\u0644", U"\u0628\u0627\u0644",
                                U"\u0643\u0627\u0644", U"\u0641\u0627\u0644", U"\u0644\u0644"}) {
        firsts.emplace_back(std::u32string(p) + words[0], true);
      }
    }
  } else {
    firsts.emplace_back(words[0], false);
  }
  for (size_t s = 0; s < xc.size(); ++s) {
    for (const auto& [first, proclitic] : firsts) {
      if (tag) {
        // The tag is the term's first character: the boundary rule holds
        // before it.
        if (s == 0 || xc[s - 1] != tag) continue;
        if (s >= 2 && IsWordChar(xc[s - 2]) && !ns(xc[s - 2])) continue;
      } else if (proclitic) {
        // The article form of an ال-term is the term itself: the usual rule.
        const bool own = first.compare(0, 2, al) == 0 && words[0].compare(0, 2, al) == 0 &&
                         first.size() == words[0].size();
        if (s > 0 && IsWordChar(xc[s - 1]) && !(own && ns(xc[s - 1]))) continue;
      } else if (s > 0 && IsWordChar(xc[s - 1]) && !ns(xc[s - 1]) && !ns(first[0])) {
        continue;
      }
      size_t k = s;
      bool ok = true;
      for (size_t w = 0; w < words.size() && ok; ++w) {
        const std::u32string& word = w == 0 ? first : words[w];
        if (w > 0) {
          size_t g = 0;
          while (k + g < xc.size() && !IsWordChar(xc[k + g])) ++g;
          if (g == 0 && !ns(words[w - 1].back()) && !ns(word[0])) ok = false;
          // A tagged word: the gap ends with its tag, which has more gap or
          // a no-space-script character before it.
          if (word_tags[w] != 0 &&
              (g == 0 || xc[k + g - 1] != word_tags[w] || (g == 1 && !ns(xc[k - 1])))) {
            ok = false;
          }
          k += g;
        }
        if (!ok || xc.compare(k, word.size(), word) != 0) {
          ok = false;
          break;
        }
        k += word.size();
      }
      if (!ok) continue;
      if (!prefix && k < xc.size() && IsWordChar(xc[k]) && !ns(xc[k]) && !ns(words.back().back())) {
        continue;
      }
      found.emplace_back(s, k);
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

inline bool ReferenceMatch(const std::string& term, const std::string& text,
                           bool arabic_proclitics = true) {
  return !ReferenceOccurrences(term, text, arabic_proclitics).empty();
}

// `a NEAR/n b` (NEAR/nf when `ordered`), each operand the terms of an OR:
// an occurrence of a term of `a` and one of a term of `b`, not the same
// occurrence of the same term, with at most `n` words between them (0 when
// they share a word), the one of `a` starting first when `ordered` (a tag
// term starting at its tag).
inline bool ReferenceNear(const std::vector<std::string>& a, const std::vector<std::string>& b,
                          int n, bool ordered, const std::string& text,
                          bool arabic_proclitics = true) {
  std::string nx;
  Normalize(text, &nx);
  const std::u32string xc = Cps(nx);
  std::vector<int> word(xc.size(), -1);  // each code point's word, -1 between words
  int words = 0;
  for (size_t i = 0; i < xc.size(); ++i) {
    if (!IsWordChar(xc[i])) continue;
    if (i == 0 || !IsWordChar(xc[i - 1])) ++words;
    word[i] = words - 1;
  }
  struct Span {
    size_t begin, end;
    int first, last;  // words
  };
  auto spans = [&](const std::string& term) {
    std::vector<Span> out;
    for (const auto& [s, e] : ReferenceOccurrences(term, text, arabic_proclitics)) {
      Span sp{s, e, -1, -1};
      for (size_t i = s; i < e; ++i) {
        if (word[i] < 0) continue;
        if (sp.first < 0) sp.first = word[i];
        sp.last = word[i];
      }
      out.push_back(sp);
    }
    return out;
  };
  // For NEAR/nf, a tag term starts at its tag, the code point before its
  // occurrence (docs/matching.md).
  auto tagged = [](const std::string& term) {
    std::string nt;
    Normalize(term, &nt);
    const std::u32string tc = Cps(nt);
    return tc.size() >= 2 && (tc[0] == '#' || tc[0] == '@') && IsWordChar(tc[1]) ? 1u : 0u;
  };
  std::vector<std::vector<Span>> bs;  // each term of b's, found once
  for (const std::string& tb : b) bs.push_back(spans(tb));
  for (const std::string& ta : a) {
    const size_t ta_tag = tagged(ta);
    for (const Span& x : spans(ta)) {
      for (size_t j = 0; j < b.size(); ++j) {
        const size_t tb_tag = tagged(b[j]);
        for (const Span& y : bs[j]) {
          if (ta == b[j] && x.begin == y.begin && x.end == y.end) continue;
          if (ordered && !(x.begin - ta_tag < y.begin - tb_tag)) continue;
          const Span& first = x.begin <= y.begin ? x : y;
          const Span& second = x.begin <= y.begin ? y : x;
          if (std::max(second.first - first.last - 1, 0) <= n) return true;
        }
      }
    }
  }
  return false;
}

// The words of a normalized text as the matcher must report them
// (MatchScratch::words): the maximal runs of word characters, as byte
// ranges [begin, end).
inline std::vector<std::pair<uint32_t, uint32_t>> WordRuns(const std::string& norm) {
  std::vector<std::pair<uint32_t, uint32_t>> runs;
  bool in = false;
  for (size_t i = 0; i < norm.size();) {
    const size_t at = i;
    const bool word = IsWordChar(DecodeUtf8(norm, &i));
    if (word && !in) runs.emplace_back(static_cast<uint32_t>(at), 0);
    if (!word && in) runs.back().second = static_cast<uint32_t>(at);
    in = word;
  }
  if (in) runs.back().second = static_cast<uint32_t>(norm.size());
  return runs;
}

}  // namespace earshot::rules::reference
