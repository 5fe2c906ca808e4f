#pragma once
// Internal to the rules library: splits normalized text into the units the
// matcher looks up (docs/matching.md).
//   - words: maximal runs of word characters (letters, marks, numbers, '_');
//     NEAR distances and sentiment count these;
//   - tokens: a word split where no-space-script characters (Han, kana,
//     Thai, ...) meet other word characters, because a term's edge that
//     touches a no-space-script character needs no word boundary there.
//     Spaced tokens are looked up whole in the term index; no-space runs are
//     scanned for literals (rules/literal_automaton.h).
// Cost: one pass. Blocks of 64 pure-ASCII bytes are classified with SSE2
// (about one instruction a byte) and their words cut out of the bit mask,
// without a branch per byte; other blocks go code point by code point
// through the character table. The visitor is called inline (a template),
// so handing it a token costs no call. Thread-safe (pure).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "rules/matcher_chars.h"
#include "rules/rule_set.h"

namespace earshot::rules::internal {

inline constexpr size_t kTokenizeBlock = 64;

// A token: bytes [begin, end) of the normalized text, inside words[word].
struct TokenSpan {
  uint32_t begin;
  uint32_t end;
  uint32_t word;
};

// Bit k is set when byte k of the 64 at `p` is >= 0x80.
[[gnu::always_inline]] inline uint64_t HighBytes64(const unsigned char* p) {
#if defined(__SSE2__)
  uint64_t high = 0;
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    high |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(v))) << (16 * k);
  }
  return high;
#else
  uint64_t high = 0;
  for (size_t k = 0; k < kTokenizeBlock; ++k) high |= static_cast<uint64_t>(p[k] >> 7) << k;
  return high;
#endif
}

// Bit k is set when byte k of the 64 ASCII bytes at `p` is a word character:
// [0-9A-Za-z_], exactly the ASCII entries of the character table with
// kCharWord.
[[gnu::always_inline]] inline uint64_t AsciiWordBytes64(const unsigned char* p) {
#if defined(__SSE2__)
  uint64_t w = 0;
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const __m128i wc = simd::AsciiWordBytes(v);
    w |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(wc))) << (16 * k);
  }
  return w;
#else
  const uint8_t* flags = CharFlagTable();
  uint64_t w = 0;
  for (size_t k = 0; k < kTokenizeBlock; ++k) {
    w |= static_cast<uint64_t>((flags[p[k]] & kCharWord) != 0) << k;
  }
  return w;
#endif
}

// Replaces *words with the words of `text` (normalized, so valid UTF-8:
// an invalid byte is at worst tokenized wrongly) and calls, for
// every token, in text order:
//   v.Spaced(begin, end, word)    a spaced-script token;
//   v.NoSpace(begin, end, word)   a no-space-script run (literals may start
//                                 and end at any code point inside it).
template <typename Visitor>
inline void Tokenize(std::string_view text, WordList* words, Visitor& v) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  // Words are written by index, not pushed: room for the most a text can
  // hold (one byte each and a separator between two), trimmed at the end.
  // WordList leaves the room uninitialized.
  words->resize(n / 2 + 1);
  WordSpan* const w = words->data();
  uint32_t nw = 0;
  const uint8_t* const flags = CharFlagTable();
  const bool arabic_simd = ArabicLeadsVerified();
  const bool kana_han_simd = KanaHanLeadsVerified();
  bool in_word = false;
  bool tok_ns = false;  // the current token is a no-space-script run
  uint32_t tok_start = 0;
  uint32_t widx = 0;
  size_t i = 0;
  while (i < n) {
    const size_t len = std::min(kTokenizeBlock, n - i);
    const unsigned char* block = p + i;
    // The block classifiers read up to 16 bytes past a block: the text has
    // that padding (FindAtoms reserves it), and so has `tail`.
    alignas(16) unsigned char tail[kTokenizeBlock + 16];
    if (len < kTokenizeBlock) {
      std::memset(tail, ' ', sizeof(tail));  // neither a word byte nor high
      std::memcpy(tail, block, len);
      block = tail;
    }
    uint64_t wmask = 0;
    bool spaced_block = false;
    size_t advance = len;  // bytes the block path covers
    if (!(in_word && tok_ns)) {
      if (HighBytes64(block) == 0) {
        wmask = AsciiWordBytes64(block);
        spaced_block = true;
      } else {
        // ASCII and two-byte characters (Arabic, Cyrillic, Greek, Hebrew):
        // none is of a no-space script, so the block is spaced tokens too;
        // a two-byte character's word flag marks both its bytes.
        const Utf8Block b = ClassifyUtf8Block(block);
        if (b.ok && b.lead3 == 0) {
          wmask = AsciiWordBytes64(block);
          uint64_t other = b.lead2;
          if (arabic_simd) {  // Arabic: word characters by SIMD
            const ArabicLeads a = ClassifyArabicLeads<true, false>(block);
            const uint64_t word = b.lead2 & a.all & ~a.nonword;
            wmask |= word | (word << 1);
            other &= ~a.all;
          }
          for (uint64_t m = other; m != 0; m &= m - 1) {
            const unsigned k = static_cast<unsigned>(__builtin_ctzll(m));
            const char32_t cp = ((block[k] & 0x1Fu) << 6) | (block[k + 1] & 0x3Fu);
            static_assert(kCharWord == 1);
            wmask |= static_cast<uint64_t>(flags[cp] & kCharWord) * (uint64_t{3} << k);
          }
          spaced_block = true;
          advance = std::min<size_t>(len, b.size);
        }
      }
    }
    if (spaced_block) {
      // Each set bit of `edges` starts or ends a word (here one spaced
      // token), alternately: the word carried in from the last block ends
      // first, then the block's words go a start and an end at a time.
      uint64_t edges = wmask ^ ((wmask << 1) | (in_word ? 1u : 0u));
      if (advance < kTokenizeBlock) edges &= (uint64_t{1} << advance) - 1;
      const uint32_t base = static_cast<uint32_t>(i);
      if (in_word && edges != 0) {
        const uint32_t pos = base + static_cast<uint32_t>(__builtin_ctzll(edges));
        edges &= edges - 1;
        w[widx].end = pos;
        v.Spaced(tok_start, pos, widx);
        in_word = false;
      }
      while (edges != 0) {
        const uint32_t b = base + static_cast<uint32_t>(__builtin_ctzll(edges));
        edges &= edges - 1;
        widx = nw++;
        tok_start = b;
        tok_ns = false;
        if (edges == 0) {  // runs on into the next block
          w[widx] = WordSpan{b, 0};
          in_word = true;
          break;
        }
        const uint32_t e = base + static_cast<uint32_t>(__builtin_ctzll(edges));
        edges &= edges - 1;
        w[widx] = WordSpan{b, e};
        v.Spaced(b, e, widx);
      }
      i += advance;
      continue;
    }
    // Code point by code point, up to the first one starting past the block.
    const size_t stop = i + len;
    while (i < stop) {
      if (in_word && !tok_ns) {
        // Inside a spaced token nothing happens until it ends: its
        // characters in a tight loop. Two-byte characters (Arabic,
        // Cyrillic, Greek, Hebrew, accented Latin) are below U+0800, where
        // no no-space script lives: their word flag alone decides.
        while (i < n) {
          const unsigned c = p[i];
          if (c < 0x80) {
            if (!(flags[c] & kCharWord)) break;
            ++i;
          } else if (c < 0xE0 && i + 1 < n) {
            const char32_t cp = ((c & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
            if (!(flags[cp] & kCharWord)) break;
            i += 2;
          } else {
            size_t j = i;
            if ((CharFlags(flags, DecodeUtf8Fast(text, &j)) & (kCharWord | kCharNoSpace)) !=
                kCharWord) {
              break;
            }
            i = j;
          }
        }
        if (i >= stop) break;
      } else if (in_word) {
        // Inside a no-space run likewise (kana and Han are three bytes),
        // first 22 code points a step while they are kana or Han (the text
        // has 16 bytes of padding; claims past its end are masked off).
        if (kana_han_simd) {
          constexpr uint64_t kEveryThird = 0x9249249249249249ull;  // bits 0, 3, .., 63
          while (i + 50 <= n) {
            uint64_t leads = IdentityKanaHanLeads(p + i);
            if (n - i < 66) leads &= (uint64_t{1} << (n - i - 2)) - 1;  // whole code points
            const uint64_t gaps = ~leads & kEveryThird;
            if (gaps != 0) {
              i += static_cast<size_t>(__builtin_ctzll(gaps));
              break;
            }
            i += 66;
          }
        }
        while (i < n) {
          const unsigned c = p[i];
          if (c < 0x80) break;  // no ASCII character is of a no-space script
          if ((c & 0xF0) == 0xE0 && i + 2 < n) {
            const char32_t cp =
                ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
            if ((flags[cp] & (kCharWord | kCharNoSpace)) != (kCharWord | kCharNoSpace)) break;
            i += 3;
          } else {
            size_t j = i;
            if ((CharFlags(flags, DecodeUtf8Fast(text, &j)) & (kCharWord | kCharNoSpace)) !=
                (kCharWord | kCharNoSpace)) {
              break;
            }
            i = j;
          }
        }
        if (i >= stop) break;
      }
      size_t next = i;
      uint8_t f;
      char32_t cp;
      if (p[i] < 0x80) {
        cp = p[i];
        f = flags[cp];
        ++next;
      } else {
        cp = DecodeUtf8Fast(text, &next);
        f = CharFlags(flags, cp);
      }
      const uint32_t at = static_cast<uint32_t>(i);
      if (f & kCharWord) {
        const bool ns = (f & kCharNoSpace) != 0;
        if (!in_word) {
          widx = nw;
          w[nw++] = WordSpan{at, 0};
          in_word = true;
          tok_start = at;
          tok_ns = ns;
        } else if (ns != tok_ns) {
          if (!tok_ns) v.Spaced(tok_start, at, widx);
          else v.NoSpace(tok_start, at, widx);
          tok_start = at;
          tok_ns = ns;
        }
      } else if (in_word) {
        if (!tok_ns) v.Spaced(tok_start, at, widx);
        else v.NoSpace(tok_start, at, widx);
        w[widx].end = at;
        in_word = false;
      }
      i = next;
    }
  }
  if (in_word) {
    w[widx].end = static_cast<uint32_t>(n);
    if (!tok_ns) v.Spaced(tok_start, static_cast<uint32_t>(n), widx);
    else v.NoSpace(tok_start, static_cast<uint32_t>(n), widx);
  }
  words->resize(nw);
}

}  // namespace earshot::rules::internal
