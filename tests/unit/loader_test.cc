#include "rules/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace earshot::rules {
namespace {

// Runs from the fixture directory so that diagnostics carry short,
// stable paths ("errors/types.yaml:4:12: ...").
class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = std::string(EARSHOT_SOURCE_DIR) + "/tests/unit/testdata/rules";
    ASSERT_EQ(chdir(dir.c_str()), 0) << dir;
  }

  // Loads `paths`, expecting failure; returns all diagnostics.
  std::string Errors(const std::vector<std::string>& paths) {
    RuleSetDef def;
    Diagnostics d;
    EXPECT_FALSE(LoadRuleFiles(paths, &def, &d));
    return d.ToString();
  }
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

std::string Loc(const SourceLoc& l) {
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.col);
}

TEST_F(LoaderTest, ExpandsDirectoriesSortedNonRecursive) {
  EXPECT_EQ(ExpandRulePaths({"good", "dup/c.yaml"}),
            (std::vector<std::string>{"good/a_sneakers.yaml", "good/b_more_sneakers.yaml",
                                      "good/c_topics.yaml", "good/d_tests.yml", "dup/c.yaml"}));
  EXPECT_EQ(ExpandRulePaths({"good/"})[0], "good/a_sneakers.yaml");
}

// A rule file in a directory that is a link to nothing is an error that
// names it, not a file left out in silence; a link to a file is read.
TEST_F(LoaderTest, ABrokenLinkInADirectoryIsAnError) {
  char tmpl[] = "/tmp/earshot-loader-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string good = std::string(EARSHOT_SOURCE_DIR) + "/tests/unit/testdata/rules/good/a_sneakers.yaml";
  ASSERT_EQ(symlink(good.c_str(), (dir + "/a.yaml").c_str()), 0);
  ASSERT_EQ(symlink((dir + "/gone.yaml").c_str(), (dir + "/b.yaml").c_str()), 0);
  EXPECT_EQ(ExpandRulePaths({dir}), (std::vector<std::string>{dir + "/a.yaml", dir + "/b.yaml"}));
  const std::string errors = Errors({dir});
  EXPECT_NE(errors.find(dir + "/b.yaml: cannot read rule file: a broken symbolic link (to " +
                        dir + "/gone.yaml)"),
            std::string::npos)
      << errors;
  EXPECT_EQ(errors.find("a.yaml"), std::string::npos) << errors;
  unlink((dir + "/a.yaml").c_str());
  unlink((dir + "/b.yaml").c_str());
  rmdir(dir.c_str());
}

TEST_F(LoaderTest, LoadsAndMergesCategories) {
  RuleSetDef def;
  Diagnostics d;
  ASSERT_TRUE(LoadRuleFiles({"good"}, &def, &d)) << d.ToString();
  EXPECT_EQ(def.files.size(), 4u);

  ASSERT_EQ(def.categories.size(), 1u);
  const CategoryDef& c = def.categories[0];
  EXPECT_EQ(c.name, "sneakers");
  EXPECT_EQ(Loc(c.loc), "good/a_sneakers.yaml:2:11");
  ASSERT_EQ(c.brands.size(), 4u);  // two from each file
  EXPECT_EQ(c.brands[0].name, "nike");
  EXPECT_EQ(c.brands[1].name, "adidas");
  EXPECT_EQ(c.brands[2].name, "puma");
  EXPECT_EQ(c.brands[3].name, "new_balance");

  const RuleDef& nike = c.brands[0];
  EXPECT_EQ(Loc(nike.loc), "good/a_sneakers.yaml:4:5");
  ASSERT_EQ(nike.terms.size(), 5u);
  EXPECT_EQ(nike.terms[1].text, "just do it");
  EXPECT_EQ(Loc(nike.terms[1].loc), "good/a_sneakers.yaml:5:19");
  EXPECT_EQ(nike.terms[4].text, "نايكي");
  EXPECT_EQ(Loc(nike.terms[4].loc), "good/a_sneakers.yaml:5:51");
  ASSERT_EQ(nike.exclude.size(), 1u);
  EXPECT_EQ(nike.exclude[0].text, "nike missile");
  ASSERT_EQ(nike.regex.size(), 1u);
  EXPECT_EQ(nike.regex[0].text, "air\\s?max\\s?\\d+");
  // Lower-cased, aliases resolved, duplicates dropped.
  EXPECT_EQ(nike.platforms, (std::vector<std::string>{"twitter", "instagram"}));
  EXPECT_EQ(nike.languages, (std::vector<std::string>{"en", "ar"}));
  EXPECT_FALSE(nike.query.has_value());

  const RuleDef& adidas = c.brands[1];
  ASSERT_TRUE(adidas.query.has_value());
  EXPECT_EQ(adidas.query->kind, ExprKind::kAnd);
  EXPECT_EQ(Loc(adidas.query->loc), "good/a_sneakers.yaml:11:14");  // "adidas", inside the (

  // A scalar is a one-term list.
  ASSERT_EQ(c.brands[2].terms.size(), 1u);
  EXPECT_EQ(c.brands[2].terms[0].text, "puma");
  // A literal block query: positions on its own lines.
  const RuleDef& nb = c.brands[3];
  ASSERT_TRUE(nb.query.has_value());
  ASSERT_EQ(nb.query->kind, ExprKind::kOr);
  EXPECT_EQ(Loc(nb.query->children[0].loc), "good/b_more_sneakers.yaml:8:7");
  EXPECT_EQ(Loc(nb.query->children[1].loc), "good/b_more_sneakers.yaml:9:12");

  // Topics, from a rule file and a topics-only file.
  ASSERT_EQ(def.topics.size(), 3u);
  EXPECT_EQ(def.topics[0].name, "pricing");
  EXPECT_EQ(def.topics[1].name, "launch");
  EXPECT_EQ(def.topics[2].name, "quality");
  EXPECT_EQ(def.topics[2].regex.size(), 1u);
}

TEST_F(LoaderTest, LoadsTests) {
  RuleSetDef def;
  Diagnostics d;
  ASSERT_TRUE(LoadRuleFiles({"good"}, &def, &d)) << d.ToString();
  ASSERT_EQ(def.tests.size(), 4u);

  const RuleTestCase& t0 = def.tests[0];
  EXPECT_EQ(Loc(t0.loc), "good/a_sneakers.yaml:16:5");
  EXPECT_EQ(t0.text, "Just bought new Nike Air Max 90!");
  EXPECT_EQ(t0.platform, "twitter");  // "X"
  EXPECT_EQ(t0.lang, "en");
  EXPECT_EQ(t0.author, "Runner");  // '@' dropped
  EXPECT_EQ(t0.country, "us");
  EXPECT_TRUE(t0.has_brands);
  EXPECT_TRUE(t0.has_topics);
  EXPECT_EQ(t0.brands, (std::vector<std::string>{"sneakers/nike"}));
  EXPECT_TRUE(t0.topics.empty());

  const RuleTestCase& t1 = def.tests[1];
  EXPECT_EQ(t1.author, "hr_team");  // author as a map
  EXPECT_EQ(t1.platform, "");       // matched as "other"
  EXPECT_TRUE(t1.has_brands);
  EXPECT_TRUE(t1.brands.empty());
  EXPECT_FALSE(t1.has_topics);

  // A tests-only file; expected brands are sorted.
  const RuleTestCase& t2 = def.tests[2];
  EXPECT_EQ(Loc(t2.loc), "good/d_tests.yml:2:5");
  EXPECT_EQ(t2.brands, (std::vector<std::string>{"sneakers/nike", "sneakers/puma"}));
  EXPECT_FALSE(def.tests[3].has_brands);
  EXPECT_EQ(def.tests[3].topics, (std::vector<std::string>{"launch"}));
}

TEST_F(LoaderTest, UnknownKeysWithDidYouMean) {
  EXPECT_EQ(Errors({"errors/unknown_key.yaml"}),
            "errors/unknown_key.yaml:6:5: unknown key \"term\" (did you mean \"terms\"?)\n"
            "errors/unknown_key.yaml:7:5: unknown key \"exlude\" (did you mean \"exclude\"?)\n"
            "errors/unknown_key.yaml:8:5: unknown key \"colour\"\n"
            "  hint: known keys in brand: name terms exclude regex query platforms languages\n"
            "errors/unknown_key.yaml:9:1: unknown key \"catgory\" (did you mean \"category\"?)\n");
}

TEST_F(LoaderTest, YamlSyntaxError) {
  EXPECT_EQ(Errors({"errors/syntax.yaml"}),
            "errors/syntax.yaml:5:3: YAML syntax error: illegal block entry\n");
}

TEST_F(LoaderTest, BadTypes) {
  EXPECT_EQ(Errors({"errors/types.yaml"}),
            "errors/types.yaml:1:11: category: expected a string\n"
            "errors/types.yaml:4:12: terms: expected a list of strings\n"
            "errors/types.yaml:5:11: name: expected a string\n"
            "errors/types.yaml:6:21: terms: expected a string\n"
            "errors/types.yaml:8:12: query: expected a string\n"
            "  hint: quote the query: query: '(a OR b) AND NOT c'\n"
            "errors/types.yaml:11:16: platforms: expected a list of strings\n"
            "errors/types.yaml:12:5: brand: expected a mapping such as {name: x, terms: [...]}\n"
            "errors/types.yaml:13:9: topics: expected a list of topics\n"
            "  hint: each topic is an item \"- name: ...\"\n");
}

// An empty platform or language filter lets no event through: the brand
// could never fire, so it is a load error (a null value is named at its key).
TEST_F(LoaderTest, EmptyFiltersAreErrors) {
  EXPECT_EQ(Errors({"errors/empty_filters.yaml"}),
            "errors/empty_filters.yaml:3:40: languages: an empty list lets no event through\n"
            "  hint: leave languages out to match every language\n"
            "errors/empty_filters.yaml:4:40: platforms: an empty list lets no event through\n"
            "  hint: leave platforms out to match every platform\n"
            "errors/empty_filters.yaml:7:5: languages: an empty list lets no event through\n"
            "  hint: leave languages out to match every language\n");
}

// Bytes that are not UTF-8 are refused at the first (yaml-cpp would read
// them as U+FFFD, and the term would lose that letter without a word).
TEST_F(LoaderTest, InvalidUtf8IsAnError) {
  EXPECT_EQ(Errors({"errors/bad_utf8.yaml"}),
            "errors/bad_utf8.yaml:4:26: invalid UTF-8 (rule files are UTF-8 text)\n");
}

TEST_F(LoaderTest, StructureErrors) {
  EXPECT_EQ(
      Errors({"errors/structure.yaml"}),
      "errors/structure.yaml:1:1: brands need a category: add \"category: NAME\"\n"
      "  hint: share of voice is computed among the brands of one category\n"
      "errors/structure.yaml:2:5: brand is missing \"name\"\n"
      "errors/structure.yaml:3:5: brand \"adidas\" has no terms, regex or query\n"
      "  hint: add terms: [...], regex: [...] or query: '...'\n"
      "errors/structure.yaml:4:5: brand \"puma\" has no terms, regex or query\n"
      "  hint: add terms: [...], regex: [...] or query: '...'\n"
      "errors/structure.yaml:6:11: brand name \"bad/name\" contains '/'\n"
      "  hint: tests name brands as \"category/brand\"; use '_' or '-' instead\n"
      "errors/structure.yaml:9:13: terms: empty term\n"
      "errors/structure.yaml:16:5: test is missing \"event\"\n"
      "errors/structure.yaml:17:12: event is missing \"text\"\n"
      "errors/structure.yaml:18:14: brands: expected \"category/brand\", got \"nike\"\n"
      "errors/structure.yaml:19:23: unknown key \"platfrom\" (did you mean \"platform\"?)\n"
      "errors/structure.yaml:13:5: duplicate topic \"pricing\" (first defined at "
      "errors/structure.yaml:11:5)\n");
}

TEST_F(LoaderTest, QueryErrorsAtFilePositions) {
  EXPECT_EQ(Errors({"errors/queries.yaml"}),
            "errors/queries.yaml:4:18: missing operator between \"nike\" and \"shoes\"\n"
            "  hint: use quotes for a phrase (\"nike shoes\"), or AND\n"
            "errors/queries.yaml:6:24: unclosed '('\n"
            "errors/queries.yaml:8:33: unknown field \"foo:\"\n"
            "  hint: fields are lang:, platform:, author:, country: and raw:; to search for the "
            "text itself, quote it: \"foo:bar\"\n"
            // literal block (|): the line and column inside the block
            "errors/queries.yaml:13:16: missing operator between \"onitsuka\" and \"tiger\"\n"
            "  hint: use quotes for a phrase (\"onitsuka tiger\"), or AND\n"
            // folded block (>): still the real line
            "errors/queries.yaml:17:7: bad NEAR distance \"NEAR/x\"\n"
            "  hint: write NEAR/n or NEAR/nf, n being the most words allowed between the "
            "operands (0..1000)\n"
            "errors/queries.yaml:19:13: empty query\n");
}

// Queries in flow scalars whose value differs from the source: escapes,
// '' in single quotes, lines folded into spaces (plain, quoted, after an
// escaped line break, with an empty line), a comment after a plain one.
// Every error points at its token in the file.
TEST_F(LoaderTest, QueryErrorsInQuotedAndFoldedScalarsAtFilePositions) {
  std::string errors;
  for (const auto& line : Lines(Errors({"errors/query_positions.yaml"}))) {
    if (line.rfind("  hint:", 0) != 0) errors += line + "\n";
  }
  EXPECT_EQ(errors,
            "errors/query_positions.yaml:3:25: missing operator between \"x\" and \"y\"\n"
            "errors/query_positions.yaml:5:19: missing operator between \"nike\" and \"shoes\"\n"
            "errors/query_positions.yaml:8:15: missing operator between ')' and \"shoes\"\n"
            "errors/query_positions.yaml:11:15: missing operator between ')' and \"shoes\"\n"
            "errors/query_positions.yaml:13:19: missing operator between \"it's\" and \"nike\"\n"
            "errors/query_positions.yaml:15:26: missing operator between \"Aé\" and \"nike\"\n"
            "errors/query_positions.yaml:18:15: missing operator between ')' and \"shoes\"\n"
            "errors/query_positions.yaml:22:15: missing operator between ')' and \"shoes\"\n"
            "errors/query_positions.yaml:24:20: unclosed '('\n");
}

TEST_F(LoaderTest, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(Errors({"arabic/columns.yaml"}),
            "arabic/columns.yaml:4:20: terms: empty term\n"
            "arabic/columns.yaml:5:19: missing operator between \"بيبسي\" and \"كولا\"\n"
            "  hint: use quotes for a phrase (\"بيبسي كولا\"), or AND\n");
}

TEST_F(LoaderTest, DuplicatesAcrossFilesShowBothPositions) {
  EXPECT_EQ(Errors({"dup"}),
            "dup/b.yaml:5:5: duplicate brand \"nike\" in category \"sneakers\" (first defined "
            "at dup/a.yaml:3:5)\n"
            "dup/b.yaml:8:5: duplicate topic \"pricing\" (first defined at dup/a.yaml:6:5)\n");
}

TEST_F(LoaderTest, SameBrandInTwoCategoriesIsFine) {
  RuleSetDef def;
  Diagnostics d;
  ASSERT_TRUE(LoadRuleFiles({"dup/a.yaml", "dup/c.yaml"}, &def, &d)) << d.ToString();
  ASSERT_EQ(def.categories.size(), 2u);
  EXPECT_EQ(def.categories[1].name, "sportswear");
  EXPECT_EQ(def.categories[1].brands[0].name, "nike");
}

TEST_F(LoaderTest, ReservedCategory) {
  EXPECT_EQ(Errors({"errors/reserved.yaml"}),
            "errors/reserved.yaml:1:11: category name \"none\" is reserved\n"
            "  hint: topic metrics use category=\"none\" for posts that name no brand\n");
}

TEST_F(LoaderTest, ReportsAllFilesAtOnce) {
  std::string all = Errors({"missing.yaml", "errors/reserved.yaml", "errors/syntax.yaml"});
  EXPECT_EQ(all,
            "missing.yaml: cannot read rule file: No such file or directory\n"
            "errors/reserved.yaml:1:11: category name \"none\" is reserved\n"
            "  hint: topic metrics use category=\"none\" for posts that name no brand\n"
            "errors/syntax.yaml:5:3: YAML syntax error: illegal block entry\n");
}

// What every caller does: a compile error (bad regex, a term that is only a
// proclitic, an unknown platform) is reported beside the load errors, in
// line order, even from a rule the loader rejected (c has an unknown key).
TEST_F(LoaderTest, LoadAndCompileReportsEveryErrorAtOnce) {
  RuleSetDef def;
  Diagnostics d;
  CompileOptions options;
  options.platforms = {"twitter", "reddit"};
  EXPECT_EQ(LoadAndCompile({"errors/compile.yaml"}, options, &def, &d), nullptr);
  EXPECT_EQ(d.ToString(),
            "errors/compile.yaml:5:5: unknown key \"bogus\"\n"
            "  hint: known keys in brand: name terms exclude regex query platforms languages\n"
            "errors/compile.yaml:7:13: invalid regex \"(\": missing ): (\n"
            "errors/compile.yaml:9:13: term is only an Arabic proclitic: \"وال\"\n"
            "  hint: و, ال, وال, بال, كال, فال and لل are matched joined to a term; to match one "
            "on its own, set arabic_proclitics: false in this file\n"
            "errors/compile.yaml:10:5: unknown key \"colour\"\n"
            "  hint: known keys in brand: name terms exclude regex query platforms languages\n"
            "errors/compile.yaml:13:17: unknown platform \"myspace\"\n"
            "  hint: known platforms: twitter, reddit, other\n");

  // Across files, in the order the files are read: a's load errors do not
  // hide b's compile error, nor the errors of the file after it.
  Diagnostics across;
  EXPECT_EQ(LoadAndCompile(
                {"errors/unknown_key.yaml", "errors/compile.yaml", "errors/reserved.yaml"},
                options, &def, &across),
            nullptr);
  const std::string all = across.ToString();
  const size_t first = all.find("errors/unknown_key.yaml:6:5:");
  const size_t regex = all.find("errors/compile.yaml:7:13: invalid regex");
  const size_t last = all.find("errors/reserved.yaml:1:11:");
  EXPECT_NE(first, std::string::npos) << all;
  EXPECT_NE(regex, std::string::npos) << all;
  EXPECT_NE(last, std::string::npos) << all;
  EXPECT_LT(first, regex);
  EXPECT_LT(regex, last);

  // A load without errors compiles as before.
  Diagnostics none;
  EXPECT_NE(LoadAndCompile({"good"}, {}, &def, &none), nullptr) << none.ToString();
  EXPECT_TRUE(none.ok());
}

// A bad category (reserved, missing, not a string) fails the load, but
// does not hide its brands' own errors: they are compiled all the same.
TEST_F(LoaderTest, ABadCategoryDoesNotHideItsBrandsErrors) {
  RuleSetDef def;
  Diagnostics d;
  CompileOptions options;
  options.platforms = {"twitter", "reddit"};
  EXPECT_EQ(LoadAndCompile({"errors/bad_category.yaml"}, options, &def, &d), nullptr);
  EXPECT_EQ(d.ToString(),
            "errors/bad_category.yaml:1:11: category name \"none\" is reserved\n"
            "  hint: topic metrics use category=\"none\" for posts that name no brand\n"
            "errors/bad_category.yaml:4:13: term \"!!!\" is empty after normalization\n"
            "errors/bad_category.yaml:7:17: unknown platform \"myspace\"\n"
            "  hint: known platforms: twitter, reddit, other\n"
            "errors/bad_category.yaml:9:13: invalid regex \"(\": missing ): (\n"
            "errors/bad_category.yaml:10:15: missing operator between \"a\" and \"b\"\n"
            "  hint: use quotes for a phrase (\"a b\"), or AND\n");

  // Without a category: duplicates are still found within the file, and
  // a duplicate brand or topic is compiled for its own errors too.
  Diagnostics none;
  EXPECT_EQ(LoadAndCompile({"errors/no_category.yaml"}, options, &def, &none), nullptr);
  EXPECT_EQ(none.ToString(),
            "errors/no_category.yaml:1:1: brands need a category: add \"category: NAME\"\n"
            "  hint: share of voice is computed among the brands of one category\n"
            "errors/no_category.yaml:3:13: invalid regex \"(\": missing ): (\n"
            "errors/no_category.yaml:4:5: duplicate brand \"a\" (first defined at "
            "errors/no_category.yaml:2:5)\n"
            "errors/no_category.yaml:5:13: term \"!!!\" is empty after normalization\n"
            "errors/no_category.yaml:9:5: duplicate topic \"t\" (first defined at "
            "errors/no_category.yaml:7:5)\n"
            "errors/no_category.yaml:10:13: invalid regex \"[\": missing ]: [\n");
}

// A UTF-8 byte order mark is not a column: line 1 counts from after it,
// for structural errors and for positions inside a query alike.
TEST_F(LoaderTest, AByteOrderMarkIsNotAColumn) {
  EXPECT_EQ(Errors({"errors/bom.yaml", "errors/bom_category.yaml"}),
            "errors/bom.yaml:1:32: missing operator between \"foo\" and \"bar\"\n"
            "  hint: use quotes for a phrase (\"foo bar\"), or AND\n"
            "errors/bom.yaml:1:38: unknown key \"tems\" (did you mean \"terms\"?)\n"
            "errors/bom.yaml:2:11: category: expected a string\n"
            "errors/bom_category.yaml:1:11: category: expected a string\n");
}

// Block scalars: empty lines before the content of a literal block, and an
// explicit indentation indicator whose content starts with spaces of its own.
TEST_F(LoaderTest, QueryErrorsInBlockScalarsAtFilePositions) {
  std::string errors;
  for (const auto& line : Lines(Errors({"errors/block_positions.yaml"}))) {
    if (line.rfind("  hint:", 0) != 0) errors += line + "\n";
  }
  EXPECT_EQ(errors,
            "errors/block_positions.yaml:6:19: missing operator between \"foo\" and \"bar\"\n"
            "errors/block_positions.yaml:9:22: missing operator between \"foo\" and \"bar\"\n"
            "errors/block_positions.yaml:12:22: missing operator between \"foo\" and \"bar\"\n"
            "errors/block_positions.yaml:16:13: missing operator between \"foo\" and \"bar\"\n");
}

// A test's brands and topics are sets: a name written twice is an error at
// the second one, not a failure whose diff is empty.
TEST_F(LoaderTest, ATestListingANameTwiceIsAnError) {
  EXPECT_EQ(Errors({"errors/test_listed_twice.yaml"}),
            "errors/test_listed_twice.yaml:6:22: brands: \"c/nike\" is listed twice\n"
            "errors/test_listed_twice.yaml:7:20: topics: \"t\" is listed twice\n");
}

// A second YAML document would be ignored without a word: an error.
TEST_F(LoaderTest, ASecondYamlDocumentIsAnError) {
  EXPECT_EQ(Errors({"errors/two_documents.yaml"}),
            "errors/two_documents.yaml:5:1: a second YAML document: a file holds one (this one "
            "would be ignored)\n"
            "  hint: remove the \"---\" line above it, or move this document to a file of its "
            "own\n");
}

TEST_F(LoaderTest, SameFileTwiceIsReadOnce) {
  RuleSetDef def;
  Diagnostics d;
  ASSERT_TRUE(LoadRuleFiles({"dup/a.yaml", "./dup/a.yaml"}, &def, &d)) << d.ToString();
  EXPECT_EQ(def.files.size(), 1u);
}

TEST_F(LoaderTest, ShippedRuleFilesLoad) {
  RuleSetDef def;
  Diagnostics d;
  ASSERT_TRUE(LoadRuleFiles({std::string(EARSHOT_SOURCE_DIR) + "/deploy/rules"}, &def, &d))
      << d.ToString();
  EXPECT_EQ(def.categories.size(), 4u);
  EXPECT_EQ(def.topics.size(), 4u);
  EXPECT_GE(def.tests.size(), 40u);
}

}  // namespace
}  // namespace earshot::rules
