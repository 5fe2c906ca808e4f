#pragma once
// Parser for the boolean query language of docs/rules.md:
//   terms, "quoted phrases", #tags, @mentions, prefix*, AND, OR, NOT (unary),
//   parentheses, A NEAR/n B, A NEAR/nf B, lang:, platform:, author:,
//   country:, raw:"Exact Case".
// Precedence, tightest first: NEAR, NOT, AND, OR.
// Errors are reported at their position inside the query: `origin` is where
// the query's first character sits in the rule file.

#include <optional>
#include <string_view>
#include <vector>

#include "base/diagnostics.h"
#include "rules/model.h"

namespace earshot::rules {

// Where one byte of a query sits in its file (1-based line, byte column).
struct QueryPosition {
  int line = 0;
  int col = 0;
};

// `positions`, when given, holds one entry per byte of `query` plus one for
// its end: for a query whose YAML value differs from its source (quotes,
// escapes, folded lines), positions re-read from the source. Without it,
// positions count from `origin`, a newline going to the next line at
// origin.col (exact for block scalars).
std::optional<Expr> ParseQuery(std::string_view query, const SourceLoc& origin,
                               Diagnostics* diags,
                               const std::vector<QueryPosition>* positions = nullptr);

}  // namespace earshot::rules
