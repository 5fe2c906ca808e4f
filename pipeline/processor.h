#pragma once
// The pipeline's core (docs/architecture.md): decode -> validate time -> dedupe
// -> normalize + match -> aggregate, for batches of source records, and the
// snapshot of its results for /metrics and the JSON API. The hot path is
// pipeline/processor.cc, the read side pipeline/processor_read.cc.
//
// Threading: ProcessBatch, OnAssigned and OnRevoked run on the one pipeline
// thread. SetRules may be called from any thread; the new rule set takes
// effect at the next batch boundary, so every event is classified entirely
// by one rule set. TakeSnapshot and the functions built on it
// (CollectResults, WriteResultsText, ShareOfVoiceJson) may be called from any
// thread: they hold the state lock only while copying window sums and
// counters, never while sizing, sorting or formatting.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/platform.h"
#include "base/status.h"
#include "pipeline/audience.h"
#include "pipeline/config.h"
#include "pipeline/decoder.h"
#include "pipeline/dedupe.h"
#include "pipeline/exposition.h"
#include "pipeline/record.h"
#include "pipeline/flat_map.h"
#include "pipeline/shadow.h"
#include "pipeline/signals.h"
#include "pipeline/window_state.h"
#include "rules/rule_set.h"
#include "rules/sentiment.h"

namespace earshot {

enum class Outcome : int { kInvalid = 0, kDuplicate, kLate, kMatched, kUnmatched };
inline constexpr int kOutcomeCount = 5;
const char* OutcomeName(Outcome o);

// Called for each invalid record (e.g. the dead-letter producer).
using InvalidRecordHook = std::function<void(const Record&, InvalidReason)>;

class Processor : public PartitionListener {
 public:
  // `registry` receives the operational metrics (earshot_events_total, ...).
  static StatusOr<std::unique_ptr<Processor>> Create(
      const Config& config, const Clock* wall_clock,
      std::shared_ptr<prometheus::Registry> registry,
      std::shared_ptr<const rules::SentimentLexicon> sentiment);
  ~Processor() override;

  // Thread-safe. Takes effect at the next batch boundary.
  void SetRules(std::shared_ptr<const rules::RuleSet> rules);
  std::shared_ptr<const rules::RuleSet> rules() const;
  void SetInvalidRecordHook(InvalidRecordHook hook) { invalid_hook_ = std::move(hook); }

  // Pipeline thread.
  void ProcessBatch(std::string_view source, const std::vector<Record>& batch);
  void OnAssigned(const std::vector<PartitionKey>& partitions) override;
  void OnRevoked(const std::vector<PartitionKey>& partitions) override;

  // Thread-safe snapshots.
  std::vector<prometheus::MetricFamily> CollectResults() const;
  // Writes the Prometheus text of CollectResults() (empty families left
  // out; values as pipeline/exposition.h says) to `sink` in ~1 MiB chunks,
  // without building the MetricFamily objects or the whole text (~40x faster
  // than CollectResults() + TextSerializer for 386k series). The state lock
  // is held only while TakeSnapshot copies.
  void WriteResultsText(ExpositionSink* sink) const;
  // The result state now. Holds the state lock while it sums the windows
  // into dense tables and copies the counters (~0.3 ms for 1,000 brands /
  // 386k series, ~5 ms for 10,000 / 3.5M), and briefly before, to size the
  // tables it allocates outside it; sorting happens outside it too. When
  // given, `*lock_held_ns` gets how long the main hold took. With
  // `audience` (and audience.enabled) it also estimates the unique authors:
  // step references copied under the lock, sketches merged outside it.
  ResultsSnapshot TakeSnapshot(int64_t* lock_held_ns = nullptr, bool audience = true) const;
  // The JSON body of /api/v1/share-of-voice, or an error for a bad parameter.
  StatusOr<std::string> ShareOfVoiceJson(const std::string& window, const std::string& platform,
                                         const std::string& basis) const;
  // --- Shadow rules (docs/shadow.md; pipeline/shadow.h) ---
  // Only with config.shadow.paths; otherwise has_shadow() is false and
  // these do nothing. SetShadowRules is thread-safe (null: no candidate)
  // and takes effect at the next batch boundary; the rest are snapshots.
  bool has_shadow() const { return shadow_ != nullptr; }
  void SetShadowRules(std::shared_ptr<const rules::RuleSet> candidate);
  std::shared_ptr<const rules::RuleSet> shadow_rules() const;
  // The shadow state now; `full` adds the live set's window mentions and
  // mentions_total by shadow brand, and the samples (for the API and diff).
  ShadowSnapshot TakeShadowSnapshot(bool full) const;
  // The shadow result series (WriteShadowText).
  void WriteShadowText(ExpositionSink* sink) const;
  // The JSON body of /api/v1/shadow, or an error for a bad parameter.
  StatusOr<std::string> ShadowJson(const std::string& window) const;
  // --- end shadow rules ---

  // The JSON body of /api/v1/signals (pipeline/signals.h: the last closed
  // pane's active spikes and trending hashtags), or an error when signals
  // are off. Holds the state lock only to copy a pointer.
  StatusOr<std::string> SignalsJson() const;
  // audience (docs/audience.md): the JSON bodies of /api/v1/top-authors and
  // /api/v1/unique-authors, or an error for a bad parameter (or with
  // audience.enabled false). Thread-safe: the state lock is held only to
  // take references to the window steps; merging happens outside it.
  StatusOr<std::string> TopAuthorsJson(const std::string& category, const std::string& brand,
                                       const std::string& window, const std::string& by) const;
  StatusOr<std::string> UniqueAuthorsJson(const std::string& window,
                                          const std::string& platform) const;
  // end audience
  // Events seen per outcome, over all sources (for tests and replay).
  uint64_t outcome_count(Outcome o) const;
  // The current T of docs/windows.md.
  int64_t NowMillis() const;

 private:
  struct PartitionState;

  Processor(const Config& config, const Clock* wall, std::shared_ptr<prometheus::Registry> registry,
            std::shared_ptr<const rules::SentimentLexicon> sentiment,
            std::unique_ptr<Decoder> decoder);

  void ApplyPendingRules();  // pipeline thread, state lock held
  PartitionState* Partition(std::string_view topic, int32_t partition);
  void ShareDedupeCap();  // state lock held: limits.max_dedupe_entries split over partitions
  uint32_t InternBrand(const std::string& category, const std::string& brand);
  uint32_t InternTopic(const std::string& topic);
  int64_t NowLocked() const;
  void ExpireLocked(int64_t now);
  void EnsureSourceCounters(std::string_view source);
  StatusOr<size_t> AudienceWindow(const std::string& name) const;  // audience

  const Config config_;
  const Clock* wall_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<const rules::SentimentLexicon> sentiment_;
  std::unique_ptr<Decoder> decoder_;
  InvalidRecordHook invalid_hook_;
  size_t longest_window_ = 0;  // index into config_.windows
  // The other windows as long as that one (a config may list two of one
  // size with different steps): the late check takes the earliest start
  // among them, so it does not depend on their order in the config.
  std::vector<size_t> longest_ties_;
  const PlatformTable platforms_;  // configured + "other"

  // Pending rule set (set from any thread).
  mutable std::mutex rules_mu_;
  std::shared_ptr<const rules::RuleSet> pending_rules_;
  uint64_t pending_generation_ = 0;

  // Everything below is guarded by mu_.
  mutable std::mutex mu_;
  std::shared_ptr<const rules::RuleSet> rules_;
  uint64_t applied_generation_ = 0;
  std::vector<uint32_t> brand_ids_;  // rule-set brand index -> stable brand id
  std::vector<uint32_t> topic_ids_;  // rule-set topic index -> stable topic id
  std::map<std::string, uint32_t> brand_interner_;
  std::vector<std::pair<std::string, std::string>> brand_names_;  // id -> (category, brand)
  std::map<std::string, uint32_t> topic_interner_;
  std::vector<std::string> topic_names_;
  // Signals (docs/signals.md); null when off. Declared before partitions_,
  // whose states hold its per-partition pane counts, so it outlives them.
  std::unique_ptr<Signals> signals_;
  std::map<PartitionKey, std::unique_ptr<PartitionState>> partitions_;
  std::unique_ptr<Audience> audience_;  // audience; null when audience.enabled is false
  int64_t max_event_ms_ = INT64_MIN;
  // Monotonic result counters.
  // Monotonic counters of one (brand, platform) series in one cache line: a
  // matched brand touches a single line, not three arrays. The snapshot's
  // type, so a snapshot copies them in one go.
  using SeriesTotals = ResultsSnapshot::Totals;
  std::vector<SeriesTotals> totals_;  // brand_id * P + platform
  // Key TopicKey(topic, brand+1 (0 = none), platform); flat: probed per matched topic.
  FlatMap<uint64_t> topic_totals_;
  uint64_t outcomes_[kOutcomeCount] = {};
  size_t series_ = 0;           // result counter series created (capped by limits.max_series)
  uint64_t series_overflow_ = 0;
  prometheus::Counter* overflow_counter_;
  prometheus::Counter* dedupe_evictions_;
  prometheus::Gauge* dedupe_entries_;

  // Operational metrics (prometheus-cpp objects are thread-safe).
  prometheus::Family<prometheus::Counter>* events_family_;
  prometheus::Family<prometheus::Counter>* invalid_family_;
  prometheus::Family<prometheus::Histogram>* latency_family_;
  prometheus::Histogram* latency_;
  std::vector<prometheus::Counter*> invalid_counters_;
  std::map<std::string, std::vector<prometheus::Counter*>, std::less<>> event_counters_;

  // Latency histogram sampling: every kLatencySampleEvery-th event is timed.
  uint32_t latency_tick_ = 15;  // so the first event is timed

  // Pipeline-thread scratch.
  rules::MatchScratch scratch_;
  rules::MatchOutput match_;
  // The counter and window updates of the batch's classified events, in
  // event order (ProcessBatch queues them, ApplyUpdates applies them with
  // prefetching). Brand and topic ids are the stable ones.
  struct Update {
    PartitionState* part;
    int64_t now, event_ms;
    Values v;
    uint32_t platform;
    uint32_t brands_begin, topics_begin, topics_end;  // into update_ids_
    int8_t sentiment;  // by rules::Sentiment, -1: none
    bool counted;      // not a rebuild record: counters too, not only windows
    bool late;         // counters only, no window
    uint32_t author;       // audience: AuthorTable reference (author_batch_ index until
                           // interned), kNoAuthor: none
    uint32_t author_hll;   // audience: HllSparseEntry(HashBytes(author.id))
  };
  void PrefetchUpdate(const Update& u) const;
  void ApplyUpdates();  // state lock held
  std::vector<Update> updates_;
  std::vector<uint32_t> update_ids_;

  // Shadow rules: null without config.shadow.paths. Guarded by mu_.
  std::unique_ptr<ShadowState> shadow_;
  AuthorBatch author_batch_;  // audience: the batch's authors, interned before ApplyUpdates
};

}  // namespace earshot
