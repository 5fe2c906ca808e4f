#include "rules/sentiment.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "rules/loader.h"
#include "rules/normalizer.h"
#include "rules/rule_set.h"

namespace earshot::rules {
namespace {

namespace fs = std::filesystem;

// Classifies text the way the pipeline does: RuleSet::Match (the shipped
// example rules) leaves the normalized text and words in the scratch.
class SentimentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RuleSetDef def;
    Diagnostics diags;
    ASSERT_TRUE(LoadRuleFiles({std::string(EARSHOT_SOURCE_DIR) + "/deploy/rules"}, &def, &diags))
        << diags.ToString();
    rules_ = RuleSet::Compile(def, CompileOptions{}, &diags);
    ASSERT_NE(rules_, nullptr) << diags.ToString();
    lexicon_ = SentimentLexicon::Load({std::string(EARSHOT_SOURCE_DIR) + "/deploy/sentiment"},
                                      &diags);
    ASSERT_NE(lexicon_, nullptr) << diags.ToString();
  }
  void SetUp() override {
    // Fail every test (not skip it) when the suite set-up failed.
    ASSERT_NE(rules_, nullptr);
    ASSERT_NE(lexicon_, nullptr);
  }
  static void TearDownTestSuite() {
    rules_.reset();
    lexicon_.reset();
  }

  // Both ways the pipeline can classify must agree: words looked up by the
  // lexicon (a rule set compiled without its vocabulary), and words found
  // by the matcher (compiled with it, as the daemon does).
  static Sentiment Classify(const SentimentLexicon& lex, std::string_view text) {
    MatchInput in;
    in.text = text;
    in.platform = "twitter";
    MatchScratch scratch;
    MatchOutput out;
    rules_->Match(in, &scratch, &out);
    const Sentiment looked_up = lex.Classify(scratch);
    WithVocabulary(lex).Match(in, &scratch, &out);
    EXPECT_EQ(lex.Classify(scratch), looked_up) << "matcher-found words disagree on: " << text;
    return looked_up;
  }
  static const RuleSet& WithVocabulary(const SentimentLexicon& lex) {
    static std::map<const SentimentLexicon*, std::shared_ptr<const RuleSet>> cache;
    auto& rs = cache[&lex];
    if (rs == nullptr) {
      RuleSetDef def;
      Diagnostics diags;
      EXPECT_TRUE(LoadRuleFiles({std::string(EARSHOT_SOURCE_DIR) + "/deploy/rules"}, &def, &diags));
      CompileOptions opt;
      lex.AddVocabulary(&opt);
      rs = RuleSet::Compile(def, opt, &diags);
      EXPECT_NE(rs, nullptr) << diags.ToString();
    }
    return *rs;
  }
  // 1 to max_words pieces, each followed by a space except one time in
  // `glue_one_in` (so that some pieces are glued together).
  static std::string RandomText(const std::vector<std::string>& pieces, int max_words,
                                int glue_one_in, std::mt19937* rng) {
    std::string text;
    const int n = 1 + static_cast<int>((*rng)() % max_words);
    for (int k = 0; k < n; ++k) {
      text += pieces[(*rng)() % pieces.size()];
      if ((*rng)() % glue_one_in != 0) text += ' ';
    }
    return text;
  }
  static std::string Label(std::string_view text) {
    return SentimentName(Classify(*lexicon_, text));
  }

  static std::shared_ptr<const RuleSet> rules_;
  static std::shared_ptr<const SentimentLexicon> lexicon_;
};

std::shared_ptr<const RuleSet> SentimentTest::rules_;
std::shared_ptr<const SentimentLexicon> SentimentTest::lexicon_;

struct Labelled {
  const char* text;
  const char* label;
};

TEST_F(SentimentTest, EnglishSentences) {
  const Labelled cases[] = {
      {"Just got the new Nike Air Max and honestly they are amazing", "positive"},
      {"I love my iPhone", "positive"},
      {"The new Galaxy S24 camera is fire 🔥", "positive"},
      {"Pepsi Max is lit", "positive"},
      {"Highly recommend the Pixel 9", "positive"},
      {"Can't wait for the new season on Netflix", "positive"},
      {"No complaints about my New Balance so far", "positive"},
      {"Not bad at all, the adidas fit well", "positive"},
      {"This phone is trash", "negative"},
      {"Honestly the new Puma drop is mid", "negative"},
      {"Worst customer service ever, still waiting for a refund", "negative"},
      {"The Xiaomi update is not good", "negative"},
      {"I don't like the new Coke flavor", "negative"},
      {"Not impressed with Disney Plus at all 👎", "negative"},
      {"My Nike shoes are falling apart after a month", "negative"},
      {"Netflix keeps crashing, so annoying 😡", "negative"},
      // A heart with or without the presentation selector (many clients
      // send U+2764 alone).
      {"my new Puma \u2764\ufe0f", "positive"},
      {"my new Puma \u2764", "positive"},
      {"hate the queue but \u2764 the shoes", "neutral"},
      {"Saw a Samsung ad on the way to work", "neutral"},
      {"Is the Prime Video app available in Canada?", "neutral"},
      {"New Adidas store opened downtown", "neutral"},
      {"Thinking about switching to Pixel 9", "neutral"},
  };
  for (const auto& c : cases) EXPECT_EQ(Label(c.text), c.label) << c.text;
}

TEST_F(SentimentTest, ArabicSentences) {
  const Labelled cases[] = {
      {"ايفون ممتاز جدا", "positive"},
      {"جوال سامسونج رائع", "positive"},
      {"أحب نايكي", "positive"},
      {"شاومي جميل والسعر معقول", "positive"},
      {"صراحة الكاميرا جميلة جداً", "positive"},
      {"ليس سيئا أبدا", "positive"},
      {"ما شاء الله تصميم نايكي الجديد", "positive"},
      {"شكرا نتفليكس على المسلسل الرائع", "positive"},
      {"بيبسي سيء", "negative"},
      {"لا أحب أديداس", "negative"},
      {"سامسونج فاشل", "negative"},
      {"ايفون غالي جدا", "negative"},
      {"الجوال ليس جيدا", "negative"},
      {"خيبة أمل كبيرة من بوما", "negative"},
      {"لا أنصح بشراء شاومي", "negative"},
      {"الشاشة مكسورة والخدمة زفت", "negative"},
      {"شفت إعلان نايكي اليوم", "neutral"},
      {"متى ينزل ايفون في السعودية؟", "neutral"},
      {"هل أحد جرب بيبسي الجديد؟", "neutral"},
  };
  for (const auto& c : cases) EXPECT_EQ(Label(c.text), c.label) << c.text;
}

TEST_F(SentimentTest, JapaneseSentences) {
  const Labelled cases[] = {
      {"ナイキの新しいスニーカー最高！", "positive"},
      {"アディダスのシューズ、めっちゃいい", "positive"},
      {"サムスンのスマホ、すぐ壊れた…最悪", "negative"},
      {"ペプシはがっかりだった", "negative"},
      {"プーマの広告見た", "neutral"},
  };
  for (const auto& c : cases) EXPECT_EQ(Label(c.text), c.label) << c.text;
}

TEST_F(SentimentTest, NegationFlipsWithinThreeWordsAndStopsAtAClause) {
  EXPECT_EQ(Label("good"), "positive");
  EXPECT_EQ(Label("not good"), "negative");
  EXPECT_EQ(Label("not really that good"), "negative");      // 3 words after "not"
  EXPECT_EQ(Label("not at all in any way good"), "positive"); // out of reach
  EXPECT_EQ(Label("not bad"), "positive");
  EXPECT_EQ(Label("no. good"), "positive");  // a clause mark ends the negation
  EXPECT_EQ(Label("لا أحب"), "negative");
  EXPECT_EQ(Label("ليس سيئا"), "positive");
  EXPECT_EQ(Label(""), "neutral");
  EXPECT_EQ(Label("the"), "neutral");
}

TEST_F(SentimentTest, BuiltInMatchesTheShippedFiles) {
  auto builtin = SentimentLexicon::BuiltIn();
  ASSERT_NE(builtin, nullptr);
  EXPECT_EQ(builtin, SentimentLexicon::BuiltIn());
  for (const char* text : {"I love it", "this is trash", "ممتاز", "لا أحب", "最高", "just a post"}) {
    EXPECT_EQ(Classify(*builtin, text), Classify(*lexicon_, text)) << text;
  }
}

// Random texts from lexicon words, negators, intensifiers, phrases,
// clitics, emoji, clause marks and filler, in English, Arabic and Japanese:
// Classify() from the matcher's hits must give what word look-ups give.
TEST_F(SentimentTest, MatcherFoundWordsAgreeWithLookUps) {
  const std::vector<std::string> pieces = {
      "good", "bad", "love", "hate", "great", "terrible", "not", "never", "no", "very",
      "really", "waste", "of", "money", "can't", "wait", "don't", "like", "the", "shoes",
      "nike", "price", "Good", "NOT", " ", " ", " ", "  ", ".", ",", "!", "?", ";", "...",
      "😍", "👎", "🔥", "😡", "\u2026", "لا", "أحب", "جميل", "والجميل", "بالجودة", "سيء",
      "سيئا", "ليس", "جدا", "ممتاز", "رائع", "للمتجر", "،", "؟", "最高", "良い", "良くない",
      "好き", "、", "。", "ナイキ", "not good", "not bad", "no complaints", "x", "_", "#love",
      "@hate", "ok",
      // Overlapping no-space entries (longest first, left to right), glued.
      "大好き", "好", "き", "最悪", "最低", "壊れた", "壊れ", "た", "良かった", "かった", "想像以上",
      "以上", "神対応", "対応", "がっかり", "残念", "ナイキ最高", "！"};
  {  // The vocabulary path is the one taken for such texts.
    MatchScratch scratch;
    MatchOutput out;
    WithVocabulary(*lexicon_).Match(MatchInput{"i love it, not bad", "twitter"}, &scratch, &out);
    EXPECT_NE(scratch.vocabulary_id, 0u);
    EXPECT_EQ(scratch.vocabulary_hits.size(), 3u);  // love, not, bad
  }
  std::mt19937 rng(5);
  int non_neutral = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const std::string text = RandomText(pieces, 25, 3, &rng);
    non_neutral += Classify(*lexicon_, text) != Sentiment::kNeutral;
    if (HasFailure()) break;
  }
  EXPECT_GT(non_neutral, 5000);  // the texts do carry sentiment
  {  // Japanese words come from the matcher's scan too.
    MatchScratch scratch;
    MatchOutput out;
    WithVocabulary(*lexicon_).Match(MatchInput{"大好きな靴、最悪ではない", "twitter"}, &scratch, &out);
    EXPECT_TRUE(scratch.nospace_vocabulary);
    EXPECT_GE(scratch.nospace_vocabulary_hits.size(), 3u);  // 大好き, 好き, 最悪 at least
  }
}

// Text that is not ASCII but has no character of three or four bytes (no
// emoji, no CJK), Arabic with Latin: the lexicon scores it from the
// matcher's hits alone unless a word is a clitic form the hits miss
// ("وgood": و + an English key). Both readings must agree.
TEST_F(SentimentTest, TwoByteTextFromHitsAgreesWithLookUps) {
  const std::vector<std::string> pieces = {
      "good", "bad", "not", "very", "love", "hate", "the", "لا", "أحب", "جميل", "والجميل",
      "بالجودة", "سيء", "ليس", "جدا", "ممتاز", "رائع", "للمتجر", "،", "؟", ".", "!", "وgood",
      "فbad", "والlove", "لhate", "بالgreat", "وال", "و", "très", "café", "ñ", "ذgood", "x"};
  std::mt19937 rng(11);
  int scored = 0, two_byte = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const std::string text = RandomText(pieces, 12, 4, &rng);
    two_byte += std::any_of(text.begin(), text.end(), [](char c) { return c & 0x80; });
    scored += Classify(*lexicon_, text) != Sentiment::kNeutral;
    if (HasFailure()) break;
  }
  EXPECT_GT(two_byte, 15000);
  EXPECT_GT(scored, 5000);
  EXPECT_EQ(Label("وgood"), "positive");  // only the clitic reading finds it
  EXPECT_EQ(Label("لا، وgood"), "positive");
  EXPECT_EQ(Label("ليس وgood"), "negative");
}

TEST(SentimentNameTest, Names) {
  EXPECT_STREQ(SentimentName(Sentiment::kPositive), "positive");
  EXPECT_STREQ(SentimentName(Sentiment::kNeutral), "neutral");
  EXPECT_STREQ(SentimentName(Sentiment::kNegative), "negative");
}

class SentimentLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("earshot_sentiment_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  fs::path dir_;
};

TEST_F(SentimentLoaderTest, ErrorsAreFileLineColAllAtOnce) {
  std::string path = Write("bad.tsv",
                           "# comment\n"
                           "good\t2\n"
                           "nice 2\n"          // 3: no tab
                           "great\tlots\n"     // 4: not a number
                           "awful\t-9\n"       // 5: out of range
                           "good\t3\n"         // 6: duplicate
                           "!negatros\n"       // 7: unknown section
                           "!negators\n"
                           "never\t1\n"        // 9: negator with a score
                           "no way\n"          // 10: two words
                           "!intensifiers\n"
                           "very\t9\n");       // 12: factor out of range
  Diagnostics diags;
  EXPECT_EQ(SentimentLexicon::Load({path}, &diags), nullptr);
  std::string all = diags.ToString();
  EXPECT_NE(all.find(path + ":3:7: expected term<TAB>score"), std::string::npos) << all;
  EXPECT_NE(all.find(path + ":4:7: bad number \"lots\""), std::string::npos) << all;
  EXPECT_NE(all.find(path + ":5:7: score -9 is outside -5..5"), std::string::npos) << all;
  EXPECT_NE(all.find(path + ":6:1: duplicate term \"good\""), std::string::npos) << all;
  EXPECT_NE(all.find("first listed on line 2"), std::string::npos) << all;
  EXPECT_NE(all.find(path + ":7:1: unknown section \"!negatros\""), std::string::npos) << all;
  EXPECT_NE(all.find("did you mean \"!negators\"?"), std::string::npos) << all;
  EXPECT_NE(all.find(path + ":9:7: a negator takes no score"), std::string::npos) << all;
  EXPECT_NE(all.find(path + ":10:1: a negator must be one word"), std::string::npos) << all;
  EXPECT_NE(all.find(path + ":12:6: intensifier factor"), std::string::npos) << all;
  EXPECT_EQ(diags.errors().size(), 8u) << all;
}

TEST_F(SentimentLoaderTest, ColumnsCountCharactersNotBytes) {
  std::string path = Write("ar.tsv", "ممتاز\tكثير\n");
  Diagnostics diags;
  EXPECT_EQ(SentimentLexicon::Load({path}, &diags), nullptr);
  EXPECT_NE(diags.ToString().find(path + ":1:7: bad number"), std::string::npos)
      << diags.ToString();
}

TEST_F(SentimentLoaderTest, MissingFileAndEmptyDirectory) {
  Diagnostics diags;
  EXPECT_EQ(SentimentLexicon::Load({(dir_ / "nope.tsv").string()}, &diags), nullptr);
  EXPECT_NE(diags.ToString().find("nope.tsv: cannot read"), std::string::npos);
  Diagnostics d2;
  EXPECT_EQ(SentimentLexicon::Load({dir_.string()}, &d2), nullptr);
  EXPECT_NE(d2.ToString().find("no *.tsv"), std::string::npos);
}

TEST_F(SentimentLoaderTest, CustomLexiconPhrasesEmojiNegatorsFileAndOverride) {
  Write("a.tsv",
        "Awesome\t3   # trailing comment\n"
        "shipping delay\t-3\r\n"
        "🤡\t-2\n"
        "meh\t-1\n");
  Write("b.tsv", "meh\t2\n");               // a later file overrides
  Write("negators.tsv", "nope\n");          // a negators file
  Diagnostics diags;
  auto lex = SentimentLexicon::Load({dir_.string()}, &diags);
  ASSERT_NE(lex, nullptr) << diags.ToString();

  auto classify = [&](std::string_view text) {
    // Without a RuleSet: normalize and split words by hand.
    MatchScratch scratch;
    scratch.has_nospace_script = Normalize(text, &scratch.normalized).has_nospace_script;
    const std::string& s = scratch.normalized;
    size_t i = 0;
    bool in = false;
    while (i < s.size()) {
      size_t at = i;
      char32_t cp = DecodeUtf8(s, &i);
      if (IsWordChar(cp)) {
        if (!in) scratch.words.push_back(WordSpan{static_cast<uint32_t>(at), 0});
        in = true;
        scratch.words.back().end = static_cast<uint32_t>(i);
      } else {
        in = false;
      }
    }
    return std::string(SentimentName(lex->Classify(scratch)));
  };
  EXPECT_EQ(classify("AWESOME"), "positive");
  EXPECT_EQ(classify("nope awesome"), "negative");
  EXPECT_EQ(classify("a shipping   delay again"), "negative");
  EXPECT_EQ(classify("shipping"), "neutral");
  EXPECT_EQ(classify("clowns 🤡"), "negative");
  EXPECT_EQ(classify("meh"), "positive");
}

}  // namespace
}  // namespace earshot::rules
