#pragma once
// Internals shared by the Kafka source, the dead-letter producer and
// `generate --kafka`: librdkafka configuration with pass-through properties,
// bounded error kinds for metrics, and one-line logging.
// Free functions; thread-safe.

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/log.h"
#include "base/status.h"

namespace earshot {

// Logs "kafka: <line>" (base/log.h).
void KafkaLog(std::string_view line, LogLevel level = LogLevel::kInfo);

// Sets one property, turning librdkafka's complaint into an error value
// ("kafka property \"x\": No such configuration property").
Status SetKafkaProperty(RdKafka::Conf* conf, const std::string& name, const std::string& value);

// Properties only a consumer understands; a producer built from the same
// `properties` map skips them instead of warning about each one.
bool IsConsumerOnlyProperty(std::string_view name);

// Builds a producer configuration: bootstrap servers, earshot's defaults,
// then the user's properties (consumer-only ones skipped), which win.
StatusOr<std::unique_ptr<RdKafka::Conf>> MakeProducerConf(
    const std::string& brokers, const std::map<std::string, std::string>& properties,
    const std::map<std::string, std::string>& defaults);

// librdkafka's name of an error code: "FENCED_INSTANCE_ID", "_FENCED"
// (local errors start with "_").
std::string KafkaErrorName(RdKafka::ErrorCode err);

// The bounded `kind` label of earshot_kafka_errors_total: "broker_down",
// "transport", "auth" or "other".
const char* KafkaErrorKind(RdKafka::ErrorCode err);

}  // namespace earshot
