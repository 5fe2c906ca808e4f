#include "rules/normalizer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rules/char_tables.h"
#include "rules/matcher_chars.h"

namespace earshot::rules {
namespace {

std::string N(std::string_view in) {
  std::string out;
  Normalize(in, &out);
  return out;
}

std::string Icu(std::string_view in) {
  std::string out;
  internal::NormalizeViaIcu(in, &out);
  return out;
}

// The tables the build generated (rules/tablegen) are the ones ICU gives
// now, entry by entry.
TEST(NormalizerTest, GeneratedTablesEqualTheComputedOnes) {
  const internal::CharTableData want = internal::ComputeCharTables();
  const internal::CharTables& got = internal::GeneratedCharTables();
  ASSERT_EQ(want.flags.size(), internal::kCharTableSize);
  for (size_t c = 0; c < want.flags.size(); ++c)
    ASSERT_EQ(got.flags[c], want.flags[c]) << "flags U+" << std::hex << c;
  for (size_t c = 0; c < 0x10000; ++c) {
    ASSERT_EQ(got.map[c], want.map[c]) << "map U+" << std::hex << c;
    ASSERT_EQ(got.enc[c], want.enc[c]) << "enc U+" << std::hex << c;
    ASSERT_EQ(got.ident[c], want.ident[c]) << "ident U+" << std::hex << c;
  }
  // A few entries by hand: 'A' folds to 'a', tatweel is deleted, katakana
  // is itself and of a no-space script, U+0301 needs ICU.
  EXPECT_EQ(got.map['A'], uint32_t{'a'});
  EXPECT_EQ(got.map[0x0640], internal::kDelete);
  EXPECT_EQ(got.map[0x30CA], 0x30CAu);
  EXPECT_EQ(got.ident[0x30CA], internal::kIdent | internal::kIdentNoSpace);
  EXPECT_EQ(got.map[0x0301], internal::kSlow);
}

TEST(NormalizerTest, AsciiLowerCases) {
  EXPECT_EQ(N("Just Bought NIKE Air Max 90!"), "just bought nike air max 90!");
  EXPECT_EQ(N(""), "");
}

TEST(NormalizerTest, FullwidthLatinIsNfkcFolded) { EXPECT_EQ(N("ＮＩＫＥ"), "nike"); }

TEST(NormalizerTest, FullCaseFoldingAndCompatibility) {
  EXPECT_EQ(N("Straße"), "strasse");
  EXPECT_EQ(N("ﬁne"), "fine");
  EXPECT_EQ(N("ÉCOLE"), "école");
  EXPECT_EQ(N("E\u0301cole"), "école");  // composed by NFKC
  EXPECT_EQ(N("𝐍𝐈𝐊𝐄"), "nike");          // mathematical bold
  EXPECT_EQ(N("Ⅻ"), "xii");
}

TEST(NormalizerTest, ArabicFolding) {
  EXPECT_EQ(N("نَايْكِي"), "نايكي");  // harakat
  EXPECT_EQ(N("نايـــكي"), "نايكي");   // tatweel
  EXPECT_EQ(N("أديداس"), "اديداس");    // alef with hamza above
  EXPECT_EQ(N("إسلام"), "اسلام");      // hamza below
  EXPECT_EQ(N("آمن"), "امن");          // madda
  EXPECT_EQ(N("مدرسة"), "مدرسه");      // teh marbuta
  EXPECT_EQ(N("على"), "علي");          // alef maksura
  EXPECT_EQ(N("ﻻ"), "لا");             // presentation form via NFKC
}

// The block classifier's byte classes (SIMD ranges, simd::InRange) for
// every byte value at every position of a block, against their definition.
TEST(NormalizerTest, Utf8BlockClassesMatchTheirByteRanges) {
  alignas(16) unsigned char block[64 + 16];
  for (int c = 0; c < 256; ++c) {
    for (int at = 0; at < 64; ++at) {
      std::memset(block, ' ', sizeof(block));
      block[at] = static_cast<unsigned char>(c);
      const internal::Utf8Block b = internal::ClassifyUtf8Block(block);
      const uint64_t bit = uint64_t{1} << at;
      // A lead in the block's last bytes is left for the next block.
      const bool cut = (c >= 0xC2 && c <= 0xEF && at == 63) || (c >= 0xE0 && c <= 0xEF && at == 62);
      ASSERT_EQ((b.lead2 & bit) != 0, c >= 0xC2 && c <= 0xDF && !cut) << c << " at " << at;
      ASSERT_EQ((b.lead3 & bit) != 0, c >= 0xE0 && c <= 0xEF && !cut) << c << " at " << at;
      ASSERT_EQ((b.upper & bit) != 0, c >= 'A' && c <= 'Z') << c << " at " << at;
    }
  }
}

// The sentiment lexicon's screen (HasByteAtLeastE0OrArabicThenOther): every
// byte value right after an Arabic letter, and alone, at every position of
// texts long enough for the SIMD loop and its tail, against its definition.
TEST(NormalizerTest, ArabicThenOtherScreenMatchesItsDefinition) {
  auto other = [](int c) {  // starts a word character outside Arabic, or is >= 0xE0
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || (c >= 0x80 && (c < 0xD8 || c > 0xDB));
  };
  for (size_t len : {3u, 17u, 18u, 19u, 40u, 70u}) {
    for (size_t at = 0; at + 3 <= len; ++at) {
      for (int c = 1; c < 256; ++c) {
        std::string s(len, ' ');
        s[at] = '\xD8';  // ب
        s[at + 1] = '\xA8';
        s[at + 2] = static_cast<char>(c);
        ASSERT_EQ(internal::HasByteAtLeastE0OrArabicThenOther(s), other(c))
            << "byte " << c << " after ب at " << at << " of " << len;
        s[at] = ' ';
        s[at + 1] = ' ';
        ASSERT_EQ(internal::HasByteAtLeastE0OrArabicThenOther(s), c >= 0xE0)
            << "byte " << c << " alone at " << at + 2 << " of " << len;
      }
    }
  }
  EXPECT_FALSE(internal::HasByteAtLeastE0OrArabicThenOther("والجودة ممتازة، شكرا!"));
  EXPECT_TRUE(internal::HasByteAtLeastE0OrArabicThenOther("جميل وgood"));
  EXPECT_TRUE(internal::HasByteAtLeastE0OrArabicThenOther("جميل 😍"));
}

TEST(NormalizerTest, ArabicBlockClassifierAgreesWithTheTables) {
  // The SIMD ranges of ClassifyArabicLeads, checked against the ICU-built
  // tables for every Arabic lead and continuation byte: when this fails the
  // fast paths are off (still correct, slower), so fix the ranges.
  EXPECT_TRUE(internal::ArabicLeadsVerified());
}

TEST(NormalizerTest, TashkeelIsDroppedOnTheTablePath) {
  EXPECT_EQ(N("مُحَمَّدٌ"), "محمد");
  EXPECT_EQ(N("الْهِلَالُ"), "الهلال");
  // Across a haraka, NFKC still composes alef + hamza above (then folded).
  EXPECT_EQ(N("ا\u064E\u0654"), Icu("ا\u064E\u0654"));
  EXPECT_EQ(N("ا\u064E\u0654"), "ا");
}

TEST(NormalizerTest, NoSpaceScriptFlag) {
  std::string out;
  EXPECT_TRUE(Normalize("ナイキの新作", &out).has_nospace_script);
  EXPECT_TRUE(Normalize("我喜欢耐克鞋", &out).has_nospace_script);
  EXPECT_TRUE(Normalize("สวัสดี", &out).has_nospace_script);
  EXPECT_FALSE(Normalize("nike", &out).has_nospace_script);
  EXPECT_FALSE(Normalize("نايكي 🔥", &out).has_nospace_script);
  EXPECT_TRUE(Normalize("ｶﾀｶﾅ", &out).has_nospace_script);  // halfwidth katakana
  EXPECT_EQ(out, "カタカナ");
}

TEST(NormalizerTest, InvalidUtf8IsReplaced) {
  std::string out;
  NormalizeInfo info = Normalize(std::string_view("a\xff" "b", 3), &out);
  EXPECT_TRUE(info.had_invalid_utf8);
  EXPECT_EQ(out, "a\uFFFDb");
  info = Normalize("a\uFFFDb", &out);
  EXPECT_FALSE(info.had_invalid_utf8);
}

TEST(NormalizerTest, CharClasses) {
  EXPECT_TRUE(IsWordChar('a'));
  EXPECT_TRUE(IsWordChar('_'));
  EXPECT_TRUE(IsWordChar('7'));
  EXPECT_TRUE(IsWordChar(0x064E));  // fatha: a mark
  EXPECT_TRUE(IsWordChar(0x0646));
  EXPECT_TRUE(IsWordChar(0x30FC));  // ー
  EXPECT_FALSE(IsWordChar('#'));
  EXPECT_FALSE(IsWordChar(' '));
  EXPECT_FALSE(IsWordChar(0x1F525));  // 🔥
  EXPECT_FALSE(IsWordChar(0x2014));   // em dash
  EXPECT_TRUE(IsNoSpaceScript(0x30CA));  // ナ
  EXPECT_TRUE(IsNoSpaceScript(0x3042));  // あ
  EXPECT_TRUE(IsNoSpaceScript(0x8010));  // 耐
  EXPECT_TRUE(IsNoSpaceScript(0x30FC));  // ー (Common, scx Hira/Kana)
  EXPECT_TRUE(IsNoSpaceScript(0x3005));  // 々 (scx Han)
  EXPECT_TRUE(IsNoSpaceScript(0x0E01));  // Thai
  EXPECT_TRUE(IsNoSpaceScript(0x0E81));  // Lao
  EXPECT_TRUE(IsNoSpaceScript(0x1780));  // Khmer
  EXPECT_TRUE(IsNoSpaceScript(0x1000));  // Myanmar
  EXPECT_TRUE(IsNoSpaceScript(0x20000));  // CJK ext B
  EXPECT_FALSE(IsNoSpaceScript('a'));
  EXPECT_FALSE(IsNoSpaceScript(0x0646));
  EXPECT_FALSE(IsNoSpaceScript(0xAC00));  // Hangul is written with spaces
}

// The ASCII and table fast paths must agree with the general ICU path.
TEST(NormalizerTest, FastPathsAgreeWithIcu) {
  const char* samples[] = {
      "Hello, World! #Nike @Adidas 123 _x_",
      "Just bought new Nike Air Max 90! 🔥🔥",
      "نايكي أفضل من أديداس؟ السعر مرتفع",
      "ナイキの新作スニーカー、かっこいい！",
      "我喜欢耐克鞋，价格很贵。",
      "Ünïcödé ÇA VA ΣΊΣΥΦΟΣ",
      "ＮＩＫＥ ﬁne Straße İstanbul",
      "e\u0301\u0301 a\u0308 \u1100\u1161",
      "ภาษาไทย ລາວ ខ្មែរ မြန်မာ",
      "مُحَمَّدٌ وَالْهِلَالُ بِالأَهْلِيِّ",
      "ا\u064E\u0654 ا\u0651\u0655 ي\u0650\u0654",
  };
  for (const char* s : samples) EXPECT_EQ(N(s), Icu(s)) << s;
  // Every BMP code point on its own and between letters.
  std::string in, fast, slow;
  for (char32_t c = 1; c < 0x10000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    in.clear();
    in += "A";
    AppendUtf8(c, &in);
    in += "b";
    Normalize(in, &fast);
    internal::NormalizeViaIcu(in, &slow);
    ASSERT_EQ(fast, slow) << "U+" << std::hex << static_cast<uint32_t>(c);
  }
}

// Every BMP code point between compatibility characters that the table
// path maps on their own, and twice in a row: per-code-point mapping must
// equal NFKC of the whole text.
TEST(NormalizerTest, TablePathAgreesWithIcuBetweenCompatibilityCharacters) {
  std::string in, fast, slow;
  for (char32_t c = 0x80; c < 0x10000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    in = "ｶ";
    AppendUtf8(c, &in);
    AppendUtf8(c, &in);
    in += "…！ﺏ";
    AppendUtf8(c, &in);
    Normalize(in, &fast);
    internal::NormalizeViaIcu(in, &slow);
    ASSERT_EQ(fast, slow) << "U+" << std::hex << static_cast<uint32_t>(c);
  }
}

// Random runs of mixed scripts (the two- and three-byte run loops, their
// exits into the general path) against the ICU path, with and without
// offsets.
TEST(NormalizerTest, RandomMixedRunsAgreeWithIcu) {
  const std::vector<std::string> pieces = {
      "a", "Z", " ", ".", "،", "نا", "أ", "إ", "آ", "ة", "ى", "ـ", "\u064B", "\u0654", "ٵ",
      "ナ", "ｶ", "漢", "字", "ー", "゛", "ภา", "é", "É", "ß", "Σ", "ς", "İ", "ﬁ", "Ａ",
      "😀", "\xC3", "\xE3\x81", "\xED\xA0\x80", "\xE0\x80\x80", "\xC0\xAF", "\xF0\x9F",
      "\xFF", "€", "中文", "한국어", "\u0301",
      // Tashkeel (deleted on the table path) next to the marks that force
      // the ICU path: hamza above/below and madda compose with alef across
      // a haraka, superscript alef is another mark.
      "\u064E", "\u0650", "\u0651\u064E", "\u0652", "\u064F", "\u0655", "\u0653", "\u0670",
      "ا", "و", "ي", "ال",
      // Compatibility characters the table path maps on their own (fullwidth,
      // halfwidth, ellipsis, presentation forms) and some it must not
      // (halfwidth voiced mark, ligatures of more than 3 bytes).
      "！", "？", "ｶ", "ﾞ", "ﾟ", "…", "‥", "ﻻ", "ﷲ", "Ｎ", "㈱", "\u3000", "～", "ﺏ", "\u3099"};
  std::mt19937 rng(11);
  std::string in, fast, with_offsets, slow;
  std::vector<uint32_t> off;
  for (int iter = 0; iter < 20000; ++iter) {
    in.clear();
    // Up to ~1 KiB: several 64-byte blocks and a padded last one.
    const int n = 1 + static_cast<int>(rng() % (iter % 4 == 0 ? 300 : 60));
    for (int k = 0; k < n; ++k) in += pieces[rng() % pieces.size()];
    const NormalizeInfo f = Normalize(in, &fast);
    Normalize(in, &with_offsets, &off);
    const NormalizeInfo s = internal::NormalizeViaIcu(in, &slow);
    ASSERT_EQ(fast, slow) << in;
    // Also where a block's change the table path cannot write sends the
    // block back to the general path after no-space changes before it.
    ASSERT_EQ(f.has_nospace_script, s.has_nospace_script) << in;
    ASSERT_EQ(with_offsets, slow) << in;
    ASSERT_EQ(off.size(), with_offsets.size() + 1) << in;
  }
}

TEST(NormalizerTest, KanaHanBlockClassifierAgreesWithTheTables) {
  // IdentityKanaHanLeads claims exactly the kana and Han ranges it names,
  // each of them its own normalized form of a no-space script: when this
  // fails the kana/Han shortcut is off (still correct, slower).
  EXPECT_TRUE(internal::KanaHanLeadsVerified());
}

// Kana and Han at the edges of the ranges the block path takes as they are
// (U+3041-3096, U+30A1-30FA, U+30FC, U+4E00-9FFF), next to their neighbours
// that it must not (marks, iteration marks, digraphs, hexagrams,
// compatibility ideographs), in texts long enough for several blocks: the
// text and whether it has no-space script agree with the ICU path.
TEST(NormalizerTest, KanaHanEdgesAgreeWithIcu) {
  const std::vector<std::string> pieces = {
      "\u3040", "ぁ", "ゖ", "\u3097", "\u3099", "゛", "ゝ", "ゞ", "ゟ", "゠", "ァ", "ヺ", "・",
      "ー", "ヽ", "ヾ", "ヿ", "\u4DBF", "\u4DC0", "\u4DFF", "一", "龥", "\u9FFF", "豈", "〇",
      "\u3000", "、", "ｶ", "ﾞ", "㈱", "a", "A", " ", "ا", "\u064E", "é", "ナイキ", "東京"};
  std::mt19937 rng(5);
  std::string in, fast, slow;
  for (int iter = 0; iter < 20000; ++iter) {
    in.clear();
    const int n = 1 + static_cast<int>(rng() % (iter % 4 == 0 ? 200 : 40));
    for (int k = 0; k < n; ++k) in += pieces[rng() % pieces.size()];
    const NormalizeInfo f = Normalize(in, &fast);
    const NormalizeInfo s = internal::NormalizeViaIcu(in, &slow);
    ASSERT_EQ(fast, slow) << in;
    ASSERT_EQ(f.has_nospace_script, s.has_nospace_script) << in;
  }
}

TEST(NormalizerTest, OffsetsMapToInputCodePoints) {
  std::vector<uint32_t> off;
  std::string out;
  Normalize("AB", &out, &off);
  EXPECT_EQ(off, (std::vector<uint32_t>{0, 1, 2}));

  // "ＮＩ": each fullwidth letter is 3 bytes and produces 1 byte.
  Normalize("xＮＩ", &out, &off);
  EXPECT_EQ(out, "xni");
  EXPECT_EQ(off, (std::vector<uint32_t>{0, 1, 4, 7}));

  // ß -> ss (ICU path): both bytes map to the ß.
  Normalize("aß!", &out, &off);
  EXPECT_EQ(out, "ass!");
  EXPECT_EQ(off, (std::vector<uint32_t>{0, 1, 1, 3, 4}));

  // Harakat are dropped; the letters keep their own offsets.
  std::string ar = "نَا";
  Normalize(ar, &out, &off);
  EXPECT_EQ(out, "نا");
  ASSERT_EQ(off.size(), out.size() + 1);
  EXPECT_EQ(off[0], 0u);
  EXPECT_EQ(off[2], 4u);
  EXPECT_EQ(off.back(), ar.size());

  // With offsets the result equals the one without.
  for (const char* s : {"ＮＩＫＥ Straße", "نَايْكِي أديداس", "ナイキの新作", "e\u0301cole"}) {
    std::string a, b;
    Normalize(s, &a);
    Normalize(s, &b, &off);
    EXPECT_EQ(a, b) << s;
    EXPECT_EQ(off.size(), b.size() + 1);
  }
}

}  // namespace
}  // namespace earshot::rules

namespace earshot::rules {
namespace {

// Found by fuzz_rule_loader: every invalid byte becomes U+FFFD (3 bytes), so
// a run of them triples the text; the writer must not overflow its buffer.
TEST(NormalizerRegressionTest, RunsOfInvalidBytesDoNotOverflow) {
  std::string in = "launc" + std::string(200, '\x89') + "h, \"new release";
  std::string out;
  NormalizeInfo info = Normalize(in, &out);
  EXPECT_TRUE(info.had_invalid_utf8);
  size_t replacements = 0;
  for (size_t p = out.find("\xEF\xBF\xBD"); p != std::string::npos;
       p = out.find("\xEF\xBF\xBD", p + 3))
    ++replacements;
  EXPECT_EQ(replacements, 200u);
  EXPECT_EQ(out.substr(0, 5), "launc");
  EXPECT_EQ(out.substr(out.size() - 15), "h, \"new release");
  std::vector<uint32_t> offsets;
  Normalize(in, &out, &offsets);
  EXPECT_EQ(offsets.size(), out.size() + 1);
}

// Found by fuzz_matcher_differential: a block whose last byte starts a code
// point (left for the next block) took a lead at byte 62 or 61 as whole
// without looking at byte 63, so "D8 D8" at bytes 62-63 of Arabic text
// passed through unreplaced. Every combination of interesting bytes at
// bytes 61-63 of the first block, after Arabic or kana text (and after 61
// ASCII bytes, where the block path starts at the first byte that is not
// ASCII: other alignments), with and without text after: the block path
// agrees with the ICU path.
TEST(NormalizerRegressionTest, LeadsBeforeACutCodePointAreChecked) {
  const unsigned char bytes[] = {'a',  ' ',  0x80, 0xA7, 0xBF, 0xC2, 0xD8,
                                 0xDF, 0xE0, 0xE3, 0xEF, 0xF0, 0xFF};
  std::string arabic, kana;
  for (int k = 0; k < 30; ++k) arabic += "ا";  // 60 bytes
  for (int k = 0; k < 20; ++k) kana += "ナ";    // 60 bytes
  std::string in, fast, slow;
  for (const std::string& head : {arabic + " ", kana + " ", std::string(61, 'x')}) {
    for (const std::string tail : {"", "ااا nike", "\xA7ا"}) {
      for (unsigned char b61 : bytes) {
        for (unsigned char b62 : bytes) {
          for (unsigned char b63 : bytes) {
            in = head;
            in += static_cast<char>(b61);
            in += static_cast<char>(b62);
            in += static_cast<char>(b63);
            in += tail;
            Normalize(in, &fast);
            internal::NormalizeViaIcu(in, &slow);
            ASSERT_EQ(fast, slow) << std::hex << int{b61} << " " << int{b62} << " " << int{b63}
                                  << " after " << head.substr(0, 3) << ", tail " << tail.size();
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace earshot::rules
