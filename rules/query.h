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

#include "base/diagnostics.h"
#include "rules/model.h"

namespace earshot::rules {

std::optional<Expr> ParseQuery(std::string_view query, const SourceLoc& origin,
                               Diagnostics* diags);

}  // namespace earshot::rules
