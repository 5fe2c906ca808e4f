#pragma once
// The result series of docs/metrics.md from one snapshot of the processor's
// state: as Prometheus text, streamed in chunks to a sink, or as
// prometheus-cpp MetricFamily objects.
//
// Sizes: a series is ~110 bytes of text; 10,000 brands make ~3.7M series and
// ~430 MB, so the text goes out in ~1 MiB chunks instead of one string, and
// each line is assembled from label fragments escaped once per snapshot.
//
// Values: counters and window gauges are integers and are written exactly;
// ratios are written as prometheus::TextSerializer writes them (%.16g), so
// the text is byte-identical to what prometheus-cpp would serve, up to
// integers of 10^16 and more (TextSerializer: 1e+16; here every digit).

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

#include "pipeline/signals.h"
#include "pipeline/window_state.h"
#include "rules/sentiment.h"

namespace earshot {

// Receives text in order, in chunks. Not thread-safe.
class ExpositionSink {
 public:
  virtual ~ExpositionSink() = default;
  virtual void Write(std::string_view chunk) = 0;
};

// Appends to a string. Not thread-safe.
class StringExpositionSink : public ExpositionSink {
 public:
  explicit StringExpositionSink(std::string* out) : out_(out) {}
  void Write(std::string_view chunk) override { out_->append(chunk); }

 private:
  std::string* out_;
};

// fwrite()s to a stream; after the first failed write (EPIPE: the reader
// is gone) it writes nothing more. Not thread-safe.
class FileExpositionSink : public ExpositionSink {
 public:
  explicit FileExpositionSink(std::FILE* f) : f_(f) {}
  void Write(std::string_view chunk) override {
    if (error_ == 0 && std::fwrite(chunk.data(), 1, chunk.size(), f_) != chunk.size()) {
      error_ = errno != 0 ? errno : EIO;
    }
  }
  // Flushes; returns 0, or the errno of the first failed write (a full disk,
  // a closed pipe), after which the later chunks were dropped.
  int Finish() {
    if (error_ == 0 && std::fflush(f_) != 0) error_ = errno != 0 ? errno : EIO;
    return error_;
  }

 private:
  std::FILE* f_;
  int error_ = 0;
};

// The result state at one instant, as plain data (no locks, no processor
// internals): what Processor::TakeSnapshot copies out. Brand ids are the
// processor's stable ids; `platform` indexes platform_names.
struct ResultsSnapshot {
  struct Category {
    std::string name;
    std::vector<uint32_t> brand_ids;  // the current rule set's brands, in rule order
  };
  // One cache line: the processor's own counters are these (hot path).
  struct alignas(64) Totals {
    Values v;
    uint64_t sentiment[rules::kSentimentCount] = {};  // by rules::Sentiment
    bool present = false;                            // the series exists (was ever counted)
  };
  struct TopicCount {
    uint32_t topic;
    uint32_t brand_plus_one;  // 0: no brand matched (category="none", brand="none")
    uint32_t platform;
    uint64_t count;
  };

  std::vector<std::string> window_names;    // configured order
  std::vector<std::string> platform_names;  // configured + "other"
  std::vector<std::pair<std::string, std::string>> brand_names;  // id -> (category, brand)
  std::vector<std::string> topic_names;                           // topic id -> name
  std::vector<Category> categories;  // the current rule set's, in rule order
  std::vector<Totals> totals;        // monotonic counters, [brand id * P + platform]
  // Per window: the values inside it, [brand id * P + platform] (zero where
  // nothing is in the window).
  std::vector<std::vector<Values>> windows;
  std::vector<TopicCount> topics;  // ascending by (topic, brand_plus_one, platform)
  // Signals: the spike gauges of every series seen, by brand id then
  // platform (platform == platform_count() is "all"); empty when off.
  std::vector<SpikeGauge> spikes;
  // audience: per window, distinct authors [brand id * (P + 1) + platform],
  // platform P being all platforms together; empty when audience is off.
  std::vector<std::vector<uint64_t>> unique_authors;

  size_t platform_count() const { return platform_names.size(); }
  const Values& window(size_t w, uint32_t brand, uint32_t platform) const {
    return windows[w][static_cast<size_t>(brand) * platform_names.size() + platform];
  }
  uint64_t unique(size_t w, uint32_t brand, uint32_t platform) const {  // audience
    return unique_authors[w][static_cast<size_t>(brand) * (platform_names.size() + 1) + platform];
  }
};

// Writes the Prometheus text of every non-empty result family: HELP and TYPE
// once per family, families and series in the order of ResultFamilies().
// Chunks are at most 1 MiB and end at a line end; memory use is the label
// fragments of the snapshot plus one chunk. Cost: ~250 instructions a series
// (a ratio's text, base/format_double.h, is under a third of that).
void WriteResultsText(const ResultsSnapshot& s, ExpositionSink* sink);

// The same series as MetricFamily objects (every family, empty ones too):
// ~1 KB and several allocations a series, for tests and small states.
std::vector<prometheus::MetricFamily> ResultFamilies(const ResultsSnapshot& s);

// --- For other result writers (the shadow series, pipeline/shadow.cc) ---
// `name="value"`, the value escaped as the text format wants.
std::string PrometheusLabel(std::string_view name, std::string_view value);
// Appends a sample value as the result series write it (%.16g, as
// TextSerializer; Nan, +Inf, -Inf).
void AppendPrometheusValue(double v, std::string* out);

}  // namespace earshot
