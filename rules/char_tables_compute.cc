// The normalizer's per-code-point tables, computed with ICU: linked into
// earshot_rules (for code points past the tables, and the test that
// compares them with the generated ones) and into rules/tablegen, which
// writes them out at build time. See rules/char_tables.h.
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <cstring>
#include <string>
#include <vector>

#include "rules/char_tables.h"
#include "rules/normalizer.h"

namespace earshot::rules::internal {
namespace {

// Case folding of one code point, then Arabic folding: appended to *out
// (kDelete appends nothing). False when ICU fails.
bool FoldInto(UChar32 c, std::vector<uint32_t>* out) {
  // Most code points do not change when case folded: no ICU call for them
  // (the tables are built for 196,608 code points, at build time). The
  // property is defined on the NFD form, so only for code points without a
  // decomposition (ǰ folds to j + U+030C, yet "does not change").
  if (!u_hasBinaryProperty(c, UCHAR_CHANGES_WHEN_CASEFOLDED) &&
      u_getIntPropertyValue(c, UCHAR_DECOMPOSITION_TYPE) == U_DT_NONE) {
    const uint32_t m = ArabicFold(static_cast<uint32_t>(c));
    if (m != kDelete) out->push_back(m);
    return true;
  }
  UChar src[2];
  int32_t len = 0;
  U16_APPEND_UNSAFE(src, len, c);
  UChar dst[8];
  UErrorCode err = U_ZERO_ERROR;
  const int32_t n = u_strFoldCase(dst, 8, src, len, U_FOLD_CASE_DEFAULT, &err);
  if (U_FAILURE(err) || n <= 0) return false;
  for (int32_t i = 0; i < n;) {
    UChar32 f;
    U16_NEXT(dst, i, n, f);
    const uint32_t m = ArabicFold(static_cast<uint32_t>(f));
    if (m != kDelete) out->push_back(m);
  }
  return true;
}

// Whether the code point stays put under NFKC whatever surrounds it, given
// that its neighbours are such code points too: a starter (combining class
// 0) that never composes with what precedes it (NFC quick check Yes).
bool IsInertStarter(UChar32 c) {
  return u_getCombiningClass(c) == 0 &&
         u_getIntPropertyValue(c, UCHAR_NFC_QUICK_CHECK) == UNORM_YES;
}

// What one BMP code point becomes on the table path, when normalizing it on
// its own is exact inside any text of such code points:
//   - a "simple" code point (NFKC quick check Yes, combining class 0): its
//     case and Arabic folding;
//   - a compatibility character whose NFKC form is inert starters
//     (fullwidth ！ -> !, halfwidth ｶ -> カ, … -> ..., presentation forms of
//     Arabic letters): the folding of that form;
//   - a haraka: nothing (see below).
// Anything else (combining marks, characters that compose with their
// neighbour, Hangul jamo) returns false: the text takes the ICU path.
bool ComputeOutput(char32_t c, std::vector<uint32_t>* out) {
  out->clear();
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  const UChar32 uc = static_cast<UChar32>(c);
  // Most of the table: unified Han ideographs (not the compatibility ones,
  // U+F900.., U+2F800..U+2FA1F) and unassigned code points are their own
  // form (a shortcut for the generator; the tests compare every BMP code point with
  // ICU).
  if ((c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
      (c >= 0x20000 && c < 0x2F800) || (c > 0x2FA1F && c < 0x30000) ||
      u_charType(uc) == U_UNASSIGNED) {
    out->push_back(c);
    return true;
  }
  const int qc = u_getIntPropertyValue(uc, UCHAR_NFKC_QUICK_CHECK);
  if (u_getCombiningClass(uc) != 0) {
    // The harakat (tashkeel) are combining marks that Arabic folding
    // deletes. Deleting them one by one equals NFKC-then-delete whenever
    // every other code point of the text is handled here: they never
    // compose (NFC quick check Yes), canonical reordering only moves them
    // among the marks of their own run, and any other mark is not handled
    // here, which sends the whole text to the ICU path anyway. Arabic text
    // with tashkeel so stays on the table path.
    return qc == UNORM_YES && ArabicFold(c) == kDelete &&
           u_getIntPropertyValue(uc, UCHAR_NFC_QUICK_CHECK) == UNORM_YES;
  }
  if (qc == UNORM_YES) return FoldInto(uc, out);
  if (qc != UNORM_NO) return false;  // Maybe: may compose with what precedes
  // A compatibility character: NFKC on its own, accepted when the result
  // is inert starters, so nothing before or after can change it.
  UChar src[2];
  int32_t len = 0;
  U16_APPEND_UNSAFE(src, len, uc);
  UChar nf[32];
  UErrorCode err = U_ZERO_ERROR;
  const int32_t n = unorm2_normalize(Nfkc(), src, len, nf, 32, &err);
  if (U_FAILURE(err) || n <= 0) return false;
  for (int32_t i = 0; i < n;) {
    UChar32 d;
    U16_NEXT(nf, i, n, d);
    if (!IsInertStarter(d) || !FoldInto(d, out)) return false;
  }
  return true;
}

}  // namespace

const UNormalizer2* Nfkc() {
  static const UNormalizer2* n = [] {
    UErrorCode err = U_ZERO_ERROR;
    return unorm2_getNFKCInstance(&err);
  }();
  return n;
}

bool ComputeNoSpace(char32_t c) {
  static const UScriptCode kScripts[] = {USCRIPT_HAN,  USCRIPT_HIRAGANA, USCRIPT_KATAKANA,
                                         USCRIPT_THAI, USCRIPT_LAO,      USCRIPT_KHMER,
                                         USCRIPT_MYANMAR};
  UErrorCode err = U_ZERO_ERROR;
  UScriptCode s = uscript_getScript(static_cast<UChar32>(c), &err);
  if (U_FAILURE(err)) return false;
  for (UScriptCode k : kScripts) {
    if (s == k) return true;
  }
  // Common/Inherited characters used only with these scripts (U+30FC 'ー',
  // U+3005 '々') carry them in their Script_Extensions.
  if (s == USCRIPT_COMMON || s == USCRIPT_INHERITED) {
    for (UScriptCode k : kScripts) {
      if (uscript_hasScript(static_cast<UChar32>(c), k)) return true;
    }
  }
  return false;
}

bool ComputeWord(char32_t c) {
  if (c == '_') return true;
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0;
}

// The folded single code point for a code point of the table path, kDelete
// (it becomes nothing), or kSlow (the ICU path, or more than one code point:
// those the run loop's enc[] entries hold).
uint32_t ComputeMap(char32_t c) {
  std::vector<uint32_t> out;
  if (!ComputeOutput(c, &out)) return kSlow;
  if (out.empty()) return kDelete;
  return out.size() == 1 ? out[0] : kSlow;
}

CharTableData ComputeCharTables() {
  CharTableData t;
  t.flags.assign(kCharTableSize, 0);
  t.map.assign(0x10000, 0);
  t.enc.assign(0x10000, kEncOther);
  t.ident.assign(0x10000, 0);
  auto& flags = t.flags;
  auto& map = t.map;
  auto& enc = t.enc;
  auto& ident = t.ident;
  std::vector<uint32_t> out;
  for (char32_t c = 0; c < kCharTableSize; ++c) {
    const bool handled = ComputeOutput(c, &out);
    // What ComputeMap(c) returns, from the same computation.
    const uint32_t m = !handled ? kSlow : out.empty() ? kDelete : out.size() == 1 ? out[0] : kSlow;
    if (c < 0x10000) map[c] = m;
    uint8_t f = 0;
    if (ComputeWord(c)) f |= kCharWord;
    if (ComputeNoSpace(c)) f |= kCharNoSpace;
    if (m == c) f |= kCharStable;
    flags[c] = f;
    if (c < 0x80 || c >= 0x10000 || c == 0xFFFD || !handled) continue;
    std::string u;
    bool nospace = false;
    for (uint32_t d : out) {  // flags[d] may not be computed yet (d > c)
      AppendUtf8(static_cast<char32_t>(d), &u);
      nospace |= ComputeNoSpace(static_cast<char32_t>(d));
    }
    // The run loop writes 4 bytes and keeps the first len: up to 3 fit.
    // Deleted code points have len 0.
    if (u.size() > 3) continue;
    uint32_t e = 0;
    std::memcpy(&e, u.data(), u.size());  // little-endian: byte k at bits 8k
    e |= static_cast<uint32_t>(u.size()) << 24;
    if (nospace) e |= kEncNoSpace;
    enc[c] = e;
    if (out.size() == 1 && out[0] == c) ident[c] = kIdent | (nospace ? kIdentNoSpace : 0);
  }
  for (char32_t c = 0; c < 0x80; ++c) {
    if (c < 'A' || c > 'Z') ident[c] = kIdent;
  }
  return t;
}

}  // namespace earshot::rules::internal
