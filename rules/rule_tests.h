#pragma once
// Runs the `tests:` cases of rule files against a compiled RuleSet, for
// `earshot test` (docs/api.md). Output reads like a test runner:
//   PASS rules/sneakers.yaml:40:5
//   FAIL rules/sneakers.yaml:44:5 "Nike vs Adidas: which is better?"
//     brands: expected [sneakers/nike] got [sneakers/adidas, sneakers/nike]
//     + sneakers/adidas
//   12 passed, 1 failed
// `+` lines name what fired but was not expected, `-` lines what was expected
// but did not fire. A case without `brands:` does not check brands; likewise
// `topics:`. Each case's event goes through ToMatchInput with the
// deployment's platforms, as the daemon's events do (an event without
// `platform`, or with one outside the list, is matched as "other").
// Stateless; safe to call from any thread with its own `out`.

#include <ostream>

#include "rules/model.h"
#include "rules/rule_set.h"

namespace earshot::rules {

struct RuleTestSummary {
  int passed = 0;
  int failed = 0;
};

// Runs every case of `def.tests` against `rules` (compiled from `def`).
// `verbose` adds each passing case's text and, for a failing case, the
// matcher's explanation (RuleSet::Explain).
RuleTestSummary RunRuleTests(const RuleSetDef& def, const RuleSet& rules,
                             const PlatformTable& platforms, std::ostream& out, bool verbose);

}  // namespace earshot::rules
