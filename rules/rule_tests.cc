#include "rules/rule_tests.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "rules/normalizer.h"

namespace earshot::rules {
namespace {

constexpr size_t kSnippetChars = 60;

// The event text as a one-line quoted snippet of at most kSnippetChars
// characters.
std::string Snippet(std::string_view text) {
  std::string out = "\"";
  size_t i = 0, chars = 0;
  while (i < text.size()) {
    if (chars == kSnippetChars) {
      out += "...";
      break;
    }
    size_t start = i;
    char32_t cp = DecodeUtf8(text, &i);
    ++chars;
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == 0xFFFD) {
      AppendUtf8(cp, &out);
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  out += "\"";
  return out;
}

std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += v[i];
  }
  return out + "]";
}

// Prints the diff of one checked field; returns whether it matched.
bool Compare(const char* what, const std::vector<std::string>& expected,
             const std::vector<std::string>& got, const std::set<std::string>& known,
             std::string* report) {
  if (expected == got) return true;
  *report += std::string("  ") + what + ": expected " + List(expected) + " got " + List(got) + "\n";
  for (const auto& g : got) {
    if (!std::binary_search(expected.begin(), expected.end(), g)) *report += "  + " + g + "\n";
  }
  for (const auto& e : expected) {
    if (std::binary_search(got.begin(), got.end(), e)) continue;
    *report += "  - " + e;
    if (!known.count(e)) {
      *report += std::string(" (no such ") + (what[0] == 'b' ? "brand" : "topic") + " is loaded)";
    }
    *report += "\n";
  }
  return false;
}

std::string LocString(const SourceLoc& loc) {
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

}  // namespace

RuleTestSummary RunRuleTests(const RuleSetDef& def, const RuleSet& rules,
                             const PlatformTable& platforms, std::ostream& out,
                             bool verbose) {
  RuleTestSummary summary;
  std::set<std::string> known_brands, known_topics;
  for (const auto& b : rules.brands()) known_brands.insert(b.category + "/" + b.name);
  for (const auto& t : rules.topics()) known_topics.insert(t);

  MatchScratch scratch;
  MatchOutput result;
  for (const auto& tc : def.tests) {
    const MatchInput in =
        ToMatchInput({tc.text, tc.platform, tc.lang, tc.author, tc.country}, platforms);
    result.clear();
    rules.Match(in, &scratch, &result);

    std::vector<std::string> brands, topics;
    for (uint32_t i : result.brands) {
      const auto& b = rules.brands()[i];
      brands.push_back(b.category + "/" + b.name);
    }
    for (uint32_t i : result.topics) topics.push_back(rules.topics()[i]);
    std::sort(brands.begin(), brands.end());
    std::sort(topics.begin(), topics.end());

    std::string report;
    bool ok = true;
    if (tc.has_brands) ok &= Compare("brands", tc.brands, brands, known_brands, &report);
    if (tc.has_topics) ok &= Compare("topics", tc.topics, topics, known_topics, &report);
    if (ok) {
      ++summary.passed;
      out << "PASS " << LocString(tc.loc);
      if (verbose) out << " " << Snippet(tc.text);
      out << "\n";
      continue;
    }
    ++summary.failed;
    out << "FAIL " << LocString(tc.loc) << " " << Snippet(tc.text) << "\n" << report;
    if (verbose) {
      std::string explain = rules.Explain(in);
      size_t start = 0;
      while (start < explain.size()) {
        size_t nl = explain.find('\n', start);
        if (nl == std::string::npos) nl = explain.size();
        out << "    | " << explain.substr(start, nl - start) << "\n";
        start = nl + 1;
      }
    }
  }
  out << summary.passed << " passed, " << summary.failed << " failed\n";
  return summary;
}

}  // namespace earshot::rules
