// Fuzzes the matcher's hot path with any bytes as an event's text, against
// oracles that share none of its fast paths:
//   - the normalizer (ASCII, 64-byte block and table paths, with and without
//     offsets) against the general ICU path, byte for byte;
//   - every brand's firing against docs/matching.md read literally
//     (tests/fuzz/match_reference.h): words, phrases, tags, prefixes,
//     Arabic proclitics, the no-space-script edge rule; terms, excludes,
//     boolean queries and NEAR, with the rule file's `arabic_proclitics` on
//     and off;
//   - the words the tokenizer reports against the maximal runs of word
//     characters;
//   - the no-space literals' automaton against the code-point index it
//     replaced, brands and `explain` alike, and `explain`'s "fired:" lines
//     against Match();
//   - the built-in sentiment lexicon's reading of the matcher's hits (its
//     vocabulary compiled into the rule set, as the daemon does) against
//     its own look-ups of the words.
// A disagreement prints the text and aborts; AddressSanitizer watches the
// SIMD block readers' bounds.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostics.h"
#include "base/platform.h"
#include "rules/matcher_chars.h"
#include "rules/normalizer.h"
#include "rules/query.h"
#include "rules/rule_set.h"
#include "rules/sentiment.h"
#include "tests/fuzz/match_reference.h"

namespace {

using earshot::rules::RuleSet;

// One brand a term; the terms of tests/unit/rule_set_test.cc's differential
// tests, which reach every kind of atom the reference reads.
const std::vector<std::string>& Terms() {
  static const std::vector<std::string> terms = {
      "nike",       "#nike",    "@nike",       "run*",      "just do it", "ナイキ",    "東京",
      "nike東京",   "耐克 nike", "x",          "ss",        "نايكي",      "do it*",   "_",
      "é",          "#ナイキ",   "ナ*",         "ru*",       "nike nike",  "東京 ناي*", "الاهلي",
      "@x",         "it",       "نايكي ستور",  "just #do it", "nike @x", "ナイキ #東京", "do#it",
      "air max",    "_x",       "a1",          "東京 ナイキ", "zz",        "اديداس",   "الهلا*",
      "ไนกี้",        "ナイキア",  "スニーカー",   "ー",        "#اديداس",   "@الاهلي",  "وطن"};
  return terms;
}

// A brand of the fuzzed rule set: a term, a term and an exclude, or a
// boolean query of terms, each with the rule file's `arabic_proclitics` on
// and (where it matters) off.
struct Case {
  earshot::rules::RuleDef rule;
  std::string label;  // for a failure's message
};

// Whether `e` (terms, AND, OR, NOT, NEAR) holds of `text` by the reference
// reading.
bool Holds(const earshot::rules::Expr& e, const std::string& text, bool proclitics) {
  using earshot::rules::ExprKind;
  switch (e.kind) {
    case ExprKind::kTerm:
      return earshot::rules::reference::ReferenceMatch(e.text, text, proclitics);
    case ExprKind::kAnd:
      for (const auto& c : e.children) {
        if (!Holds(c, text, proclitics)) return false;
      }
      return true;
    case ExprKind::kOr:
      for (const auto& c : e.children) {
        if (Holds(c, text, proclitics)) return true;
      }
      return false;
    case ExprKind::kNot:
      return !Holds(e.children[0], text, proclitics);
    case ExprKind::kNear: {
      auto terms = [](const earshot::rules::Expr& operand) {  // a term or an OR of them
        std::vector<std::string> out;
        if (operand.kind == ExprKind::kTerm) out.push_back(operand.text);
        for (const auto& c : operand.children) out.push_back(c.text);
        return out;
      };
      return earshot::rules::reference::ReferenceNear(terms(e.children[0]), terms(e.children[1]),
                                                      e.near_distance, e.near_ordered, text,
                                                      proclitics);
    }
    default:
      std::abort();  // the queries below use no other kind
  }
}

// Whether the brand must fire on `text`.
bool Expected(const Case& c, const std::string& text) {
  using earshot::rules::reference::ReferenceMatch;
  const earshot::rules::RuleDef& r = c.rule;
  if (r.query) return Holds(*r.query, text, r.arabic_proclitics);
  bool any = false;
  for (const auto& t : r.terms) any = any || ReferenceMatch(t.text, text, r.arabic_proclitics);
  for (const auto& t : r.exclude) any = any && !ReferenceMatch(t.text, text, r.arabic_proclitics);
  return any;
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = [] {
    using namespace earshot::rules;
    const earshot::SourceLoc loc{"fuzz.yaml", 1, 1};
    std::vector<Case> out;
    auto add = [&](RuleDef r, std::string label) {
      r.name = "b" + std::to_string(out.size());
      r.loc = loc;
      out.push_back(Case{std::move(r), std::move(label)});
    };
    for (const std::string& t : Terms()) {
      RuleDef r;
      r.terms.push_back(TermSpec{t, loc});
      add(r, "term \"" + t + "\"");
      const auto lead = static_cast<unsigned char>(t[0]);
      if (lead >= 0xD8 && lead <= 0xDB) {  // Arabic: the key changes what it matches
        r.arabic_proclitics = false;
        add(r, "term \"" + t + "\", arabic_proclitics: false");
      }
    }
    const std::pair<const char*, const char*> excludes[] = {
        {"nike", "nike nike"}, {"نايكي", "نايكي ستور"}, {"東京", "東京 ナイキ"},
        {"اديداس", "#اديداس"}, {"الاهلي", "اهلي"},     {"run*", "running"}};
    for (const auto& [t, x] : excludes) {
      RuleDef r;
      r.terms.push_back(TermSpec{t, loc});
      r.exclude.push_back(TermSpec{x, loc});
      add(r, std::string("term \"") + t + "\", exclude \"" + x + "\"");
    }
    const char* queries[] = {
        "nike AND NOT اديداس",
        "(ナイキ OR الاهلي) AND (run* OR \"just do it\")",
        "NOT (x OR ss) AND (نايكي OR 東京)",
        "\"نايكي ستور\" OR (الهلا* AND NOT #اديداس) OR @الاهلي",
        "nike NEAR/0 (run* OR x)",
        "(\"just do it\" OR nike) NEAR/2 (nike OR ss)",
        "نايكي NEAR/1f (اديداس OR الاهلي)",
        "(ナイキ OR 東京) NEAR/0 (スニーカー OR nike)",
        "#nike NEAR/1 (nike OR @x)",
        "(الهلا* OR وطن) NEAR/3f (x OR \"air max\")",
    };
    for (const char* q : queries) {
      earshot::Diagnostics diags;
      std::optional<Expr> e = ParseQuery(q, loc, &diags);
      if (!e) {
        std::fprintf(stderr, "fuzz_matcher_differential: %s\n", diags.ToString().c_str());
        std::abort();
      }
      RuleDef r;
      r.query = *e;
      add(r, std::string("query ") + q);
      r.arabic_proclitics = false;
      add(r, std::string("query ") + q + ", arabic_proclitics: false");
    }
    return out;
  }();
  return cases;
}

// `lexicon`: its vocabulary compiled in, as the daemon does (the matcher
// then finds the lexicon's words for Classify()).
std::shared_ptr<const RuleSet> Compile(bool literal_automaton,
                                       const earshot::rules::SentimentLexicon* lexicon = nullptr) {
  earshot::rules::RuleSetDef def;
  earshot::rules::CategoryDef c;
  c.name = "c";
  for (const Case& k : Cases()) c.brands.push_back(k.rule);
  def.categories.push_back(std::move(c));
  earshot::rules::CompileOptions opts;
  opts.literal_automaton = literal_automaton;
  if (lexicon != nullptr) lexicon->AddVocabulary(&opts);
  earshot::Diagnostics diags;
  auto set = RuleSet::Compile(def, opts, &diags);
  if (!set || !diags.ok()) {
    std::fprintf(stderr, "fuzz_matcher_differential: rules do not compile:\n%s\n",
                 diags.ToString().c_str());
    std::abort();
  }
  return set;
}

// `s` printable: control bytes as \xNN, and when `s` is not valid UTF-8,
// every byte above 0x7F too.
std::string Escaped(std::string_view s) {
  const bool valid = earshot::rules::ToValidUtf8(s) == s;
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || (c > 0x7F && !valid)) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out;
}

[[noreturn]] void Fail(const char* what, const std::string& text, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz_matcher_differential: %s\n  text: \"%s\"\n%s\n", what,
               Escaped(text).c_str(), detail.c_str());
  std::abort();
}

size_t CountFired(const std::string& report) {
  size_t n = 0;
  for (size_t at = report.find("fired: brand "); at != std::string::npos;
       at = report.find("fired: brand ", at + 1)) {
    n += at == 0 || report[at - 1] == '\n';  // not "not fired: brand"
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace earshot::rules;
  if (size > 4096) return 0;  // several 64-byte blocks; the reference is slow
  const std::string text(reinterpret_cast<const char*>(data), size);

  // The normalizer's fast paths against ICU.
  static std::string fast, with_offsets, slow;
  static std::vector<uint32_t> offsets;
  const NormalizeInfo f = Normalize(text, &fast);
  Normalize(text, &with_offsets, &offsets);
  const NormalizeInfo s = internal::NormalizeViaIcu(text, &slow);
  if (fast != slow) {
    Fail("Normalize differs from the ICU path", text,
         "  fast: \"" + Escaped(fast) + "\"\n  icu:  \"" + Escaped(slow) + "\"");
  }
  if (with_offsets != slow) Fail("Normalize with offsets differs from the ICU path", text);
  if (f.has_nospace_script != s.has_nospace_script) Fail("has_nospace_script differs", text);
  if (offsets.size() != with_offsets.size() + 1 || offsets.back() != text.size()) {
    Fail("offsets are not one per output byte plus the end", text);
  }
  for (size_t i = 0; i + 1 < offsets.size(); ++i) {
    if (offsets[i] > offsets[i + 1] || offsets[i] >= text.size()) {
      Fail("offsets out of order or past the text", text);
    }
  }

  static const std::shared_ptr<const RuleSet> automaton = Compile(true);
  static const std::shared_ptr<const RuleSet> index = Compile(false);
  static const earshot::PlatformTable platforms({"twitter"});
  static MatchScratch sa, sb;
  static MatchOutput oa, ob;
  const MatchInput in = ToMatchInput({text, "twitter", "", "", ""}, platforms);
  automaton->Match(in, &sa, &oa);
  index->Match(in, &sb, &ob);

  // Every brand against the reference reading.
  for (size_t i = 0; i < Cases().size(); ++i) {
    const bool got = std::find(oa.brands.begin(), oa.brands.end(), i) != oa.brands.end();
    if (got != Expected(Cases()[i], text)) {
      Fail(got ? "fired, the reference does not match" : "did not fire, the reference matches",
           text, "  brand: " + Cases()[i].label);
    }
  }
  // The tokenizer's words.
  const auto runs = reference::WordRuns(sa.normalized);
  if (sa.words.size() != runs.size()) Fail("word count differs from the word runs", text);
  for (size_t w = 0; w < runs.size(); ++w) {
    if (sa.words[w].begin != runs[w].first || sa.words[w].end != runs[w].second) {
      Fail("a word differs from the word runs", text);
    }
  }
  // Sentiment from the words the matcher found (the lexicon's vocabulary
  // compiled in) against the lexicon's own look-ups.
  static const auto lexicon = SentimentLexicon::BuiltIn();
  static const std::shared_ptr<const RuleSet> with_vocabulary = Compile(true, lexicon.get());
  static MatchScratch sv;
  static MatchOutput ov;
  with_vocabulary->Match(in, &sv, &ov);
  if (ov.brands != oa.brands) Fail("the lexicon's vocabulary changes which brands fire", text);
  if (lexicon->Classify(sv) != lexicon->Classify(sa)) {
    Fail("sentiment from the matcher's hits differs from the lexicon's look-ups", text,
         std::string("  hits: ") + SentimentName(lexicon->Classify(sv)) +
             ", look-ups: " + SentimentName(lexicon->Classify(sa)));
  }
  // The automaton against the code-point index, and explain against Match.
  if (oa.brands != ob.brands) Fail("automaton and code-point index fire different brands", text);
  const std::string report = automaton->Explain(in);
  if (report != index->Explain(in)) {
    Fail("automaton and code-point index explain differently", text);
  }
  // (explain echoes the text as it is: a newline in it could start a
  // line of its own that reads "fired: brand".)
  if (text.find('\n') == std::string::npos && CountFired(report) != oa.brands.size()) {
    Fail("explain's fired brands differ from Match's", text, report);
  }
  return 0;
}
