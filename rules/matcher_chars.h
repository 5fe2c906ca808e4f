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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// The UTF-8 structure of 64 bytes, for the block fast paths of the
// normalizer and the tokenizer (text of two- and three-byte scripts goes a
// block at a time, as ASCII does): bit k of each mask is byte k.
struct Utf8Block {
  uint64_t lead2 = 0;  // first byte of a two-byte sequence (C2..DF)
  uint64_t lead3 = 0;  // first byte of a three-byte sequence (E0..EF)
  uint64_t upper = 0;  // 'A'..'Z'
  // The first `size` bytes (62..64: a code point cut by the block's end is
  // left out) are ASCII and whole two- and three-byte sequences, starting
  // at a code point boundary; the masks cover just them. Overlong
  // three-byte forms and surrogates are not ruled out here: callers check
  // the decoded code point.
  bool ok = false;
  unsigned size = 0;
};

#if defined(__SSE2__)
namespace simd {
// Bytes in [lo, hi] (unsigned, hi - lo < 255), in two instructions where
// a compare on each side and their AND take three: the byte minus lo,
// offset by 0x80, is below hi - lo + 1 - 0x80 as a signed byte.
[[gnu::always_inline]] inline __m128i InRange(__m128i v, int lo, int hi) {
  return _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(static_cast<char>(0x80 - lo))),
                        _mm_set1_epi8(static_cast<char>(hi - lo + 1 - 0x80)));
}
// ASCII word characters [0-9A-Za-z_] (the ASCII entries of the character
// table with kCharWord): 0xFF in their lanes.
[[gnu::always_inline]] inline __m128i AsciiWordBytes(__m128i v) {
  const __m128i digit = InRange(v, '0', '9');
  // 'A'..'Z' -> 'a'..'z'; no other byte lands in 'a'..'z'.
  const __m128i alpha = InRange(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z');
  return _mm_or_si128(_mm_or_si128(digit, alpha), _mm_cmpeq_epi8(v, _mm_set1_epi8('_')));
}
}  // namespace simd
#endif

[[gnu::always_inline]] inline Utf8Block ClassifyUtf8Block(const unsigned char* p) {
  Utf8Block b;
  uint64_t cont = 0, high = 0;
#if defined(__SSE2__)
  // Continuation bytes 80..BF are -128..-65 as signed bytes: one compare;
  // the other classes are ranges (simd::InRange).
  const __m128i c0 = _mm_set1_epi8(-64);
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const int shift = 16 * k;
    auto mask = [&](__m128i x) {
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(x))) << shift;
    };
    high |= mask(v);
    cont |= mask(_mm_cmplt_epi8(v, c0));
    b.lead2 |= mask(simd::InRange(v, 0xC2, 0xDF));
    b.lead3 |= mask(simd::InRange(v, 0xE0, 0xEF));
    b.upper |= mask(simd::InRange(v, 'A', 'Z'));
  }
#else
  for (int k = 0; k < 64; ++k) {
    const unsigned c = p[k];
    const uint64_t bit = uint64_t{1} << k;
    if (c >= 0x80) high |= bit;
    if (c >= 0x80 && c <= 0xBF) cont |= bit;
    if (c >= 0xC2 && c <= 0xDF) b.lead2 |= bit;
    if (c >= 0xE0 && c <= 0xEF) b.lead3 |= bit;
    if (c >= 'A' && c <= 'Z') b.upper |= bit;
  }
#endif
  // A code point cut by the block's end is left for the next block.
  b.size = 64;
  if (((b.lead2 | b.lead3) >> 63) & 1) b.size = 63;
  else if ((b.lead3 >> 62) & 1) b.size = 62;
  const uint64_t keep = b.size == 64 ? ~uint64_t{0} : (uint64_t{1} << b.size) - 1;
  high &= keep;
  cont &= keep;
  b.lead2 &= keep;
  b.lead3 &= keep;
  b.upper &= keep;
  // Each lead's continuation bytes follow it, and every continuation byte
  // is one of them. The continuations a kept lead expects are not cut to
  // `size`: the byte after a lead at 62 is byte 63, which must then be a
  // continuation, not the lead of the code point left for the next block
  // (D8 D8 at bytes 62-63 would otherwise pass as one code point).
  b.ok = (high & ~(cont | b.lead2 | b.lead3)) == 0 &&
         cont == ((b.lead2 << 1) | (b.lead3 << 1) | (b.lead3 << 2));
  return b;
}

#if defined(__SSE2__)
namespace simd {
inline __m128i Eq(__m128i v, int c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(static_cast<char>(c))); }
// Bytes in [lo, hi], for 0x80 <= lo <= hi < 0xFF: InRange, or for
// lo == 0x80 one signed compare (a byte below 0x80 is never in).
inline __m128i In(__m128i v, int lo, int hi) {
  if (lo == 0x80) return _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1)));
  return InRange(v, lo, hi);
}
inline uint64_t Mask(__m128i v, int k) {
  return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(v))) << (16 * k);
}
}  // namespace simd
#endif

// A byte that may start a code point of a word outside Arabic, after a
// whole code point: an ASCII word character, or a lead byte other than
// D8..DB. (In valid UTF-8 no continuation byte follows a whole code point,
// so every byte >= 0x80 outside D8..DB counts.)
inline bool MayStartOtherWordChar(unsigned char c) {
  if (c < 0x80) return CharFlagTable()[c] & kCharWord;
  return c < 0xD8 || c > 0xDB;
}

// Whether the valid UTF-8 `s` has a byte >= 0xE0 (the lead of a code point
// of three or four bytes), or an Arabic code point (U+0600..U+06FF, lead
// D8..DB) directly followed by a byte for which MayStartOtherWordChar
// holds. Where it has neither, every code point is of one or two bytes and
// no word is Arabic letters joined to a word of another script (a clitic
// on a non-Arabic key of the sentiment lexicon). One SIMD pass.
inline bool HasByteAtLeastE0OrArabicThenOther(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
#if defined(__SSE2__)
  using namespace simd;
  const __m128i e0 = _mm_set1_epi8(static_cast<char>(0xE0));
  const __m128i zero = _mm_setzero_si128();
  for (; i + 18 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 2));
    const __m128i high_other = _mm_andnot_si128(In(w, 0xD8, 0xDB), _mm_cmplt_epi8(w, zero));
    const __m128i arabic_then_other =
        _mm_and_si128(In(v, 0xD8, 0xDB), _mm_or_si128(high_other, AsciiWordBytes(w)));
    const __m128i three = _mm_cmpeq_epi8(_mm_max_epu8(v, e0), v);
    if (_mm_movemask_epi8(_mm_or_si128(three, arabic_then_other)) != 0) return true;
  }
#endif
  for (; i < n; ++i) {
    if (p[i] >= 0xE0) return true;
    if (p[i] >= 0xD8 && p[i] <= 0xDB && i + 2 < n && MayStartOtherWordChar(p[i + 2])) return true;
  }
  return false;
}

// Arabic (U+0600..U+06FF, lead bytes D8..DB) in a block of 64 bytes that
// ClassifyUtf8Block accepted; bit k is the lead byte at k. Reads p[64].
struct ArabicLeads {
  uint64_t all = 0;      // leads D8..DB
  uint64_t nonword = 0;  // not word characters: ، ؛ ؟ ٪ ۔ and the like
  uint64_t changed = 0;  // not their own normalized form, or marks the table path declines
};
// kNonWord, kChanged: which of the two masks to compute (the tokenizer
// needs one, the normalizer the other; each is half of the work).
template <bool kNonWord = true, bool kChanged = true>
[[gnu::always_inline]] inline ArabicLeads ClassifyArabicLeads(const unsigned char* p) {
  ArabicLeads a;
#if defined(__SSE2__)
  using namespace simd;
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k + 1));
    const __m128i d8 = Eq(v, 0xD8), d9 = Eq(v, 0xD9), db = Eq(v, 0xDB);
    a.all |= Mask(In(v, 0xD8, 0xDB), k);
    // U+0600-060F, U+061B-061F | U+066A-066D | U+06D4, 06DD, 06DE, 06E9, 06FD, 06FE
    if constexpr (kNonWord) {
    const __m128i nw8 = _mm_and_si128(d8, _mm_or_si128(In(t, 0x80, 0x8F), In(t, 0x9B, 0x9F)));
    const __m128i nw9 = _mm_and_si128(d9, In(t, 0xAA, 0xAD));
    const __m128i nwb = _mm_and_si128(
        db, _mm_or_si128(_mm_or_si128(Eq(t, 0x94), In(t, 0x9D, 0x9E)),
                         _mm_or_si128(Eq(t, 0xA9), In(t, 0xBD, 0xBE))));
    a.nonword |= Mask(_mm_or_si128(nw8, _mm_or_si128(nw9, nwb)), k);
    }
    // U+0610-061A marks; U+0622, 0623, 0625 alef with madda/hamza, 0629 teh
    // marbuta | U+0640 tatweel, 0649 alef maksura, 064B-065F harakat and
    // marks, 0670, 0675-0678 | U+06D6-06DC, 06DF-06E4, 06E7-06E8, 06EA-06ED marks
    if constexpr (kChanged) {
    const __m128i ch8 = _mm_and_si128(
        d8, _mm_or_si128(_mm_or_si128(In(t, 0x90, 0x9A), In(t, 0xA2, 0xA3)),
                         _mm_or_si128(Eq(t, 0xA5), Eq(t, 0xA9))));
    const __m128i ch9 = _mm_and_si128(
        d9, _mm_or_si128(_mm_or_si128(Eq(t, 0x80), Eq(t, 0x89)),
                         _mm_or_si128(_mm_or_si128(In(t, 0x8B, 0x9F), Eq(t, 0xB0)), In(t, 0xB5, 0xB8))));
    const __m128i chb = _mm_and_si128(
        db, _mm_or_si128(_mm_or_si128(In(t, 0x96, 0x9C), In(t, 0x9F, 0xA4)),
                         _mm_or_si128(In(t, 0xA7, 0xA8), In(t, 0xAA, 0xAD))));
    a.changed |= Mask(_mm_or_si128(ch8, _mm_or_si128(ch9, chb)), k);
    }
  }
#endif
  return a;
}

// Kana and Han that normalize to themselves, in a block of 64 bytes that
// ClassifyUtf8Block accepted: bit k is set when the lead byte at k starts
// one of U+3041-3096 (hiragana), U+30A1-30FA, U+30FC (katakana, the
// prolonged sound mark) or U+4E00-9FFF (unified ideographs). Every one is
// its own normalized form and a word character of a no-space script
// (KanaHanLeadsVerified). Reads p[64] and p[65].
[[gnu::always_inline]] inline uint64_t IdentityKanaHanLeads(const unsigned char* p) {
  uint64_t m = 0;
#if defined(__SSE2__)
  using namespace simd;
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k + 1));
    const __m128i u = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k + 2));
    // E3 81 81-BF, E3 82 80-96 | E3 82 A1-BF, E3 83 80-BA, E3 83 BC
    const __m128i t81 = Eq(t, 0x81), t82 = Eq(t, 0x82), t83 = Eq(t, 0x83);
    const __m128i hira = _mm_or_si128(_mm_and_si128(t81, In(u, 0x81, 0xBF)),
                                      _mm_and_si128(t82, In(u, 0x80, 0x96)));
    const __m128i kata = _mm_or_si128(
        _mm_and_si128(t82, In(u, 0xA1, 0xBF)),
        _mm_and_si128(t83, _mm_or_si128(In(u, 0x80, 0xBA), Eq(u, 0xBC))));
    const __m128i kana = _mm_and_si128(Eq(v, 0xE3), _mm_or_si128(hira, kata));
    // E4 B8-BF xx, E5-E9 xx xx
    const __m128i han =
        _mm_or_si128(In(v, 0xE5, 0xE9), _mm_and_si128(Eq(v, 0xE4), In(t, 0xB8, 0xBF)));
    m |= Mask(_mm_or_si128(kana, han), k);
  }
#endif
  return m;
}

// Whether ClassifyArabicLeads agrees with the character and normalization
// tables for every lead D8..DB and continuation byte (checked once, when the
// tables are built): the fast paths use it only then.
bool ArabicLeadsVerified();
// Whether every code point IdentityKanaHanLeads claims is, in the tables,
// its own normalized form and a word character of a no-space script
// (checked once).
bool KanaHanLeadsVerified();

// Normalize() forced through the general ICU path (for tests that check the
// fast paths agree with it).
NormalizeInfo NormalizeViaIcu(std::string_view in, std::string* out,
                              std::vector<uint32_t>* offsets = nullptr);

}  // namespace earshot::rules::internal
