// base/yaml_util: MapValue, the rule loader's key look-up, answers as
// yaml-cpp's operator[] does (first of a repeated key, nothing for a missing
// key or a non-map) and keeps the value's position for error messages.
#include "base/yaml_util.h"

#include <string>

#include <gtest/gtest.h>

namespace earshot {
namespace {

YAML::Node Parse(const std::string& text) {
  Diagnostics diags;
  auto node = LoadYamlString(text, "t.yaml", &diags);
  EXPECT_TRUE(node.has_value()) << text;
  return node ? *node : YAML::Node();
}

// One document a file: a leading "---" and a trailing empty document are
// fine; a second document is an error at its first line.
TEST(LoadYamlStringTest, OneDocumentAFile) {
  EXPECT_EQ(MapValue(Parse("---\nname: nike\n"), "name").Scalar(), "nike");
  EXPECT_EQ(MapValue(Parse("name: nike\n---\n"), "name").Scalar(), "nike");
  EXPECT_EQ(MapValue(Parse("name: nike\n...\n"), "name").Scalar(), "nike");
  Diagnostics diags;
  EXPECT_FALSE(LoadYamlString("name: nike\n---\nname: adidas\n", "t.yaml", &diags));
  ASSERT_EQ(diags.errors().size(), 1u);
  EXPECT_EQ(diags.errors()[0].loc.line, 3);
  EXPECT_EQ(diags.errors()[0].loc.col, 1);
  EXPECT_NE(diags.errors()[0].message.find("a second YAML document"), std::string::npos);
}

// yaml-cpp's LoadAll looped for ever on this malformed file (found by
// fuzz_rule_loader): it returns now, as YAML::Load did.
TEST(LoadYamlStringTest, MalformedInputEnds) {
  const std::string text(",cteg\x01\0\0\0\0\0'\x01s: \xe9[nike, \"air mry: adidas\n", 41);
  Diagnostics diags;
  LoadYamlString(text, "t.yaml", &diags);
  // ... and with a document marker, which asks the parser for a second one.
  LoadYamlString(text + "---\n" + text, "t.yaml", &diags);
  SUCCEED();
}

TEST(MapValueTest, FindsAKeyWithItsPosition) {
  const YAML::Node map = Parse("name: nike\nterms: [nike, swoosh]\n");
  const YAML::Node terms = MapValue(map, "terms");
  ASSERT_TRUE(terms);
  ASSERT_TRUE(terms.IsSequence());
  EXPECT_EQ(terms.size(), 2u);
  EXPECT_EQ(LocOf(terms, "t.yaml").line, 2);
  EXPECT_EQ(LocOf(terms, "t.yaml").col, 8);
  EXPECT_EQ(MapValue(map, "name").Scalar(), "nike");
}

TEST(MapValueTest, RepeatedKeyGivesTheFirstAsYamlCppDoes) {
  const YAML::Node map = Parse("name: first\nname: second\n");
  EXPECT_EQ(MapValue(map, "name").Scalar(), "first");
  EXPECT_EQ(map["name"].Scalar(), "first");
}

TEST(MapValueTest, MissingKeyNonMapAndNonScalarKeysGiveNothing) {
  const YAML::Node map = Parse("name: nike\n? [a, b]\n: x\n");
  const YAML::Node missing = MapValue(map, "terms");
  EXPECT_FALSE(missing);
  EXPECT_FALSE(missing.IsDefined());
  EXPECT_FALSE(MapValue(map, "[a, b]"));
  EXPECT_FALSE(MapValue(Parse("[name, terms]"), "name"));
  EXPECT_FALSE(MapValue(Parse("name"), "name"));
  // Keys are compared as written: no folding of case.
  EXPECT_FALSE(MapValue(map, "Name"));
  // A null value is there (true in a test), and null.
  const YAML::Node null_value = MapValue(Parse("lang: ~\n"), "lang");
  EXPECT_TRUE(null_value);
  EXPECT_TRUE(null_value.IsNull());
}

// KeyLocOf points at the key itself (the first, if repeated), or at the
// map when the key is missing.
TEST(KeyLocOfTest, TheKeyOrTheMap) {
  const YAML::Node map = Parse("a: 1\n  # note\nbrands: [x]\nbrands: [y]\n");
  const SourceLoc at = KeyLocOf(map, "brands", "t.yaml");
  EXPECT_EQ(at.line, 3);
  EXPECT_EQ(at.col, 1);
  const SourceLoc missing = KeyLocOf(map, "category", "t.yaml");
  EXPECT_EQ(missing.line, 1);
  EXPECT_EQ(missing.col, 1);
  EXPECT_EQ(KeyLocOf(Parse("- a\n"), "a", "t.yaml").line, 1);
}

}  // namespace
}  // namespace earshot
