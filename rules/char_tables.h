#pragma once
// Internal to the rules library: the normalizer's per-code-point tables
// (rules/normalizer.cc, "table path"). Computing them is ~100M
// instructions of ICU property look-ups (every code point of planes 0-2),
// ~20 ms at every start of every command, so the build computes them once:
// rules/tablegen runs ComputeCharTables() against the ICU the binary links
// and writes them out as constant arrays (char_tables_data.cc, generated
// into the build directory), which GeneratedCharTables() returns. The same
// ICU at build and run time makes the two identical; a unit test compares
// them.

#include <unicode/unorm2.h>

#include <cstdint>
#include <vector>

#include "rules/matcher_chars.h"

namespace earshot::rules::internal {

inline constexpr uint32_t kSlow = 0xFFFFFFFF;    // needs the ICU path
inline constexpr uint32_t kDelete = 0xFFFFFFFE;  // folded away (tatweel)

// enc[] entries: the folded code point's UTF-8 in the low 3 bytes (unused
// bytes zero), its length in bits 24-25 (0 for a deleted code point: tatweel,
// harakat), bit 26 when it is a no-space-script character; kEncOther for
// whatever the general code handles (kSlow, U+FFFD, ASCII results).
inline constexpr uint32_t kEncOther = 0xFFFFFFFF;
inline constexpr uint32_t kEncNoSpace = 1u << 26;

// ident[] entries (BMP): the code point normalizes to itself in any text of
// the table path, so a run of them is copied as it is; kIdentNoSpace: and
// it is a no-space-script character.
inline constexpr uint8_t kIdent = 1;
inline constexpr uint8_t kIdentNoSpace = 2;

// Arabic folding of one code point (after NFKC and case folding).
inline uint32_t ArabicFold(uint32_t c) {
  if (c < 0x0622 || c > 0x0652) return c;
  if (c == 0x0640 || (c >= 0x064B && c <= 0x0652)) return kDelete;
  if (c == 0x0622 || c == 0x0623 || c == 0x0625) return 0x0627;
  if (c == 0x0629) return 0x0647;
  if (c == 0x0649) return 0x064A;
  return c;
}

const UNormalizer2* Nfkc();
// A word character: letters, marks, numbers, '_'.
bool ComputeWord(char32_t c);
// A character of a script written without spaces (kCharNoSpace).
bool ComputeNoSpace(char32_t c);
// The folded single code point for a code point of the table path, kDelete
// (it becomes nothing), or kSlow (the ICU path, or more than one code
// point).
uint32_t ComputeMap(char32_t c);

// The tables, computed with ICU.
struct CharTableData {
  std::vector<uint8_t> flags;  // kCharTableSize: kCharWord | kCharNoSpace | kCharStable
  std::vector<uint32_t> map;   // BMP: ComputeMap
  std::vector<uint32_t> enc;   // BMP: kEncOther or the folded UTF-8, as above
  std::vector<uint8_t> ident;  // BMP: kIdent | kIdentNoSpace, or 0
};
CharTableData ComputeCharTables();

// The same, computed at build time (char_tables_data.cc).
struct CharTables {
  const uint8_t* flags;
  const uint32_t* map;
  const uint32_t* enc;
  const uint8_t* ident;
};
const CharTables& GeneratedCharTables();

}  // namespace earshot::rules::internal
