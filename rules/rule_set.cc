// The rule compiler and the one-pass matcher (DESIGN sections 3 and 4).
//
// Compile: every term, exclude, regex, filter and query of every brand and
// topic becomes one boolean expression over "atoms" (distinct terms,
// regexes, raw literals), so all rules are evaluated the same way. Atoms are
// indexed for a single pass over the event:
//   - terms whose first word has no no-space-script character: a hash index
//     keyed by that word (exact) or by a prefix (`runn*`); a phrase verifies
//     its following words after the first-word hit;
//   - terms whose first word contains a no-space-script character (ナイキ,
//     耐克, nike東京): an index keyed by their first two code points, probed
//     at every position inside no-space-script runs (only when the text has
//     such characters) -- equivalent to an Aho-Corasick pass for these
//     short literals, with less machinery;
//   - regexes: one RE2::Set, run only when there are regexes;
//   - raw literals: the same code-point index, over the original text;
//   - CompileOptions::vocabulary (the sentiment lexicon's words): tagged
//     values in the term index, reported as MatchScratch::vocabulary_hits.
// Match: normalize once; tokenize once (rules/tokenizer.h), probing the
// no-space runs as they come and collecting the spaced tokens; hash and
// filter all spaced tokens in one branch-free loop, then probe the term
// index for those through the filter; evaluate only the rules that
// reference a hit atom plus the few that can fire with no atom hit (found at
// compile time by a three-valued evaluation). A rule that is a plain OR of
// its atoms fires without evaluation.
//
// Word boundaries (lead's decision): a term matches where its normalized
// form is bounded by non-word characters or the text edge; the boundary
// condition at an edge is waived when EITHER the term's edge character OR the
// adjacent text character is a no-space-script character. So `ナイキ` matches
// in `ナイキの靴` and `nike` in `我爱nike鞋`, but `nike` never in `nikelab`.
// The tokenizer realizes this by splitting runs of word characters also where
// no-space-script characters meet other characters.
#include "rules/rule_set.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <tuple>
#include <unordered_map>

#include "rules/matcher_chars.h"
#include "rules/matcher_index.h"
#include "rules/normalizer.h"
#include "rules/tokenizer.h"

namespace earshot::rules {

namespace {
struct Occ {
  uint32_t begin, end;    // bytes in the normalized text (original text for raw)
  uint32_t wbegin, wend;  // word indexes (NEAR)
  uint32_t next;          // next occurrence of the same atom, or kNone
};
}  // namespace

// Per-thread working state, sized for one RuleSet (re-sized when used with
// another). Stamps with a generation counter avoid clearing per event.
struct MatchScratch::Impl {
  uint64_t set_id = 0;
  uint32_t gen = 0;
  bool record_all = false;  // explain: keep every occurrence
  std::vector<uint32_t> atom_stamp, occ_head, rule_stamp;
  std::vector<uint32_t> hits, cands;
  std::vector<Occ> occs;
  std::vector<int> re_matches;
  std::vector<VocabularyHit>* vocabulary_hits = nullptr;  // the owning MatchScratch's
  std::vector<internal::TokenSpan> tokens;  // the spaced tokens of the text
  std::vector<uint64_t> hashes;             // HashPadded of each token
  std::vector<uint32_t> passed;             // tokens through the term index's filter
};

namespace {

using internal::CharFlags;
using internal::CodeIndex;
using internal::CodeKey;
using internal::kCharNoSpace;
using internal::kCharWord;
using internal::StringIndex;

constexpr uint32_t kNone = 0xFFFFFFFF;
// Values of the term index with this bit are vocabulary words, not atoms.
constexpr uint32_t kVocabularyTag = 0x80000000;
// Term index values carry what OnExactHits needs beside the atom id, so a
// hit reads no Atom or Pattern for the common one-word term.
constexpr uint32_t kAtomBits = 24;
constexpr uint32_t kAtomMask = (1u << kAtomBits) - 1;
constexpr uint32_t kTagShift = kAtomBits;             // 2 bits: 0, 1 '#', 2 '@'
constexpr uint32_t kMultiWord = 1u << (kAtomBits + 2);  // more words to verify
constexpr uint32_t kPositions = 1u << (kAtomBits + 3);  // needs_positions
constexpr int64_t kFar = INT64_MAX;

std::atomic<uint64_t> g_next_set_id{1};

// ---------------------------------------------------------------------------
// Small string helpers.

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = LowerAscii(c);
  return r;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                        s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string_view StripQuotes(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = Trim(s.substr(1, s.size() - 2));
  return s;
}

std::string CanonicalPlatform(std::string_view p) {
  std::string l = Lower(Trim(p));
  if (l == "x") return "twitter";
  if (l == "fb") return "facebook";
  if (l == "ig") return "instagram";
  if (l == "yt") return "youtube";
  return l;
}

// The event's platform, canonical (aliases resolved) without allocating.
std::string_view EventPlatform(std::string_view p) {
  if (EqualsIgnoreCase(p, "x")) return "twitter";
  if (EqualsIgnoreCase(p, "fb")) return "facebook";
  if (EqualsIgnoreCase(p, "ig")) return "instagram";
  if (EqualsIgnoreCase(p, "yt")) return "youtube";
  return p;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) r += sep;
    r += v[i];
  }
  return r;
}

// Decodes the code point at p[i] (ASCII fast).
inline char32_t CpAt(std::string_view s, size_t* i) {
  unsigned char c = static_cast<unsigned char>(s[*i]);
  if (c < 0x80) {
    ++*i;
    return c;
  }
  return internal::DecodeUtf8Fast(s, i);
}

// The code point ending just before byte `pos` (pos > 0).
inline char32_t CpBefore(std::string_view s, size_t pos) {
  size_t b = pos - 1;
  while (b > 0 && pos - b < 4 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  size_t i = b;
  return DecodeUtf8(s, &i);
}

// ---------------------------------------------------------------------------
// Compiled forms.

// A term after normalization, split into words.
struct Pattern {
  std::vector<std::string> words;
  std::vector<uint8_t> gap_optional;  // [i]: words i-1 and i may touch (a no-space edge)
  char tag = 0;                       // '#' or '@': must directly precede the first word
  bool prefix = false;                // the last word is a prefix
  bool first_nospace = false;         // the first word has a no-space-script char
  bool last_nospace = false;          // the last char of the last word is no-space-script
  char32_t cp1 = 0, cp2 = 0;          // first code points of words[0] (cp2 = 0: only one)
};

// A raw (exact-case, original text) literal.
struct RawLiteral {
  std::string text;
  bool first_boundary = false;  // the first char is a word char outside no-space scripts
  bool last_boundary = false;
  char32_t cp1 = 0, cp2 = 0;
};

enum class AtomKind : uint8_t { kTerm, kRegex, kRaw };

struct Atom {
  AtomKind kind = AtomKind::kTerm;
  std::string display;  // as written, for explain
  uint32_t index = 0;   // into patterns_ / regexes_ / raws_
  bool needs_positions = false;
};

enum class Op : uint8_t { kTrue, kAtom, kNear, kField, kAnd, kOr, kNot };

struct Node {
  Op op = Op::kTrue;
  uint32_t arg = 0;  // atom, near or field index
  uint32_t cbegin = 0, cend = 0;  // children in child_ids_
  std::string text;  // the construct as a query, for explain
};

struct NearSpec {
  std::vector<uint32_t> a, b;
  int64_t distance = 0;
  bool ordered = false;
};

struct FieldSpec {
  FieldKind kind = FieldKind::kLang;
  std::vector<std::string> values;  // lower case; author without '@'; platform canonical
};

struct Rule {
  std::string label;   // "brand sneakers/nike" / "topic pricing"
  uint32_t root = 0;
  uint32_t terms_node = kNone, exclude_node = kNone, platform_node = kNone, lang_node = kNone,
           query_node = kNone;
  std::vector<uint32_t> positive_atoms;  // for "fired (...)"
  std::vector<uint32_t> exclude_atoms;
  std::vector<std::string> platforms, languages;
};

enum class Tri { kFalse, kTrue, kUnknown };

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

class RuleSetImpl final : public RuleSet {
 public:
  const std::vector<std::string>& categories() const override { return categories_; }
  const std::vector<Brand>& brands() const override { return brands_; }
  const std::vector<std::string>& topics() const override { return topics_; }
  Stats stats() const override { return stats_; }
  void Match(const MatchInput& in, MatchScratch* scratch, MatchOutput* out) const override;
  std::string Explain(const MatchInput& in) const override;

 private:
  friend class Compiler;

  MatchScratch::Impl& Prepare(MatchScratch* scratch) const;
  void FindAtoms(const MatchInput& in, const NormalizeInfo& info, MatchScratch* scratch,
                 MatchScratch::Impl& im) const;
  void OnExactHits(std::string_view text, size_t b, size_t e, uint32_t widx, const uint32_t* vb,
                   const uint32_t* ve, MatchScratch::Impl& im) const;
  void OnPrefixes(std::string_view text, size_t b, size_t e, uint32_t widx,
                  MatchScratch::Impl& im) const;
  void OnNoSpacePos(std::string_view text, size_t s, char32_t cp1, size_t next, uint32_t widx,
                    MatchScratch::Impl& im) const;
  void FindRaw(std::string_view text, MatchScratch::Impl& im) const;
  bool Verify(const Pattern& p, std::string_view text, size_t pos, size_t from, size_t* end,
              uint32_t* adv) const;
  void Hit(MatchScratch::Impl& im, uint32_t atom, uint32_t b, uint32_t e, uint32_t wb, uint32_t we,
           bool positions) const;
  void Hit(MatchScratch::Impl& im, uint32_t atom, uint32_t b, uint32_t e, uint32_t wb,
           uint32_t we) const;
  void CollectCandidates(MatchScratch::Impl& im) const;
  bool Eval(uint32_t node, const MatchInput& in, const MatchScratch::Impl& im) const;
  int64_t NearBest(const NearSpec& s, const MatchScratch::Impl& im) const;
  bool FieldMatches(const FieldSpec& f, const MatchInput& in) const;
  bool Hit(const MatchScratch::Impl& im, uint32_t atom) const {
    return im.atom_stamp[atom] == im.gen;
  }
  std::string WhyFalse(uint32_t node, const MatchInput& in, const MatchScratch::Impl& im) const;
  std::string WhyNotFired(const Rule& r, const MatchInput& in, const MatchScratch::Impl& im) const;

  uint64_t id_ = 0;
  const uint8_t* flags_ = nullptr;
  std::vector<std::string> categories_;
  std::vector<Brand> brands_;
  std::vector<std::string> topics_;
  Stats stats_;

  std::vector<Atom> atoms_;
  std::vector<Pattern> patterns_;
  std::vector<RawLiteral> raws_;
  std::vector<std::unique_ptr<RE2>> regexes_;  // per regex atom, for explain
  std::vector<uint32_t> regex_atom_;           // set index -> atom
  std::unique_ptr<RE2::Set> regex_set_;

  StringIndex exact_;   // first word -> term atoms
  StringIndex prefix_;  // single-word prefix -> term atoms
  std::vector<uint32_t> prefix_lens_;
  // Bit (b0 << 8 | b1) is set when some prefix key starts with bytes b0 b1:
  // most tokens skip the prefix look-ups entirely.
  std::vector<uint64_t> prefix_start_;
  CodeIndex nospace_;  // first code points -> term atoms with a no-space first word
  // The first min(8, size) bytes of a no-space literal's first word (by atom).
  struct LiteralHead {
    uint64_t bytes = 0;
    uint32_t len = 0;
  };
  std::vector<LiteralHead> literal_heads_;
  bool nospace_single_ = false;       // some key has cp2 = 0
  bool nospace_token_start_ = false;  // some such term starts with a non-no-space char
  CodeIndex raw_index_;
  bool raw_single_ = false;

  std::vector<Node> nodes_;
  std::vector<uint32_t> child_ids_;
  std::vector<NearSpec> nears_;
  std::vector<FieldSpec> fields_;
  std::vector<Rule> rules_;  // brands, then topics
  std::vector<uint32_t> atom_rules_begin_, atom_rules_;  // CSR: atom -> rules
  std::vector<uint32_t> always_rules_;                    // can fire with no atom hit
  // What Match() reads per candidate rule, packed: nodes_ without their
  // explain texts, each rule's root, and whether the rule is a plain OR of
  // its atoms (so being a candidate -- an atom of it hit -- means it fired).
  struct EvalNode {
    Op op;
    uint32_t arg, cbegin, cend;
  };
  std::vector<EvalNode> eval_nodes_;
  std::vector<uint32_t> rule_root_;
  std::vector<uint8_t> rule_any_atom_;
  uint32_t brand_rules_ = 0;  // rules_[0, brand_rules_) are brands, the rest topics
  uint64_t vocabulary_id_ = 0;
};

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
  uint32_t FieldNode(FieldKind kind, const std::vector<std::string>& values,
                     const SourceLoc& loc, std::string text);
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
    prev = cp;
    first_cp = false;
  }
  if (p.words.empty()) {
    diags_->Error(loc, "term \"" + display + "\" is empty after normalization");
    return kNone;
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
  for (const auto& w : p.words) {
    key += '\0';
    key += w;
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
  r.first_boundary = (f1 & kCharWord) && !(f1 & kCharNoSpace);
  r.last_boundary = (fl & kCharWord) && !(fl & kCharNoSpace);
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
                             const SourceLoc& loc, std::string text) {
  FieldSpec f;
  f.kind = kind;
  for (const auto& v : values) {
    std::string c;
    if (kind == FieldKind::kPlatform) {
      c = CanonicalPlatform(v);
      if (!opt_.platforms.empty() && c != "other" &&
          std::find(platform_names_.begin(), platform_names_.end(), c) == platform_names_.end()) {
        std::string best = ClosestMatch(c, platform_names_);
        diags_->Error(loc, "unknown platform \"" + v + "\"",
                      best.empty() ? "known platforms: " + Join(platform_names_, ", ") + ", other"
                                   : "did you mean \"" + best + "\"?");
      }
    } else if (kind == FieldKind::kAuthor) {
      std::string_view s = Trim(v);
      if (!s.empty() && s.front() == '@') s.remove_prefix(1);
      c = Lower(s);
    } else {
      c = Lower(Trim(v));
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
  std::vector<uint32_t> comps;
  std::vector<uint32_t> pos;
  for (const auto& t : def.terms) {
    uint32_t a = TermAtom(t.text, t.loc);
    if (a != kNone) pos.push_back(AddNode(Op::kAtom, a, {}, ExprToString(Expr{ExprKind::kTerm, t.text})));
    if (a != kNone) rule->positive_atoms.push_back(a);
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
    rule->platform_node = FieldNode(FieldKind::kPlatform, def.platforms, def.loc, "platforms");
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
      diags_->Error(def.query->loc, "query is nested too deeply (depth " + std::to_string(depth) +
                                        ", max_query_depth is " +
                                        std::to_string(opt_.max_query_depth) + ")");
    } else {
      rule->query_node = CompileExpr(*def.query, rule, false);
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

void Compiler::BuildIndexes() {
  std::vector<std::pair<std::string, uint32_t>> exact, prefix;
  std::vector<std::pair<uint64_t, uint32_t>> nospace, raw;
  rs_->literal_heads_.assign(rs_->atoms_.size(), {});
  for (uint32_t a = 0; a < rs_->atoms_.size(); ++a) {
    const Atom& atom = rs_->atoms_[a];
    if (atom.kind == AtomKind::kTerm) {
      const Pattern& p = rs_->patterns_[atom.index];
      if (p.first_nospace) {
        nospace.emplace_back(CodeKey(p.cp1, p.cp2), a);
        auto& head = rs_->literal_heads_[a];
        head.len = static_cast<uint32_t>(std::min<size_t>(p.words[0].size(), 8));
        std::memcpy(&head.bytes, p.words[0].data(), head.len);
        if (p.cp2 == 0) rs_->nospace_single_ = true;
        if (!(CharFlags(rs_->flags_, p.cp1) & kCharNoSpace)) rs_->nospace_token_start_ = true;
      } else if (p.prefix && p.words.size() == 1) {
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
        uint32_t v = a;
        if (p.tag) v |= (p.tag == '#' ? 1u : 2u) << kTagShift;
        if (p.words.size() > 1) v |= kMultiWord;
        if (atom.needs_positions) v |= kPositions;
        exact.emplace_back(p.words[0], v);
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
  rs_->nospace_.Build(std::move(nospace));
  rs_->raw_index_.Build(std::move(raw));
}

bool Compiler::Run(const RuleSetDef& def) {
  rs_->id_ = g_next_set_id.fetch_add(1);
  rs_->flags_ = internal::CharFlagTable();
  for (const auto& p : opt_.platforms) platform_names_.push_back(CanonicalPlatform(p));
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

// ---------------------------------------------------------------------------
// Matching.

MatchScratch::Impl& RuleSetImpl::Prepare(MatchScratch* scratch) const {
  if (!scratch->impl) scratch->impl = std::make_shared<MatchScratch::Impl>();
  MatchScratch::Impl& im = *scratch->impl;
  if (im.set_id != id_) {
    im.set_id = id_;
    im.atom_stamp.assign(atoms_.size(), 0);
    im.occ_head.assign(atoms_.size(), kNone);
    im.rule_stamp.assign(rules_.size(), 0);
    im.gen = 0;
  }
  if (++im.gen == 0) {
    std::fill(im.atom_stamp.begin(), im.atom_stamp.end(), 0);
    std::fill(im.rule_stamp.begin(), im.rule_stamp.end(), 0);
    im.gen = 1;
  }
  im.hits.clear();
  im.cands.clear();
  im.occs.clear();
  im.vocabulary_hits = &scratch->vocabulary_hits;
  scratch->vocabulary_hits.clear();
  scratch->vocabulary_id = vocabulary_id_;
  return im;
}

void RuleSetImpl::Hit(MatchScratch::Impl& im, uint32_t atom, uint32_t b, uint32_t e, uint32_t wb,
                      uint32_t we) const {
  Hit(im, atom, b, e, wb, we, atoms_[atom].needs_positions);
}

// `positions`: the atom's needs_positions, when the caller has it at hand.
void RuleSetImpl::Hit(MatchScratch::Impl& im, uint32_t atom, uint32_t b, uint32_t e, uint32_t wb,
                      uint32_t we, bool positions) const {
  if (im.atom_stamp[atom] != im.gen) {
    im.atom_stamp[atom] = im.gen;
    im.occ_head[atom] = kNone;
    im.hits.push_back(atom);
  }
  if (im.record_all || positions) {
    im.occs.push_back(Occ{b, e, wb, we, im.occ_head[atom]});
    im.occ_head[atom] = static_cast<uint32_t>(im.occs.size() - 1);
  }
}

// Matches words[from..] of `p` at byte `pos` of the normalized text: for
// from == 0, pos is where the first word must start; for from == 1, pos is
// just after the first word. On success *end is the match's end and *adv the
// number of word runs it advanced.
bool RuleSetImpl::Verify(const Pattern& p, std::string_view text, size_t pos, size_t from,
                         size_t* end, uint32_t* adv) const {
  const size_t n = text.size();
  uint32_t words = 0;
  for (size_t w = from; w < p.words.size(); ++w) {
    if (w > 0) {
      size_t q = pos;
      while (q < n) {
        size_t j = q;
        char32_t cp = CpAt(text, &j);
        if (CharFlags(flags_, cp) & kCharWord) break;
        q = j;
      }
      if (q == pos) {
        if (!p.gap_optional[w]) return false;
      } else {
        ++words;
      }
      pos = q;
    }
    const std::string& word = p.words[w];
    if (n - pos < word.size() || std::memcmp(text.data() + pos, word.data(), word.size()) != 0) {
      return false;
    }
    pos += word.size();
  }
  if (!p.prefix && pos < n && !p.last_nospace) {
    size_t j = pos;
    uint8_t f = CharFlags(flags_, CpAt(text, &j));
    if ((f & kCharWord) && !(f & kCharNoSpace)) return false;
  }
  *end = pos;
  *adv = words;
  return true;
}

void RuleSetImpl::OnExactHits(std::string_view text, size_t b, size_t e, uint32_t widx,
                              const uint32_t* vb, const uint32_t* ve,
                              MatchScratch::Impl& im) const {
  const char* p = text.data();
  for (; vb != ve; ++vb) {
    const uint32_t v = *vb;
    if (v & kVocabularyTag) {
      im.vocabulary_hits->push_back(VocabularyHit{widx, v & ~kVocabularyTag});
      continue;
    }
    const uint32_t atom = v & kAtomMask;
    const uint32_t tag = (v >> kTagShift) & 3;
    if (tag != 0 && (b == 0 || p[b - 1] != (tag == 1 ? '#' : '@'))) continue;
    if (!(v & kMultiWord)) {
      Hit(im, atom, b, e, widx, widx, (v & kPositions) != 0);
    } else {
      size_t end;
      uint32_t adv;
      if (Verify(patterns_[atoms_[atom].index], text, e, 1, &end, &adv)) {
        Hit(im, atom, b, end, widx, widx + adv, (v & kPositions) != 0);
      }
    }
  }
}

void RuleSetImpl::OnPrefixes(std::string_view text, size_t b, size_t e, uint32_t widx,
                             MatchScratch::Impl& im) const {
  const uint32_t len = static_cast<uint32_t>(e - b);
  const char* p = text.data();
  const uint32_t *vb, *ve;
  for (uint32_t l : prefix_lens_) {
    if (l > len) break;
    if (l < len && (static_cast<unsigned char>(p[b + l]) & 0xC0) == 0x80) continue;
    if (!prefix_.Find(p + b, l, &vb, &ve)) continue;
    for (; vb != ve; ++vb) {
      const Pattern& pat = patterns_[atoms_[*vb].index];
      if (pat.tag && (b == 0 || p[b - 1] != pat.tag)) continue;
      Hit(im, *vb, b, e, widx, widx);
    }
  }
}

// A position where a literal with a no-space first word may start: inside a
// no-space run, or at the start of another token (left edge implied).
void RuleSetImpl::OnNoSpacePos(std::string_view text, size_t s, char32_t cp1, size_t next,
                               uint32_t widx, MatchScratch::Impl& im) const {
  // The callers have tested nospace_.MayStartWith(cp1).
  char32_t cp2 = 0;
  if (next < text.size()) {
    size_t j = next;
    cp2 = CpAt(text, &j);
  }
  internal::ForEachLiteral(nospace_, nospace_single_, cp1, cp2, [&](uint32_t atom) {
    // Most candidates differ within their first 8 bytes: compare those
    // (the text is padded) before touching the pattern.
    const LiteralHead& head = literal_heads_[atom];
    uint64_t at;
    std::memcpy(&at, text.data() + s, 8);
    if ((at & internal::kPadMasks.lo[head.len]) != head.bytes) return;
    const Pattern& pat = patterns_[atoms_[atom].index];
    if (pat.tag && (s == 0 || text[s - 1] != pat.tag)) return;
    size_t end;
    uint32_t adv;
    if (Verify(pat, text, s, 0, &end, &adv)) Hit(im, atom, s, end, widx, widx + adv);
  });
}

void RuleSetImpl::FindRaw(std::string_view text, MatchScratch::Impl& im) const {
  const size_t n = text.size();
  size_t i = 0;
  char32_t prev = 0;
  bool has_prev = false;
  while (i < n) {
    size_t s = i;
    char32_t cp1 = CpAt(text, &i);
    char32_t cp2 = 0;
    if (i < n) {
      size_t j = i;
      cp2 = CpAt(text, &j);
    }
    if (!raw_index_.MayStartWith(cp1)) {
      prev = cp1;
      has_prev = true;
      continue;
    }
    uint8_t pf = has_prev ? CharFlags(flags_, prev) : 0;
    bool left_open = !has_prev || !(pf & kCharWord) || (pf & kCharNoSpace);
    internal::ForEachLiteral(raw_index_, raw_single_, cp1, cp2, [&](uint32_t atom) {
      const RawLiteral& r = raws_[atoms_[atom].index];
      if (r.first_boundary && !left_open) return;
      if (n - s < r.text.size() || std::memcmp(text.data() + s, r.text.data(), r.text.size()) != 0)
        return;
      size_t e = s + r.text.size();
      if (r.last_boundary && e < n) {
        size_t j = e;
        uint8_t f = CharFlags(flags_, CpAt(text, &j));
        if ((f & kCharWord) && !(f & kCharNoSpace)) return;
      }
      Hit(im, atom, static_cast<uint32_t>(s), static_cast<uint32_t>(e), kNone, kNone);
    });
    prev = cp1;
    has_prev = true;
  }
}

void RuleSetImpl::FindAtoms(const MatchInput& in, const NormalizeInfo& info,
                            MatchScratch* scratch, MatchScratch::Impl& im) const {
  // HashPadded and the 8-byte literal compare read up to 16 bytes from a
  // token's start: keep them allocated.
  scratch->normalized.reserve(scratch->normalized.size() + 16);
  const std::string_view text = scratch->normalized;
  // Phase 1, the tokenizer: spaced tokens are collected; no-space runs are
  // probed as they come (literals with a no-space first word may start at
  // any code point of one).
  struct Probes {
    const RuleSetImpl& rs;
    MatchScratch::Impl& im;
    std::string_view text;
    bool nospace;
    [[gnu::always_inline]] void Spaced(uint32_t b, uint32_t e, uint32_t w) {
      im.tokens.push_back(internal::TokenSpan{b, e, w});
    }
    void NoSpace(uint32_t pos, char32_t cp, size_t next, uint32_t w) {
      if (nospace && rs.nospace_.MayStartWith(cp)) rs.OnNoSpacePos(text, pos, cp, next, w, im);
    }
  };
  const bool nospace = info.has_nospace_script && !nospace_.empty();
  im.tokens.clear();
  Probes probes{*this, im, text, nospace};
  internal::Tokenize(text, &scratch->words, probes);
  const auto& tokens = im.tokens;
  const char* p = text.data();
  if (!exact_.empty()) {
    // Phase 2: hash and filter every token. The iterations are independent
    // and free of branches on the data (HashPadded: the text is padded), so
    // they overlap; most tokens end here.
    const size_t n = tokens.size();
    im.hashes.resize(n);
    im.passed.resize(n);
    size_t passed = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t h = internal::HashPadded(p + tokens[i].begin, tokens[i].end - tokens[i].begin);
      im.hashes[i] = h;
      im.passed[passed] = static_cast<uint32_t>(i);
      passed += exact_.MayContain(h);
    }
    // Their slots (most are real hits) are cache misses: start them all,
    // so they overlap, before phase 3 probes the tokens in text order.
    for (size_t k = 0; k < passed; ++k) exact_.Prefetch(im.hashes[im.passed[k]]);
    for (size_t k = 0; k < passed; ++k) {
      const internal::TokenSpan& t = tokens[im.passed[k]];
      const uint32_t *vb, *ve;
      if (exact_.FindHashed(p + t.begin, t.end - t.begin, im.hashes[im.passed[k]], &vb, &ve)) {
        OnExactHits(text, t.begin, t.end, t.word, vb, ve, im);
      }
    }
  }
  if (!prefix_lens_.empty()) {
    for (const internal::TokenSpan& t : tokens) {
      const unsigned bit = (static_cast<unsigned char>(p[t.begin]) << 8) |
                           (t.end - t.begin > 1 ? static_cast<unsigned char>(p[t.begin + 1]) : 0u);
      if (prefix_start_[bit >> 6] & (uint64_t{1} << (bit & 63))) {
        OnPrefixes(text, t.begin, t.end, t.word, im);
      }
    }
  }
  if (nospace && nospace_token_start_) {
    // Literals like "nike東京" start with another character: at spaced tokens.
    for (const internal::TokenSpan& t : tokens) {
      size_t next = t.begin;
      const char32_t cp = CpAt(text, &next);
      if (nospace_.MayStartWith(cp)) OnNoSpacePos(text, t.begin, cp, next, t.word, im);
    }
  }
  if (regex_set_) {
    im.re_matches.clear();
    regex_set_->Match(text, &im.re_matches);
    for (int r : im.re_matches) Hit(im, regex_atom_[r], 0, 0, kNone, kNone);
  }
  if (!raws_.empty()) FindRaw(in.text, im);
}

void RuleSetImpl::CollectCandidates(MatchScratch::Impl& im) const {
  for (uint32_t a : im.hits) {
    for (uint32_t k = atom_rules_begin_[a]; k < atom_rules_begin_[a + 1]; ++k) {
      uint32_t r = atom_rules_[k];
      if (im.rule_stamp[r] != im.gen) {
        im.rule_stamp[r] = im.gen;
        im.cands.push_back(r);
      }
    }
  }
  for (uint32_t r : always_rules_) {
    if (im.rule_stamp[r] != im.gen) {
      im.rule_stamp[r] = im.gen;
      im.cands.push_back(r);
    }
  }
  std::sort(im.cands.begin(), im.cands.end());
}

int64_t RuleSetImpl::NearBest(const NearSpec& s, const MatchScratch::Impl& im) const {
  int64_t best = kFar;
  for (uint32_t a : s.a) {
    if (!Hit(im, a)) continue;
    for (uint32_t oa = im.occ_head[a]; oa != kNone; oa = im.occs[oa].next) {
      const Occ& x = im.occs[oa];
      for (uint32_t b : s.b) {
        if (!Hit(im, b)) continue;
        for (uint32_t ob = im.occ_head[b]; ob != kNone; ob = im.occs[ob].next) {
          const Occ& y = im.occs[ob];
          if (x.begin == y.begin && x.end == y.end) continue;  // the same occurrence
          if (s.ordered && !(x.begin < y.begin)) continue;
          const Occ& first = x.begin <= y.begin ? x : y;
          const Occ& second = x.begin <= y.begin ? y : x;
          int64_t d = static_cast<int64_t>(second.wbegin) - static_cast<int64_t>(first.wend) - 1;
          if (d < 0) d = 0;
          best = std::min(best, d);
        }
      }
    }
  }
  return best;
}

bool RuleSetImpl::FieldMatches(const FieldSpec& f, const MatchInput& in) const {
  std::string_view v;
  switch (f.kind) {
    case FieldKind::kLang:
      v = in.lang;
      break;
    case FieldKind::kCountry:
      v = in.country;
      break;
    case FieldKind::kPlatform:
      v = EventPlatform(in.platform);
      break;
    case FieldKind::kAuthor:
      v = in.author;
      if (!v.empty() && v.front() == '@') v.remove_prefix(1);
      break;
  }
  if (v.empty()) return false;
  for (const auto& value : f.values) {
    if (EqualsIgnoreCase(v, value)) return true;
  }
  return false;
}

bool RuleSetImpl::Eval(uint32_t id, const MatchInput& in, const MatchScratch::Impl& im) const {
  const EvalNode& n = eval_nodes_[id];
  switch (n.op) {
    case Op::kTrue:
      return true;
    case Op::kAtom:
      return Hit(im, n.arg);
    case Op::kNear: {
      const NearSpec& s = nears_[n.arg];
      return NearBest(s, im) <= s.distance;
    }
    case Op::kField:
      return FieldMatches(fields_[n.arg], in);
    case Op::kAnd:
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        if (!Eval(child_ids_[i], in, im)) return false;
      }
      return true;
    case Op::kOr:
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        if (Eval(child_ids_[i], in, im)) return true;
      }
      return false;
    case Op::kNot:
      return !Eval(child_ids_[n.cbegin], in, im);
  }
  return false;
}

void RuleSetImpl::Match(const MatchInput& in, MatchScratch* scratch, MatchOutput* out) const {
  out->clear();
  MatchScratch::Impl& im = Prepare(scratch);
  im.record_all = false;
  NormalizeInfo info = Normalize(in.text, &scratch->normalized);
  scratch->has_nospace_script = info.has_nospace_script;
  scratch->ascii = info.ascii;
  FindAtoms(in, info, scratch, im);
  CollectCandidates(im);
  for (uint32_t r : im.cands) {
    if (!rule_any_atom_[r] && !Eval(rule_root_[r], in, im)) continue;
    if (r < brand_rules_) out->brands.push_back(r);
    else out->topics.push_back(r - brand_rules_);
  }
}

// ---------------------------------------------------------------------------
// Explain.

std::string Quote(std::string_view s) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    r += c;
  }
  return r + "\"";
}

std::string AtomLabel(const Atom& a) {
  switch (a.kind) {
    case AtomKind::kTerm:
      return "term " + Quote(a.display);
    case AtomKind::kRegex:
      return "regex " + Quote(a.display);
    case AtomKind::kRaw:
      return "raw " + Quote(a.display);
  }
  return "?";
}

std::string RuleSetImpl::WhyFalse(uint32_t id, const MatchInput& in,
                                  const MatchScratch::Impl& im) const {
  const Node& n = nodes_[id];
  switch (n.op) {
    case Op::kAnd:
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        if (!Eval(child_ids_[i], in, im)) return WhyFalse(child_ids_[i], in, im);
      }
      return n.text + " failed";
    case Op::kNot:
      return n.text + " failed";
    case Op::kNear: {
      int64_t best = NearBest(nears_[n.arg], im);
      if (best == kFar) return n.text + ": operands not found together";
      return n.text + ": closest distance " + std::to_string(best) + " words";
    }
    case Op::kField: {
      const FieldSpec& f = fields_[n.arg];
      std::string_view v = f.kind == FieldKind::kLang      ? in.lang
                           : f.kind == FieldKind::kCountry ? in.country
                           : f.kind == FieldKind::kAuthor  ? in.author
                                                           : EventPlatform(in.platform);
      return n.text + " does not match " + (v.empty() ? std::string("(none)") : Quote(v));
    }
    default:
      return n.text + " not matched";
  }
}

std::string RuleSetImpl::WhyNotFired(const Rule& r, const MatchInput& in,
                                     const MatchScratch::Impl& im) const {
  if (r.terms_node != kNone && !Eval(r.terms_node, in, im)) return "no term matched";
  if (r.exclude_node != kNone) {
    for (uint32_t a : r.exclude_atoms) {
      if (Hit(im, a)) return "excluded by " + Quote(atoms_[a].display);
    }
  }
  if (r.platform_node != kNone && !Eval(r.platform_node, in, im)) {
    std::string_view p = EventPlatform(in.platform);
    return "platform filter [" + Join(r.platforms, ", ") + "] does not include " +
           (p.empty() ? std::string("(none)") : std::string(p));
  }
  if (r.lang_node != kNone && !Eval(r.lang_node, in, im)) {
    return "language filter [" + Join(r.languages, ", ") + "] does not include " +
           (in.lang.empty() ? std::string("(no lang)") : std::string(in.lang));
  }
  if (r.query_node != kNone && !Eval(r.query_node, in, im)) return WhyFalse(r.query_node, in, im);
  return "did not match";
}

std::string RuleSetImpl::Explain(const MatchInput& in) const {
  MatchScratch scratch;
  MatchScratch::Impl& im = Prepare(&scratch);
  im.record_all = true;
  std::vector<uint32_t> offsets;
  NormalizeInfo info = Normalize(in.text, &scratch.normalized, &offsets);
  FindAtoms(in, info, &scratch, im);
  std::string_view norm = scratch.normalized;

  struct Line {
    uint32_t begin, end, atom;
  };
  std::vector<Line> lines;
  for (uint32_t a : im.hits) {
    const Atom& atom = atoms_[a];
    if (atom.kind == AtomKind::kRegex) {
      re2::StringPiece m;
      if (regexes_[atom.index]->Match(norm, 0, norm.size(), RE2::UNANCHORED, &m, 1)) {
        uint32_t b = static_cast<uint32_t>(m.data() - norm.data());
        uint32_t e = b + static_cast<uint32_t>(m.size());
        lines.push_back({offsets[b], offsets[e], a});
      }
      continue;
    }
    for (uint32_t o = im.occ_head[a]; o != kNone; o = im.occs[o].next) {
      const Occ& occ = im.occs[o];
      if (atom.kind == AtomKind::kRaw) {
        lines.push_back({occ.begin, occ.end, a});
      } else {
        lines.push_back({offsets[occ.begin], offsets[occ.end], a});
      }
    }
  }
  std::sort(lines.begin(), lines.end(), [](const Line& x, const Line& y) {
    return std::tie(x.begin, x.end, x.atom) < std::tie(y.begin, y.end, y.atom);
  });
  std::string out = "normalized: " + std::string(norm) + "\n";
  if (lines.empty()) out += "  (no term, regex or raw hits)\n";
  for (const Line& l : lines) {
    out += "  " + AtomLabel(atoms_[l.atom]) + " at bytes " + std::to_string(l.begin) + "-" +
           std::to_string(l.end) + " (" + Quote(in.text.substr(l.begin, l.end - l.begin)) + ")\n";
  }
  CollectCandidates(im);
  std::string fired, not_fired;
  for (uint32_t r : im.cands) {
    const Rule& rule = rules_[r];
    bool had_hit = false;
    std::vector<std::string> why;
    for (uint32_t a : rule.positive_atoms) {
      if (Hit(im, a)) why.push_back(AtomLabel(atoms_[a]));
    }
    for (uint32_t a : im.hits) {
      if (std::find(atom_rules_.begin() + atom_rules_begin_[a],
                    atom_rules_.begin() + atom_rules_begin_[a + 1], r) !=
          atom_rules_.begin() + atom_rules_begin_[a + 1]) {
        had_hit = true;
      }
    }
    if (Eval(rule.root, in, im)) {
      fired += "fired: " + rule.label + " (" + (why.empty() ? "no term needed" : Join(why, ", ")) +
               ")\n";
    } else if (had_hit) {
      not_fired += "not fired: " + rule.label + ": " + WhyNotFired(rule, in, im) + "\n";
    }
  }
  if (fired.empty()) fired = "no rule fired\n";
  return out + fired + not_fired;
}

}  // namespace

std::shared_ptr<const RuleSet> RuleSet::Compile(const RuleSetDef& def,
                                                const CompileOptions& options,
                                                Diagnostics* diags) {
  auto rs = std::make_shared<RuleSetImpl>();
  Diagnostics local;
  Compiler c(options, &local, rs.get());
  // Friend access goes through the compiler; set the basics here.
  bool ok = c.Run(def);
  if (diags) diags->Append(local);
  if (!ok || !local.ok()) return nullptr;
  return rs;
}

}  // namespace earshot::rules
