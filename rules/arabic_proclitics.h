#pragma once
// Internal to the rules library: the Arabic proclitics of docs/matching.md
// ("Arabic proclitics"), spelled once for every part that handles them:
//   - the compiler: a term made only of one is a load error, and a term
//     starting with ال is indexed without it (compiler.cc);
//   - the matcher: FindPeeled compares a token's first bytes with them, and
//     explain names the one it accepted (matcher.cc);
//   - the sentiment lexicon: peels them, and three one-letter prepositions,
//     off a word it does not know (sentiment.cc).
// All are normalized UTF-8 (the normalizer leaves these letters as they
// are); each letter is two bytes.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace earshot::rules::internal {

// The letters.
inline constexpr std::string_view kWaw = "\u0648";  // و, "and"
inline constexpr std::string_view kBeh = "\u0628";  // ب, "with"
inline constexpr std::string_view kKaf = "\u0643";  // ك, "like"
inline constexpr std::string_view kFeh = "\u0641";  // ف, "so"
inline constexpr std::string_view kLam = "\u0644";  // ل, "for"

// The proclitics.
inline constexpr std::string_view kArticle = "\u0627\u0644";           // ال, "the"
inline constexpr std::string_view kWawArticle = "\u0648\u0627\u0644";  // وال
inline constexpr std::string_view kBehArticle = "\u0628\u0627\u0644";  // بال
inline constexpr std::string_view kKafArticle = "\u0643\u0627\u0644";  // كال
inline constexpr std::string_view kFehArticle = "\u0641\u0627\u0644";  // فال
inline constexpr std::string_view kLamLam = "\u0644\u0644";            // لل: ل + ال, its alef dropped

// The seven a term accepts joined to its start.
inline constexpr std::string_view kArabicProclitics[] = {
    kWaw, kArticle, kWawArticle, kBehArticle, kKafArticle, kFehArticle, kLamLam};

inline constexpr bool IsArabicProclitic(std::string_view s) {
  for (std::string_view p : kArabicProclitics) {
    if (s == p) return true;
  }
  return false;
}

// The first bytes of `s` (at most 8) as the little-endian integer a load
// of them gives: FindPeeled compares a token's first bytes with these.
inline constexpr uint64_t LoadedBytes(std::string_view s) {
  uint64_t x = 0;
  for (size_t i = s.size() < 8 ? s.size() : 8; i-- > 0;) {
    x = (x << 8) | static_cast<unsigned char>(s[i]);
  }
  return x;
}

// The spellings hang together: each X+ال is its letter and the article, and
// لل is ل twice.
inline constexpr bool LetterThenArticle(std::string_view p, std::string_view letter) {
  return p.substr(0, 2) == letter && p.substr(2) == kArticle;
}
static_assert(LetterThenArticle(kWawArticle, kWaw) && LetterThenArticle(kBehArticle, kBeh) &&
              LetterThenArticle(kKafArticle, kKaf) && LetterThenArticle(kFehArticle, kFeh));
static_assert(kLamLam.substr(0, 2) == kLam && kLamLam.substr(2) == kLam &&
              kArticle.substr(2) == kLam);
static_assert(LoadedBytes(kWaw) == 0x88D9 && LoadedBytes(kArticle) == 0x84D9A7D8);

}  // namespace earshot::rules::internal
