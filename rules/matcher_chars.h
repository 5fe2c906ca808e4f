#pragma once
// Internal to the rules library: precomputed character classes shared by the
// normalizer and the matcher, so that classifying a code point on the hot
// path is one table load instead of several ICU property look-ups.
// The tables are built once per process (thread-safe lazy init) and then
// read-only.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/normalizer.h"

namespace earshot::rules::internal {

inline constexpr uint8_t kCharWord = 1;     // letters, marks, numbers, '_'
inline constexpr uint8_t kCharNoSpace = 2;  // Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar
// The code point is its own normalized form in any context where all its
// neighbours are also stable (NFKC quick check Yes, combining class 0,
// full case folding and Arabic folding are the identity).
inline constexpr uint8_t kCharStable = 4;

// Code points below this limit (planes 0-2: BMP, emoji, CJK extensions) are
// in the table; the rest are classified on the fly.
inline constexpr char32_t kCharTableSize = 0x30000;

// The flag table (kCharTableSize entries).
const uint8_t* CharFlagTable();
// Flags of any code point (slower for code points beyond the table).
uint8_t CharFlagsSlow(char32_t cp);

inline uint8_t CharFlags(const uint8_t* table, char32_t cp) {
  return cp < kCharTableSize ? table[cp] : CharFlagsSlow(cp);
}

// DecodeUtf8 with the common well-formed 2- and 3-byte cases inlined
// (identical results: anything unusual goes to DecodeUtf8).
// always_inline: GCC kept it out of line in the matcher's scan loops, where
// the call cost more than the decode.
[[gnu::always_inline]] inline char32_t DecodeUtf8Fast(std::string_view s, size_t* i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + *i;
  size_t left = s.size() - *i;
  unsigned char c = p[0];
  if (c < 0x80) {
    ++*i;
    return c;
  }
  if (c >= 0xC2 && c < 0xE0 && left >= 2 && (p[1] & 0xC0) == 0x80) {
    *i += 2;
    return (static_cast<char32_t>(c & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (c >= 0xE1 && c < 0xF0 && c != 0xED && left >= 3 && (p[1] & 0xC0) == 0x80 &&
      (p[2] & 0xC0) == 0x80) {
    *i += 3;
    return (static_cast<char32_t>(c & 0x0F) << 12) | (static_cast<char32_t>(p[1] & 0x3F) << 6) |
           (p[2] & 0x3F);
  }
  return DecodeUtf8(s, i);
}

// Normalize() forced through the general ICU path (for tests that check the
// fast paths agree with it).
NormalizeInfo NormalizeViaIcu(std::string_view in, std::string* out,
                              std::vector<uint32_t>* offsets = nullptr);

}  // namespace earshot::rules::internal
