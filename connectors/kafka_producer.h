#pragma once
// `earshot generate --kafka BROKERS --topic T`: produces the synthetic
// stream into Kafka, keyed by event id, at `rate` events/s (0 = as fast as
// possible) until `count` events (0 = until stopped via `stop`).

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "base/clock.h"
#include "base/status.h"

namespace earshot {

struct GenerateToKafkaOptions {
  std::string brokers;
  std::string topic;
  std::map<std::string, std::string> properties;
  double rate = 0;
  int64_t count = 0;
  uint64_t seed = 1;
};

Status GenerateToKafka(const GenerateToKafkaOptions& options, const Clock* clock,
                       const std::atomic<bool>* stop);

}  // namespace earshot
