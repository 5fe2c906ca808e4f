// Arabic proclitics (docs/matching.md): a term starting
// with an Arabic letter also matches with و, ال, وال, بال, كال, فال or لل
// joined to its start, the prefix at a word boundary; a term starting with
// ال matches with that ال written as one of the six forms with ال; only a
// phrase's first word takes one; terms, excludes, query and NEAR operands do,
// raw: and regex: do not; `arabic_proclitics: false` turns it off per file.
// Rule files are loaded from YAML text, as users write them.

#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "rules/loader.h"
#include "rules/rule_set.h"

namespace earshot::rules {
namespace {

using ::testing::HasSubstr;

// A rule file written to a temporary path; removed at the end of the test.
class RuleFile {
 public:
  explicit RuleFile(const std::string& yaml) {
    char name[] = "/tmp/earshot-proclitics-XXXXXX.yaml";
    const int fd = mkstemps(name, 5);
    path_ = name;
    std::ofstream(path_) << yaml;
    if (fd >= 0) close(fd);
  }
  ~RuleFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Loaded {
  std::shared_ptr<const RuleSet> rules;
  std::string errors;
};

Loaded Load(const std::vector<std::string>& yamls) {
  std::vector<std::unique_ptr<RuleFile>> files;
  std::vector<std::string> paths;
  for (const auto& y : yamls) {
    files.push_back(std::make_unique<RuleFile>(y));
    paths.push_back(files.back()->path());
  }
  RuleSetDef def;
  Diagnostics diags;
  Loaded out;
  out.rules = LoadAndCompile(paths, {}, &def, &diags);
  out.errors = diags.ToString();
  return out;
}

const PlatformTable& Platforms() {
  static const PlatformTable platforms({"twitter"});
  return platforms;
}

// "category/brand" and "topic:name" of everything that fires on `text`.
std::vector<std::string> Fired(const RuleSet& rs, const std::string& text) {
  MatchScratch scratch;
  MatchOutput out;
  rs.Match(ToMatchInput({text, "twitter", "ar"}, Platforms()), &scratch, &out);
  std::vector<std::string> names;
  for (uint32_t b : out.brands) names.push_back(rs.brands()[b].category + "/" + rs.brands()[b].name);
  for (uint32_t t : out.topics) names.push_back("topic:" + rs.topics()[t]);
  return names;
}

// `earshot explain`'s report of `text` on twitter.
std::string Explain(const RuleSet& rs, const std::string& text) {
  return rs.Explain(ToMatchInput({text, "twitter"}, Platforms()));
}

// Whether a brand with the single term `term` fires on `text`.
bool Matches(const std::string& term, const std::string& text, bool proclitics = true) {
  Loaded l = Load({std::string(proclitics ? "" : "arabic_proclitics: false\n") +
                   "category: c\nbrands:\n  - name: b\n    terms: [\"" + term + "\"]\n"});
  EXPECT_TRUE(l.rules) << l.errors;
  return l.rules && !Fired(*l.rules, text).empty();
}

TEST(ArabicProclitics, EveryPrefixJoinedToATerm) {
  // نايكي (Nike) with each of the seven proclitics.
  for (const char* prefix : {"و", "ال", "وال", "بال", "كال", "فال", "لل"}) {
    EXPECT_TRUE(Matches("نايكي", std::string("اشتريت ") + prefix + "نايكي اليوم")) << prefix;
  }
  EXPECT_TRUE(Matches("نايكي", "نايكي"));  // and bare
  // The issue's example: "I bought Nike and Adidas shoes".
  EXPECT_TRUE(Matches("اديداس", "اشتريت حذاء نايكي واديداس"));
}

TEST(ArabicProclitics, OnlyThePrefixesOfTheContract) {
  EXPECT_FALSE(Matches("نايكي", "بنايكي"));   // ب alone is not one
  EXPECT_FALSE(Matches("نايكي", "لنايكي"));   // nor ل
  EXPECT_FALSE(Matches("نايكي", "وونايكي"));  // nor two of them
  EXPECT_FALSE(Matches("نايكي", "سنايكي"));
  EXPECT_FALSE(Matches("نايكي", "نايكيه"));   // the right edge is as before
}

TEST(ArabicProclitics, ThePrefixStartsAtAWordBoundary) {
  EXPECT_TRUE(Matches("نايكي", "(ونايكي)"));
  EXPECT_TRUE(Matches("نايكي", "#ونايكي"));
  EXPECT_FALSE(Matches("نايكي", "سونايكي"));  // و inside a word
  EXPECT_FALSE(Matches("نايكي", "xونايكي"));
  EXPECT_FALSE(Matches("نايكي", "東京ونايكي"));  // a no-space neighbour is still a word character
  EXPECT_TRUE(Matches("نايكي", "東京نايكي"));    // the bare term keeps the no-space edge rule
}

TEST(ArabicProclitics, ATermWithTheArticle) {
  // الاهلي (Al-Ahli) with its ال written as each of the six forms.
  for (const char* form : {"ال", "وال", "بال", "كال", "فال", "لل"}) {
    EXPECT_TRUE(Matches("الاهلي", std::string("فوز ") + form + "اهلي")) << form;
  }
  EXPECT_TRUE(Matches("الأهلي", "بالأهلي"));  // hamza folded on both sides
  EXPECT_FALSE(Matches("الاهلي", "اهلي"));    // not without it
  EXPECT_FALSE(Matches("الاهلي", "واهلي"));
  EXPECT_FALSE(Matches("الاهلي", "الالاهلي"));  // nor with a second one
  EXPECT_FALSE(Matches("الاهلي", "بلاهلي"));
}

TEST(ArabicProclitics, NormalizationOfTheText) {
  // Tashkeel, tatweel and hamza forms in the text do not hide a proclitic.
  EXPECT_TRUE(Matches("الهلال", "وَالْهِلَالُ"));
  EXPECT_TRUE(Matches("نايكي", "ونـايـكي"));
  EXPECT_TRUE(Matches("اديداس", "وأديداس"));
  EXPECT_TRUE(Matches("النصر", "للنصر"));
}

TEST(ArabicProclitics, PhrasesTakeOneOnTheFirstWordOnly) {
  EXPECT_TRUE(Matches("نادي الهلال", "ونادي الهلال"));
  EXPECT_TRUE(Matches("نادي الهلال", "ونادي   الهلال"));
  EXPECT_FALSE(Matches("نادي الهلال", "نادي والهلال"));  // the second word as written
  EXPECT_TRUE(Matches("الهلال السعودي", "بالهلال السعودي"));
  EXPECT_FALSE(Matches("الهلال السعودي", "هلال السعودي"));
}

TEST(ArabicProclitics, LatinAndTaggedTermsAreUnchanged) {
  EXPECT_FALSE(Matches("nike", "وnike"));
  EXPECT_TRUE(Matches("#الهلال", "#الهلال"));
  EXPECT_FALSE(Matches("#الهلال", "#والهلال"));  // a hashtag term starts with '#'
  EXPECT_TRUE(Matches("@نايكي", "@نايكي"));
  EXPECT_FALSE(Matches("@نايكي", "@ونايكي"));
}

TEST(ArabicProclitics, PrefixTerms) {
  EXPECT_TRUE(Matches("سامسون*", "وسامسونج"));
  EXPECT_TRUE(Matches("الهلا*", "بالهلال"));
  EXPECT_FALSE(Matches("الهلا*", "هلال"));
}

TEST(ArabicProclitics, ExcludeQueryAndNear) {
  Loaded l = Load({R"(category: clubs
brands:
  - name: ahli
    terms: [الاهلي]
    exclude: [البنك]
  - name: hilal
    query: '(الهلال OR "نادي الهلال") AND NOT الاهلي'
  - name: nassr
    query: 'النصر NEAR/2 فوز'
)"});
  ASSERT_TRUE(l.rules) << l.errors;
  EXPECT_THAT(Fired(*l.rules, "مباراة بالاهلي اليوم"), ::testing::ElementsAre("clubs/ahli"));
  EXPECT_TRUE(Fired(*l.rules, "بالاهلي والبنك").empty());  // the exclude takes one too
  EXPECT_FALSE(Fired(*l.rules, "بالاهلي وبالبنك").empty());  // و + بال is two
  EXPECT_THAT(Fired(*l.rules, "فوز للهلال"), ::testing::ElementsAre("clubs/hilal"));
  EXPECT_THAT(Fired(*l.rules, "ونادي الهلال"), ::testing::ElementsAre("clubs/hilal"));
  EXPECT_THAT(Fired(*l.rules, "الهلال والاهلي"), ::testing::ElementsAre("clubs/ahli"));
  EXPECT_THAT(Fired(*l.rules, "وفوز كبير للنصر"), ::testing::ElementsAre("clubs/nassr"));
  EXPECT_TRUE(Fired(*l.rules, "وفوز كبير جدا جدا للنصر").empty());
}

TEST(ArabicProclitics, RawAndRegexTakeNone) {
  Loaded l = Load({R"(category: c
brands:
  - name: raw
    query: 'raw:"نايكي"'
  - name: re
    regex: ['^نايكي']
)"});
  ASSERT_TRUE(l.rules) << l.errors;
  EXPECT_EQ(Fired(*l.rules, "نايكي").size(), 2u);
  EXPECT_TRUE(Fired(*l.rules, "ونايكي").empty());
}

TEST(ArabicProclitics, TheFileKeyTurnsItOffForThatFileOnly) {
  EXPECT_FALSE(Matches("نايكي", "ونايكي", /*proclitics=*/false));
  EXPECT_TRUE(Matches("نايكي", "نايكي", /*proclitics=*/false));
  EXPECT_FALSE(Matches("الاهلي", "بالاهلي", false));
  EXPECT_TRUE(Matches("الاهلي", "الاهلي", false));
  // Two files, one category: each brand keeps its own file's setting.
  Loaded l = Load({"category: c\nbrands:\n  - name: on\n    terms: [نايكي]\n",
                   "arabic_proclitics: false\ncategory: c\nbrands:\n  - name: off\n    terms: [نايكي]\n"
                   "topics:\n  - name: t\n    terms: [اديداس]\n"});
  ASSERT_TRUE(l.rules) << l.errors;
  EXPECT_THAT(Fired(*l.rules, "ونايكي واديداس"), ::testing::ElementsAre("c/on"));
  EXPECT_THAT(Fired(*l.rules, "نايكي اديداس"),
              ::testing::ElementsAre("c/on", "c/off", "topic:t"));
  // Explicitly on is the default.
  EXPECT_TRUE(Load({"arabic_proclitics: true\ncategory: c\nbrands:\n  - name: b\n    terms: [نايكي]\n"})
                  .rules);
}

TEST(ArabicProclitics, BadValuesAreLoadErrors) {
  for (const char* value : {"\"false\"", "no", "0", "[true]", "maybe", "!!str false", "!x true"}) {
    Loaded l = Load({std::string("arabic_proclitics: ") + value +
                     "\ncategory: c\nbrands:\n  - name: b\n    terms: [x]\n"});
    EXPECT_FALSE(l.rules) << value;
    EXPECT_THAT(l.errors, HasSubstr(":1:20: arabic_proclitics: expected true or false")) << value;
  }
  // No value at all: reported at the key, not on the next line.
  for (const char* text : {"arabic_proclitics:\ncategory: c\n", "arabic_proclitics:"}) {
    Loaded empty = Load({std::string(text)});
    EXPECT_THAT(empty.errors, HasSubstr(":1:1: arabic_proclitics: expected true or false")) << text;
  }
  EXPECT_THAT(Load({"arabic_proclitics: ~\ncategory: c\n"}).errors,
              HasSubstr(":1:20: arabic_proclitics: expected true or false"));
  // An explicit boolean tag is a boolean.
  Loaded l = Load({"arabic_proclitics: !!bool false\ncategory: c\nbrands:\n  - name: b\n"
                   "    terms: [نايكي]\n"});
  ASSERT_TRUE(l.rules) << l.errors;
  EXPECT_TRUE(Fired(*l.rules, "ونايكي").empty());
}

TEST(ArabicProclitics, ATermThatIsOnlyAProcliticIsALoadError) {
  for (const char* term : {"و", "ال", "وال", "بال", "كال", "فال", "لل", "ال*"}) {
    Loaded l = Load({std::string("category: c\nbrands:\n  - name: b\n    terms: [\"") + term +
                     "\"]\n"});
    EXPECT_FALSE(l.rules) << term;
    EXPECT_THAT(l.errors, HasSubstr(":4:13: term is only an Arabic proclitic: \"" +
                                    std::string(term) + "\"\n"))
        << term;
  }
  // A phrase whose first word is only a proclitic: that word is named.
  EXPECT_THAT(
      Load({"category: c\nbrands:\n  - name: b\n    terms: [\"و نايكي\"]\n"}).errors,
      HasSubstr(":4:13: term is only an Arabic proclitic: \"و\" (the first word of \"و نايكي\")"));
  // In a query too; and with the feature off such a term is a word.
  EXPECT_THAT(Load({"category: c\nbrands:\n  - name: b\n    query: 'nike OR ال'\n"}).errors,
              HasSubstr("is only an Arabic proclitic"));
  EXPECT_TRUE(Matches("و", "قهوة و شاي", /*proclitics=*/false));
}

TEST(ArabicProclitics, ExplainShowsTheProclitic) {
  Loaded l = Load({R"(category: sneakers
brands:
  - name: adidas
    terms: [اديداس]
topics:
  - name: club
    terms: [الاهلي]
)"});
  ASSERT_TRUE(l.rules) << l.errors;
  const std::string report =
      Explain(*l.rules, "اشتريت حذاء نايكي واديداس بالأهلي الاهلي والاهلي للاهلي فالاهلي");
  EXPECT_THAT(report, HasSubstr("term \"اديداس\" at bytes 33-47 (\"واديداس\", proclitic و)\n"));
  // A term with its own ال: the proclitic shown is one of the seven, as
  // the text writes it (ب alone is none), و for وال (و joined to the term).
  EXPECT_THAT(report, HasSubstr("term \"الاهلي\" at bytes 48-62 (\"بالأهلي\", proclitic بال)\n"));
  EXPECT_THAT(report, HasSubstr("term \"الاهلي\" at bytes 76-90 (\"والاهلي\", proclitic و)\n"));
  EXPECT_THAT(report, HasSubstr("term \"الاهلي\" at bytes 91-103 (\"للاهلي\", proclitic لل)\n"));
  EXPECT_THAT(report, HasSubstr("term \"الاهلي\" at bytes 104-118 (\"فالاهلي\", proclitic فال)\n"));
  // The term's own ال is no proclitic.
  EXPECT_THAT(report, HasSubstr("term \"الاهلي\" at bytes 63-75 (\"الاهلي\")\n"));
  EXPECT_THAT(report, HasSubstr("fired: brand sneakers/adidas (term \"اديداس\")"));
}

TEST(ArabicProclitics, ExplainShowsAHitOnceWhenFilesDisagreeOnProclitics) {
  // The same term from a file with proclitics and from one without: two
  // atoms, one line per hit (the joined form is the first file's alone).
  Loaded l = Load({"category: sneakers\nbrands:\n  - name: adidas\n    terms: [اديداس]\n",
                   "arabic_proclitics: false\ntopics:\n  - name: sport\n    terms: [اديداس]\n"});
  ASSERT_TRUE(l.rules) << l.errors;
  const std::string report = Explain(*l.rules, "نايكي واديداس اديداس");
  const std::string bare = "term \"اديداس\" at bytes 26-38 (\"اديداس\")\n";
  ASSERT_THAT(report, HasSubstr(bare));
  EXPECT_EQ(report.find(bare), report.rfind(bare)) << report;
  EXPECT_THAT(report, HasSubstr("term \"اديداس\" at bytes 11-25 (\"واديداس\", proclitic و)\n"));
  EXPECT_THAT(report, HasSubstr("fired: brand sneakers/adidas (term \"اديداس\")"));
  EXPECT_THAT(report, HasSubstr("fired: topic sport (term \"اديداس\")"));
}

}  // namespace
}  // namespace earshot::rules
