// Lexicon-based sentiment (see sentiment.h and docs/sentiment.md).
//
// Lexicon file format (UTF-8, one entry per line):
//   # a comment                    lines starting with '#' (after blanks)
//   term<TAB>score                 score: a number in -5..5
//   !negators                      the following lines are negation words
//   !intensifiers                  the following lines are word<TAB>factor (0..3)
//   !scores                        back to term<TAB>score
// A file named negators*.tsv holds negators only. Terms go through
// rules::Normalize like rule terms do; a term of several words is a phrase
// (matched on consecutive words, longest first); a term in a no-space script
// (Japanese) matches as a substring inside words; a single emoji is matched
// in the text between words.
//
// Classification: the scores of the event's words are summed; a word within
// three words after a negator counts with the opposite sign (a clause mark
// such as . , ! ? ; : ends a negation's reach); a word right after an
// intensifier is multiplied by its factor. Sum >= 1: positive, <= -1:
// negative, else neutral.
#include "rules/sentiment.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "base/status.h"
#include "rules/arabic_proclitics.h"
#include "rules/matcher_chars.h"
#include "rules/matcher_index.h"
#include "rules/normalizer.h"

namespace earshot::rules {

namespace internal {
// The shipped lexicons, generated at build time from deploy/sentiment/*.tsv
// (see rules/CMakeLists.txt).
struct EmbeddedLexicon {
  const char* name;  // file name, e.g. "en.tsv"
  const unsigned char* data;
  size_t size;
};
extern const EmbeddedLexicon kEmbeddedLexicons[];
extern const size_t kEmbeddedLexiconCount;
}  // namespace internal

const char* SentimentName(Sentiment s) {
  switch (s) {
    case Sentiment::kPositive:
      return "positive";
    case Sentiment::kNegative:
      return "negative";
    case Sentiment::kNeutral:
      break;
  }
  return "neutral";
}

namespace {

constexpr int kNegationReach = 3;  // words after a negator whose sign flips
constexpr double kPositiveThreshold = 1.0;
constexpr double kNegativeThreshold = -1.0;

struct Phrase {
  std::vector<std::string> rest;  // the words after the first
  double score;
};

struct Entry {
  bool has_score = false;
  double score = 0;
  bool negator = false;
  double intensifier = 0;  // 0: not one
  std::vector<Phrase> phrases;  // phrases starting with this word, longest first
};

struct NoSpaceTerm {
  std::string text;  // normalized, starts with the key code point
  double score;
};

bool IsArabicLetter(char32_t cp) { return cp >= 0x0620 && cp <= 0x064A; }

bool IsClauseMark(char32_t cp) {
  switch (cp) {
    case '.': case ',': case '!': case '?': case ';': case ':':
    case 0x060C:  // Arabic comma
    case 0x061B:  // Arabic semicolon
    case 0x061F:  // Arabic question mark
    case 0x3001: case 0x3002:  // 、。
    case 0xFF01: case 0xFF0C: case 0xFF1F:  // ！，？ (NFKC folds these, but be safe)
    case 0x2026:  // …
      return true;
    default:
      return false;
  }
}

// An ASCII byte that neither scores nor ends a clause (space, quote, ...).
bool IsPlainGapByte(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u < 0x80 && !IsClauseMark(u);
}

// Emoji presentation selectors and joiners carry no sentiment of their own.
bool IsEmojiModifier(char32_t cp) {
  return cp == 0xFE0F || cp == 0xFE0E || cp == 0x200D || (cp >= 0x1F3FB && cp <= 0x1F3FF);
}

// Arabic clitics glued to the front of a word: the matcher's seven
// proclitics (rules/arabic_proclitics.h) and the one-letter prepositions ف,
// ب and ل. Tried, longest first, only when the whole word is unknown.
constexpr std::string_view kArabicPrefixes[] = {
    internal::kWawArticle, internal::kBehArticle, internal::kFehArticle, internal::kKafArticle,
    internal::kLamLam,     internal::kArticle,    internal::kWaw,        internal::kFeh,
    internal::kBeh,        internal::kLam};
static_assert(std::all_of(std::begin(internal::kArabicProclitics),
                          std::end(internal::kArabicProclitics), [](std::string_view p) {
                            return std::find(std::begin(kArabicPrefixes),
                                             std::end(kArabicPrefixes),
                                             p) != std::end(kArabicPrefixes);
                          }));
static_assert(std::is_sorted(std::begin(kArabicPrefixes), std::end(kArabicPrefixes),
                             [](std::string_view a, std::string_view b) { return a.size() > b.size(); }));

class Lexicon : public SentimentLexicon {
 public:
  // Parses one file's text; `name` is used in diagnostics.
  void Parse(std::string_view text, const std::string& name, Diagnostics* diags) {
    enum class Section { kScores, kNegators, kIntensifiers };
    std::string base = std::filesystem::path(name).filename().string();
    Section section = base.rfind("negators", 0) == 0 ? Section::kNegators : Section::kScores;
    std::unordered_map<std::string, int> seen;  // normalized term -> line, this file
    int line_no = 0;
    size_t pos = 0;
    std::string norm;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view line =
          text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos || line[first] == '#') continue;
      auto loc = [&](size_t byte) { return SourceLoc{name, line_no, Column(line, byte)}; };

      if (line[first] == '!') {
        std::string_view word = Trim(line.substr(first + 1));
        if (word == "negators") {
          section = Section::kNegators;
        } else if (word == "intensifiers") {
          section = Section::kIntensifiers;
        } else if (word == "scores") {
          section = Section::kScores;
        } else {
          std::string hint = ClosestMatch(word, {"negators", "intensifiers", "scores"});
          diags->Error(loc(first), "unknown section \"!" + std::string(word) + "\"",
                       hint.empty() ? "sections are !scores, !negators and !intensifiers"
                                    : "did you mean \"!" + hint + "\"?");
        }
        continue;
      }

      size_t tab = line.find('\t');
      std::string_view term = Trim(line.substr(0, tab));
      std::string_view value;
      size_t value_at = 0;
      if (tab != std::string_view::npos) {
        value_at = tab + 1;
        value = line.substr(value_at);
        // A trailing "# comment" after the value.
        size_t hash = value.find('#');
        if (hash != std::string_view::npos) value = value.substr(0, hash);
        size_t lead = value.find_first_not_of(" \t");
        if (lead != std::string_view::npos) value_at += lead;
        value = Trim(value);
      }

      Normalize(term, &norm);
      if (norm.empty() || Trim(norm).empty()) {
        diags->Error(loc(first), "empty term");
        continue;
      }

      if (section == Section::kNegators) {
        if (!value.empty()) {
          diags->Error(loc(value_at), "a negator takes no score",
                       "list one negation word per line; scores belong under !scores");
          continue;
        }
        auto words = SplitWords(norm);
        if (words.size() != 1) {
          diags->Error(loc(first), "a negator must be one word");
          continue;
        }
        words_[words[0]].negator = true;
        continue;
      }

      if (tab == std::string_view::npos || value.empty()) {
        diags->Error(loc(line.size()),
                     section == Section::kScores ? "expected term<TAB>score"
                                                 : "expected word<TAB>factor",
                     "separate the columns with one tab character");
        continue;
      }
      double number = 0;
      if (!ParseNumber(value, &number)) {
        diags->Error(loc(value_at), "bad number \"" + std::string(value) + "\"");
        continue;
      }
      if (section == Section::kIntensifiers) {
        if (number <= 0 || number > 3) {
          diags->Error(loc(value_at), "intensifier factor must be in (0, 3]");
          continue;
        }
        auto words = SplitWords(norm);
        if (words.size() != 1) {
          diags->Error(loc(first), "an intensifier must be one word");
          continue;
        }
        words_[words[0]].intensifier = number;
        continue;
      }
      if (number < -5 || number > 5) {
        diags->Error(loc(value_at), "score " + std::string(value) + " is outside -5..5");
        continue;
      }
      auto [it, fresh] = seen.emplace(norm, line_no);
      if (!fresh) {
        diags->Error(loc(first), "duplicate term \"" + std::string(term) + "\"",
                     "first listed on line " + std::to_string(it->second) +
                         " (terms are compared after normalization)");
        continue;
      }
      if (Status s = AddScore(norm, number); !s.ok()) diags->Error(loc(first), s.message());
    }
  }

  Sentiment Classify(const MatchScratch& scratch) const override {
    // The matcher's vocabulary hits list exactly the words that are lexicon
    // keys (see BuildVocabulary()) when the rule set carries this
    // vocabulary and the text has no no-space script.
    const bool from_hits = vocabulary_id_ != 0 && scratch.vocabulary_id == vocabulary_id_ &&
                           !scratch.has_nospace_script;
    const double sum = from_hits ? ScoreHits(scratch) : ScoreLookedUp(scratch);
    if (sum >= kPositiveThreshold) return Sentiment::kPositive;
    if (sum <= kNegativeThreshold) return Sentiment::kNegative;
    return Sentiment::kNeutral;
  }

  size_t size() const { return entries_.size() + emoji_scores_.size() + nospace_count_; }

 private:
  // The running state of one classification (file comment: negation reach,
  // intensifiers).
  struct State {
    double sum = 0;
    int last_negator = -1000;    // word index of the last negator in reach
    int intensifier_at = -1000;  // word index of the last intensifier
    double factor = 1;
  };

  // Scores the lexicon word `e` at word index wi; returns how many following
  // words a matched phrase consumed.
  size_t ScoreWord(const Entry& e, std::string_view text, const WordList& words,
                   size_t wi, State* st) const {
    const int i = static_cast<int>(wi);
    double score = 0;
    size_t consumed = 0;
    bool scored = false;
    for (const Phrase& p : e.phrases) {
      if (MatchPhrase(text, words, wi, p)) {
        score = p.score;
        scored = true;
        consumed = p.rest.size();
        break;
      }
    }
    if (!scored) {
      if (e.negator) {
        st->last_negator = i;
        return 0;
      }
      if (e.intensifier > 0) {
        st->intensifier_at = i;
        st->factor = e.intensifier;
        return 0;
      }
      if (!e.has_score) return 0;
      score = e.score;
    }
    if (i - st->last_negator <= kNegationReach) score = -score;
    if (st->intensifier_at == i - 1) score *= st->factor;
    st->sum += score;
    return consumed;
  }

  // Every word in turn; `lookup(wi, word)` gives its entry (or null).
  template <typename Lookup>
  double ScoreWords(const MatchScratch& scratch, Lookup&& lookup) const {
    const std::string_view text = scratch.normalized;
    const auto& words = scratch.words;
    const size_t n = text.size();
    State st;
    size_t gap_from = 0;  // start of the text before the current word
    // No-space words: from the matcher's hits when it found them.
    const bool nospace_hits = scratch.nospace_vocabulary && scratch.vocabulary_id == vocabulary_id_ &&
                              vocabulary_id_ != 0 && !nospace_vocabulary_.empty();
    size_t next_nospace_hit = 0;
    for (size_t wi = 0; wi < words.size(); ++wi) {
      const WordSpan w = words[wi];
      if (w.end > n || w.end < w.begin || w.begin < gap_from) break;
      // Most gaps are one space: nothing to score, no clause mark.
      if (w.begin - gap_from > 1 || (w.begin > gap_from && !IsPlainGapByte(text[gap_from]))) {
        st.sum += ScanGap(text, gap_from, w.begin, &st.last_negator);
      }
      gap_from = w.end;
      const std::string_view word = text.substr(w.begin, w.end - w.begin);
      const Entry* e = lookup(wi, word);
      if (e == nullptr) {
        if (scratch.has_nospace_script && !nospace_lists_.empty() && HasThreeByteChar(word)) {
          const bool negated = static_cast<int>(wi) - st.last_negator <= kNegationReach;
          st.sum += nospace_hits ? ScoreNoSpaceHits(scratch.nospace_vocabulary_hits, w.begin, w.end,
                                                    negated, &next_nospace_hit)
                                 : ScanNoSpace(word, negated);
        }
        continue;
      }
      const size_t consumed = ScoreWord(*e, text, words, wi, &st);
      if (consumed > 0) {
        wi += consumed;
        gap_from = words[wi].end;
      }
    }
    st.sum += ScanGap(text, gap_from, n, &st.last_negator);
    return st.sum;
  }

  // The general path: every word looked up.
  double ScoreLookedUp(const MatchScratch& scratch) const {
    return ScoreWords(scratch, [this](size_t, std::string_view word) { return Find(word); });
  }

  // From the matcher's hits, which are exactly the words that are keys.
  // Pure-ASCII text: only the hits are visited, and the gaps between them
  // scanned only while a negator is in reach (there are no emoji, and a
  // clause mark matters only then). Other text: every word, the hits
  // standing in for the key look-up (see BuildVocabulary() for clitics).
  double ScoreHits(const MatchScratch& scratch) const {
    const auto& hits = scratch.vocabulary_hits;
    if (!scratch.ascii && !HitsSuffice(scratch)) {
      size_t next_hit = 0;
      return ScoreWords(scratch, [&](size_t wi, std::string_view word) -> const Entry* {
        while (next_hit < hits.size() && hits[next_hit].word < wi) ++next_hit;
        if (next_hit < hits.size() && hits[next_hit].word == wi) {
          return &entries_[vocabulary_entry_[hits[next_hit].index]];
        }
        return MayBeForeignCliticForm(word) ? FindWithoutClitic(word) : nullptr;
      });
    }
    const std::string_view text = scratch.normalized;
    const auto& words = scratch.words;
    const size_t n = text.size();
    State st;
    size_t gap_from = 0;  // the end of word next - 1
    size_t next = 0;      // the first word whose preceding gap is not scanned yet
    for (const VocabularyHit& h : hits) {
      const size_t wi = h.word;
      if (wi < next) continue;  // consumed by a phrase
      if (wi >= words.size() || words[wi].end > n) break;
      if (static_cast<int>(wi) - st.last_negator <= kNegationReach) {
        for (; next <= wi; ++next) {
          st.sum += ScanGap(text, gap_from, words[next].begin, &st.last_negator);
          gap_from = words[next].end;
        }
      }
      const size_t consumed =
          ScoreWord(entries_[vocabulary_entry_[h.index]], text, words, wi, &st);
      next = wi + 1 + consumed;
      gap_from = words[wi + consumed].end;
    }
    return st.sum;
  }

  // Whether text that is not pure ASCII (and has no no-space script) can be
  // scored from the hits alone, as ASCII text is: no word is a clitic form
  // the hits miss (MayBeForeignCliticForm: Arabic letters joined to a word
  // of another script), and no gap can hold an emoji (the text has no code
  // point of three or four bytes, and every emoji key has at least three).
  // Clause marks in the gaps are read as for ASCII text, while a negator is
  // in reach. One SIMD pass over the bytes screens both, instead of a
  // look-up and a gap scan a word.
  bool HitsSuffice(const MatchScratch& scratch) const {
    if (min_emoji_ < 0x800) return false;
    return !internal::HasByteAtLeastE0OrArabicThenOther(scratch.normalized);
  }

  static std::string_view Trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
  }

  // 1-based column in code points of byte offset `byte` of `line`.
  static int Column(std::string_view line, size_t byte) {
    int col = 1;
    for (size_t i = 0; i < byte && i < line.size(); ++i) {
      if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++col;
    }
    if (byte > line.size()) col += static_cast<int>(byte - line.size());
    return col;
  }

  static bool ParseNumber(std::string_view s, double* out) {
    std::string tmp(s);
    char* end = nullptr;
    double v = std::strtod(tmp.c_str(), &end);
    if (end != tmp.c_str() + tmp.size() || tmp.empty() || !std::isfinite(v)) return false;
    *out = v;
    return true;
  }

  static std::vector<std::string> SplitWords(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    bool in = false;
    while (i < s.size()) {
      size_t at = i;
      char32_t cp = DecodeUtf8(s, &i);
      if (IsWordChar(cp)) {
        if (!in) out.emplace_back();
        in = true;
        out.back().append(s.substr(at, i - at));
      } else {
        in = false;
      }
    }
    return out;
  }

  // Cheap pre-check for ScanNoSpace: no-space scripts (Thai U+0E00 up to
  // CJK) are all three-byte UTF-8 sequences.
  static bool HasThreeByteChar(std::string_view s) {
    for (char c : s) {
      if ((static_cast<unsigned char>(c) & 0xF0) == 0xE0) return true;
    }
    return false;
  }

  static bool HasNoSpaceScript(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      if (IsNoSpaceScript(DecodeUtf8(s, &i))) return true;
    }
    return false;
  }

  earshot::Status AddScore(const std::string& norm, double score) {
    auto words = SplitWords(norm);
    if (words.empty()) {
      // An emoji (or other symbol): one code point, modifiers ignored.
      char32_t key = 0;
      size_t i = 0;
      int n = 0;
      while (i < norm.size()) {
        char32_t cp = DecodeUtf8(norm, &i);
        if (IsEmojiModifier(cp) || cp == ' ') continue;
        key = cp;
        ++n;
      }
      if (n != 1) return earshot::Status::Error("a symbol entry must be a single emoji or character");
      emoji_[key] = score;
      return earshot::Status::Ok();
    }
    if (words.size() == 1 && HasNoSpaceScript(words[0])) {
      size_t i = 0;
      char32_t first = DecodeUtf8(words[0], &i);
      auto& list = nospace_[first];
      auto it = std::find_if(list.begin(), list.end(),
                             [&](const NoSpaceTerm& t) { return t.text == words[0]; });
      if (it != list.end()) {
        it->score = score;  // a later file overrides
      } else {
        list.push_back(NoSpaceTerm{words[0], score});
        ++nospace_count_;
      }
      std::sort(list.begin(), list.end(), [](const NoSpaceTerm& a, const NoSpaceTerm& b) {
        return a.text.size() > b.text.size();
      });
      return earshot::Status::Ok();
    }
    Entry& e = words_[words[0]];
    if (words.size() == 1) {
      e.has_score = true;
      e.score = score;
      return earshot::Status::Ok();
    }
    std::vector<std::string> rest(words.begin() + 1, words.end());
    auto it = std::find_if(e.phrases.begin(), e.phrases.end(),
                           [&](const Phrase& p) { return p.rest == rest; });
    if (it != e.phrases.end()) {
      it->score = score;
    } else {
      e.phrases.push_back(Phrase{std::move(rest), score});
    }
    std::stable_sort(e.phrases.begin(), e.phrases.end(), [](const Phrase& a, const Phrase& b) {
      return a.rest.size() > b.rest.size();
    });
    return earshot::Status::Ok();
  }

  // Builds the read-only look-up tables; call once the lexicon is complete.
 public:
  void Finish() {
    std::vector<std::pair<std::string, uint32_t>> words;
    entries_.clear();
    max_key_bytes_ = 0;
    for (auto& [w, e] : words_) {
      max_key_bytes_ = std::max(max_key_bytes_, w.size());
      words.emplace_back(w, static_cast<uint32_t>(entries_.size()));
      entries_.push_back(std::move(e));
    }
    words_.clear();
    word_index_.Build(std::move(words));
    std::vector<std::pair<uint64_t, uint32_t>> keys;
    nospace_lists_.clear();
    for (auto& [cp, list] : nospace_) {
      // Split by second code point (0: a one-code-point entry), keeping
      // the longest-first order.
      std::map<char32_t, std::vector<NoSpaceTerm>> by_second;
      for (NoSpaceTerm& t : list) {
        size_t k = 0;
        internal::DecodeUtf8Fast(t.text, &k);
        char32_t second = 0;
        if (k < t.text.size()) second = internal::DecodeUtf8Fast(t.text, &k);
        by_second[second].push_back(std::move(t));
      }
      for (auto& [second, terms] : by_second) {
        keys.emplace_back(internal::CodeKey(cp, second),
                          static_cast<uint32_t>(nospace_lists_.size()));
        nospace_lists_.push_back(std::move(terms));
      }
    }
    nospace_.clear();
    // One filter for the one-code-point entries (second = 0), one for the others.
    size_t singles = 0;
    for (const auto& [key, list] : keys) singles += (key & 0x1FFFFF) == 0;
    single_filter_.Reset(singles);
    pair_filter_.Reset(keys.size() - singles);
    for (const auto& [key, list] : keys) {
      ((key & 0x1FFFFF) == 0 ? single_filter_ : pair_filter_).Add(key);
    }
    nospace_index_.Build(std::move(keys));
    keys.clear();
    emoji_scores_.clear();
    min_emoji_ = 0x110000;
    for (const auto& [cp, score] : emoji_) {
      min_emoji_ = std::min<char32_t>(min_emoji_, cp);
      keys.emplace_back(internal::CodeKey(cp, 0), static_cast<uint32_t>(emoji_scores_.size()));
      emoji_scores_.push_back(score);
    }
    emoji_.clear();
    emoji_index_.Build(std::move(keys));
    BuildVocabulary();
  }

  void AddVocabulary(CompileOptions* options) const override {
    options->vocabulary = vocabulary_;
    options->vocabulary_id = vocabulary_id_;
    options->nospace_vocabulary = nospace_vocabulary_;
  }

 private:
  // The vocabulary: the lexicon's keys (the words Lookup() finds), and the
  // clitic forms of its Arabic keys (prefix + key where Find() resolves
  // that word to the key), so that the hits cover Arabic words too; a
  // clitic form of a key in another script is left to
  // MayBeForeignCliticForm(). Keys with no-space-script characters are left
  // out: such words only occur in texts not taken from the hits.
  static bool IsArabicLeadByte(char c) {
    return (static_cast<unsigned char>(c) & 0xFC) == 0xD8;  // U+0600..U+06FF
  }
  void BuildVocabulary() {
    static std::atomic<uint64_t> next_id{1};
    vocabulary_.clear();
    vocabulary_entry_.clear();
    std::vector<std::pair<std::string, uint32_t>> arabic;
    word_index_.ForEach([&](std::string_view key, uint32_t entry) {
      if (HasNoSpaceScript(key)) return;
      vocabulary_.emplace_back(key);
      vocabulary_entry_.push_back(entry);
      if (IsArabicLeadByte(key[0])) arabic.emplace_back(std::string(key), entry);
    });
    std::sort(arabic.begin(), arabic.end());
    std::unordered_set<std::string> seen(vocabulary_.begin(), vocabulary_.end());
    for (const auto& prefix : kArabicPrefixes) {
      for (const auto& [key, entry] : arabic) {
        std::string word = std::string(prefix) + key;
        if (Find(word) != &entries_[entry] || !seen.insert(word).second) continue;
        vocabulary_.push_back(std::move(word));
        vocabulary_entry_.push_back(entry);
      }
    }
    nospace_vocabulary_.clear();
    nospace_vocabulary_score_.clear();
    bool all_pure = true;
    for (const auto& list : nospace_lists_) {
      for (const NoSpaceTerm& t : list) {
        all_pure &= IsAllNoSpace(t.text);
        nospace_vocabulary_.push_back(t.text);
        nospace_vocabulary_score_.push_back(t.score);
      }
    }
    if (!all_pure) {
      nospace_vocabulary_.clear();
      nospace_vocabulary_score_.clear();
    }
    vocabulary_id_ = next_id.fetch_add(1);
  }

  static bool IsAllNoSpace(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      if (!IsNoSpaceScript(DecodeUtf8(s, &i))) return false;
    }
    return !s.empty();
  }

  // ScanNoSpace's reading of word [b, e) from the matcher's hits: the
  // longest entry at each position, left to right, not overlapping. *next
  // walks the hits (sorted by begin, longest first) across the words.
  double ScoreNoSpaceHits(const std::vector<NoSpaceVocabularyHit>& hits, uint32_t b, uint32_t e,
                          bool negated, size_t* next) const {
    double sum = 0;
    uint32_t pos = b;
    size_t k = *next;
    while (k < hits.size() && hits[k].begin < b) ++k;
    for (; k < hits.size() && hits[k].begin < e; ++k) {
      const NoSpaceVocabularyHit& h = hits[k];
      if (h.begin < pos || h.end > e) continue;  // overlaps the last one taken
      const double score = nospace_vocabulary_score_[h.index];
      sum += negated ? -score : score;
      pos = h.end;
    }
    *next = k;
    return sum;
  }

  // Whether `word` (not a vocabulary word) might still be a clitic form
  // Find() resolves: only as a clitic followed by a key that does not start
  // with an Arabic letter (the Arabic ones are all in the vocabulary).
  [[gnu::always_inline]] bool MayBeForeignCliticForm(std::string_view word) const {
    const size_t size = word.size();
    if (size < 6) return false;
    // The first 6 or 8 bytes at once: most words fail here, on a lead that
    // is not D8/D9 or on characters 2 to 4 all Arabic (clitics are one to
    // three Arabic letters, 2, 4 or 6 bytes: in an Arabic word, what follows
    // any of them is Arabic too; a 7-byte word can only take a one-letter
    // clitic).
    uint64_t x = 0;
    if (size >= 8) {
      std::memcpy(&x, word.data(), 8);
    } else {
      std::memcpy(&x, word.data(), 6);
    }
    if ((x & 0xFE) != 0xD8) return false;
    const uint64_t leads = size >= 8 ? 0x00FC00FC00FC0000 : 0x000000FC00FC0000;
    if ((x & leads) == (0x00D800D800D80000 & leads)) return false;
    for (const auto& prefix : kArabicPrefixes) {
      if (word.size() >= prefix.size() + 4 && word[1] == prefix[1] && word[0] == prefix[0] &&
          word.compare(0, prefix.size(), prefix) == 0 && !IsArabicLeadByte(word[prefix.size()])) {
        return true;
      }
    }
    return false;
  }

  // One probe of a flat table behind a bit filter: most words of a post are
  // not in the lexicon and cost a hash and one L1 bit test.
  const Entry* Lookup(std::string_view word) const {
    // A no-space-script run between spaces is one word, often longer than
    // any key: not hashed.
    if (word.size() > max_key_bytes_) return nullptr;
    const uint32_t *b, *e;
    if (!word_index_.Find(word.data(), static_cast<uint32_t>(word.size()), &b, &e)) return nullptr;
    return &entries_[*b];
  }

  const Entry* Find(std::string_view word) const {
    if (const Entry* e = Lookup(word)) return e;
    return FindWithoutClitic(word);
  }

  // A word that is not a key: Arabic, peel a clitic off the front
  // (و+ال+جميل -> جميل). Every clitic starts with an Arabic letter (two
  // bytes); compare those first.
  const Entry* FindWithoutClitic(std::string_view word) const {
    if (word.size() >= 6 && (static_cast<unsigned char>(word[0]) & 0xFE) == 0xD8) {
      size_t i = 0;
      if (!IsArabicLetter(DecodeUtf8(word, &i))) return nullptr;
      for (const auto& prefix : kArabicPrefixes) {
        if (word.size() >= prefix.size() + 4 && word[1] == prefix[1] && word[0] == prefix[0] &&
            word.compare(0, prefix.size(), prefix) == 0) {
          if (const Entry* e = Lookup(word.substr(prefix.size()))) return e;
        }
      }
    }
    return nullptr;
  }

  bool MatchPhrase(std::string_view text, const WordList& words, size_t at,
                   const Phrase& p) const {
    if (at + p.rest.size() >= words.size()) return false;
    for (size_t k = 0; k < p.rest.size(); ++k) {
      const WordSpan& w = words[at + 1 + k];
      if (text.substr(w.begin, w.end - w.begin) != p.rest[k]) return false;
    }
    return true;
  }

  // The text between two words: emoji score, clause marks end negation.
  double ScanGap(std::string_view text, size_t from, size_t to, int* last_negator) const {
    double sum = 0;
    size_t i = from;
    while (i < to) {
      unsigned char c = static_cast<unsigned char>(text[i]);
      if (c < 0x80) {
        if (IsClauseMark(c)) *last_negator = -1000;
        ++i;
        continue;
      }
      const char32_t cp = internal::DecodeUtf8Fast(text, &i);
      if (IsClauseMark(cp)) {
        *last_negator = -1000;
      } else if (emoji_index_.MayStartWith(cp)) {
        const uint32_t *b, *e;
        if (emoji_index_.Find(internal::CodeKey(cp, 0), &b, &e)) sum += emoji_scores_[*b];
      }
    }
    return sum;
  }

  // Japanese and other no-space scripts: longest lexicon entry at each
  // position of the word, left to right, non-overlapping. Entries are keyed
  // by their first two code points (one-code-point entries by the first and
  // 0), behind a bit filter on the pair: most positions cost one decode and
  // a bit test.
  double ScanNoSpace(std::string_view word, bool negated) const {
    double sum = 0;
    auto longest = [&](uint64_t key, size_t at) -> const NoSpaceTerm* {
      const uint32_t *b, *e;
      if (!nospace_index_.Find(key, &b, &e)) return nullptr;
      for (const NoSpaceTerm& t : nospace_lists_[*b]) {  // longest first
        if (word.compare(at, t.text.size(), t.text) == 0) return &t;
      }
      return nullptr;
    };
    size_t at = 0;    // where c1 starts
    size_t next = 0;  // where c2 starts
    char32_t c1 = 0;
    if (!word.empty()) c1 = internal::DecodeUtf8Fast(word, &next);
    while (at < word.size()) {
      size_t after = next;  // where the code point after c2 starts
      const char32_t c2 = next < word.size() ? internal::DecodeUtf8Fast(word, &after) : 0;
      const NoSpaceTerm* t = nullptr;
      if (c2 != 0 && pair_filter_.MayContain(internal::CodeKey(c1, c2))) t = longest(internal::CodeKey(c1, c2), at);
      if (t == nullptr && single_filter_.MayContain(internal::CodeKey(c1, 0))) {
        t = longest(internal::CodeKey(c1, 0), at);
      }
      if (t == nullptr) {
        at = next;
        next = after;
        c1 = c2;
        continue;
      }
      sum += negated ? -t->score : t->score;
      at += t->text.size();
      next = at;
      if (at < word.size()) c1 = internal::DecodeUtf8Fast(word, &next);
    }
    return sum;
  }

  // A bit filter on (first, second code point) of the no-space entries:
  // ~16 bits an entry, so a few hundred bytes for the shipped lexicons.
  // While parsing; Finish() moves them into the tables below.
  std::unordered_map<std::string, Entry> words_;
  std::unordered_map<char32_t, double> emoji_;
  std::unordered_map<char32_t, std::vector<NoSpaceTerm>> nospace_;
  size_t nospace_count_ = 0;
  // Look-up (after Finish()).
  std::vector<Entry> entries_;
  size_t max_key_bytes_ = 0;  // the longest key of word_index_
  internal::StringIndex word_index_;                     // word -> entries_
  std::vector<std::vector<NoSpaceTerm>> nospace_lists_;  // by first two code points
  internal::CodeIndex nospace_index_;  // CodeKey(first, second or 0) -> nospace_lists_
  internal::BitFilter pair_filter_, single_filter_;  // of nospace_index_'s keys
  std::vector<double> emoji_scores_;
  char32_t min_emoji_ = 0x110000;  // the smallest emoji key
  internal::CodeIndex emoji_index_;                      // code point -> emoji_scores_
  std::vector<std::string> vocabulary_;     // CompileOptions::vocabulary
  // CompileOptions::nospace_vocabulary: every no-space entry, when each is
  // all of no-space-script characters (else empty: ScanNoSpace is used).
  std::vector<std::string> nospace_vocabulary_;
  std::vector<double> nospace_vocabulary_score_;
  std::vector<uint32_t> vocabulary_entry_;  // vocabulary index -> entries_
  uint64_t vocabulary_id_ = 0;
};

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

std::shared_ptr<const SentimentLexicon> SentimentLexicon::Load(
    const std::vector<std::string>& paths, Diagnostics* diags) {
  namespace fs = std::filesystem;
  auto lex = std::make_shared<Lexicon>();
  Diagnostics local;
  for (const auto& path : paths) {
    std::error_code ec;
    std::vector<std::string> files;
    if (fs::is_directory(path, ec)) {
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.path().extension() == ".tsv") files.push_back(entry.path().string());
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) local.Error(SourceLoc{path, 0, 0}, "no *.tsv lexicon files in directory");
    } else {
      files.push_back(path);
    }
    for (const auto& file : files) {
      std::string text;
      if (!ReadFile(file, &text)) {
        local.Error(SourceLoc{file, 0, 0}, "cannot read lexicon file");
        continue;
      }
      lex->Parse(text, file, &local);
    }
  }
  if (!local.ok()) {
    if (diags != nullptr) diags->Append(local);
    return nullptr;
  }
  lex->Finish();
  if (lex->size() == 0) {
    if (diags != nullptr) {
      diags->Error(SourceLoc{paths.empty() ? std::string() : paths[0], 0, 0},
                   "sentiment lexicon has no entries");
    }
    return nullptr;
  }
  return lex;
}

std::shared_ptr<const SentimentLexicon> SentimentLexicon::BuiltIn() {
  // Parsed once; a broken shipped lexicon is a build defect that the unit
  // tests catch, so here it only yields fewer entries.
  static const std::shared_ptr<const SentimentLexicon> kBuiltIn = [] {
    auto lex = std::make_shared<Lexicon>();
    Diagnostics diags;
    for (size_t i = 0; i < internal::kEmbeddedLexiconCount; ++i) {
      const auto& f = internal::kEmbeddedLexicons[i];
      lex->Parse(std::string_view(reinterpret_cast<const char*>(f.data), f.size),
                 std::string("<builtin>/") + f.name, &diags);
    }
    lex->Finish();
    return std::shared_ptr<const SentimentLexicon>(std::move(lex));
  }();
  return kBuiltIn;
}

}  // namespace earshot::rules
