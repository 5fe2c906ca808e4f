#pragma once
// Deterministic benchmark workloads (the performance issue's sizes): rule
// files with N brands in N/10 categories plus a few topics, and canonical
// events of about 500 bytes with 0-2 brand mentions each. The same seed
// gives the same bytes. Not thread-safe (one generator per thread).
//   Script::kMixed: 3 terms a brand (a Latin word, then a phrase, hashtag or
//     mention, then an Arabic or Japanese literal); events in English (60%),
//     Arabic and Japanese.
//   Script::kLatin / kArabic / kJapanese (the per-script benchmark): 3
//     terms a brand in that script alone (a word, a phrase or hashtag, a
//     second word) and events whose text is in that script. Arabic brands
//     are a quarter ال-names (clubs); their mentions carry proclitics
//     (و, ال, بال, لل, ...), tashkeel, tatweel and hamza variants. Japanese
//     brands are katakana (and a kanji second word), the filler has katakana
//     loanwords, and mentions are written without spaces half the time.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace earshot::bench {

enum class Script { kMixed, kLatin, kArabic, kJapanese };
// "mixed", "latin", "arabic", "japanese"; false for another name.
bool ParseScript(const std::string& name, Script* out);
const char* ScriptName(Script s);

struct WorkloadSpec {
  int brands = 1000;
  Script script = Script::kMixed;
  uint64_t seed = 1;
  int64_t start_ms = 1714521600000;  // 2024-05-01T00:00:00Z
  double events_per_second = 1000;  // event-time spacing of created_at
  double duplicate_rate = 0.01;     // share of events repeating a recent id
  // Distinct author ids (uniform over events, from the event id's hash);
  // 0: 1,000,000, the workload's authors before this option existed (the
  // same bytes, so earlier figures stay comparable).
  int authors = 0;
};

// The terms of one brand, in rule-file order.
struct BrandTerms {
  std::string category;
  std::string name;
  // Mixed: [0] latin word, [1] phrase/#tag/@mention, [2] ar/ja literal.
  // One script: [0] word, [1] phrase or #hashtag, [2] second word.
  std::vector<std::string> terms;
};

class Workload {
 public:
  explicit Workload(const WorkloadSpec& spec);

  const WorkloadSpec& spec() const { return spec_; }
  const std::vector<BrandTerms>& brands() const { return brands_; }

  // The rule files as YAML: one file per 100 categories (file name, content).
  std::vector<std::pair<std::string, std::string>> RuleFiles() const;
  // Writes RuleFiles() into `dir` (created if missing). Returns false on an
  // I/O error.
  bool WriteRules(const std::string& dir) const;

  // From the next event on, `events_per_second` events a second of event time.
  void SetRate(double events_per_second);
  // The created_at of the next event.
  int64_t NextEventMillis() const;

  // Appends the next event (one JSON line, no newline) to *out.
  void NextEvent(std::string* out);
  // `n` events, each followed by '\n'.
  std::string Events(size_t n);
  // Writes `n` events to `path` as JSONL.
  bool WriteEvents(const std::string& path, size_t n);

 private:
  void AppendText(int lang, std::string* out);
  void AppendScriptText(std::string* out);
  // A mention of `term` as people write it in the workload's script.
  void AppendMention(const std::string& term, std::string* out);

  WorkloadSpec spec_;
  std::vector<BrandTerms> brands_;
  std::mt19937_64 rng_;
  uint64_t next_id_ = 1;
  uint64_t event_index_ = 0;
  std::string text_;
};

}  // namespace earshot::bench
