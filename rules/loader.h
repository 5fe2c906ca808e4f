#pragma once
// Loads rule files (docs/rules.md) into a RuleSetDef. `paths` are files or
// directories (every *.yaml / *.yml inside, sorted, non-recursive). Every
// error is reported, compiler-style, to `diags`; returns false if any.

#include <string>
#include <vector>

#include <memory>

#include "base/diagnostics.h"
#include "rules/model.h"
#include "rules/rule_set.h"

namespace earshot::rules {

bool LoadRuleFiles(const std::vector<std::string>& paths, RuleSetDef* out, Diagnostics* diags);

// Loads `paths` into `def` and compiles it with `options`: what `run`,
// `check`, `diff` and a reload do. Every load and compile error is reported
// at once, in file and line order (a rule the loader rejected is still
// compiled for its own errors); on any error returns null.
std::shared_ptr<const RuleSet> LoadAndCompile(const std::vector<std::string>& paths,
                                              const CompileOptions& options, RuleSetDef* def,
                                              Diagnostics* diags);

// Expands `paths` into the list of rule files that LoadRuleFiles reads
// (used by the reload watcher).
std::vector<std::string> ExpandRulePaths(const std::vector<std::string>& paths);

// Whether a directory entry is a rule file: `*.yaml` or `*.yml`, not hidden
// (editors' lock and swap files start with a dot).
bool IsRuleFileName(const std::string& name);

}  // namespace earshot::rules
