#pragma once
// Loads rule files (docs/rules.md) into a RuleSetDef. `paths` are files or
// directories (every *.yaml / *.yml inside, sorted, non-recursive). Every
// error is reported, compiler-style, to `diags`; returns false if any.

#include <string>
#include <vector>

#include "base/diagnostics.h"
#include "rules/model.h"

namespace earshot::rules {

bool LoadRuleFiles(const std::vector<std::string>& paths, RuleSetDef* out, Diagnostics* diags);

// Expands `paths` into the list of rule files that LoadRuleFiles reads
// (used by the reload watcher).
std::vector<std::string> ExpandRulePaths(const std::vector<std::string>& paths);

}  // namespace earshot::rules
