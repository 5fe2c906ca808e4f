#pragma once
// Text normalization of docs/matching.md, applied to event text and to every
// rule term alike:
//   1. Unicode NFKC, then full case folding (ICU);
//   2. Arabic folding as Lucene's ArabicNormalizer: drop tatweel U+0640 and
//      harakat U+064B..U+0652; U+0622/U+0623/U+0625 -> U+0627;
//      U+0629 -> U+0647; U+0649 -> U+064A.
// Pure ASCII input takes a fast path (lower-casing only). Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace earshot::rules {

struct NormalizeInfo {
  bool has_nospace_script = false;  // any Han/Hiragana/Katakana/Thai/Lao/Khmer/Myanmar char
  bool had_invalid_utf8 = false;    // invalid sequences were replaced by U+FFFD
  bool ascii = false;  // the output is pure ASCII (set when the input was; false: unknown)
};

// Writes the normalized form of `in` to `*out` (cleared first). When
// `offsets` is non-null, it receives one entry per byte of `*out` plus one:
// the byte offset in `in` of the code point that produced it (for explain).
NormalizeInfo Normalize(std::string_view in, std::string* out,
                        std::vector<uint32_t>* offsets = nullptr);

// Unicode full case folding of UTF-8 `s` (ICU's default folding: "ß" and
// "SS" both fold to "ss"), for fields compared case-insensitively (author:).
// ASCII folds to its lower case.
std::string FoldCase(std::string_view s);

// Character classes (on code points of normalized text).
bool IsWordChar(char32_t cp);         // Unicode letters, marks, numbers, '_'
bool IsNoSpaceScript(char32_t cp);    // Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar

// Decodes one UTF-8 code point at s[*i], advancing *i; invalid bytes decode
// as U+FFFD and advance by one.
char32_t DecodeUtf8(std::string_view s, size_t* i);
// Writes the UTF-8 of `cp` (up to 4 bytes) at `out`; returns the end.
char* EncodeUtf8(char32_t cp, char* out);
void AppendUtf8(char32_t cp, std::string* out);
// `s` with every invalid UTF-8 sequence replaced by U+FFFD (for echoing
// untrusted bytes into JSON or logs).
std::string ToValidUtf8(std::string_view s);

}  // namespace earshot::rules
