#include "pipeline/processor.h"

#include "pipeline/processor_partition.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstring>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/strings.h"

namespace earshot {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kInvalid: return "invalid";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kLate: return "late";
    case Outcome::kMatched: return "matched";
    case Outcome::kUnmatched: return "unmatched";
  }
  return "invalid";
}

namespace {

// How much of the next record's payload ProcessBatch prefetches (most
// events are well under 1 KiB).
constexpr size_t kPayloadPrefetchBytes = 1024;

// Two steady_clock reads an event cost more than the rest of the
// bookkeeping: time one event in kLatencySampleEvery and let it stand for the
// events around it (each sample observed with that weight).
constexpr uint32_t kLatencySampleEvery = 16;

// topic_totals_ keys: topic id, brand id + 1 (0 = no brand), platform index.
inline uint64_t TopicKey(uint32_t topic, uint32_t brand_plus_one, uint32_t platform) {
  return (static_cast<uint64_t>(topic) << 40) | (static_cast<uint64_t>(brand_plus_one) << 12) |
         platform;
}

// Per-event processing time buckets, in seconds (microseconds matter here).
const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> b = {1e-6,   2.5e-6, 5e-6,  1e-5, 2.5e-5, 5e-5,
                                        1e-4,   2.5e-4, 5e-4,  1e-3, 1e-2,   1e-1};
  return b;
}

}  // namespace


StatusOr<std::unique_ptr<Processor>> Processor::Create(
    const Config& config, const Clock* wall_clock, std::shared_ptr<prometheus::Registry> registry,
    std::shared_ptr<const rules::SentimentLexicon> sentiment) {
  if (config.windows.empty()) return Status::Error("at least one window is required");
  auto decoder = MakeDecoder(config.decoder);
  if (!decoder.ok()) return decoder.status();
  return std::unique_ptr<Processor>(new Processor(config, wall_clock, std::move(registry),
                                                  std::move(sentiment),
                                                  std::move(decoder).value()));
}

Processor::Processor(const Config& config, const Clock* wall,
                     std::shared_ptr<prometheus::Registry> registry,
                     std::shared_ptr<const rules::SentimentLexicon> sentiment,
                     std::unique_ptr<Decoder> decoder)
    : config_(config),
      wall_(wall),
      registry_(std::move(registry)),
      sentiment_(std::move(sentiment)),
      decoder_(std::move(decoder)),
      platforms_(config_.platforms) {
  if (config_.audience.enabled) audience_ = std::make_unique<Audience>(config_.audience, config_.windows);
  for (size_t i = 0; i < config_.windows.size(); ++i) {
    if (config_.windows[i].size_ms > config_.windows[longest_window_].size_ms) longest_window_ = i;
  }
  for (size_t i = 0; i < config_.windows.size(); ++i) {
    if (i != longest_window_ &&
        config_.windows[i].size_ms == config_.windows[longest_window_].size_ms) {
      longest_ties_.push_back(i);
    }
  }
  events_family_ = &prometheus::BuildCounter()
                        .Name("earshot_events_total")
                        .Help("Events (input lines or messages) by source and outcome: invalid, "
                              "duplicate, late, matched, unmatched.")
                        .Register(*registry_);
  invalid_family_ = &prometheus::BuildCounter()
                         .Name("earshot_invalid_events_total")
                         .Help("Invalid events by reason.")
                         .Register(*registry_);
  for (int r = 0; r < kInvalidReasonCount; ++r) {
    invalid_counters_.push_back(
        &invalid_family_->Add({{"reason", InvalidReasonName(static_cast<InvalidReason>(r))}}));
  }
  latency_family_ = &prometheus::BuildHistogram()
                         .Name("earshot_event_processing_seconds")
                         .Help("Time to decode, classify and aggregate one event.")
                         .Register(*registry_);
  latency_ = &latency_family_->Add({}, LatencyBuckets());
  overflow_counter_ = &prometheus::BuildCounter()
                           .Name("earshot_series_overflow_total")
                           .Help("Result-counter increments dropped because a new series would "
                                 "exceed limits.max_series.")
                           .Register(*registry_)
                           .Add({});
  dedupe_evictions_ = &prometheus::BuildCounter()
                           .Name("earshot_dedupe_evictions_total")
                           .Help("Dedupe entries evicted before the end of the longest window "
                                 "because limits.max_dedupe_entries was reached (the dedupe "
                                 "horizon shrank).")
                           .Register(*registry_)
                           .Add({});
  dedupe_entries_ = &prometheus::BuildGauge()
                         .Name("earshot_dedupe_entries")
                         .Help("(platform, id) pairs remembered for dedupe, over all partitions.")
                         .Register(*registry_)
                         .Add({});
  if (!config_.shadow.paths.empty()) {
    shadow_ = std::make_unique<ShadowState>(config_.windows, platforms_, config_.limits.max_series,
                                            kShadowSamplesPerChange, registry_.get());
  }
  if (config_.signals.enabled) {
    signals_ = std::make_unique<Signals>(config_.signals, platforms_.names());
  }
}

Processor::~Processor() = default;

void Processor::SetRules(std::shared_ptr<const rules::RuleSet> rules) {
  std::lock_guard<std::mutex> lock(rules_mu_);
  pending_rules_ = std::move(rules);
  ++pending_generation_;
}

std::shared_ptr<const rules::RuleSet> Processor::rules() const {
  std::lock_guard<std::mutex> lock(rules_mu_);
  return pending_rules_;
}

uint32_t Processor::InternBrand(const std::string& category, const std::string& brand) {
  std::string key = category + '\x1f' + brand;
  auto [it, inserted] = brand_interner_.emplace(key, static_cast<uint32_t>(brand_names_.size()));
  if (inserted) {
    brand_names_.emplace_back(category, brand);
    size_t p = platforms_.size();
    totals_.resize(brand_names_.size() * p);
  }
  return it->second;
}

uint32_t Processor::InternTopic(const std::string& topic) {
  auto [it, inserted] = topic_interner_.emplace(topic, static_cast<uint32_t>(topic_names_.size()));
  if (inserted) topic_names_.push_back(topic);
  return it->second;
}

void Processor::ApplyPendingRules() {
  std::shared_ptr<const rules::RuleSet> next;
  {
    std::lock_guard<std::mutex> lock(rules_mu_);
    if (pending_generation_ == applied_generation_) return;
    next = pending_rules_;
    applied_generation_ = pending_generation_;
  }
  rules_ = std::move(next);
  brand_ids_.clear();
  topic_ids_.clear();
  if (rules_ != nullptr) {
    for (const auto& b : rules_->brands()) brand_ids_.push_back(InternBrand(b.category, b.name));
    for (const auto& t : rules_->topics()) topic_ids_.push_back(InternTopic(t));
  }
  if (signals_ != nullptr) signals_->SetBrands(brand_ids_, brand_names_);
  // Brands removed by the new rules leave the windows; the others keep state.
  std::vector<bool> keep(brand_names_.size(), false);
  for (uint32_t id : brand_ids_) keep[id] = true;
  for (auto& [key, part] : partitions_) {
    for (auto& w : part->windows) w.RetainBrands(keep);
    if (part->audience) part->audience->RetainBrands(keep);  // audience
  }
}

Processor::PartitionState* Processor::Partition(std::string_view topic, int32_t partition) {
  PartitionKey key{std::string(topic), partition};
  auto it = partitions_.find(key);
  if (it == partitions_.end()) {
    it = partitions_.emplace(key, std::make_unique<PartitionState>(config_.windows, audience_.get())).first;
    ShareDedupeCap();
  }
  return it->second.get();
}

void Processor::ShareDedupeCap() {
  // limits.max_dedupe_entries bounds the process, not each partition.
  // An even split: a quiet partition keeps its share while busy ones evict
  // (a budget shared by age across partitions would not). 0: dedupe off.
  const size_t cap = config_.limits.max_dedupe_entries;
  if (cap == 0 || partitions_.empty()) return;
  const size_t each = std::max<size_t>(1, cap / partitions_.size());
  for (auto& [key, part] : partitions_) part->dedupe.set_max_entries(each);
}

void Processor::OnAssigned(const std::vector<PartitionKey>& partitions) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : partitions) {
    // Fresh state: a rebuild replays the partition's recent history into it.
    partitions_[p] = std::make_unique<PartitionState>(config_.windows, audience_.get());
  }
  if (shadow_ != nullptr) shadow_->OnAssigned(partitions);
  ShareDedupeCap();
}

void Processor::OnRevoked(const std::vector<PartitionKey>& partitions) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : partitions) partitions_.erase(p);
  if (shadow_ != nullptr) shadow_->OnRevoked(partitions);
  ShareDedupeCap();
}

int64_t Processor::NowLocked() const {
  if (config_.clock == ClockMode::kEvent) {
    return max_event_ms_ == INT64_MIN ? 0 : max_event_ms_;
  }
  return wall_->NowMillis();
}

int64_t Processor::NowMillis() const {
  std::lock_guard<std::mutex> lock(mu_);
  return NowLocked();
}

void Processor::ExpireLocked(int64_t now) {
  for (auto& [key, part] : partitions_) {
    for (auto& w : part->windows) w.Expire(now);
    // Dedupe buckets are the longest window's: its entries leave with it.
    part->dedupe.ExpireBefore(part->windows[longest_window_].FirstBucket(now));
    if (part->audience) part->audience->Expire(now);  // audience
  }
  if (shadow_ != nullptr) shadow_->Expire(now);
  if (audience_) audience_->Expire(now);  // audience: authors no window holds any more
}

void Processor::EnsureSourceCounters(std::string_view source) {
  if (event_counters_.find(source) != event_counters_.end()) return;
  std::vector<prometheus::Counter*> counters;
  for (int o = 0; o < kOutcomeCount; ++o) {
    counters.push_back(&events_family_->Add(
        {{"source", std::string(source)}, {"outcome", OutcomeName(static_cast<Outcome>(o))}}));
  }
  event_counters_.emplace(std::string(source), std::move(counters));
}

void Processor::PrefetchUpdate(const Update& u) const {
  const size_t P = platforms_.size();
  const uint32_t* ids = update_ids_.data();
  for (uint32_t i = u.brands_begin; i < u.topics_begin; ++i) {
    const size_t idx = static_cast<size_t>(ids[i]) * P + u.platform;
    if (idx < totals_.size()) PrefetchForRead(&totals_[idx]);
    if (!u.late) {
      for (const auto& w : u.part->windows) w.Prefetch(u.event_ms, MakeSeriesKey(ids[i], u.platform));
    }
  }
  const uint32_t brand = u.brands_begin < u.topics_begin ? ids[u.brands_begin] + 1 : 0;
  for (uint32_t i = u.topics_begin; i < u.topics_end; ++i) {
    topic_totals_.Prefetch(TopicKey(ids[i], brand, u.platform));
  }
}

void Processor::ApplyUpdates() {
  // How many updates ahead of the one applied its state is prefetched: a
  // few hundred nanoseconds, enough for a miss to memory.
  constexpr size_t kAhead = 6;
  const size_t P = platforms_.size();
  const size_t n = updates_.size();
  const uint32_t* ids = update_ids_.data();
  for (size_t k = 0; k < n && k < kAhead; ++k) PrefetchUpdate(updates_[k]);
  for (size_t k = 0; k < n; ++k) {
    if (k + kAhead < n) PrefetchUpdate(updates_[k + kAhead]);
    const Update& u = updates_[k];
    if (u.counted) {
      for (uint32_t i = u.brands_begin; i < u.topics_begin; ++i) {
        SeriesTotals& st = totals_[static_cast<size_t>(ids[i]) * P + u.platform];
        if (!st.present) {
          if (series_ >= config_.limits.max_series) {
            ++series_overflow_;
            continue;
          }
          st.present = true;
          ++series_;
        }
        st.v.AddSaturating(u.v);
        if (u.sentiment >= 0) ++st.sentiment[u.sentiment];
      }
      // A topic counts once per brand matched with it, or once with none.
      const uint32_t nbrands = u.topics_begin - u.brands_begin;
      for (uint32_t t = u.topics_begin; t < u.topics_end; ++t) {
        for (uint32_t i = 0; i < std::max<uint32_t>(nbrands, 1); ++i) {
          const uint32_t brand = nbrands == 0 ? 0 : ids[u.brands_begin + i] + 1;
          const uint64_t key = TopicKey(ids[t], brand, u.platform);
          auto it = topic_totals_.find(key);
          if (it == topic_totals_.end()) {
            if (series_ >= config_.limits.max_series) {
              ++series_overflow_;
              continue;
            }
            ++series_;
            ++topic_totals_[key];
          } else {
            ++it->second;
          }
        }
      }
    }
    if (!u.late) {
      for (uint32_t i = u.brands_begin; i < u.topics_begin; ++i) {
        const SeriesKey key = MakeSeriesKey(ids[i], u.platform);
        for (auto& w : u.part->windows) w.Add(u.now, u.event_ms, key, u.v);
        if (u.author != kNoAuthor) {  // audience
          u.part->audience->Add(u.now, u.event_ms, ids[i], u.platform, u.author, u.author_hll,
                                u.v.v[kReach]);
        }
      }
    }
  }
  updates_.clear();
  update_ids_.clear();
}

void Processor::ProcessBatch(std::string_view source, const std::vector<Record>& batch) {
  EnsureSourceCounters(source);
  uint64_t outcome_counts[kOutcomeCount] = {};
  uint64_t invalid_counts[kInvalidReasonCount] = {};
  std::vector<double> latency_buckets(LatencyBuckets().size() + 1, 0.0);
  double latency_sum = 0;
  std::vector<std::pair<const Record*, InvalidReason>> invalid_records;
  std::vector<double> samples;  // seconds of the sampled events
  uint64_t overflow = 0;
  uint64_t evictions = 0;
  size_t dedupe_entries = 0;

  {
    std::lock_guard<std::mutex> lock(mu_);
    ApplyPendingRules();
    if (shadow_ != nullptr) shadow_->BeginBatch(rules_);
    ShadowState::Partition* shadow_part = nullptr;
    const int64_t wall_now = wall_->NowMillis();
    const bool event_clock = config_.clock == ClockMode::kEvent;
    const WindowSpec& longest_spec = config_.windows[longest_window_];
    // Both divide by the longest window's step (see StepIndex).
    StepIndex dedupe_bucket_of(longest_spec.step_ms);  // event time -> dedupe bucket
    StepIndex longest_step_of(longest_spec.step_ms);   // T -> step, for the late check
    const int64_t longest_buckets = longest_spec.size_ms / longest_spec.step_ms;
    PartitionState* part = nullptr;
    std::string_view part_topic;
    int32_t part_number = -1;

    for (size_t ri = 0; ri < batch.size(); ++ri) {
      const Record& rec = batch[ri];
      if (ri + 1 < batch.size()) {
        // The next payload is often not in the cache yet (librdkafka's and
        // the file source's buffers are larger than it): start loading it.
        const std::string_view next = batch[ri + 1].payload;
        for (size_t off = 0; off < next.size() && off < kPayloadPrefetchBytes; off += 64) {
          PrefetchForRead(next.data() + off);
        }
      }
      // Every 16th event is timed, whatever its outcome (an invalid or
      // duplicate one too), so _count keeps up with the events seen.
      // Rebuild records are not events seen.
      const bool timed = !rec.rebuild && ++latency_tick_ >= kLatencySampleEvery;
      if (timed) latency_tick_ = 0;
      std::chrono::steady_clock::time_point t0;
      if (timed) t0 = std::chrono::steady_clock::now();
      auto sample = [&] {
        if (timed) {
          samples.push_back(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
      };
      if (part == nullptr || rec.partition != part_number || rec.topic != part_topic) {
        part = Partition(rec.topic, rec.partition);
        if (shadow_ != nullptr) shadow_part = shadow_->GetPartition(rec.topic, rec.partition);
        part_topic = rec.topic;
        part_number = rec.partition;
      }
      Event ev;
      std::optional<InvalidReason> bad = decoder_->Decode(rec.payload, &ev);
      // T: the batch's wall clock reading (a batch spans milliseconds), or
      // the largest event time so far.
      int64_t now = event_clock ? (max_event_ms_ == INT64_MIN ? 0 : max_event_ms_) : wall_now;
      int64_t event_ms = 0;
      if (!bad) {
        if (ev.has_created_at) event_ms = ev.created_at_ms;
        else if (rec.timestamp_ms >= 0) event_ms = rec.timestamp_ms;
        else event_ms = now;  // T: under clock: event, 0 before any event (docs/formats.md)
        if (event_ms > wall_now + config_.max_future_skew_ms) bad = InvalidReason::kFutureTimestamp;
      }
      if (bad) {
        if (!rec.rebuild) {
          ++invalid_counts[static_cast<int>(*bad)];
          ++outcome_counts[static_cast<int>(Outcome::kInvalid)];
          if (invalid_hook_) invalid_records.emplace_back(&rec, *bad);
        }
        sample();
        continue;
      }
      if (event_clock && event_ms > max_event_ms_) {
        max_event_ms_ = event_ms;
        now = event_ms;
      }
      // Signal panes close as T passes them, before this event is counted.
      if (signals_ != nullptr && signals_->Due(now)) signals_->Advance(now);
      // The matcher's input, and the platform the event counts under.
      uint32_t platform;
      const rules::MatchInput in = rules::ToMatchInput(
          {ev.text, ev.platform, ev.lang, ev.author_handle, ev.country}, platforms_, &platform);
      // Dedupe within the longest window, keyed by event-time bucket. The
      // table probe is a cache miss: it is started here and made after
      // matching (matching a duplicate is wasted, but duplicates are rare).
      const uint64_t fingerprint = DedupeFingerprint(ev.platform, ev.id);
      const int64_t dedupe_bucket = dedupe_bucket_of(event_ms);
      part->dedupe.Prefetch(fingerprint);
      // WindowStartMillis(now) of the longest window (of the earliest, if
      // several are as long).
      const int64_t now_step = longest_step_of(now);
      int64_t window_start = (now_step + 1) * longest_spec.step_ms - longest_spec.size_ms;
      for (size_t w : longest_ties_) {
        const WindowSpec& tie = config_.windows[w];
        window_start = std::min(window_start,
                                (FloorDiv(now, tie.step_ms) + 1) * tie.step_ms - tie.size_ms);
      }
      const bool late = event_ms < window_start;
      // Dedupe entries leave with the longest window's buckets as T moves,
      // not only at the end of a batch: a copy whose original's bucket has
      // left is a new event, and a late event is kept in the oldest live
      // bucket, however the input falls into batches (docs/windows.md,
      // "Duplicates"). A compare when the bucket has not changed.
      part->dedupe.ExpireBefore(now_step + 1 - longest_buckets);
      if (late && rec.rebuild) {
        part->dedupe.SeenOrInsert(fingerprint, dedupe_bucket);
        continue;
      }

      match_.clear();
      if (rules_ != nullptr) {
        rules_->Match(in, &scratch_, &match_);
      }
      if (part->dedupe.SeenOrInsert(fingerprint, dedupe_bucket)) {
        if (!rec.rebuild) ++outcome_counts[static_cast<int>(Outcome::kDuplicate)];
        sample();
        continue;
      }
      const bool matched = !match_.brands.empty() || !match_.topics.empty();
      if (!rec.rebuild) {
        Outcome o = late ? Outcome::kLate : (matched ? Outcome::kMatched : Outcome::kUnmatched);
        ++outcome_counts[static_cast<int>(o)];
      }
      // Shadow rules: the same decoded, deduplicated event through the candidate.
      if (shadow_ != nullptr) {
        shadow_->Classify({&in, ev.id, now, event_ms, platform, !rec.rebuild, late,
                           rules_ != nullptr ? &scratch_ : nullptr},
                          match_.brands, shadow_part);
      }
      // The counters and windows are random accesses into megabytes of
      // state: the update is queued and applied below, a few events behind
      // a prefetch of what it touches.
      if (!match_.brands.empty() || (!match_.topics.empty() && !rec.rebuild)) {
        Update u;
        u.part = part;
        u.now = now;
        u.event_ms = event_ms;
        u.v.v[kMentions] = 1;
        u.v.v[kReach] = ev.followers;
        u.v.v[kEngagement] = ev.engagement();
        u.v.v[kViews] = ev.views;
        u.platform = platform;
        u.counted = !rec.rebuild;
        u.late = late;
        u.author = kNoAuthor;  // audience: interned with the batch's other authors below
        if (audience_ != nullptr && !ev.author_id.empty() && !late && !match_.brands.empty()) {
          const uint64_t author_hash = HashBytes(ev.author_id);
          u.author_hll = HllSparseEntry(author_hash);
          u.author = author_batch_.Add(author_hash, ev.author_id, ev.author_handle, event_ms);
        }
        u.sentiment = -1;
        if (u.counted && !match_.brands.empty() && sentiment_ != nullptr) {
          u.sentiment = static_cast<int8_t>(sentiment_->Classify(scratch_));
        }
        u.brands_begin = static_cast<uint32_t>(update_ids_.size());
        for (uint32_t b : match_.brands) update_ids_.push_back(brand_ids_[b]);
        u.topics_begin = static_cast<uint32_t>(update_ids_.size());
        if (u.counted) {
          for (uint32_t t : match_.topics) update_ids_.push_back(topic_ids_[t]);
        }
        u.topics_end = static_cast<uint32_t>(update_ids_.size());
        updates_.push_back(u);
        // Signals: the event counts in its pane (as in the windows).
        if (signals_ != nullptr && !late && u.brands_begin != u.topics_begin) {
          if (part->signals == nullptr) part->signals = signals_->NewPartition();
          signals_->Add(part->signals.get(), now, event_ms, platform,
                        update_ids_.data() + u.brands_begin, u.topics_begin - u.brands_begin,
                        ev.id, scratch_);
        }
      }
      sample();
    }
    const auto apply_start = std::chrono::steady_clock::now();
    const size_t applied = updates_.size();
    if (!author_batch_.empty()) {  // audience
      author_batch_.Intern(&audience_->authors());
      for (Update& u : updates_) {
        if (u.author != kNoAuthor) u.author = author_batch_.ref(u.author);
      }
      author_batch_.Clear();
    }
    ApplyUpdates();
    // A sampled event's time: its decode and classification, plus its share
    // of the batch's counter and window updates.
    const double apply_each =
        applied == 0 ? 0
                     : std::chrono::duration<double>(std::chrono::steady_clock::now() - apply_start)
                               .count() /
                           static_cast<double>(applied);
    const auto& bounds = LatencyBuckets();
    for (double secs : samples) {
      secs += apply_each;
      size_t bi = std::upper_bound(bounds.begin(), bounds.end(), secs) - bounds.begin();
      // Prometheus buckets are upper-inclusive.
      if (bi > 0 && secs == bounds[bi - 1]) --bi;
      latency_buckets[bi] += kLatencySampleEvery;
      latency_sum += secs * kLatencySampleEvery;
    }
    ExpireLocked(NowLocked());
    if (signals_ != nullptr && signals_->Due(NowLocked())) signals_->Advance(NowLocked());
    for (int o = 0; o < kOutcomeCount; ++o) outcomes_[o] += outcome_counts[o];
    overflow = series_overflow_;
    series_overflow_ = 0;
    for (auto& [key, p] : partitions_) {
      evictions += p->dedupe.TakeEvictions();
      dedupe_entries += p->dedupe.live_entries();
    }
  }
  if (overflow != 0) overflow_counter_->Increment(static_cast<double>(overflow));
  if (evictions != 0) dedupe_evictions_->Increment(static_cast<double>(evictions));
  dedupe_entries_->Set(static_cast<double>(dedupe_entries));

  auto& counters = event_counters_.find(source)->second;
  for (int o = 0; o < kOutcomeCount; ++o) {
    if (outcome_counts[o] != 0) counters[o]->Increment(static_cast<double>(outcome_counts[o]));
  }
  for (int r = 0; r < kInvalidReasonCount; ++r) {
    if (invalid_counts[r] != 0) invalid_counters_[r]->Increment(static_cast<double>(invalid_counts[r]));
  }
  if (latency_sum > 0 || std::any_of(latency_buckets.begin(), latency_buckets.end(),
                                     [](double x) { return x != 0; })) {
    latency_->ObserveMultiple(latency_buckets, latency_sum);
  }
  for (const auto& [rec, reason] : invalid_records) invalid_hook_(*rec, reason);
}

uint64_t Processor::outcome_count(Outcome o) const {
  std::lock_guard<std::mutex> lock(mu_);
  return outcomes_[static_cast<int>(o)];
}

}  // namespace earshot
