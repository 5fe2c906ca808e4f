#pragma once
// The pipeline's input model: what a source hands the processor (Record), how
// partition state is keyed (PartitionKey), and how a source tells the
// processor about partition ownership (PartitionListener). Sources
// (connectors/source.h) produce these; the processor (pipeline/processor.h)
// consumes them. Plain values; PartitionListener is called on the pipeline
// thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

}  // namespace earshot
