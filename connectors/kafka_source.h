#pragma once
// The Kafka source (librdkafka high-level consumer, cooperative-sticky
// rebalancing, at-least-once). See docs/kafka.md.
//
// - enable.auto.offset.store=false: Commit() stores offset+1 of each record
//   of the applied batch; offsets are committed periodically, on revoke and
//   on Close().
// - On assignment, each new partition is first rebuilt: the source seeks to
//   the offset for `clock.now - rebuild_horizon_ms` (offsetsForTimes) and
//   delivers the records up to the committed offset with Record::rebuild set
//   (windows only), then continues live from the committed offset.
// - Partition changes reach the PartitionListener from inside Poll().

#include <memory>

#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/status.h"
#include "connectors/source.h"
#include "pipeline/config.h"

namespace earshot {

struct KafkaSourceOptions {
  KafkaConfig config;
  int64_t rebuild_horizon_ms = 0;  // the longest window; 0 disables rebuilds
  const Clock* clock = nullptr;
  // Where the source registers earshot_kafka_* metrics.
  std::shared_ptr<prometheus::Registry> registry;
};

StatusOr<std::unique_ptr<Source>> MakeKafkaSource(const KafkaSourceOptions& options);

// True once a source's Close() could not leave its consumer group in time
// (the cluster unreachable at shutdown) and left the client to finish on a
// thread of its own: the process should then end with _Exit, not by running
// static destructors beside librdkafka's threads (cmd/main.cc).
bool KafkaClientsAbandoned();

}  // namespace earshot
