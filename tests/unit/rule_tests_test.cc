#include "rules/rule_tests.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "rules/loader.h"

namespace earshot::rules {
namespace {

const PlatformTable kPlatforms({"twitter", "facebook", "instagram", "reddit", "youtube",
                                "tiktok", "linkedin", "tumblr", "news", "blogs", "forums"});

struct Loaded {
  RuleSetDef def;
  std::shared_ptr<const RuleSet> rules;
};

Loaded Load(const std::string& path) {
  Loaded l;
  Diagnostics d;
  EXPECT_TRUE(LoadRuleFiles({path}, &l.def, &d)) << d.ToString();
  l.rules = RuleSet::Compile(l.def, CompileOptions{}, &d);
  EXPECT_NE(l.rules, nullptr) << d.ToString();
  return l;
}

const std::string kRunner =
    std::string(EARSHOT_SOURCE_DIR) + "/tests/unit/testdata/rules/runner/drinks.yaml";

TEST(RuleTestsTest, ReportsPassesFailuresAndDiffs) {
  Loaded l = Load(kRunner);
  ASSERT_NE(l.rules, nullptr);
  std::ostringstream out;
  RuleTestSummary s = RunRuleTests(l.def, *l.rules, kPlatforms, out, /*verbose=*/false);
  EXPECT_EQ(s.passed, 2);
  EXPECT_EQ(s.failed, 2);
  const std::string& f = kRunner;
  EXPECT_EQ(out.str(),
            "PASS " + f + ":12:5\n" +
            "FAIL " + f + ":15:5 \"Pepsi\\nand Coke, \\\"side by side\\\"\"\n" +
            "  brands: expected [drinks/coke] got [drinks/coke, drinks/pepsi]\n"
            "  + drinks/pepsi\n"
            "  topics: expected [pricing, taste] got []\n"
            "  - pricing\n"
            "  - taste (no such topic is loaded)\n" +
            "PASS " + f + ":18:5\n" +
            "FAIL " + f + ":20:5 \"PEPSI price check\"\n" +
            "  brands: expected [drinks/pepsi, drinks/sprite] got [drinks/pepsi]\n"
            "  - drinks/sprite (no such brand is loaded)\n"
            "2 passed, 2 failed\n");
}

TEST(RuleTestsTest, VerboseAddsTextAndExplanation) {
  Loaded l = Load(kRunner);
  ASSERT_NE(l.rules, nullptr);
  std::ostringstream out;
  RunRuleTests(l.def, *l.rules, kPlatforms, out, /*verbose=*/true);
  EXPECT_NE(out.str().find("PASS " + kRunner + ":12:5 \"Coke is cheap\"\n"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("\n    | "), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("2 passed, 2 failed\n"), std::string::npos);
}

TEST(RuleTestsTest, LongTextsAreShortened) {
  RuleSetDef def;
  def.categories.push_back(CategoryDef{"c", {}, {}});
  RuleDef b;
  b.name = "b";
  b.terms.push_back(TermSpec{"zzz", {}});
  def.categories[0].brands.push_back(b);
  RuleTestCase tc;
  tc.loc = SourceLoc{"t.yaml", 3, 5};
  tc.text = std::string(70, 'a') + " zzz";
  tc.has_brands = true;
  def.tests.push_back(tc);
  Diagnostics d;
  auto rules = RuleSet::Compile(def, CompileOptions{}, &d);
  ASSERT_NE(rules, nullptr) << d.ToString();
  std::ostringstream out;
  RuleTestSummary s = RunRuleTests(def, *rules, kPlatforms, out, false);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(out.str(), "FAIL t.yaml:3:5 \"" + std::string(60, 'a') + "...\"\n" +
                           "  brands: expected [] got [c/b]\n  + c/b\n0 passed, 1 failed\n");
}

// A null optional field is absent, as in an event: a real event pastes in.
TEST(RuleTestsTest, NullFieldsAreAbsent) {
  const std::string path = ::testing::TempDir() + "/null_fields.yaml";
  {
    std::ofstream f(path);
    f << "category: c\nbrands:\n  - name: b\n    terms: [nike]\n"
         "tests:\n"
         "  - event: {text: \"nike\", platform: null, lang: null, country: ~, author: null}\n"
         "    brands: [c/b]\n"
         "  - event: {text: \"nike\", author: {handle: null}}\n"
         "    brands: [c/b]\n";
  }
  Loaded l = Load(path);
  ASSERT_NE(l.rules, nullptr);
  std::ostringstream out;
  RuleTestSummary s = RunRuleTests(l.def, *l.rules, kPlatforms, out, /*verbose=*/false);
  EXPECT_EQ(s.passed, 2) << out.str();
  EXPECT_EQ(s.failed, 0) << out.str();
}

TEST(RuleTestsTest, NoTests) {
  RuleSetDef def;
  Diagnostics d;
  auto rules = RuleSet::Compile(def, CompileOptions{}, &d);
  ASSERT_NE(rules, nullptr) << d.ToString();
  std::ostringstream out;
  RuleTestSummary s = RunRuleTests(def, *rules, kPlatforms, out, false);
  EXPECT_EQ(s.passed + s.failed, 0);
  EXPECT_EQ(out.str(), "0 passed, 0 failed\n");
}

// The example rule files in deploy/rules ship with their own tests: all pass.
TEST(RuleTestsTest, ShippedRuleFilesPass) {
  Loaded l = Load(std::string(EARSHOT_SOURCE_DIR) + "/deploy/rules");
  ASSERT_NE(l.rules, nullptr);
  std::ostringstream out;
  RuleTestSummary s = RunRuleTests(l.def, *l.rules, kPlatforms, out, /*verbose=*/true);
  EXPECT_EQ(s.failed, 0) << out.str();
  EXPECT_GE(s.passed, 40);
}

// Each file can also be tested on its own (topics.yaml checks topics only;
// brand files check topics only where none can fire).
TEST(RuleTestsTest, ShippedRuleFilesPassOneByOne) {
  for (const char* f : {"sneakers", "smartphones", "soft_drinks", "streaming", "topics"}) {
    Loaded l = Load(std::string(EARSHOT_SOURCE_DIR) + "/deploy/rules/" + f + ".yaml");
    ASSERT_NE(l.rules, nullptr) << f;
    std::ostringstream out;
    RuleTestSummary s = RunRuleTests(l.def, *l.rules, kPlatforms, out, false);
    EXPECT_EQ(s.failed, 0) << f << "\n" << out.str();
  }
}

}  // namespace
}  // namespace earshot::rules
