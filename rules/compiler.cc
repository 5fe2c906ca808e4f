// The rule compiler (docs/matching.md and docs/rules.md): rule definitions from the
// loader (rules/model.h) -> the compiled form of rules/compiled_rules.h.
//
// Every term, exclude, regex, filter and query of every brand and topic
// becomes one boolean expression over atoms, so all rules are evaluated the
// same way. Atoms are indexed for the matcher's single pass:
//   - terms whose first word has no no-space-script character: a hash index
//     keyed by that word (exact) or by a prefix (`runn*`); a phrase verifies
//     its following words after the first-word hit;
//   - terms whose first word contains a no-space-script character (ナイキ,
//     耐克, nike東京): an index keyed by their first two code points, probed
//     at every position inside no-space-script runs (only when the text has
//     such characters);
//   - regexes: one RE2::Set, run only when there are regexes;
//   - raw literals: the same code-point index, over the original text;
//   - CompileOptions::vocabulary (the sentiment lexicon's words): tagged
//     values in the term index, reported as MatchScratch::vocabulary_hits.
// Each rule also gets what lets the matcher skip work: the rules that can
// fire with no atom hit (a three-valued evaluation), and whether a rule is a
// plain OR of its atoms (then a hit means it fired).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_map>

#include "base/platform.h"
#include "base/strings.h"
#include "rules/arabic_proclitics.h"
#include "rules/compiled_rules.h"

namespace earshot::rules {
namespace internal {
namespace {

std::atomic<uint64_t> g_next_set_id{1};

std::string_view StripQuotes(std::string_view s) {
  s = TrimAsciiSpace(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = TrimAsciiSpace(s.substr(1, s.size() - 2));
  }
  return s;
}

// Precedence for printing queries.
int Precedence(ExprKind k) {
  switch (k) {
    case ExprKind::kOr:
      return 1;
    case ExprKind::kAnd:
      return 2;
    case ExprKind::kNot:
      return 3;
    case ExprKind::kNear:
      return 4;
    default:
      return 5;
  }
}

std::string FieldName(FieldKind f) {
  switch (f) {
    case FieldKind::kLang:
      return "lang";
    case FieldKind::kPlatform:
      return "platform";
    case FieldKind::kAuthor:
      return "author";
    case FieldKind::kCountry:
      return "country";
  }
  return "?";
}

// The Arabic letters of docs/matching.md (normalized text).
bool IsArabicLetter(char32_t c) {
  return (c >= 0x0621 && c <= 0x064A) || (c >= 0x066E && c <= 0x06D3) ||
         (c >= 0x06FA && c <= 0x06FF);
}

// Every code point of `word` is of a no-space script.
bool AllNoSpace(std::string_view word, const uint8_t* flags) {
  for (size_t i = 0; i < word.size();) {
    if (!(CharFlags(flags, CpAt(word, &i)) & kCharNoSpace)) return false;
  }
  return !word.empty();
}

}  // namespace

std::string ExprToString(const Expr& e) {
  auto child = [&](const Expr& c, int min_prec) {
    std::string s = ExprToString(c);
    return Precedence(c.kind) < min_prec ? "(" + s + ")" : s;
  };
  switch (e.kind) {
    case ExprKind::kTerm: {
      std::string t(StripQuotes(e.text));
      return t.find(' ') != std::string::npos ? "\"" + t + "\"" : t;
    }
    case ExprKind::kRegex:
      return "regex:\"" + e.text + "\"";
    case ExprKind::kRaw:
      return "raw:\"" + e.text + "\"";
    case ExprKind::kField:
      return FieldName(e.field) + ":" + e.text;
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      std::string r;
      const char* sep = e.kind == ExprKind::kAnd ? " AND " : " OR ";
      for (size_t i = 0; i < e.children.size(); ++i) {
        if (i) r += sep;
        r += child(e.children[i], Precedence(e.kind) + (e.kind == ExprKind::kAnd ? 0 : 0));
      }
      return r;
    }
    case ExprKind::kNot:
      return e.children.empty() ? "NOT" : "NOT " + child(e.children[0], 3);
    case ExprKind::kNear: {
      std::string op = " NEAR/" + std::to_string(e.near_distance) + (e.near_ordered ? "f " : " ");
      if (e.children.size() != 2) return "NEAR";
      return child(e.children[0], 5) + op + child(e.children[1], 5);
    }
  }
  return "?";
}

int ExprDepth(const Expr& e) {
  int d = 0;
  for (const auto& c : e.children) d = std::max(d, ExprDepth(c));
  return d + 1;
}

// ---------------------------------------------------------------------------
// Compiler.

class Compiler {
 public:
  Compiler(const CompileOptions& opt, Diagnostics* diags, RuleSetImpl* rs)
      : opt_(opt), diags_(diags), rs_(rs) {}

  bool Run(const RuleSetDef& def);

 private:
  uint32_t AddNode(Op op, uint32_t arg, const std::vector<uint32_t>& children, std::string text) {
    Node n;
    n.op = op;
    n.arg = arg;
    n.cbegin = static_cast<uint32_t>(rs_->child_ids_.size());
    rs_->child_ids_.insert(rs_->child_ids_.end(), children.begin(), children.end());
    n.cend = static_cast<uint32_t>(rs_->child_ids_.size());
    n.text = std::move(text);
    rs_->nodes_.push_back(std::move(n));
    return static_cast<uint32_t>(rs_->nodes_.size() - 1);
  }
  bool CheckAtomLimit(const SourceLoc& loc) {
    const size_t limit = std::min<size_t>(static_cast<size_t>(opt_.max_atoms), kAtomMask);
    if (rs_->atoms_.size() < limit) return true;
    if (!atom_limit_reported_) {
      diags_->Error(loc, "too many distinct terms (max_atoms is " + std::to_string(limit) + ")");
      atom_limit_reported_ = true;
    }
    return false;
  }
  uint32_t TermAtom(std::string_view text, const SourceLoc& loc);
  uint32_t RegexAtom(const std::string& pattern, const SourceLoc& loc);
  uint32_t RawAtom(std::string_view text, const SourceLoc& loc);
  uint32_t CompileExpr(const Expr& e, Rule* rule, bool negated);
  bool NearOperand(const Expr& e, std::vector<uint32_t>* atoms, Rule* rule);
  // `value_locs`, when given, holds each value's own position (errors are
  // reported there instead of at `rule_loc`).
  uint32_t FieldNode(FieldKind kind, const std::vector<std::string>& values,
                     const SourceLoc& rule_loc, std::string text,
                     const std::vector<SourceLoc>* value_locs = nullptr);
  void CompileRule(const RuleDef& def, Rule* rule);
  Tri Possible(uint32_t node) const;
  bool AnyAtomFires(const Rule& rule) const;
  void BuildIndexes();

  const CompileOptions& opt_;
  Diagnostics* diags_;
  RuleSetImpl* rs_;
  std::unordered_map<std::string, uint32_t> atom_ids_;
  bool atom_limit_reported_ = false;
  std::vector<std::string> platform_names_;
  bool proclitics_ = true;  // the rule being compiled: RuleDef::arabic_proclitics
};

uint32_t Compiler::TermAtom(std::string_view text, const SourceLoc& loc) {
  std::string_view t = StripQuotes(text);
  std::string display(t);
  bool prefix = false;
  while (!t.empty() && t.back() == '*') {
    prefix = true;
    t.remove_suffix(1);
  }
  std::string norm;
  Normalize(t, &norm);
  Pattern p;
  p.prefix = prefix;
  const uint8_t* flags = rs_->flags_;
  // Split into words (runs of word characters); a leading '#'/'@' directly
  // before the first word makes it a hashtag/mention term.
  size_t i = 0;
  char32_t prev = 0;
  char32_t prev2 = 0;  // the code point before prev
  bool in_word = false;
  bool first_cp = true;
  while (i < norm.size()) {
    size_t start = i;
    char32_t cp = CpAt(norm, &i);
    uint8_t f = CharFlags(flags, cp);
    if (f & kCharWord) {
      if (!in_word) {
        if (p.words.empty() && !first_cp && start > 0 && (prev == '#' || prev == '@') &&
            start == norm.find_first_not_of(" \t") + 1) {
          p.tag = static_cast<char>(prev);
        }
        if (!p.words.empty()) {
          // The gap before this word may be empty only at a no-space edge.
          char32_t last = CpBefore(p.words.back(), p.words.back().size());
          p.gap_optional.push_back((CharFlags(flags, last) & kCharNoSpace) ||
                                   (f & kCharNoSpace));
          // A later word is a hashtag or mention when its '#'/'@' follows
          // a separator ("big #deal"); in "big#deal" the '#' only
          // separates, as '-' does in "coca-cola".
          if ((prev == '#' || prev == '@') && !(CharFlags(flags, prev2) & kCharWord)) {
            p.word_tags.resize(p.words.size() + 1, 0);
            p.word_tags.back() = static_cast<char>(prev);
          }
        } else {
          p.gap_optional.push_back(0);
        }
        p.words.emplace_back();
        in_word = true;
      }
      p.words.back().append(norm, start, i - start);
    } else {
      in_word = false;
    }
    prev2 = prev;
    prev = cp;
    first_cp = false;
  }
  if (p.words.empty()) {
    diags_->Error(loc, "term \"" + display + "\" is empty after normalization");
    return kNone;
  }
  if (proclitics_ && !p.tag) {
    std::string& w0 = p.words[0];
    size_t k = 0;
    if (IsArabicLetter(CpAt(w0, &k))) {
      if (IsArabicProclitic(w0)) {
        // The fixed wording first (docs/matching.md quotes it), then the
        // term; a phrase names its first word (normalized), then itself.
        std::string what = "\"" + display + "\"";
        if (p.words.size() > 1) what = "\"" + w0 + "\" (the first word of " + what + ")";
        diags_->Error(loc, "term is only an Arabic proclitic: " + what,
                      "و, ال, وال, بال, كال, فال and لل are matched joined to a term; to "
                      "match one on its own, set arabic_proclitics: false in this file");
        return kNone;
      }
      if (std::string_view(w0).substr(0, kArticle.size()) == kArticle) {
        p.proclitic = kProcliticArticle;
        w0.erase(0, kArticle.size());  // the index holds the rest
      } else {
        p.proclitic = kProcliticAny;
      }
    }
  }
  {
    const std::string& w0 = p.words[0];
    size_t k = 0;
    p.cp1 = CpAt(w0, &k);
    p.cp2 = k < w0.size() ? CpAt(w0, &k) : 0;
    for (size_t j = 0; j < w0.size();) {
      if (CharFlags(flags, CpAt(w0, &j)) & kCharNoSpace) p.first_nospace = true;
    }
    const std::string& wl = p.words.back();
    p.last_nospace = CharFlags(flags, CpBefore(wl, wl.size())) & kCharNoSpace;
  }
  std::string key = "t";
  key += p.tag ? p.tag : ' ';
  key += p.prefix ? '*' : ' ';
  key += static_cast<char>('0' + p.proclitic);
  for (size_t w = 0; w < p.words.size(); ++w) {
    key += '\0';
    if (w < p.word_tags.size() && p.word_tags[w] != 0) key += p.word_tags[w];
    key += p.words[w];
  }
  auto it = atom_ids_.find(key);
  if (it != atom_ids_.end()) return it->second;
  if (!CheckAtomLimit(loc)) return kNone;
  Atom a;
  a.kind = AtomKind::kTerm;
  a.display = display;
  a.index = static_cast<uint32_t>(rs_->patterns_.size());
  rs_->patterns_.push_back(std::move(p));
  rs_->atoms_.push_back(std::move(a));
  uint32_t id = static_cast<uint32_t>(rs_->atoms_.size() - 1);
  atom_ids_.emplace(std::move(key), id);
  return id;
}

uint32_t Compiler::RegexAtom(const std::string& pattern, const SourceLoc& loc) {
  std::string key = "r" + pattern;
  auto it = atom_ids_.find(key);
  if (it != atom_ids_.end()) return it->second;
  RE2::Options o;
  o.set_case_sensitive(false);
  o.set_log_errors(false);
  o.set_max_mem(opt_.regex_max_mem);
  auto re = std::make_unique<RE2>(pattern, o);
  if (!re->ok()) {
    if (re->error_code() == RE2::ErrorPatternTooLarge) {
      diags_->Error(loc, "regex \"" + pattern + "\" is too large (exceeds regex_max_mem of " +
                             std::to_string(opt_.regex_max_mem) + " bytes)");
    } else {
      diags_->Error(loc, "invalid regex \"" + pattern + "\": " + re->error());
    }
    return kNone;
  }
  if (!CheckAtomLimit(loc)) return kNone;
  Atom a;
  a.kind = AtomKind::kRegex;
  a.display = pattern;
  a.index = static_cast<uint32_t>(rs_->regexes_.size());
  rs_->regexes_.push_back(std::move(re));
  rs_->atoms_.push_back(std::move(a));
  uint32_t id = static_cast<uint32_t>(rs_->atoms_.size() - 1);
  atom_ids_.emplace(std::move(key), id);
  return id;
}

uint32_t Compiler::RawAtom(std::string_view text, const SourceLoc& loc) {
  std::string lit(StripQuotes(text));
  if (lit.empty()) {
    diags_->Error(loc, "raw literal is empty");
    return kNone;
  }
  std::string key = "w" + lit;
  auto it = atom_ids_.find(key);
  if (it != atom_ids_.end()) return it->second;
  if (!CheckAtomLimit(loc)) return kNone;
  RawLiteral r;
  r.text = lit;
  const uint8_t* flags = rs_->flags_;
  size_t k = 0;
  r.cp1 = CpAt(lit, &k);
  r.cp2 = k < lit.size() ? CpAt(lit, &k) : 0;
  uint8_t f1 = CharFlags(flags, r.cp1);
  uint8_t fl = CharFlags(flags, CpBefore(lit, lit.size()));
  // The boundary rule holds at both edges whatever the edge character is
  // (raw:"#Nike" is not in "x#Nike"), except where it is in a no-space
  // script.
  r.first_boundary = !(f1 & kCharNoSpace);
  r.last_boundary = !(fl & kCharNoSpace);
  Atom a;
  a.kind = AtomKind::kRaw;
  a.display = lit;
  a.index = static_cast<uint32_t>(rs_->raws_.size());
  rs_->raws_.push_back(std::move(r));
  rs_->atoms_.push_back(std::move(a));
  uint32_t id = static_cast<uint32_t>(rs_->atoms_.size() - 1);
  atom_ids_.emplace(std::move(key), id);
  return id;
}

uint32_t Compiler::FieldNode(FieldKind kind, const std::vector<std::string>& values,
                             const SourceLoc& rule_loc, std::string text,
                             const std::vector<SourceLoc>* value_locs) {
  FieldSpec f;
  f.kind = kind;
  for (size_t k = 0; k < values.size(); ++k) {
    const std::string& v = values[k];
    const SourceLoc& loc =
        value_locs != nullptr && k < value_locs->size() ? (*value_locs)[k] : rule_loc;
    std::string c;
    if (kind == FieldKind::kPlatform) {
      c = CanonicalPlatformName(v);
      if (!opt_.platforms.empty() && c != "other" &&
          std::find(platform_names_.begin(), platform_names_.end(), c) == platform_names_.end()) {
        std::string best = ClosestMatch(c, platform_names_);
        diags_->Error(loc, "unknown platform \"" + v + "\"",
                      best.empty() ? "known platforms: " + Join(platform_names_, ", ") + ", other"
                                   : "did you mean \"" + best + "\"?");
      }
    } else if (kind == FieldKind::kAuthor) {
      std::string_view s = TrimAsciiSpace(v);
      if (!s.empty() && s.front() == '@') s.remove_prefix(1);
      c = FoldCase(s);  // matched against the handle folded the same way
    } else {
      c = AsciiLowered(TrimAsciiSpace(v));
    }
    f.values.push_back(std::move(c));
  }
  rs_->fields_.push_back(std::move(f));
  return AddNode(Op::kField, static_cast<uint32_t>(rs_->fields_.size() - 1), {}, std::move(text));
}

bool Compiler::NearOperand(const Expr& e, std::vector<uint32_t>* atoms, Rule* rule) {
  if (e.kind == ExprKind::kTerm) {
    uint32_t a = TermAtom(e.text, e.loc);
    if (a != kNone) {
      rs_->atoms_[a].needs_positions = true;
      atoms->push_back(a);
      rule->positive_atoms.push_back(a);
    }
    return true;
  }
  if (e.kind == ExprKind::kOr) {
    bool ok = true;
    for (const auto& c : e.children) ok = NearOperand(c, atoms, rule) && ok;
    return ok;
  }
  diags_->Error(e.loc, "NEAR operands must be terms, phrases or ORs of them");
  return false;
}

uint32_t Compiler::CompileExpr(const Expr& e, Rule* rule, bool negated) {
  std::string text = ExprToString(e);
  switch (e.kind) {
    case ExprKind::kTerm:
    case ExprKind::kRegex:
    case ExprKind::kRaw: {
      uint32_t a = e.kind == ExprKind::kTerm    ? TermAtom(e.text, e.loc)
                   : e.kind == ExprKind::kRegex ? RegexAtom(e.text, e.loc)
                                                : RawAtom(e.text, e.loc);
      if (a == kNone) return AddNode(Op::kTrue, 0, {}, text);  // error already reported
      if (!negated) rule->positive_atoms.push_back(a);
      return AddNode(Op::kAtom, a, {}, text);
    }
    case ExprKind::kField:
      return FieldNode(e.field, {e.text}, e.loc, text);
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      std::vector<uint32_t> kids;
      for (const auto& c : e.children) kids.push_back(CompileExpr(c, rule, negated));
      return AddNode(e.kind == ExprKind::kAnd ? Op::kAnd : Op::kOr, 0, kids, text);
    }
    case ExprKind::kNot: {
      if (e.children.size() != 1) {
        diags_->Error(e.loc, "NOT needs one operand");
        return AddNode(Op::kTrue, 0, {}, text);
      }
      uint32_t c = CompileExpr(e.children[0], rule, !negated);
      return AddNode(Op::kNot, 0, {c}, text);
    }
    case ExprKind::kNear: {
      if (e.children.size() != 2) {
        diags_->Error(e.loc, "NEAR needs two operands");
        return AddNode(Op::kTrue, 0, {}, text);
      }
      NearSpec s;
      s.distance = std::max(0, e.near_distance);
      s.ordered = e.near_ordered;
      bool ok = NearOperand(e.children[0], &s.a, rule);
      ok = NearOperand(e.children[1], &s.b, rule) && ok;
      if (!ok) return AddNode(Op::kTrue, 0, {}, text);
      rs_->nears_.push_back(std::move(s));
      std::string label = "NEAR/" + std::to_string(e.near_distance) + (e.near_ordered ? "f" : "");
      return AddNode(Op::kNear, static_cast<uint32_t>(rs_->nears_.size() - 1), {}, label);
    }
  }
  return AddNode(Op::kTrue, 0, {}, text);
}

void Compiler::CompileRule(const RuleDef& def, Rule* rule) {
  proclitics_ = def.arabic_proclitics;
  std::vector<uint32_t> comps;
  std::vector<uint32_t> pos;
  for (const auto& t : def.terms) {
    const uint32_t a = TermAtom(t.text, t.loc);
    if (a == kNone) continue;
    Expr term;  // a kTerm
    term.text = t.text;
    pos.push_back(AddNode(Op::kAtom, a, {}, ExprToString(term)));
    rule->positive_atoms.push_back(a);
  }
  for (const auto& r : def.regex) {
    uint32_t a = RegexAtom(r.text, r.loc);
    if (a != kNone) pos.push_back(AddNode(Op::kAtom, a, {}, "regex:\"" + r.text + "\""));
    if (a != kNone) rule->positive_atoms.push_back(a);
  }
  if (!def.terms.empty() || !def.regex.empty()) {
    rule->terms_node = AddNode(Op::kOr, 0, pos, "terms");
    comps.push_back(rule->terms_node);
  }
  if (!def.exclude.empty()) {
    std::vector<uint32_t> ex;
    for (const auto& t : def.exclude) {
      uint32_t a = TermAtom(t.text, t.loc);
      if (a == kNone) continue;
      ex.push_back(AddNode(Op::kAtom, a, {}, std::string(StripQuotes(t.text))));
      rule->exclude_atoms.push_back(a);
    }
    rule->exclude_node = AddNode(Op::kOr, 0, ex, "exclude");
    comps.push_back(AddNode(Op::kNot, 0, {rule->exclude_node}, "NOT exclude"));
  }
  if (!def.platforms.empty()) {
    rule->platform_node = FieldNode(FieldKind::kPlatform, def.platforms, def.loc, "platforms",
                                     &def.platform_locs);
    rule->platforms = def.platforms;
    comps.push_back(rule->platform_node);
  }
  if (!def.languages.empty()) {
    rule->lang_node = FieldNode(FieldKind::kLang, def.languages, def.loc, "languages");
    rule->languages = def.languages;
    comps.push_back(rule->lang_node);
  }
  if (def.query) {
    int depth = ExprDepth(*def.query);
    if (depth > opt_.max_query_depth) {
      diags_->Error(def.query->loc, "query is nested too deeply (" + std::to_string(depth) +
                                        " levels of operators, at most " +
                                        std::to_string(opt_.max_query_depth) + ")");
    } else {
      rule->query_node = CompileExpr(*def.query, rule, false);
      rule->query_text = ExprToString(*def.query);
      comps.push_back(rule->query_node);
    }
  }
  rule->root = comps.empty() ? AddNode(Op::kTrue, 0, {}, "true") : AddNode(Op::kAnd, 0, comps, "rule");
  std::sort(rule->positive_atoms.begin(), rule->positive_atoms.end());
  rule->positive_atoms.erase(std::unique(rule->positive_atoms.begin(), rule->positive_atoms.end()),
                             rule->positive_atoms.end());
}

Tri Compiler::Possible(uint32_t id) const {
  const Node& n = rs_->nodes_[id];
  switch (n.op) {
    case Op::kTrue:
      return Tri::kTrue;
    case Op::kAtom:
    case Op::kNear:
      return Tri::kFalse;
    case Op::kField:
      return Tri::kUnknown;
    case Op::kAnd: {
      Tri r = Tri::kTrue;
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        Tri c = Possible(rs_->child_ids_[i]);
        if (c == Tri::kFalse) return Tri::kFalse;
        if (c == Tri::kUnknown) r = Tri::kUnknown;
      }
      return r;
    }
    case Op::kOr: {
      Tri r = Tri::kFalse;
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        Tri c = Possible(rs_->child_ids_[i]);
        if (c == Tri::kTrue) return Tri::kTrue;
        if (c == Tri::kUnknown) r = Tri::kUnknown;
      }
      return r;
    }
    case Op::kNot: {
      Tri c = Possible(rs_->child_ids_[n.cbegin]);
      return c == Tri::kTrue ? Tri::kFalse : c == Tri::kFalse ? Tri::kTrue : Tri::kUnknown;
    }
  }
  return Tri::kUnknown;
}

// True when the rule is `terms` alone (an OR of atoms: no exclude, filter
// or query), so it fires exactly when one of its atoms hits.
bool Compiler::AnyAtomFires(const Rule& rule) const {
  const auto& nodes = rs_->nodes_;
  const Node& root = nodes[rule.root];
  if (root.op != Op::kAnd || root.cend - root.cbegin != 1) return false;
  const uint32_t terms = rs_->child_ids_[root.cbegin];
  if (terms != rule.terms_node || nodes[terms].op != Op::kOr) return false;
  for (uint32_t i = nodes[terms].cbegin; i < nodes[terms].cend; ++i) {
    if (nodes[rs_->child_ids_[i]].op != Op::kAtom) return false;
  }
  return nodes[terms].cend > nodes[terms].cbegin;
}

namespace {
// A term's value in the term index and the literal automaton: the atom id
// with what a hit needs beside it (compiled_rules.h, kAtomBits).
uint32_t TermValue(uint32_t a, const Atom& atom, const Pattern& p) {
  uint32_t v = a;
  if (p.tag) v |= (p.tag == '#' ? 1u : 2u) << kTagShift;
  if (p.words.size() > 1) v |= kMultiWord;
  if (atom.needs_positions) v |= kPositions;
  v |= static_cast<uint32_t>(p.proclitic) << kProcliticShift;
  return v;
}
}  // namespace

void Compiler::BuildIndexes() {
  std::vector<std::pair<std::string, uint32_t>> exact, prefix, literals;
  std::vector<uint64_t> proclitic_keys;
  std::vector<std::pair<uint64_t, uint32_t>> nospace, raw;
  rs_->literal_heads_.assign(rs_->atoms_.size(), {});
  rs_->second_word_heads_.assign(rs_->atoms_.size(), {});
  for (uint32_t a = 0; a < rs_->atoms_.size(); ++a) {
    const Atom& atom = rs_->atoms_[a];
    if (atom.kind == AtomKind::kTerm) {
      const Pattern& p = rs_->patterns_[atom.index];
      if (p.first_nospace && opt_.literal_automaton && AllNoSpace(p.words[0], rs_->flags_)) {
        literals.emplace_back(p.words[0], TermValue(a, atom, p));
      } else if (p.first_nospace) {
        if (p.proclitic != kProcliticNone) rs_->has_proclitic_terms_ = true;
        nospace.emplace_back(CodeKey(p.cp1, p.cp2), a);
        auto& head = rs_->literal_heads_[a];
        head.len = static_cast<uint32_t>(std::min<size_t>(p.words[0].size(), 8));
        std::memcpy(&head.bytes, p.words[0].data(), head.len);
        if (p.cp2 == 0) rs_->nospace_single_ = true;
        if (!(CharFlags(rs_->flags_, p.cp1) & kCharNoSpace)) rs_->nospace_token_start_ = true;
      } else if (p.prefix && p.words.size() == 1) {
        if (p.proclitic != kProcliticNone) rs_->has_proclitic_terms_ = true;
        prefix.emplace_back(p.words[0], a);
        rs_->prefix_lens_.push_back(static_cast<uint32_t>(p.words[0].size()));
        if (rs_->prefix_start_.empty()) rs_->prefix_start_.assign(1024, 0);
        const auto* w = reinterpret_cast<const unsigned char*>(p.words[0].data());
        if (p.words[0].size() == 1) {
          for (unsigned b1 = 0; b1 < 256; ++b1) {
            unsigned bit = (w[0] << 8) | b1;
            rs_->prefix_start_[bit >> 6] |= uint64_t{1} << (bit & 63);
          }
        } else {
          unsigned bit = (w[0] << 8) | w[1];
          rs_->prefix_start_[bit >> 6] |= uint64_t{1} << (bit & 63);
        }
      } else {
        const uint32_t v = TermValue(a, atom, p);
        if (p.proclitic != kProcliticNone) {
          rs_->has_proclitic_terms_ = true;
          proclitic_keys.push_back(HashBytes(p.words[0].data(), p.words[0].size()));
        }
        exact.emplace_back(p.words[0], v);
        if (p.words.size() > 1) {
          auto& head = rs_->second_word_heads_[a];
          head.len = static_cast<uint32_t>(std::min<size_t>(p.words[1].size(), 8));
          std::memcpy(&head.bytes, p.words[1].data(), head.len);
        }
      }
    } else if (atom.kind == AtomKind::kRaw) {
      const RawLiteral& r = rs_->raws_[atom.index];
      raw.emplace_back(CodeKey(r.cp1, r.cp2), a);
      if (r.cp2 == 0) rs_->raw_single_ = true;
    }
  }
  // Vocabulary words share the term index, tagged, so one probe per token
  // serves both.
  for (size_t v = 0; v < opt_.vocabulary.size() && v < kVocabularyTag; ++v) {
    exact.emplace_back(opt_.vocabulary[v], static_cast<uint32_t>(v) | kVocabularyTag);
  }
  rs_->vocabulary_id_ = opt_.vocabulary.empty() ? 0 : opt_.vocabulary_id;
  std::sort(rs_->prefix_lens_.begin(), rs_->prefix_lens_.end());
  rs_->prefix_lens_.erase(std::unique(rs_->prefix_lens_.begin(), rs_->prefix_lens_.end()),
                          rs_->prefix_lens_.end());
  rs_->exact_.Build(std::move(exact));
  rs_->prefix_.Build(std::move(prefix));
  // The no-space vocabulary shares the literals' automaton, tagged.
  if (opt_.literal_automaton) {
    for (size_t v = 0; v < opt_.nospace_vocabulary.size() && v < kVocabularyTag; ++v) {
      const std::string& w = opt_.nospace_vocabulary[v];
      if (!AllNoSpace(w, rs_->flags_)) continue;  // not a word of one no-space run: never found
      literals.emplace_back(w, static_cast<uint32_t>(v) | kVocabularyTag);
    }
    rs_->nospace_vocabulary_ = !opt_.nospace_vocabulary.empty();
  }
  rs_->literals_.Build(literals);
  rs_->proclitic_keys_.Reset(proclitic_keys.size());
  for (uint64_t h : proclitic_keys) rs_->proclitic_keys_.Add(h);
  rs_->nospace_.Build(std::move(nospace));
  rs_->raw_index_.Build(std::move(raw));
}

bool Compiler::Run(const RuleSetDef& def) {
  rs_->id_ = g_next_set_id.fetch_add(1);
  rs_->flags_ = internal::CharFlagTable();
  for (const auto& p : opt_.platforms) platform_names_.push_back(CanonicalPlatformName(p));
  size_t total = def.topics.size();
  for (const auto& c : def.categories) total += c.brands.size();
  if (total > static_cast<size_t>(opt_.max_rules)) {
    SourceLoc loc = def.categories.empty() ? def.topics.front().loc : def.categories.front().loc;
    diags_->Error(loc, "too many rules: " + std::to_string(total) +
                           " brands and topics (max_rules is " + std::to_string(opt_.max_rules) +
                           ")");
    return false;
  }
  // Categories keep definition order; brands too.
  for (const auto& c : def.categories) {
    uint32_t ci = static_cast<uint32_t>(rs_->categories_.size());
    rs_->categories_.push_back(c.name);
    for (const auto& b : c.brands) {
      Rule r;
      r.label = "brand " + c.name + "/" + b.name;
      rs_->brands_.push_back(RuleSet::Brand{c.name, b.name, ci});
      CompileRule(b, &r);
      if (b.query) ++rs_->stats_.queries;
      rs_->rules_.push_back(std::move(r));
    }
  }
  for (const auto& t : def.topics) {
    Rule r;
    r.label = "topic " + t.name;
    rs_->topics_.push_back(t.name);
    CompileRule(t, &r);
    if (t.query) ++rs_->stats_.queries;
    rs_->rules_.push_back(std::move(r));
  }
  // All regexes in one set, in atom order.
  if (!rs_->regexes_.empty()) {
    RE2::Options o;
    o.set_case_sensitive(false);
    o.set_log_errors(false);
    o.set_max_mem(opt_.regex_max_mem);
    rs_->regex_set_ = std::make_unique<RE2::Set>(o, RE2::UNANCHORED);
    rs_->regex_atom_.resize(rs_->regexes_.size());
    for (uint32_t a = 0; a < rs_->atoms_.size(); ++a) {
      if (rs_->atoms_[a].kind != AtomKind::kRegex) continue;
      std::string err;
      int idx = rs_->regex_set_->Add(rs_->atoms_[a].display, &err);
      if (idx >= 0) rs_->regex_atom_[idx] = a;
    }
    if (diags_->ok() && !rs_->regex_set_->Compile()) {
      SourceLoc loc;
      if (!def.files.empty()) loc.file = def.files.front();
      diags_->Error(loc, "the rule set's " + std::to_string(rs_->regexes_.size()) +
                             " regexes together exceed regex_max_mem (" +
                             std::to_string(opt_.regex_max_mem) + " bytes)");
    }
  }
  if (!diags_->ok()) return false;
  BuildIndexes();
  // atom -> rules referencing it (anywhere), and rules that need no atom.
  size_t natoms = rs_->atoms_.size();
  std::vector<std::vector<uint32_t>> per_atom(natoms);
  for (uint32_t r = 0; r < rs_->rules_.size(); ++r) {
    const Rule& rule = rs_->rules_[r];
    std::vector<uint32_t> stack{rule.root};
    std::vector<uint32_t> refs;
    while (!stack.empty()) {
      const Node& n = rs_->nodes_[stack.back()];
      stack.pop_back();
      if (n.op == Op::kAtom) refs.push_back(n.arg);
      if (n.op == Op::kNear) {
        const NearSpec& s = rs_->nears_[n.arg];
        refs.insert(refs.end(), s.a.begin(), s.a.end());
        refs.insert(refs.end(), s.b.begin(), s.b.end());
      }
      for (uint32_t i = n.cbegin; i < n.cend; ++i) stack.push_back(rs_->child_ids_[i]);
    }
    std::sort(refs.begin(), refs.end());
    refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
    for (uint32_t a : refs) per_atom[a].push_back(r);
    if (Possible(rule.root) != Tri::kFalse) rs_->always_rules_.push_back(r);
  }
  rs_->atom_rules_begin_.push_back(0);
  for (const auto& v : per_atom) {
    rs_->atom_rules_.insert(rs_->atom_rules_.end(), v.begin(), v.end());
    rs_->atom_rules_begin_.push_back(static_cast<uint32_t>(rs_->atom_rules_.size()));
  }
  for (const Node& n : rs_->nodes_) rs_->eval_nodes_.push_back({n.op, n.arg, n.cbegin, n.cend});
  rs_->brand_rules_ = static_cast<uint32_t>(rs_->brands_.size());
  for (const Rule& rule : rs_->rules_) {
    rs_->rule_root_.push_back(rule.root);
    rs_->rule_any_atom_.push_back(AnyAtomFires(rule));
  }
  rs_->stats_.categories = rs_->categories_.size();
  rs_->stats_.brands = rs_->brands_.size();
  rs_->stats_.topics = rs_->topics_.size();
  rs_->stats_.terms = rs_->patterns_.size();
  rs_->stats_.regexes = rs_->regexes_.size();
  return true;
}

}  // namespace internal

std::shared_ptr<const RuleSet> RuleSet::Compile(const RuleSetDef& def,
                                                const CompileOptions& options,
                                                Diagnostics* diags) {
  auto rs = std::make_shared<internal::RuleSetImpl>();
  Diagnostics local;
  internal::Compiler c(options, &local, rs.get());
  // Friend access goes through the compiler; set the basics here.
  bool ok = c.Run(def);
  if (diags) diags->Append(local);
  if (!ok || !local.ok()) return nullptr;
  return rs;
}

}  // namespace earshot::rules
