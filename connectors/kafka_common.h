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
#include <utility>
#include <vector>

#include "base/diagnostics.h"
#include "base/log.h"
#include "base/status.h"

namespace earshot {

// Logs "kafka: <line>" (base/log.h).
void KafkaLog(std::string_view line, LogLevel level = LogLevel::kInfo);

// Sets one property, turning librdkafka's complaint into an error value
// ("kafka property \"x\": No such configuration property"; with `what`, the
// client is named: "kafka property \"x\" (dead-letter producer): ...").
Status SetKafkaProperty(RdKafka::Conf* conf, const std::string& name, const std::string& value,
                        const std::string& what = "");

// Sets the properties of a user's configuration one after the other and
// keeps going past a bad one, so that every bad property is reported at once,
// each at the config line that sets it ("earshot.yaml:12:24: kafka property
// \"x\": ..."), in the file's order: compiler-style.
class KafkaPropertySetter {
 public:
  // `locations`: where the config file sets each property (may be null);
  // `what`: the client, in messages when not the consumer ("dead-letter
  // producer"), empty for the consumer.
  KafkaPropertySetter(RdKafka::Conf* conf, const std::map<std::string, SourceLoc>* locations,
                      std::string what = "")
      : conf_(conf), locations_(locations), what_(std::move(what)) {}
  // Sets `name`; a failure is remembered, not returned.
  void Set(const std::string& name, const std::string& value);
  // Ok, or every failure so far, one a line.
  Status status() const;

 private:
  RdKafka::Conf* conf_;
  const std::map<std::string, SourceLoc>* locations_;
  std::string what_;
  std::vector<std::pair<SourceLoc, std::string>> errors_;
};

// Properties only a consumer understands; a producer built from the same
// `properties` map skips them instead of warning about each one.
bool IsConsumerOnlyProperty(std::string_view name);

// Builds a producer configuration: bootstrap servers, earshot's defaults,
// then the user's properties (consumer-only ones skipped), which win. Every
// bad property is reported (KafkaPropertySetter: at `locations` when given,
// naming the client `what`).
StatusOr<std::unique_ptr<RdKafka::Conf>> MakeProducerConf(
    const std::string& brokers, const std::map<std::string, std::string>& properties,
    const std::map<std::string, std::string>& defaults,
    const std::map<std::string, SourceLoc>* locations = nullptr, const std::string& what = "");

// librdkafka's name of an error code: "FENCED_INSTANCE_ID", "_FENCED"
// (local errors start with "_").
std::string KafkaErrorName(RdKafka::ErrorCode err);

// The bounded `kind` label of earshot_kafka_errors_total: "broker_down",
// "transport", "auth" or "other".
const char* KafkaErrorKind(RdKafka::ErrorCode err);

}  // namespace earshot
