#pragma once
// Internal to the rules library: the compiled form of a rule set, shared by
// the compiler (rules/compiler.cc), which builds it, and the matcher
// (rules/matcher.cc), which runs it. RuleSet (rules/rule_set.h) is the
// public interface; RuleSetImpl is its one implementation.
//
// Every term, exclude, regex, filter and query of every brand and topic is
// one boolean expression (Node) over "atoms": distinct terms (Pattern),
// regexes and raw literals. The atoms are indexed for a single pass over an
// event's text; a rule is evaluated only when one of its atoms hit, or when
// it can fire with none (found at compile time).
//
// Immutable after compilation, so thread-safe to share; per-thread working
// state lives in MatchScratch::Impl (rules/matcher.cc).

#include <re2/re2.h>
#include <re2/set.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/literal_automaton.h"
#include "rules/matcher_chars.h"
#include "rules/matcher_index.h"
#include "rules/normalizer.h"
#include "rules/rule_set.h"

namespace earshot::rules::internal {

inline constexpr uint32_t kNone = 0xFFFFFFFF;
// Values of the term index with this bit are vocabulary words, not atoms.
inline constexpr uint32_t kVocabularyTag = 0x80000000;
// Term index values carry what OnExactHits needs beside the atom id, so a
// hit reads no Atom or Pattern for the common one-word term.
inline constexpr uint32_t kAtomBits = 24;
inline constexpr uint32_t kAtomMask = (1u << kAtomBits) - 1;
inline constexpr uint32_t kTagShift = kAtomBits;             // 2 bits: 0, 1 '#', 2 '@'
inline constexpr uint32_t kMultiWord = 1u << (kAtomBits + 2);  // more words to verify
inline constexpr uint32_t kPositions = 1u << (kAtomBits + 3);  // needs_positions
inline constexpr uint32_t kProcliticShift = kAtomBits + 4;    // 2 bits: ProcliticMode
inline constexpr int64_t kFar = INT64_MAX;

// Decodes the code point at s[*i], advancing *i (ASCII fast).
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
// Arabic proclitics (docs/matching.md): how a term whose first word starts
// with an Arabic letter may be written joined to و, ال, وال, بال, كال, فال,
// لل. A term that itself starts with ال is kept without it (its first word
// is the rest) and needs its ال written as one of the six forms with ال.
enum ProcliticMode : uint8_t {
  kProcliticNone = 0,     // the term as written, only
  kProcliticAny = 1,      // also with any of the seven joined to its start
  kProcliticArticle = 2,  // words[0] lacks the term's ال: ال, وال, بال, كال, فال or لل first
};
// What the matcher peeled off a token's start.
enum ProcliticKind : uint8_t {
  kPeelNone = 0,     // nothing: the whole token
  kPeelWaw = 1,      // و, at a word boundary
  kPeelArticle = 2,  // ال, وال, بال, كال, فال, لل, at a word boundary
  // ال where the token follows a no-space-script character: not a
  // proclitic (no word boundary), but an ال-term's own article, whose edge
  // the no-space rule waives as for any term.
  kPeelOwnArticle = 3,
};
// Whether a term of `mode` matches a token with `kind` peeled off.
inline bool ProcliticAccepts(uint8_t mode, uint8_t kind) {
  switch (kind) {
    case kPeelNone: return mode != kProcliticArticle;
    case kPeelWaw: return mode == kProcliticAny;
    case kPeelArticle: return mode != kProcliticNone;
    default: return mode == kProcliticArticle;
  }
}

// Where a term may start in the normalized text: its first word at
// [begin, end) (a token, or the rest of one), the match itself from
// `match_begin` (before `begin` when a proclitic of `kind` was peeled off).
struct TermStart {
  uint32_t match_begin, begin, end, word;
  uint8_t kind;
};

struct Pattern {
  std::vector<std::string> words;
  std::vector<uint8_t> gap_optional;  // [i]: words i-1 and i may touch (a no-space edge)
  char tag = 0;                       // '#' or '@': must directly precede the first word
  // [i], i >= 1: '#' or '@' that must end the gap before word i ("big
  // #deal"), or 0; words past its end have none (empty: no later word has
  // one).
  std::vector<char> word_tags;
  bool prefix = false;                // the last word is a prefix
  bool first_nospace = false;         // the first word has a no-space-script char
  bool last_nospace = false;          // the last char of the last word is no-space-script
  char32_t cp1 = 0, cp2 = 0;          // first code points of words[0] (cp2 = 0: only one)
  uint8_t proclitic = kProcliticNone;  // ProcliticMode
};

// A raw (exact-case, original text) literal.
struct RawLiteral {
  std::string text;
  bool first_boundary = false;  // the first char is outside no-space scripts: a boundary before it
  bool last_boundary = false;   // the same for the last char and after it
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
  std::string query_text;  // the whole query as FiredBy names it (a NEAR node's text is "NEAR/n")
  std::vector<uint32_t> positive_atoms;  // for "fired (...)"
  std::vector<uint32_t> exclude_atoms;
  std::vector<std::string> platforms, languages;
};

enum class Tri { kFalse, kTrue, kUnknown };

class Compiler;

class RuleSetImpl final : public RuleSet {
 public:
  const std::vector<std::string>& categories() const override { return categories_; }
  const std::vector<Brand>& brands() const override { return brands_; }
  const std::vector<std::string>& topics() const override { return topics_; }
  Stats stats() const override { return stats_; }
  void Match(const MatchInput& in, MatchScratch* scratch, MatchOutput* out) const override;
  std::string Explain(const MatchInput& in) const override;
  std::string FiredBy(const MatchInput& in, uint32_t brand) const override;

 private:
  friend class Compiler;

  MatchScratch::Impl& Prepare(MatchScratch* scratch) const;
  void FindAtoms(const MatchInput& in, const NormalizeInfo& info, MatchScratch* scratch,
                 MatchScratch::Impl& im) const;
  void OnExactHits(std::string_view text, const TermStart& t, const uint32_t* vb,
                   const uint32_t* ve, MatchScratch::Impl& im) const;
  void OnPrefixes(std::string_view text, const TermStart& t, MatchScratch::Impl& im) const;
  void OnNoSpacePos(std::string_view text, size_t s, char32_t cp1, size_t next, uint32_t widx,
                    MatchScratch::Impl& im, size_t match_begin, uint8_t kind) const;
  void OnNoSpacePos(std::string_view text, size_t s, char32_t cp1, size_t next, uint32_t widx,
                    MatchScratch::Impl& im) const {
    OnNoSpacePos(text, s, cp1, next, widx, im, s, kPeelNone);
  }
  // The look-ups of the spaced tokens (`Tokens`: the matcher's token list,
  // or the words of a text where every word is one spaced token).
  template <typename Tokens>
  void ProbeTokens(const Tokens& tokens, std::string_view text, const MatchScratch& scratch,
                   bool nospace, bool peel, MatchScratch::Impl& im) const;
  template <typename Tokens>
  void FindPeeled(const Tokens& tokens, std::string_view text, const MatchScratch& scratch,
                  bool nospace, MatchScratch::Impl& im) const;
  void OnNoSpaceRun(std::string_view text, size_t b, size_t e, uint32_t widx,
                    MatchScratch::Impl& im) const;
  void FindRaw(std::string_view text, MatchScratch::Impl& im) const;
  // Whether a '#' or '@' term whose word starts at byte `s` has its tag
  // there: text[s - 1] is `tag`, and the tag, the term's first character,
  // has the left boundary of any term (the text's start, a non-word
  // character, or a no-space-script character before it). So `x#nike`
  // holds no `#nike` and `info@nike.com` no `@nike`.
  bool TagBefore(std::string_view text, size_t s, char tag) const {
    if (s == 0 || text[s - 1] != tag) return false;
    if (s == 1) return true;
    const uint8_t f = CharFlags(flags_, CpBefore(text, s - 1));
    return !(f & kCharWord) || (f & kCharNoSpace);
  }
  bool Verify(const Pattern& p, std::string_view text, size_t pos, size_t from, size_t* end,
              uint32_t* adv) const;
  // `prefix`: bytes of a proclitic at the start of [b, e) (for explain).
  void Hit(MatchScratch::Impl& im, uint32_t atom, uint32_t b, uint32_t e, uint32_t wb, uint32_t we,
           bool positions, uint32_t prefix = 0) const;
  void Hit(MatchScratch::Impl& im, uint32_t atom, uint32_t b, uint32_t e, uint32_t wb,
           uint32_t we) const;
  void CollectCandidates(MatchScratch::Impl& im) const;
  bool Eval(uint32_t node, const MatchInput& in, const MatchScratch::Impl& im) const;
  int64_t NearBest(const NearSpec& s, const MatchScratch::Impl& im) const;
  bool FieldMatches(const FieldSpec& f, const MatchInput& in) const;
  bool Hit(const MatchScratch::Impl& im, uint32_t atom) const;
  std::string WhyFalse(uint32_t node, const MatchInput& in, const MatchScratch::Impl& im) const;
  std::string WhyNotFired(const Rule& r, const MatchInput& in, const MatchScratch::Impl& im) const;
  // The labels of the rule's positive atoms that made it fire (in its
  // order): hits under the parts of its tree that hold, not a term of a
  // NEAR or an OR branch that did not.
  std::vector<std::string> FiredAtoms(const Rule& r, const MatchInput& in,
                                      const MatchScratch::Impl& im) const;
  void CollectFiring(uint32_t node, const MatchInput& in, const MatchScratch::Impl& im,
                     std::vector<bool>* firing) const;

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
  // Term atoms whose first word is all no-space-script characters (ナイキ,
  // 耐克): found by one scan of each no-space run.
  LiteralAutomaton literals_;
  // Those whose first word mixes them with others (nike東京, ナイキ2):
  // first code points -> atoms, probed at each code point of a run and at
  // the start of spaced tokens.
  CodeIndex nospace_;
  // The first min(8, size) bytes of a no-space literal's first word (by atom).
  struct LiteralHead {
    uint64_t bytes = 0;
    uint32_t len = 0;
  };
  std::vector<LiteralHead> literal_heads_;
  // The first min(8, size) bytes of the second word of a phrase in the
  // term index (by atom): many phrases may share a first word ("the ..."),
  // and this turns most of them away at a token with one load, before
  // their Pattern is read.
  std::vector<LiteralHead> second_word_heads_;
  bool has_proclitic_terms_ = false;  // some term takes Arabic proclitics
  bool nospace_vocabulary_ = false;   // CompileOptions::nospace_vocabulary is in literals_
  // The term index keys of the terms that take proclitics (by HashBytes):
  // a peeled token is looked up only when it may be one.
  BitFilter proclitic_keys_;
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

// The text of an expression as a query (for explain and error messages).
std::string ExprToString(const Expr& e);

}  // namespace earshot::rules::internal
