#pragma once
// Dead-letter sink: invalid messages are produced, raw bytes unchanged, to
// `dead_letter.topic` with headers `earshot-reason`, `earshot-source-topic`,
// `earshot-source-partition`, `earshot-source-offset`. Never blocks the
// pipeline: when the producer queue is full the message is dropped and
// counted (earshot_dead_letter_total{result="dropped"}).
// Send() is called on the pipeline thread only.

#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "base/status.h"
#include "connectors/source.h"
#include "pipeline/config.h"
#include "pipeline/event.h"

namespace earshot {

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual void Send(const Record& record, InvalidReason reason) = 0;
  // Waits up to `timeout_ms` for queued messages to be delivered.
  virtual void Flush(int timeout_ms) = 0;
};

StatusOr<std::unique_ptr<DeadLetterSink>> MakeKafkaDeadLetterSink(
    const KafkaConfig& config, const std::string& topic,
    std::shared_ptr<prometheus::Registry> registry);

// What MakeKafkaDeadLetterSink rejects before it creates the producer (which
// connects): an empty topic, an unknown property or a bad value. For
// `earshot check`.
Status CheckKafkaDeadLetterSink(const KafkaConfig& config, const std::string& topic);

}  // namespace earshot
