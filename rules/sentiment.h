#pragma once
// Lexicon-based sentiment for matched events (positive, neutral, negative),
// with negation handling. Lexicons are editable TSV files (term<TAB>score,
// one per line, `#` comments; scores in -5..5; a `!negators` section lists
// negation words); the built-in default embeds deploy/sentiment/*.tsv.
// Immutable after Load: thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "base/diagnostics.h"
#include "rules/rule_set.h"

namespace earshot::rules {

enum class Sentiment { kPositive, kNeutral, kNegative };
inline constexpr int kSentimentCount = 3;
const char* SentimentName(Sentiment s);  // "positive" | "neutral" | "negative"

class SentimentLexicon {
 public:
  virtual ~SentimentLexicon() = default;
  // Files or directories of *.tsv. Errors are file:line:col diagnostics.
  static std::shared_ptr<const SentimentLexicon> Load(const std::vector<std::string>& paths,
                                                      Diagnostics* diags);
  // The shipped English and Arabic lexicons, compiled into the binary.
  static std::shared_ptr<const SentimentLexicon> BuiltIn();
  // Classifies the event whose normalized text and words RuleSet::Match()
  // left in `scratch`. Cost: one hash look-up per word, or, when the rule
  // set was compiled with this lexicon's vocabulary (AddVocabulary), a few
  // instructions per word: the matcher found the lexicon's words already.
  virtual Sentiment Classify(const MatchScratch& scratch) const = 0;
  // Adds the lexicon's words to `options`, so rule sets compiled with them
  // report them to Classify() (CompileOptions::vocabulary).
  virtual void AddVocabulary(CompileOptions* options) const = 0;
};

}  // namespace earshot::rules
