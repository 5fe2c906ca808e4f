#pragma once
// Kafka history as a finite Source, for `earshot diff --since`: every
// partition of the configured topics from the offset for `since_ms` (the
// first message with a timestamp at or after it, offsetsForTimes) up to the
// partition's end when the source starts (its high watermark), then
// kEndOfInput.
//
// It reads beside the production consumer group without touching it: the
// partitions are assigned explicitly (assign(), no subscribe(), so it never
// joins a group), offsets are neither stored nor committed, and the group id
// librdkafka insists on for assign() is a throwaway one
// ("earshot-history-<pid>"), never source.kafka.group_id. The connection
// properties of source.kafka.properties (security, timeouts) are passed
// through; group and commit properties are not.
//
// Single-threaded like every Source: Start/Poll/Close on one thread.

#include <cstdint>
#include <memory>

#include "base/status.h"
#include "connectors/source.h"
#include "pipeline/config.h"

namespace earshot {

struct KafkaHistoryOptions {
  KafkaConfig config;        // brokers, topics, properties; group_id is not used
  int64_t since_ms = 0;      // epoch ms: read messages from this timestamp on
  int timeout_ms = 30000;    // metadata and offset queries, and the longest quiet spell
};

StatusOr<std::unique_ptr<Source>> MakeKafkaHistorySource(const KafkaHistoryOptions& options);

}  // namespace earshot
