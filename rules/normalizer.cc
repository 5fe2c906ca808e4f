// Text normalization (docs/matching.md): NFKC, full case folding, Arabic
// folding. Three paths that give identical results:
//   - pure ASCII: lower-casing only (NFKC and folding are the identity);
//   - table path: every code point is "simple" (NFKC quick check Yes and
//     combining class 0, so the text is already NFKC; its case/Arabic fold is
//     a single code point or nothing), so each code point maps independently
//     through a precomputed BMP table (computed with ICU at build time,
//     rules/char_tables.h);
//   - ICU path for everything else (decompositions, combining marks,
//     multi-code-point foldings such as ß -> ss). With `offsets` it works
//     chunk by chunk, cutting at NFKC boundaries (where normalizing the parts
//     equals normalizing the whole) so each output byte maps to the chunk.
#include "rules/normalizer.h"

#include <unicode/unistr.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/strings.h"
#include "rules/char_tables.h"
#include "rules/matcher_chars.h"

namespace earshot::rules {
namespace {

using internal::kCharNoSpace;
using internal::kCharStable;
using internal::kCharTableSize;
using internal::kCharWord;
using internal::ArabicFold;
using internal::ComputeMap;
using internal::ComputeNoSpace;
using internal::ComputeWord;
using internal::kDelete;
using internal::kEncNoSpace;
using internal::kEncOther;
using internal::kIdent;
using internal::kIdentNoSpace;
using internal::kSlow;
using internal::Nfkc;

// The generated tables, and whether the Arabic block classifier agrees
// with them.
struct Tables : internal::CharTables {
  bool arabic_verified = false;
  bool kana_han_verified = false;
  Tables() : internal::CharTables(internal::GeneratedCharTables()) {
    arabic_verified = VerifyArabicLeads();
    kana_han_verified = VerifyKanaHanLeads();
  }
  // IdentityKanaHanLeads against the tables, for every three-byte sequence
  // with a lead E3..E9 (21 to a block): what it claims normalizes to itself
  // and is a word character of a no-space script.
  bool VerifyKanaHanLeads() const {
    unsigned char block[80] = {};
    size_t claimed = 0;
    for (unsigned lead = 0xE3; lead <= 0xE9; ++lead) {
      for (unsigned t = 0x80; t < 0xC0; ++t) {
        for (unsigned u0 = 0x80; u0 < 0xC0; u0 += 21) {
          const unsigned n = std::min(21u, 0xC0 - u0);
          for (unsigned j = 0; j < 21; ++j) {  // the unused tail: ASCII
            block[3 * j] = static_cast<unsigned char>(j < n ? lead : 'a');
            block[3 * j + 1] = static_cast<unsigned char>(j < n ? t : 'a');
            block[3 * j + 2] = static_cast<unsigned char>(j < n ? u0 + j : 'a');
          }
          const uint64_t claims = internal::IdentityKanaHanLeads(block);
          uint64_t leads = 0;
          for (unsigned j = 0; j < n; ++j) leads |= uint64_t{1} << (3 * j);
          if (claims & ~leads) return false;  // a claim that is no lead
          for (unsigned j = 0; j < n; ++j) {
            if (!(claims & (uint64_t{1} << (3 * j)))) continue;
            const char32_t cp = ((lead & 0x0Fu) << 12) | ((t & 0x3Fu) << 6) | ((u0 + j) & 0x3Fu);
            if (ident[cp] != (kIdent | kIdentNoSpace)) return false;
            const uint8_t word_nospace = kCharWord | kCharNoSpace;
            if ((flags[cp] & word_nospace) != word_nospace) return false;
            ++claimed;
          }
        }
      }
    }
    // U+3041-3096, U+30A1-30FA, U+30FC, U+4E00-9FFF.
    return claimed == 0x56 + 0x5A + 1 + 0x5200;
  }
  // ClassifyArabicLeads against the tables, for every (lead, continuation).
  bool VerifyArabicLeads() const {
    unsigned char block[80] = {};
    for (unsigned lead = 0xD8; lead <= 0xDB; ++lead) {
      for (unsigned trail = 0x80; trail < 0xC0; ++trail) {
        block[10] = static_cast<unsigned char>(lead);
        block[11] = static_cast<unsigned char>(trail);
        const internal::ArabicLeads a = internal::ClassifyArabicLeads(block);
        const char32_t cp = ((lead & 0x1Fu) << 6) | (trail & 0x3Fu);
        const uint64_t bit = uint64_t{1} << 10;
        if (!(a.all & bit)) return false;
        if (((a.nonword & bit) != 0) != !(flags[cp] & kCharWord)) return false;
        if (((a.changed & bit) != 0) != (ident[cp] == 0)) return false;
      }
    }
    return true;
  }
};

const Tables& GetTables() {
  static const Tables* t = new Tables();
  return *t;
}

struct AsciiLower {
  char t[256];
  AsciiLower() {
    for (int i = 0; i < 256; ++i) t[i] = static_cast<char>((i >= 'A' && i <= 'Z') ? i + 32 : i);
  }
};
const AsciiLower kLower;

// Lower-cases the leading ASCII of `in` into *out (resized to in.size()),
// 8 bytes a step: the ASCII test and the lower-casing share the loads.
// Returns how many bytes were done: in.size() for pure ASCII, else a prefix
// with no non-ASCII byte (the general path continues from there).
size_t LowerAsciiPrefix(std::string_view in, std::string* out) {
  const char* p = in.data();
  const size_t n = in.size();
  out->resize(n);
  char* o = out->data();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    if (v & 0x8080808080808080ULL) return i;
    // Per byte b < 0x80: b + 0x3F has its top bit set iff b >= 'A', b + 0x25
    // iff b > 'Z' (no carries between bytes); the XOR marks 'A'..'Z'.
    const uint64_t upper =
        ((v + 0x3F3F3F3F3F3F3F3FULL) ^ (v + 0x2525252525252525ULL)) & 0x8080808080808080ULL;
    v |= upper >> 2;  // + 0x20
    std::memcpy(o + i, &v, 8);
  }
  for (; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c & 0x80) return i;
    o[i] = kLower.t[c];
  }
  return n;
}

// Per-thread ICU work buffers, so the slow path allocates only while they
// grow.
struct IcuBuffers {
  std::vector<UChar> src, nfkc, folded;
};
IcuBuffers& Buffers() {
  thread_local IcuBuffers b;
  return b;
}

// Appends the Arabic-folded UTF-8 of the UTF-16 `s`, the normalized form
// of the input bytes `src` that start at `offset`. With `offsets`, each
// output byte gets its own offset when the output is `src` unchanged, and
// `offset` (the chunk's start) when normalizing changed it: explain then
// shows a hit that ends inside such a chunk up to the chunk's end.
// Returns whether a no-space-script code point was emitted.
bool EmitUtf16(const UChar* s, int32_t n, std::string* out, std::vector<uint32_t>* offsets,
               std::string_view src, uint32_t offset, const uint8_t* flags) {
  const size_t first = out->size();
  bool nospace = false;
  int32_t i = 0;
  while (i < n) {
    UChar32 c;
    U16_NEXT(s, i, n, c);
    uint32_t m = ArabicFold(static_cast<uint32_t>(c));
    if (m == kDelete) continue;
    size_t before = out->size();
    AppendUtf8(static_cast<char32_t>(m), out);
    if (offsets) offsets->resize(out->size(), offset);
    nospace |= (internal::CharFlags(flags, m) & kCharNoSpace) != 0;
    (void)before;
  }
  if (offsets && std::string_view(*out).substr(first) == src) {
    for (size_t k = first; k < out->size(); ++k) {
      (*offsets)[k] = offset + static_cast<uint32_t>(k - first);
    }
  }
  return nospace;
}

// NFKC + fold of src[0..n) into b.folded; returns the folded length.
int32_t NormalizeAndFold(IcuBuffers& b, int32_t n) {
  const UNormalizer2* nfkc = Nfkc();
  UErrorCode err = U_ZERO_ERROR;
  if (b.nfkc.size() < static_cast<size_t>(n) * 3 + 16) b.nfkc.resize(n * 3 + 16);
  int32_t m = unorm2_normalize(nfkc, b.src.data(), n, b.nfkc.data(),
                               static_cast<int32_t>(b.nfkc.size()), &err);
  if (err == U_BUFFER_OVERFLOW_ERROR) {
    b.nfkc.resize(m + 16);
    err = U_ZERO_ERROR;
    m = unorm2_normalize(nfkc, b.src.data(), n, b.nfkc.data(),
                         static_cast<int32_t>(b.nfkc.size()), &err);
  }
  if (U_FAILURE(err)) {  // cannot happen with valid buffers; keep the input
    b.nfkc.assign(b.src.begin(), b.src.begin() + n);
    m = n;
  }
  err = U_ZERO_ERROR;
  if (b.folded.size() < static_cast<size_t>(m) * 3 + 16) b.folded.resize(m * 3 + 16);
  int32_t k = u_strFoldCase(b.folded.data(), static_cast<int32_t>(b.folded.size()), b.nfkc.data(),
                            m, U_FOLD_CASE_DEFAULT, &err);
  if (err == U_BUFFER_OVERFLOW_ERROR) {
    b.folded.resize(k + 16);
    err = U_ZERO_ERROR;
    k = u_strFoldCase(b.folded.data(), static_cast<int32_t>(b.folded.size()), b.nfkc.data(), m,
                      U_FOLD_CASE_DEFAULT, &err);
  }
  if (U_FAILURE(err)) {
    b.folded.assign(b.nfkc.begin(), b.nfkc.begin() + m);
    k = m;
  }
  return k;
}

void AppendUtf16(IcuBuffers& b, int32_t* n, char32_t cp) {
  if (b.src.size() < static_cast<size_t>(*n) + 2) b.src.resize(b.src.size() * 2 + 64);
  U16_APPEND_UNSAFE(b.src.data(), *n, static_cast<UChar32>(cp));
}

NormalizeInfo IcuPath(std::string_view in, std::string* out, std::vector<uint32_t>* offsets,
                      const uint8_t* flags) {
  NormalizeInfo info;
  IcuBuffers& b = Buffers();
  out->clear();
  if (offsets) offsets->clear();
  const UNormalizer2* nfkc = Nfkc();
  size_t i = 0;
  int32_t n = 0;
  uint32_t chunk_start = 0;
  while (i < in.size()) {
    size_t start = i;
    char32_t cp = DecodeUtf8(in, &i);
    if (cp == 0xFFFD && i - start != 3) info.had_invalid_utf8 = true;
    if (offsets && n > 0 && unorm2_hasBoundaryBefore(nfkc, static_cast<UChar32>(cp))) {
      int32_t k = NormalizeAndFold(b, n);
      info.has_nospace_script |=
          EmitUtf16(b.folded.data(), k, out, offsets,
                    in.substr(chunk_start, start - chunk_start), chunk_start, flags);
      n = 0;
    }
    if (n == 0) chunk_start = static_cast<uint32_t>(start);
    AppendUtf16(b, &n, cp);
  }
  if (n > 0) {
    int32_t k = NormalizeAndFold(b, n);
    info.has_nospace_script |= EmitUtf16(b.folded.data(), k, out, offsets,
                                         in.substr(chunk_start), chunk_start, flags);
  }
  if (offsets) offsets->push_back(static_cast<uint32_t>(in.size()));
  return info;
}

}  // namespace

namespace internal {

const uint8_t* CharFlagTable() { return GetTables().flags; }

bool KanaHanLeadsVerified() {
  static const bool ok = GetTables().kana_han_verified;
  return ok;
}

bool ArabicLeadsVerified() {
  static const bool ok = GetTables().arabic_verified;
  return ok;
}

NormalizeInfo NormalizeViaIcu(std::string_view in, std::string* out,
                              std::vector<uint32_t>* offsets) {
  return IcuPath(in, out, offsets, GetTables().flags);
}

uint8_t CharFlagsSlow(char32_t cp) {
  if (cp < kCharTableSize) return GetTables().flags[cp];
  uint8_t f = 0;
  if (ComputeWord(cp)) f |= kCharWord;
  if (ComputeNoSpace(cp)) f |= kCharNoSpace;
  if (ComputeMap(cp) == cp) f |= kCharStable;
  return f;
}

}  // namespace internal

bool IsWordChar(char32_t cp) { return internal::CharFlagsSlow(cp) & kCharWord; }
bool IsNoSpaceScript(char32_t cp) { return internal::CharFlagsSlow(cp) & kCharNoSpace; }

namespace {

// The table path of Normalize (see the file comment) from `ascii_prefix`
// on; kOffsets: also fill *offsets (explain), compiled separately so the
// matcher's loop carries no offset bookkeeping.
template <bool kOffsets>
NormalizeInfo TablePath(std::string_view in, size_t ascii_prefix, std::string* out,
                        std::vector<uint32_t>* offsets) {
  NormalizeInfo info;
  const Tables& t = GetTables();
  const uint8_t* flags = t.flags;
  const uint32_t* map = t.map;
  const uint32_t* enc = t.enc;
  const auto* up = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  // A simple code point maps to one code point, at most 1.5x its UTF-8 size
  // (U+023A, 2 bytes, folds to U+2C65, 3 bytes). Invariant of the loop:
  // out->size() >= w + 1.5 * (n - i) + 4 + 64. Only an invalid byte (1 byte ->
  // U+FFFD, 3 bytes) breaks it, and restores it by growing the buffer.
  // (+64: the block path writes a whole 64-byte block and keeps `size`.)
  out->resize(n + n / 2 + 4 + 64);  // keeps the lower-cased ASCII prefix
  char* o = out->data();
  size_t w = ascii_prefix;
  size_t i = ascii_prefix;
  if constexpr (kOffsets) {
    for (size_t k = 0; k < ascii_prefix; ++k) offsets->push_back(static_cast<uint32_t>(k));
  }
  char32_t last_cp = 0;  // last code point checked for no-space scripts
  const uint8_t* ident = t.ident;
  const bool arabic_simd = t.arabic_verified;
  const bool kana_han_simd = t.kana_han_verified;
  uint8_t ident_seen = 0;  // the ident[] bits of the code points copied by runs
  size_t block_fast_from = i;  // no 64-byte block fast path before this offset
  alignas(16) unsigned char stretch[64 + 64] = {};  // a block's bytes, and slack
  while (i < n) {
    if constexpr (!kOffsets) {
      // Up to 64 bytes at a time while they are ASCII and two- and
      // three-byte code points the table maps (Arabic, kana, Han, Cyrillic,
      // ...): validated with SIMD, looked up a code point per lead byte,
      // copied whole and the changed code points patched; where a change
      // alters a length (tashkeel dropped), the stretches between changes
      // are copied. The text's last bytes go through a padded copy.
      while (i < n && i >= block_fast_from) {
        const size_t avail = n - i;
        const unsigned char* src = up + i;
        alignas(16) unsigned char pad[80];
        if (avail < 66) {  // the lead classifiers read two bytes past the 64
          if (avail < 16) break;
          std::memset(pad, ' ', sizeof(pad));
          std::memcpy(pad, src, avail);
          src = pad;
        }
        const internal::Utf8Block b = internal::ClassifyUtf8Block(src);
        const size_t size = std::min<size_t>(b.size, avail);
        if (!b.ok) {
          block_fast_from = i + 64;  // this block code point by code point
          break;
        }
        // Which leads do not map to themselves, and that every one maps.
        // Arabic ones by SIMD; the others looked up.
        uint64_t changed = 0, other2 = b.lead2;
        bool mapped = true;
        if (b.lead2 != 0 && arabic_simd) {
          const internal::ArabicLeads a = internal::ClassifyArabicLeads<false, true>(src);
          changed = a.changed & b.lead2;
          other2 &= ~a.all;
        }
        for (uint64_t m = other2; m != 0; m &= m - 1) {
          const unsigned k = static_cast<unsigned>(__builtin_ctzll(m));
          const uint8_t id = ident[((src[k] & 0x1Fu) << 6) | (src[k + 1] & 0x3Fu)];
          ident_seen |= id;
          changed |= static_cast<uint64_t>(id == 0) << k;
        }
        // Kana and Han normalize to themselves: by SIMD, the rest looked up.
        uint64_t lead3 = b.lead3;
        if (lead3 != 0 && kana_han_simd) {
          const uint64_t same = internal::IdentityKanaHanLeads(src) & lead3;
          if (same != 0) ident_seen |= kIdent | kIdentNoSpace;
          lead3 &= ~same;
        }
        for (uint64_t m = lead3; m != 0; m &= m - 1) {
          const unsigned k = static_cast<unsigned>(__builtin_ctzll(m));
          const unsigned char* q = src + k;
          const uint32_t cp = ((q[0] & 0x0Fu) << 12) | ((q[1] & 0x3Fu) << 6) | (q[2] & 0x3Fu);
          mapped &= cp >= 0x800;  // an overlong form: the general path says U+FFFD
          const uint8_t id = ident[cp];
          ident_seen |= id;
          changed |= static_cast<uint64_t>(id == 0) << k;
        }
        if (!mapped) {
          block_fast_from = i + 64;
          break;
        }
        const size_t w0 = w;
        bool same_length = true;  // every change keeps its length: ASCII stays in place
        if (changed == 0) {
          std::memcpy(o + w, src, 64);  // the buffer's 64 spare bytes take a short block's rest
          w += size;
        } else {
          // Each change written after the stretch before it. The stretches
          // are copied 64 bytes at a time from a copy of the block, whose 64
          // bytes of slack take the overshoot; the output's 64 spare bytes
          // take the rest, and the next write covers it. A change the table
          // path cannot write sends the block to the general path below.
          std::memcpy(stretch, src, 64);  // `size` is at most 64
          const bool nospace_before = info.has_nospace_script;
          size_t from = 0;  // input of the block copied up to here
          for (uint64_t m = changed; m != 0; m &= m - 1) {
            const size_t at = static_cast<size_t>(__builtin_ctzll(m));
            const unsigned char* q = src + at;
            const bool three = q[0] >= 0xE0;
            const uint32_t cp = three ? ((q[0] & 0x0Fu) << 12) | ((q[1] & 0x3Fu) << 6) | (q[2] & 0x3Fu)
                                      : ((q[0] & 0x1Fu) << 6) | (q[1] & 0x3Fu);
            const uint32_t e = enc[cp];
            if (e == kEncOther) {
              mapped = false;
              break;
            }
            std::memcpy(o + w, stretch + from, 64);
            w += at - from;
            std::memcpy(o + w, &e, 4);  // the invariant leaves room
            const uint32_t len = (e >> 24) & 3;
            w += len;
            same_length &= len == (three ? 3u : 2u);
            if (e & kEncNoSpace) info.has_nospace_script = true;
            from = at + (three ? 3 : 2);
          }
          if (!mapped) {  // as if this block had not been looked at
            w = w0;
            info.has_nospace_script = nospace_before;
            block_fast_from = i + 64;
            break;
          }
          std::memcpy(o + w, stretch + from, 64);
          w += size - from;
        }
        // Upper-case ASCII, lowered where it landed (ASCII never moves
        // within a block without changes of length).
        if (b.upper != 0) {
          if (same_length) {
            for (uint64_t m = b.upper; m != 0; m &= m - 1) o[w0 + __builtin_ctzll(m)] |= 0x20;
          } else {
            for (size_t k = w0; k < w; ++k) o[k] = kLower.t[static_cast<unsigned char>(o[k])];
          }
        }
        i += size;
      }
      if (i >= n) break;
    }
    {
      // Runs of code points that normalize to themselves (lower-case ASCII,
      // spaces, most Arabic letters, kana, kanji, Hangul syllables, ...):
      // validated and looked up one by one, copied in one go. Most text
      // outside Latin scripts is such runs.
      size_t j = i;
      while (j + 2 < n) {
        const unsigned b0 = up[j];
        uint32_t cp, len;
        if (b0 < 0x80) {
          cp = b0;
          len = 1;
        } else if (b0 - 0xC2u <= 0xDFu - 0xC2u && (up[j + 1] & 0xC0) == 0x80) {
          cp = ((b0 & 0x1Fu) << 6) | (up[j + 1] & 0x3Fu);
          len = 2;
        } else if ((b0 & 0xF0) == 0xE0 && (up[j + 1] & 0xC0) == 0x80 &&
                   (up[j + 2] & 0xC0) == 0x80 && (b0 != 0xE0 || up[j + 1] >= 0xA0) &&
                   (b0 != 0xED || up[j + 1] < 0xA0)) {
          cp = ((b0 & 0x0Fu) << 12) | ((up[j + 1] & 0x3Fu) << 6) | (up[j + 2] & 0x3Fu);
          len = 3;
        } else {
          break;
        }
        const uint8_t id = ident[cp];
        if (id == 0) break;
        ident_seen |= id;
        if constexpr (kOffsets) offsets->resize(offsets->size() + len, static_cast<uint32_t>(j));
        j += len;
      }
      if (j != i) {
        std::memcpy(o + w, up + i, j - i);
        w += j - i;
        i = j;
        continue;
      }
    }
    unsigned char c = up[i];
    if (c < 0x80) {
      o[w++] = kLower.t[c];
      if constexpr (kOffsets) offsets->push_back(static_cast<uint32_t>(i));
      ++i;
      continue;
    }
    {
      // Runs of well-formed two- and three-byte sequences whose code points
      // map through the table to something else (upper-case Cyrillic, hamza
      // on alef, fullwidth forms, ...): one decode, one table load and one
      // 4-byte store each (the invariant leaves at least 4 bytes of room at
      // w), until an identity run can take over again.
      const size_t run_start = i;
      while (i + 1 < n) {
        c = up[i];
        const unsigned c1 = up[i + 1];
        uint32_t cp, len;
        if (c - 0xC2u <= 0xDFu - 0xC2u && (c1 & 0xC0) == 0x80) {
          cp = ((c & 0x1Fu) << 6) | (c1 & 0x3Fu);
          len = 2;
        } else if ((c & 0xF0) == 0xE0 && i + 2 < n && (c1 & 0xC0) == 0x80 &&
                   (up[i + 2] & 0xC0) == 0x80 && (c != 0xE0 || c1 >= 0xA0) &&
                   (c != 0xED || c1 < 0xA0)) {
          cp = ((c & 0x0Fu) << 12) | ((c1 & 0x3Fu) << 6) | (up[i + 2] & 0x3Fu);
          len = 3;
        } else {
          break;
        }
        // Back to the identity runs as soon as they can take over.
        if (ident[cp] != 0 && i != run_start) break;
        const uint32_t e = enc[cp];
        if (e == kEncOther) break;
        std::memcpy(o + w, &e, 4);
        const size_t out_len = (e >> 24) & 3;
        if constexpr (kOffsets) offsets->resize(offsets->size() + out_len, static_cast<uint32_t>(i));
        w += out_len;
        if (e & kEncNoSpace) info.has_nospace_script = true;
        i += len;
      }
      if (i != run_start) continue;
    }
    // What the run declined: an invalid or four-byte sequence, or a code
    // point the table does not encode.
    size_t start = i;
    char32_t cp = internal::DecodeUtf8Fast(in, &i);
    if (cp == 0xFFFD && i - start != 3) info.had_invalid_utf8 = true;
    uint32_t m;
    if (cp < 0x10000) {
      m = map[cp];
    } else {
      m = (internal::CharFlags(flags, cp) & kCharStable) ? cp : kSlow;
    }
    if (m == kSlow) return IcuPath(in, out, offsets, flags);
    if (m == kDelete) continue;
    if (cp == 0xFFFD && i - start == 1) {
      size_t need = w + 3 + (n - i) + (n - i) / 2 + 4 + 64;
      if (need > out->size()) {
        out->resize(need);
        o = out->data();
      }
    }
    size_t before = w;
    if (m < 0x800) {
      o[w++] = static_cast<char>(0xC0 | (m >> 6));
      o[w++] = static_cast<char>(0x80 | (m & 0x3F));
    } else if (m < 0x10000) {
      o[w++] = static_cast<char>(0xE0 | (m >> 12));
      o[w++] = static_cast<char>(0x80 | ((m >> 6) & 0x3F));
      o[w++] = static_cast<char>(0x80 | (m & 0x3F));
    } else {
      o[w++] = static_cast<char>(0xF0 | (m >> 18));
      o[w++] = static_cast<char>(0x80 | ((m >> 12) & 0x3F));
      o[w++] = static_cast<char>(0x80 | ((m >> 6) & 0x3F));
      o[w++] = static_cast<char>(0x80 | (m & 0x3F));
    }
    if constexpr (kOffsets) {
      offsets->resize(offsets->size() + (w - before), static_cast<uint32_t>(start));
    }
    (void)before;
    if (m != last_cp) {
      last_cp = m;
      if (internal::CharFlags(flags, m) & kCharNoSpace) info.has_nospace_script = true;
    }
  }
  out->resize(w);
  if constexpr (kOffsets) offsets->push_back(static_cast<uint32_t>(n));
  if (ident_seen & kIdentNoSpace) info.has_nospace_script = true;
  return info;
}

}  // namespace

NormalizeInfo Normalize(std::string_view in, std::string* out, std::vector<uint32_t>* offsets) {
  // No out->clear(): every byte of *out is overwritten (or IcuPath clears it).
  if (offsets) offsets->clear();
  const size_t ascii_prefix = LowerAsciiPrefix(in, out);
  if (ascii_prefix == in.size()) {
    if (offsets) {
      offsets->resize(in.size() + 1);
      for (size_t i = 0; i <= in.size(); ++i) (*offsets)[i] = static_cast<uint32_t>(i);
    }
    NormalizeInfo info;
    info.ascii = true;
    return info;
  }
  return offsets ? TablePath<true>(in, ascii_prefix, out, offsets)
                 : TablePath<false>(in, ascii_prefix, out, nullptr);
}

std::string FoldCase(std::string_view s) {
  bool ascii = true;
  for (unsigned char c : s) ascii &= c < 0x80;
  if (ascii) return AsciiLowered(s);
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())))
      .foldCase(U_FOLD_CASE_DEFAULT)
      .toUTF8String(out);
  return out;
}

}  // namespace earshot::rules
