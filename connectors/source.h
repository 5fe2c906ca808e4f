#pragma once
// Sources deliver raw event payloads to the pipeline: a Kafka consumer, JSONL
// files, or the synthetic generator. The pipeline polls a batch, applies it,
// then commits it; a source never advances past what was committed
// (at-least-once).
//
// Sources are driven by one pipeline thread: Poll/Commit/Close are not
// thread-safe; Ready() and RequestStop() may be called from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace earshot {

struct Record {
  std::string_view payload;  // valid until the next Poll()
  int32_t partition = 0;     // source partition (Kafka) or input index (files)
  std::string_view topic;    // Kafka topic, "" elsewhere
  int64_t offset = -1;
  int64_t timestamp_ms = -1;  // message timestamp, -1 when none
  // Replayed to rebuild window state after an assignment: apply to windows
  // only (no counter increments), never re-commit.
  bool rebuild = false;
};

// Identifies a partition's state in the pipeline.
struct PartitionKey {
  std::string topic;
  int32_t partition = 0;
  bool operator<(const PartitionKey& o) const {
    return topic != o.topic ? topic < o.topic : partition < o.partition;
  }
  bool operator==(const PartitionKey& o) const {
    return topic == o.topic && partition == o.partition;
  }
};

// Told about partition ownership changes (Kafka rebalances). Called on the
// pipeline thread, from inside Poll().
class PartitionListener {
 public:
  virtual ~PartitionListener() = default;
  virtual void OnAssigned(const std::vector<PartitionKey>& partitions) = 0;
  // The pipeline drops the partitions' window state.
  virtual void OnRevoked(const std::vector<PartitionKey>& partitions) = 0;
};

enum class PollStatus { kOk, kEndOfInput, kError };

class Source {
 public:
  virtual ~Source() = default;
  // The `source` label value of earshot_events_total: "kafka", "file", "generator".
  virtual std::string_view name() const = 0;
  virtual Status Start(PartitionListener* listener) = 0;
  // Appends up to `max_records` records to `*batch`, waiting at most
  // `timeout_ms` for the first. kEndOfInput once a finite source is drained.
  virtual PollStatus Poll(std::vector<Record>* batch, size_t max_records, int timeout_ms) = 0;
  // The batch's effects are applied; its offsets may be committed.
  virtual void Commit(const std::vector<Record>& batch) = 0;
  // Source connected and able to deliver (for /readyz). Thread-safe.
  virtual bool Ready() const = 0;
  // Makes a blocking Poll() return soon. Thread-safe.
  virtual void RequestStop() = 0;
  // Commits what was applied and releases resources.
  virtual void Close() = 0;
};

}  // namespace earshot
