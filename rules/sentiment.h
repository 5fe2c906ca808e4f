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
  // left in `scratch`. Cost: one hash lookup per word.
  virtual Sentiment Classify(const MatchScratch& scratch) const = 0;
};

}  // namespace earshot::rules
