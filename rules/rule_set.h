#pragma once
// A compiled rule set: every brand and topic of a RuleSetDef, compiled into
// one matcher that looks at an event's text once for all rules (a tokenizer
// with a hash index for word/phrase/hashtag/mention/prefix terms, an
// automaton for no-space-script literals, RE2::Set for regexes), then
// evaluates each candidate rule's boolean expression on the atom hits.
//
// Compile once, match many: a RuleSet is immutable and thread-safe; share it
// through std::shared_ptr<const RuleSet>. A reload compiles a new one and
// swaps the pointer. MatchScratch is per thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/diagnostics.h"
#include "base/platform.h"
#include "rules/model.h"

namespace earshot::rules {

struct CompileOptions {
  int64_t regex_max_mem = 8 << 20;  // RE2 memory budget per regex and for the set
  int max_rules = 100000;           // brands + topics
  // Expression nodes from a query's top to a term: a guard for expressions
  // built in code. A parsed query cannot reach it: the parser allows 64
  // levels of parentheses and NOT, and a level holds at most an OR and an
  // AND node (~135 nodes deep at worst).
  int max_query_depth = 256;
  int max_atoms = 1000000;
  // Valid names for `platforms:` filters and `platform:` fields (canonical,
  // as in the config's platform list); empty accepts any name. "other" is
  // always valid.
  std::vector<std::string> platforms;
  // Words (already normalized; each one word of spaced-script characters)
  // that Match() reports where they occur as whole words of the text, found
  // by the same index probe as the terms (MatchScratch::vocabulary_hits): a
  // later stage, the sentiment lexicon, then needs no look-ups of its own.
  // `vocabulary_id` names the vocabulary for its consumer (0: none).
  std::vector<std::string> vocabulary;
  uint64_t vocabulary_id = 0;
  // Words of no-space scripts (each all of no-space-script characters,
  // normalized) that Match() reports wherever they occur in the text
  // (MatchScratch::nospace_vocabulary_hits), found by the same scan as the
  // no-space literals (literal_automaton). Indexes belong to the consumer.
  std::vector<std::string> nospace_vocabulary;
  // Literals of no-space scripts (ナイキ, 耐克) are found by an Aho-Corasick
  // automaton over each no-space run. false: by the code-point index probed
  // at every position instead (the earlier path, kept as the reference of
  // the differential test and for comparisons; same results, slower).
  bool literal_automaton = true;
};

struct MatchScratch;

// The fields of an event that rules can look at.
struct MatchInput {
  std::string_view text;      // original UTF-8 text
  std::string_view platform;  // a name of the PlatformTable ("twitter", ..., "other")
  std::string_view lang;      // "" when absent
  std::string_view author;    // author handle, "" when absent
  std::string_view country;   // "" when absent
  // Optional: a scratch whose last Match() was of this same text, by any
  // rule set. Match() then takes the normalized text from it instead of
  // normalizing again (normalization does not depend on the rules): shadow
  // rules pass the live match's. Explain() and FiredBy() ignore it.
  const MatchScratch* normalized = nullptr;
};

// An event's fields as they arrive: from the decoder, a rule file's test
// case or `earshot explain`'s flags. `platform` in any case, maybe an alias
// or a platform outside the configured list.
struct EventFields {
  std::string_view text, platform, lang, author, country;
};

// What Match() sees for an event: its platform mapped onto `platforms`
// (case and aliases folded, a name outside the list -> "other", an empty
// one too). The one place this mapping happens: the processor, `explain`
// and rule-file tests all call it, so they agree on every event. When
// given, *platform_index gets the platform's index in `platforms`.
MatchInput ToMatchInput(const EventFields& event, const PlatformTable& platforms,
                        uint32_t* platform_index = nullptr);

// Indices into RuleSet::brands() / topics(), ascending, no duplicates.
struct MatchOutput {
  std::vector<uint32_t> brands;
  std::vector<uint32_t> topics;
  void clear() {
    brands.clear();
    topics.clear();
  }
};

// A word of the normalized text: byte range [begin, end).
struct WordSpan {
  uint32_t begin;
  uint32_t end;
};

// std::allocator, but resize() leaves new elements of a trivial type
// uninitialized instead of zeroing them. The tokenizer sizes the word list
// for the most words a text can hold and writes them by index; zeroing that
// room for every event cost more than the writes.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  UninitializedAllocator() = default;
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// The words of a text, in order.
using WordList = std::vector<WordSpan, UninitializedAllocator<WordSpan>>;

// A word of the text that is vocabulary word `index` (CompileOptions).
struct VocabularyHit {
  uint32_t word;   // into MatchScratch::words
  uint32_t index;  // into CompileOptions::vocabulary
};

// An occurrence of CompileOptions::nospace_vocabulary word `index` at bytes
// [begin, end) of the normalized text.
struct NoSpaceVocabularyHit {
  uint32_t begin, end, index;
};

// Per-thread reusable buffers, so matching allocates nothing in the steady
// state. After Match() it holds the event's normalized text and words, which
// later stages (sentiment) may read until the next Match().
struct MatchScratch {
  std::string normalized;
  WordList words;
  bool has_nospace_script = false;  // the normalized text has a no-space-script character
  bool ascii = false;               // the normalized text is pure ASCII (false: unknown)
  // The rule set's CompileOptions::vocabulary_id, and the words of the text
  // that are vocabulary words, in text order. Complete only when
  // !has_nospace_script (a word with no-space-script characters is never
  // one spaced token, so it is never reported).
  uint64_t vocabulary_id = 0;
  std::vector<VocabularyHit> vocabulary_hits;
  // Every occurrence of a CompileOptions::nospace_vocabulary word, by begin
  // and, for one begin, longest first; complete when nospace_vocabulary is
  // set (the rule set was compiled with one).
  bool nospace_vocabulary = false;
  std::vector<NoSpaceVocabularyHit> nospace_vocabulary_hits;
  // Private working state of the matcher.
  struct Impl;
  std::shared_ptr<Impl> impl;
};

class RuleSet {
 public:
  struct Brand {
    std::string category;
    std::string name;
    uint32_t category_index;
  };
  struct Stats {
    size_t categories = 0, brands = 0, topics = 0, terms = 0, regexes = 0, queries = 0;
  };

  virtual ~RuleSet() = default;

  // Compiles `def`. On any error returns null and reports every error found
  // (file:line:col) to `diags`.
  static std::shared_ptr<const RuleSet> Compile(const RuleSetDef& def,
                                                const CompileOptions& options,
                                                Diagnostics* diags);

  virtual const std::vector<std::string>& categories() const = 0;
  virtual const std::vector<Brand>& brands() const = 0;
  virtual const std::vector<std::string>& topics() const = 0;
  virtual Stats stats() const = 0;

  // Classifies one event. Cost: linear in the text length plus the number of
  // atom hits; independent of the number of rules that cannot fire.
  virtual void Match(const MatchInput& in, MatchScratch* scratch, MatchOutput* out) const = 0;

  // A human-readable report for `earshot explain`: the normalized text, each
  // atom hit with its byte offsets in the original text, each rule that
  // fired and why, and for rules with a hit that did not fire, what failed.
  virtual std::string Explain(const MatchInput& in) const = 0;

  // What made brand `brand` (an index into brands()) fire on `in`, in
  // Explain()'s words: the query when the brand has one, then the terms,
  // regexes and raw literals of it that hit, e.g. `term "nike"`; "" when
  // the brand does not fire. Costs a match of its own (for samples of
  // changed events and diffs, not the hot path).
  virtual std::string FiredBy(const MatchInput& in, uint32_t brand) const = 0;
};

}  // namespace earshot::rules
