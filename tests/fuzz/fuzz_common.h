#pragma once
// Shared by the fuzz targets: a small compiled rule set, so that every
// decoded text also goes through normalization and matching.

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "rules/loader.h"
#include "rules/rule_set.h"

namespace earshot::fuzz {

// Rules with every kind of atom: words, phrases, tags, mentions, prefixes,
// Arabic and CJK terms, regexes, queries with NEAR, fields and raw.
inline const char* kFuzzRules = R"(category: sneakers
brands:
  - name: nike
    terms: [nike, "just do it", "#nike", "@nike", runn*, نايكي, ナイキ]
    exclude: ["nike missile"]
    regex: ['air\s?max\s?\d+']
  - name: adidas
    query: '(adidas OR "three stripes" OR أديداس) AND NOT (job OR hiring) OR (boost NEAR/3 shoe) OR raw:"ADIDAS" OR (lang:en AND platform:twitter AND yeezy)'
topics:
  - name: pricing
    terms: [price, 价格, ราคา, سعر]
)";

// Compiles kFuzzRules once (from a temporary file: the loader reads files).
inline std::shared_ptr<const rules::RuleSet> FuzzRuleSet() {
  static std::shared_ptr<const rules::RuleSet> set = [] {
    char path[] = "/tmp/earshot-fuzz-rules-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    if (fd < 0) abort();
    if (write(fd, kFuzzRules, strlen(kFuzzRules)) < 0) abort();
    close(fd);
    rules::RuleSetDef def;
    Diagnostics d;
    if (!rules::LoadRuleFiles({path}, &def, &d)) abort();
    unlink(path);
    auto s = rules::RuleSet::Compile(def, rules::CompileOptions{}, &d);
    if (!s) abort();
    return s;
  }();
  return set;
}

}  // namespace earshot::fuzz
