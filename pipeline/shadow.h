#pragma once
// Shadow rules (docs/shadow.md): a candidate rule set that
// classifies every event beside the live one, from the same decoded and
// deduplicated event, and is counted apart from it:
//   - the candidate's mentions, as the live mention series would count them
//     (counters, hopping windows, share of voice);
//   - per brand, the events the candidate counts and live does not ("added")
//     and the reverse ("removed"); brands are the same brand in both sets
//     when their (category, name) are, so a brand of one set only has all
//     its events added or removed;
//   - the latest changed events of each (brand, change), in fixed rings.
// Nothing here touches a live series.
//
// Threading: the Processor owns a ShadowState. SetRules() may be called from
// any thread (the candidate is swapped in at the next batch boundary);
// everything else runs under the processor's state lock, on the pipeline
// thread (BeginBatch, Classify, Expire, partitions) or on a scraping thread
// (Copy). A scrape copies plain data out (ShadowSnapshot) and formats it
// after the lock is released (WriteShadowText, ShadowJson, BuildShadowRows).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "base/platform.h"
#include "base/status.h"
#include "pipeline/config.h"
#include "pipeline/exposition.h"
#include "pipeline/record.h"
#include "pipeline/window_state.h"
#include "rules/rule_set.h"

namespace earshot {

// An event the candidate counts for a brand and live does not is "added";
// one live counts and the candidate does not, "removed".
enum ShadowChange : int { kAdded = 0, kRemoved = 1 };
inline constexpr int kShadowChangeCount = 2;
const char* ShadowChangeName(int change);  // "added" | "removed"

// Characters (code points, not bytes) of an event's text a sample keeps.
inline constexpr size_t kShadowSampleTextChars = 280;
// Samples kept per (brand, change) by the daemon.
inline constexpr size_t kShadowSamplesPerChange = 10;

// A changed event, as a sample.
struct ShadowSample {
  std::string id;
  uint32_t platform = 0;  // index into the platform names
  int64_t time_ms = 0;    // event time
  std::string text;       // the first kShadowSampleTextChars characters
  std::string fired;      // what fired, RuleSet::FiredBy of the set that counts it
};

// The shadow state at one instant, as plain data. Brand ids are the shadow
// state's own: every (category, brand) of either set ever loaded.
// [id * P + platform] indexes the dense tables.
struct ShadowSnapshot {
  struct Category {
    std::string name;
    std::vector<uint32_t> brand_ids;  // in the set's rule order
  };
  struct Totals {
    uint64_t candidate = 0;                     // the candidate's mentions_total
    uint64_t changed[kShadowChangeCount] = {};  // by ShadowChange
    uint8_t present = 0;  // bit 0: candidate series exists; 1 + change: changed series
  };
  static constexpr uint32_t kNone = UINT32_MAX;

  std::vector<std::string> window_names;    // configured order
  std::vector<std::string> platform_names;  // configured + "other"
  std::vector<std::pair<std::string, std::string>> brand_names;  // id -> (category, brand)
  bool loaded = false;              // a candidate is active
  std::vector<Category> candidate;  // the candidate's categories, in rule order
  std::vector<Category> live;       // the live set's categories, in shadow ids
  std::vector<Totals> totals;
  // Per window: the candidate's mentions, and the changed events (v[kAdded],
  // v[kRemoved]) since the current pair of sets was loaded.
  std::vector<std::vector<Values>> candidate_windows;
  std::vector<std::vector<Values>> changed_windows;
  // Filled only on request (Processor::TakeShadowSnapshot): the live set's
  // window mentions and mentions_total, and the samples (newest first).
  std::vector<std::vector<uint64_t>> live_windows;
  std::vector<uint64_t> live_totals;
  std::vector<std::vector<ShadowSample>> samples;  // [id * kShadowChangeCount + change]
  // Live stable brand id (the processor's) -> shadow id, kNone when the
  // brand is not in the live set.
  std::vector<uint32_t> live_to_shadow;

  size_t platform_count() const { return platform_names.size(); }
  void AddLiveWindow(size_t w, uint32_t live_id, uint32_t platform, uint64_t mentions) {
    if (live_id < live_to_shadow.size() && live_to_shadow[live_id] != kNone) {
      live_windows[w][static_cast<size_t>(live_to_shadow[live_id]) * platform_count() + platform] +=
          mentions;
    }
  }
  void AddLiveTotal(uint32_t live_id, uint32_t platform, uint64_t mentions) {
    if (live_id < live_to_shadow.size() && live_to_shadow[live_id] != kNone) {
      live_totals[static_cast<size_t>(live_to_shadow[live_id]) * platform_count() + platform] +=
          mentions;
    }
  }
};

// What the processor tells the shadow about one counted (not duplicate,
// not invalid) event.
struct ShadowEvent {
  const rules::MatchInput* in;
  std::string_view id;  // for samples
  int64_t now = 0;      // T
  int64_t event_ms = 0;
  uint32_t platform = 0;
  bool counted = true;  // false: a rebuild record (windows only)
  bool late = false;    // counters only, no window
  // The live Match()'s scratch for this event, whose normalized text the
  // candidate reuses; null when there are no live rules.
  const rules::MatchScratch* live = nullptr;
};

class ShadowState {
 public:
  class Partition;

  // `registry` gets earshot_shadow_series_overflow_total. Shadow counter
  // series and sample rings are capped together at `max_series`, apart from
  // the live series (a candidate never takes a live series' room).
  ShadowState(const std::vector<WindowSpec>& windows, const PlatformTable& platforms,
              size_t max_series, size_t samples_per_change, prometheus::Registry* registry);
  ~ShadowState();

  // Any thread. The candidate (null: none) takes effect at the next
  // BeginBatch().
  void SetRules(std::shared_ptr<const rules::RuleSet> candidate);
  std::shared_ptr<const rules::RuleSet> pending_rules() const;

  // --- Under the processor's state lock -----------------------------------
  // At each batch boundary: swaps in a pending candidate and follows a swap
  // of the live set. A swap of either set resets the changed windows and
  // samples (they describe one pair of sets); the candidate's windows keep
  // the brands that stay, as the live windows do.
  void BeginBatch(const std::shared_ptr<const rules::RuleSet>& live);
  bool active() const { return candidate_ != nullptr; }
  // Per-partition windows, like the processor's (rebuilt, dropped, expired
  // with them).
  Partition* GetPartition(std::string_view topic, int32_t partition);
  void OnAssigned(const std::vector<PartitionKey>& partitions);
  void OnRevoked(const std::vector<PartitionKey>& partitions);
  void Expire(int64_t now);
  // Classifies `e` with the candidate and counts it; `live_brands` are the
  // live set's brands that fired (indices, as RuleSet::Match gives them).
  // Cost: one RuleSet::Match when a candidate is loaded, nothing otherwise;
  // a changed event adds a RuleSet::FiredBy for its sample.
  void Classify(const ShadowEvent& e, const std::vector<uint32_t>& live_brands, Partition* part);
  // Brand count of the dense tables (to size them before taking the lock).
  size_t brand_count() const { return names_.size(); }
  // Copies the state at `now` into `*out`, whose dense tables are sized for
  // at least `brand_hint` brands. `live_brand_ids`: the processor's stable
  // id of each live rule-set brand. Samples only when `samples`.
  void Copy(int64_t now, const std::vector<uint32_t>& live_brand_ids, bool samples,
            ShadowSnapshot* out) const;

 private:
  struct Ring;
  uint32_t Intern(const std::string& category, const std::string& brand);
  void ResetChanges();
  bool TakeSeries();  // false (and counted) past max_series
  void Changed(const ShadowEvent& e, Partition* part, uint32_t id, int change,
               const rules::RuleSet& set, uint32_t rule_brand);

  const std::vector<WindowSpec> windows_;
  const std::vector<std::string> platform_names_;
  const size_t max_series_;
  const size_t samples_per_change_;
  prometheus::Counter* overflow_;

  mutable std::mutex pending_mu_;
  std::shared_ptr<const rules::RuleSet> pending_;
  uint64_t pending_generation_ = 0;

  // Guarded by the processor's state lock.
  uint64_t applied_generation_ = 0;
  std::shared_ptr<const rules::RuleSet> candidate_;
  std::shared_ptr<const rules::RuleSet> live_;
  std::vector<uint32_t> candidate_ids_;  // candidate brand index -> shadow id
  std::vector<uint32_t> live_ids_;       // live brand index -> shadow id
  std::map<std::string, uint32_t> interner_;
  std::vector<std::pair<std::string, std::string>> names_;
  std::vector<ShadowSnapshot::Totals> totals_;  // [id * P + platform]
  std::vector<std::unique_ptr<Ring>> rings_;    // [id * kShadowChangeCount + change], lazily
  size_t series_ = 0;                           // counter series and rings, vs max_series_
  std::map<PartitionKey, std::unique_ptr<Partition>> partitions_;
  rules::MatchScratch scratch_;
  rules::MatchOutput match_;
  std::vector<uint32_t> event_live_;  // the event's live brands, as shadow ids
};

// --- Formatting (no lock) ---------------------------------------------------

// The shadow result series of docs/shadow.md in the Prometheus text
// format (empty families left out): earshot_shadow_mentions_total,
// earshot_shadow_window_mentions, earshot_shadow_share_of_voice_ratio
// (basis="mentions", platform="all" included) and
// earshot_shadow_changed_total, with the live series' label sets and rules
// (window gauges for every brand of a category on each platform where the
// category has data; ratios where the category's sum is above 0).
void WriteShadowText(const ShadowSnapshot& s, ExpositionSink* sink);

// One brand of either set, side by side. The window figures are for one
// window and every platform; the totals are the _total counters.
struct ShadowBrandRow {
  std::string category, brand;
  uint32_t id = 0;  // shadow id
  bool in_live = false, in_candidate = false;
  uint64_t live_window = 0, candidate_window = 0;
  std::optional<double> live_share, candidate_share;  // within the set's category
  uint64_t added_window = 0, removed_window = 0;
  uint64_t live_total = 0, candidate_total = 0, added_total = 0, removed_total = 0;
};
// Every brand of the live set and of the candidate, by (category, brand).
std::vector<ShadowBrandRow> BuildShadowRows(const ShadowSnapshot& s, size_t window);

// The body of /api/v1/shadow (docs/api.md) for window `window`.
std::string ShadowJson(const ShadowSnapshot& s, size_t window, int64_t generated_at_ms);

// "2026-01-01T00:00:00.000Z".
std::string FormatTimeMillis(int64_t ms);

}  // namespace earshot
