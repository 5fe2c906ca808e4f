#pragma once
// The rule model as written in rule files, before compilation: what the YAML
// loader (rules/loader.h) and the query parser (rules/query.h) produce and the
// compiler (rules/rule_set.h) consumes. Plain values, thread-compatible.

#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.h"

namespace earshot::rules {

// A term as written: `nike`, `just do it`, `#nike`, `@nike`, `runn*`, or a
// no-space-script literal such as `ナイキ`. Normalized by the compiler.
struct TermSpec {
  std::string text;
  SourceLoc loc;
};

// Boolean query AST (docs/rules.md). Also the compiler's target for
// `terms`/`exclude`/`regex`/`platforms`/`languages`, so every rule is
// evaluated the same way.
enum class ExprKind {
  kTerm,   // text = the term (a phrase when it contains spaces)
  kRegex,  // text = RE2 pattern, applied to the normalized text
  kRaw,    // text = exact-case literal, matched in the original text
  kField,  // field + text = value
  kAnd,    // children: 2+
  kOr,     // children: 2+
  kNot,    // children: 1
  kNear,   // children: 2; near_distance, near_ordered
};

enum class FieldKind { kLang, kPlatform, kAuthor, kCountry };

struct Expr {
  ExprKind kind = ExprKind::kTerm;
  std::string text;
  FieldKind field = FieldKind::kLang;
  int near_distance = 0;
  bool near_ordered = false;  // NEAR/nf: the first operand comes first
  std::vector<Expr> children;
  SourceLoc loc;  // position of the construct inside the rule file
};

// A brand (inside a category) or a topic.
struct RuleDef {
  std::string name;
  SourceLoc loc;
  std::vector<TermSpec> terms;
  std::vector<TermSpec> exclude;
  std::vector<TermSpec> regex;
  std::optional<Expr> query;  // parsed `query:`, when present
  std::vector<std::string> platforms;  // empty: all
  std::vector<SourceLoc> platform_locs;  // where each of `platforms` is written
  std::vector<std::string> languages;  // empty: all; else an event without lang fails
  // Terms, excludes and query operands starting with an Arabic letter also
  // match with a proclitic joined to them (و, ال, ...): the rule file's
  // top-level `arabic_proclitics` (default true).
  bool arabic_proclitics = true;
  // The loader reported an error for this rule, its name (a duplicate) or
  // its file's category. It is kept only so that the compiler reports the
  // rule's other errors too (all errors at once); a load with such a rule
  // fails, so it is never matched.
  bool rejected = false;
};

struct CategoryDef {
  std::string name;
  SourceLoc loc;
  std::vector<RuleDef> brands;
};

// One `tests:` case of a rule file, run by `earshot test`.
struct RuleTestCase {
  SourceLoc loc;
  std::string text;
  std::string platform;  // "" = twitter? no: "" means unspecified (filters with a list fail)
  std::string lang;
  std::string author;  // handle
  std::string country;
  std::vector<std::string> brands;  // "category/brand", sorted
  std::vector<std::string> topics;  // sorted
  bool has_brands = false;          // the case states `brands:` (an empty list is a claim too)
  bool has_topics = false;
};

// Everything loaded from a set of rule files. Categories with the same name
// in several files are merged; brand names are unique within a category.
struct RuleSetDef {
  std::vector<CategoryDef> categories;
  std::vector<RuleDef> topics;
  std::vector<RuleTestCase> tests;
  std::vector<std::string> files;  // the files that were read
};

}  // namespace earshot::rules
