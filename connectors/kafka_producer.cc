#include "connectors/kafka_producer.h"

#include <librdkafka/rdkafkacpp.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <string>

#include "connectors/kafka_common.h"
#include "connectors/synth.h"

namespace earshot {
namespace {

// Counts delivery results; called from poll()/flush() on the generating thread.
class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered;
    } else {
      ++failed;
      if (first_error.empty()) first_error = message.errstr();
    }
  }
  int64_t delivered = 0;
  int64_t failed = 0;
  std::string first_error;
};

// The event's id as the message key, so one event always lands on one
// partition (and duplicates of it meet in one replica's dedupe).
std::string EventKey(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return {};
  auto id = doc.FindMember("id");
  if (id == doc.MemberEnd()) return {};
  if (id->value.IsString()) return std::string(id->value.GetString(), id->value.GetStringLength());
  if (id->value.IsUint64()) return std::to_string(id->value.GetUint64());
  if (id->value.IsInt64()) return std::to_string(id->value.GetInt64());
  return {};
}

}  // namespace

Status GenerateToKafka(const GenerateToKafkaOptions& options, const Clock* clock,
                       const std::atomic<bool>* stop) {
  if (clock == nullptr) clock = WallClock::Get();
  if (options.topic.empty()) return Status::Error("generate: --topic is required with --kafka");
  auto conf = MakeProducerConf(options.brokers, options.properties,
                               {{"client.id", "earshot-generate"}, {"linger.ms", "20"}});
  if (!conf.ok()) return Status::Error("generate: " + conf.message());
  DeliveryCounter counter;
  std::string err;
  if ((*conf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&counter), err) !=
      RdKafka::Conf::CONF_OK) {
    return Status::Error("generate: " + err);
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf->get(), err));
  if (!producer) return Status::Error("generate: cannot create producer: " + err);

  std::unique_ptr<EventSynthesizer> synth = MakeEventSynthesizer(options.seed);
  const int64_t start = clock->NowMillis();
  std::string event;
  int64_t sent = 0;
  while (options.count == 0 || sent < options.count) {
    if (stop != nullptr && stop->load()) break;
    if (options.rate > 0) {
      // Event i is due at start + i/rate: a steady rate that catches up
      // after a stall instead of drifting.
      const int64_t due = start + static_cast<int64_t>(static_cast<double>(sent) * 1000.0 /
                                                       options.rate);
      int64_t now = clock->NowMillis();
      if (now < due) {
        producer->poll(static_cast<int>(std::min<int64_t>(due - now, 100)));
        continue;
      }
    }
    event.clear();
    synth->Next(clock->NowMillis(), &event);
    const std::string key = EventKey(event);
    for (;;) {
      RdKafka::ErrorCode rc = producer->produce(
          options.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
          event.data(), event.size(), key.empty() ? nullptr : key.data(), key.size(), 0,
          nullptr, nullptr);
      if (rc == RdKafka::ERR_NO_ERROR) break;
      if (rc != RdKafka::ERR__QUEUE_FULL) {
        return Status::Error("generate: produce to " + options.topic + ": " +
                             RdKafka::err2str(rc));
      }
      producer->poll(100);  // back-pressure: wait for deliveries
      if (stop != nullptr && stop->load()) break;
    }
    ++sent;
    producer->poll(0);
  }
  producer->flush(30000);
  const int64_t outstanding = producer->outq_len();
  if (counter.failed > 0) {
    return Status::Error("generate: " + std::to_string(counter.failed) + " of " +
                         std::to_string(sent) + " events not delivered: " + counter.first_error);
  }
  if (outstanding > 0) {
    return Status::Error("generate: " + std::to_string(outstanding) +
                         " events still queued after 30s (brokers " + options.brokers + ")");
  }
  return Status::Ok();
}

}  // namespace earshot
