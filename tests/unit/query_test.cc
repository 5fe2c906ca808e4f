#include "rules/query.h"

#include <gtest/gtest.h>

#include <string>

namespace earshot::rules {
namespace {

// The AST as an S-expression: (AND a (OR b c)), (NEAR/2f a b), lang:en, ...
std::string Show(const Expr& e) {
  auto join = [&](const std::string& head) {
    std::string out = "(" + head;
    for (const auto& c : e.children) out += " " + Show(c);
    return out + ")";
  };
  switch (e.kind) {
    case ExprKind::kTerm:
      return e.text.find(' ') == std::string::npos ? e.text : "\"" + e.text + "\"";
    case ExprKind::kRegex:
      return "regex:/" + e.text + "/";
    case ExprKind::kRaw:
      return "raw:\"" + e.text + "\"";
    case ExprKind::kField: {
      const char* names[] = {"lang", "platform", "author", "country"};
      return std::string(names[static_cast<int>(e.field)]) + ":" + e.text;
    }
    case ExprKind::kAnd:
      return join("AND");
    case ExprKind::kOr:
      return join("OR");
    case ExprKind::kNot:
      return join("NOT");
    case ExprKind::kNear:
      return join("NEAR/" + std::to_string(e.near_distance) + (e.near_ordered ? "f" : ""));
  }
  return "?";
}

const SourceLoc kOrigin{"rules/x.yaml", 7, 17};

std::string Parse(std::string_view q) {
  Diagnostics d;
  auto e = ParseQuery(q, kOrigin, &d);
  if (!e) return "ERROR " + d.ToString();
  EXPECT_TRUE(d.ok());
  return Show(*e);
}

// The single diagnostic for a query that must fail.
std::string Error(std::string_view q, const SourceLoc& origin = kOrigin) {
  Diagnostics d;
  auto e = ParseQuery(q, origin, &d);
  EXPECT_FALSE(e.has_value()) << q;
  EXPECT_EQ(d.errors().size(), 1u) << d.ToString();
  return d.errors().empty() ? "" : d.errors()[0].ToString();
}

TEST(QueryTest, Terms) {
  EXPECT_EQ(Parse("nike"), "nike");
  EXPECT_EQ(Parse("\"just do it\""), "\"just do it\"");
  EXPECT_EQ(Parse("#nike"), "#nike");
  EXPECT_EQ(Parse("@nike"), "@nike");
  EXPECT_EQ(Parse("runn*"), "runn*");
  EXPECT_EQ(Parse("نايكي"), "نايكي");
  EXPECT_EQ(Parse("ナイキ"), "ナイキ");
  EXPECT_EQ(Parse("coca-cola"), "coca-cola");
  EXPECT_EQ(Parse("  nike  "), "nike");
  // Whitespace inside a phrase collapses (a phrase may span block lines).
  EXPECT_EQ(Parse("\"just \n  do\tit\""), "\"just do it\"");
  EXPECT_EQ(Parse("\"say \\\"hi\\\"\""), "\"say \"hi\"\"");
  // Digits before a colon are not a field.
  EXPECT_EQ(Parse("12:30"), "12:30");
}

TEST(QueryTest, Operators) {
  EXPECT_EQ(Parse("a AND b"), "(AND a b)");
  EXPECT_EQ(Parse("a OR b"), "(OR a b)");
  EXPECT_EQ(Parse("a AND NOT b"), "(AND a (NOT b))");
  EXPECT_EQ(Parse("NOT a"), "(NOT a)");
  EXPECT_EQ(Parse("NOT NOT a"), "(NOT (NOT a))");
  EXPECT_EQ(Parse("(a)"), "a");
  EXPECT_EQ(Parse("a NEAR/3 b"), "(NEAR/3 a b)");
  EXPECT_EQ(Parse("a NEAR/0 b"), "(NEAR/0 a b)");
  EXPECT_EQ(Parse("a NEAR/5f \"b c\""), "(NEAR/5f a \"b c\")");
  EXPECT_EQ(Parse("(a OR \"b c\") NEAR/2 (d OR e)"), "(NEAR/2 (OR a \"b c\") (OR d e))");
}

TEST(QueryTest, LowerCaseOperatorsAreWords) {
  EXPECT_EQ(Parse("\"rock and roll\""), "\"rock and roll\"");
  EXPECT_EQ(Parse("and OR or"), "(OR and or)");
  EXPECT_EQ(Parse("not"), "not");
}

TEST(QueryTest, Precedence) {
  EXPECT_EQ(Parse("a OR b AND c"), "(OR a (AND b c))");
  EXPECT_EQ(Parse("a AND b OR c"), "(OR (AND a b) c)");
  EXPECT_EQ(Parse("NOT a AND b"), "(AND (NOT a) b)");
  EXPECT_EQ(Parse("a AND b NEAR/2 c"), "(AND a (NEAR/2 b c))");
  EXPECT_EQ(Parse("NOT a NEAR/2 b"), "(NOT (NEAR/2 a b))");
  EXPECT_EQ(Parse("(a OR b) AND c"), "(AND (OR a b) c)");
  EXPECT_EQ(Parse("a OR NOT b AND c"), "(OR a (AND (NOT b) c))");
}

TEST(QueryTest, FlattensAndOr) {
  EXPECT_EQ(Parse("a AND b AND c AND d"), "(AND a b c d)");
  EXPECT_EQ(Parse("a OR (b OR c) OR d"), "(OR a b c d)");
  EXPECT_EQ(Parse("(a AND b) AND (c AND d)"), "(AND a b c d)");
  EXPECT_EQ(Parse("(a OR b) AND (c OR d)"), "(AND (OR a b) (OR c d))");
}

TEST(QueryTest, Fields) {
  EXPECT_EQ(Parse("lang:EN"), "lang:en");
  EXPECT_EQ(Parse("platform:x"), "platform:twitter");
  EXPECT_EQ(Parse("platform:fb OR platform:ig OR platform:yt"),
            "(OR platform:facebook platform:instagram platform:youtube)");
  EXPECT_EQ(Parse("author:@Nike"), "author:nike");
  EXPECT_EQ(Parse("author:nike"), "author:nike");
  EXPECT_EQ(Parse("country:US"), "country:us");
  EXPECT_EQ(Parse("raw:\"Exact Case\""), "raw:\"Exact Case\"");
  EXPECT_EQ(Parse("raw:Apple"), "raw:\"Apple\"");
  EXPECT_EQ(Parse("nike AND lang:ja AND NOT platform:reddit"),
            "(AND nike lang:ja (NOT platform:reddit))");
}

TEST(QueryTest, Positions) {
  Diagnostics d;
  auto e = ParseQuery("nike AND (\"air max\" OR lang:en)", kOrigin, &d);
  ASSERT_TRUE(e.has_value()) << d.ToString();
  ASSERT_EQ(e->kind, ExprKind::kAnd);
  EXPECT_EQ(e->children[0].loc.line, 7);
  EXPECT_EQ(e->children[0].loc.col, 17);
  const Expr& inner = e->children[1];
  EXPECT_EQ(inner.children[0].loc.col, 27);  // the opening quote of "air max"
  EXPECT_EQ(inner.children[1].loc.col, 40);
  EXPECT_EQ(inner.children[1].loc.file, "rules/x.yaml");
}

TEST(QueryTest, PositionsAcrossLines) {
  // A literal block: each new line starts at origin.col.
  SourceLoc origin{"r.yaml", 10, 7};
  Diagnostics d;
  auto e = ParseQuery("a OR\n  b AND\nc d", origin, &d);
  EXPECT_FALSE(e.has_value());
  ASSERT_EQ(d.errors().size(), 1u);
  EXPECT_EQ(d.errors()[0].ToString(),
            "r.yaml:12:9: missing operator between \"c\" and \"d\"\n"
            "  hint: use quotes for a phrase (\"c d\"), or AND");
}

TEST(QueryTest, MissingOperator) {
  EXPECT_EQ(Error("nike shoes"),
            "rules/x.yaml:7:22: missing operator between \"nike\" and \"shoes\"\n"
            "  hint: use quotes for a phrase (\"nike shoes\"), or AND");
  EXPECT_EQ(Error("\"air max\" 90"),
            "rules/x.yaml:7:27: missing operator between \"air max\" and \"90\"\n"
            "  hint: use quotes for a phrase (\"air max 90\"), or AND");
  EXPECT_EQ(Error("a NOT b"),
            "rules/x.yaml:7:19: missing operator between \"a\" and NOT\n"
            "  hint: NOT is unary: write AND NOT");
  EXPECT_EQ(Error("a and b"),
            "rules/x.yaml:7:19: missing operator between \"a\" and \"and\"\n"
            "  hint: operators are upper case (AND, OR, NOT, NEAR/n); lower-case and/or/not "
            "are searched for as words");
  EXPECT_EQ(Error("(a OR b) c"),
            "rules/x.yaml:7:26: missing operator between ')' and \"c\"\n"
            "  hint: insert AND or OR");
  EXPECT_EQ(Error("a (b)"),
            "rules/x.yaml:7:19: missing operator between \"a\" and '('\n"
            "  hint: insert AND or OR");
}

TEST(QueryTest, Parentheses) {
  EXPECT_EQ(Error("a AND (b OR c"), "rules/x.yaml:7:23: unclosed '('");
  EXPECT_EQ(Error("((a)"), "rules/x.yaml:7:17: unclosed '('");
  EXPECT_EQ(Error("a AND ("), "rules/x.yaml:7:23: unclosed '('");
  EXPECT_EQ(Error("a) OR b"), "rules/x.yaml:7:18: unmatched ')'");
  EXPECT_EQ(Error(") a"), "rules/x.yaml:7:17: unmatched ')'");
  EXPECT_EQ(Error("a AND ()"), "rules/x.yaml:7:23: empty parentheses");
}

TEST(QueryTest, EmptyAndDangling) {
  EXPECT_EQ(Error(""), "rules/x.yaml:7:17: empty query");
  EXPECT_EQ(Error("   "), "rules/x.yaml:7:20: empty query");
  EXPECT_EQ(Error("nike AND"),
            "rules/x.yaml:7:22: dangling operator AND: expected a term, phrase or '(' after it, "
            "got the end of the query");
  EXPECT_EQ(Error("a OR OR b"),
            "rules/x.yaml:7:19: dangling operator OR: expected a term, phrase or '(' after it, "
            "got OR");
  EXPECT_EQ(Error("(a AND) b"),
            "rules/x.yaml:7:20: dangling operator AND: expected a term, phrase or '(' after it, "
            "got ')'");
  EXPECT_EQ(Error("a AND NOT"),
            "rules/x.yaml:7:23: dangling operator NOT: expected a term, phrase or '(' after it, "
            "got the end of the query");
  EXPECT_EQ(Error("AND a"), "rules/x.yaml:7:17: operator AND is missing its left operand");
  EXPECT_EQ(Error("(OR a)"), "rules/x.yaml:7:18: operator OR is missing its left operand");
}

TEST(QueryTest, UnknownField) {
  EXPECT_EQ(Error("nike AND lnag:en"),
            "rules/x.yaml:7:26: unknown field \"lnag:\" (did you mean \"lang:\"?)\n"
            "  hint: fields are lang:, platform:, author:, country: and raw:; to search for the "
            "text itself, quote it: \"lnag:en\"");
  EXPECT_EQ(Error("foo:bar"),
            "rules/x.yaml:7:17: unknown field \"foo:\"\n"
            "  hint: fields are lang:, platform:, author:, country: and raw:; to search for the "
            "text itself, quote it: \"foo:bar\"");
  EXPECT_EQ(Error("a OR lang:"),
            "rules/x.yaml:7:22: empty value for field \"lang:\"\n"
            "  hint: write it without spaces, e.g. lang:en or raw:\"Exact Case\"");
  // A quoted colon is a plain term.
  EXPECT_EQ(Parse("\"foo:bar\""), "foo:bar");
}

TEST(QueryTest, Near) {
  const std::string kHint =
      "\n  hint: write NEAR/n or NEAR/nf, n being the most words allowed between the operands "
      "(0..1000)";
  EXPECT_EQ(Error("a NEAR b"), "rules/x.yaml:7:19: bad NEAR distance \"NEAR\"" + kHint);
  EXPECT_EQ(Error("a NEAR/x b"), "rules/x.yaml:7:19: bad NEAR distance \"NEAR/x\"" + kHint);
  EXPECT_EQ(Error("a NEAR/-1 b"), "rules/x.yaml:7:19: bad NEAR distance \"NEAR/-1\"" + kHint);
  EXPECT_EQ(Error("a NEAR/1001 b"), "rules/x.yaml:7:19: bad NEAR distance \"NEAR/1001\"" + kHint);
  EXPECT_EQ(Error("a NEAR/2g b"), "rules/x.yaml:7:19: bad NEAR distance \"NEAR/2g\"" + kHint);
  const std::string kOperands = "NEAR operands must be terms, phrases or (a OR b) groups";
  EXPECT_EQ(Error("(a AND b) NEAR/2 c"), "rules/x.yaml:7:18: " + kOperands);
  EXPECT_EQ(Error("a NEAR/2 (b AND c)"), "rules/x.yaml:7:27: " + kOperands);
  EXPECT_EQ(Error("a NEAR/2 NOT b"), "rules/x.yaml:7:26: " + kOperands);
  EXPECT_EQ(Error("a NEAR/2 lang:en"), "rules/x.yaml:7:26: " + kOperands);
  EXPECT_EQ(Error("a NEAR/2 b NEAR/3 c"), "rules/x.yaml:7:19: " + kOperands);
  EXPECT_EQ(Error("a NEAR/2 (b OR (c AND d))"), "rules/x.yaml:7:27: " + kOperands);
  EXPECT_EQ(Error("NEAR/2 a"), "rules/x.yaml:7:17: operator NEAR/2 is missing its left operand");
}

TEST(QueryTest, Quotes) {
  EXPECT_EQ(Error("a OR \"just do it"),
            "rules/x.yaml:7:22: unterminated quote\n  hint: close the phrase with '\"'");
  EXPECT_EQ(Error("raw:\"Exact"),
            "rules/x.yaml:7:21: unterminated quote\n  hint: close the phrase with '\"'");
  EXPECT_EQ(Error("a OR \"\""), "rules/x.yaml:7:22: empty phrase \"\"");
}

TEST(QueryTest, Wildcards) {
  EXPECT_EQ(Error("ru*n"),
            "rules/x.yaml:7:17: '*' is only allowed at the end of a term (\"runn*\" matches "
            "words starting with runn)\n  hint: quote the term to match it literally: \"ru*n\"");
  EXPECT_FALSE(Error("*").empty());
}

TEST(QueryTest, DepthLimit) {
  std::string ok = std::string(64, '(') + "a" + std::string(64, ')');
  EXPECT_EQ(Parse(ok), "a");
  std::string deep = std::string(65, '(') + "a" + std::string(65, ')');
  EXPECT_EQ(Error(deep),
            "rules/x.yaml:7:81: query nested too deeply (more than 64 levels of parentheses "
            "and NOT)");
  // A hostile query far past the limit fails cleanly rather than overflowing.
  std::string hostile;
  for (int i = 0; i < 20000; ++i) hostile += "NOT (";
  EXPECT_FALSE(Error(hostile).empty());
  std::string wide;
  for (int i = 0; i < 10000; ++i) wide += "a" + std::to_string(i) + " OR ";
  wide += "z";
  Diagnostics d;
  auto e = ParseQuery(wide, kOrigin, &d);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->children.size(), 10001u);
}

}  // namespace
}  // namespace earshot::rules
