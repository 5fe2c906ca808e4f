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
#include "pipeline/record.h"  // Record, PartitionKey, PartitionListener

namespace earshot {

// kError: a transient failure the source logged and recovers from by itself;
// the caller polls again (after a short back-off, as such a Poll may return
// at once). kFatal: the source cannot deliver any more (e.g. a fenced Kafka
// consumer); failure() says why and the caller stops (the daemon exits
// non-zero, docs/reliability.md). Records appended to the batch by the Poll
// that reports kFatal are valid and may still be applied and committed.
enum class PollStatus { kOk, kEndOfInput, kError, kFatal };

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
  // Why Poll() reported kFatal ("kafka: fatal error: <name>: <reason>");
  // Ok before that.
  virtual Status failure() const { return Status::Ok(); }
};

}  // namespace earshot
