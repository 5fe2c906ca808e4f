#include "connectors/dead_letter.h"

#include <librdkafka/rdkafkacpp.h>
#include <prometheus/counter.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "connectors/kafka_common.h"

namespace earshot {
namespace {

// Send() and Flush() run on the pipeline thread. A small poller thread serves
// delivery reports (dr_cb) so the counters move even when no further invalid
// message arrives; the counters are thread-safe, last_error_ has a mutex.
class KafkaDeadLetterSink final : public DeadLetterSink, private RdKafka::DeliveryReportCb {
 public:
  KafkaDeadLetterSink(std::string topic, std::shared_ptr<prometheus::Registry> registry)
      : topic_(std::move(topic)), registry_(std::move(registry)) {
    auto& family = prometheus::BuildCounter()
                       .Name("earshot_dead_letter_total")
                       .Help("Invalid messages sent to the dead-letter topic, by result.")
                       .Register(*registry_);
    produced_ = &family.Add({{"result", "produced"}});
    dropped_ = &family.Add({{"result", "dropped"}});
    failed_ = &family.Add({{"result", "failed"}});
  }

  ~KafkaDeadLetterSink() override {
    if (producer_) Flush(5000);
    stop_.store(true);
    if (poller_.joinable()) poller_.join();
  }

  Status Init(std::unique_ptr<RdKafka::Conf> conf) {
    std::string err;
    if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) !=
        RdKafka::Conf::CONF_OK) {
      return Status::Error("dead letter: " + err);
    }
    producer_.reset(RdKafka::Producer::create(conf.get(), err));
    if (!producer_) return Status::Error("dead letter: cannot create producer: " + err);
    poller_ = std::thread([this] {
      while (!stop_.load()) producer_->poll(100);
    });
    return Status::Ok();
  }

  void Send(const Record& record, InvalidReason reason) override {
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add("earshot-reason", InvalidReasonName(reason));
    headers->add("earshot-source-topic", std::string(record.topic));
    headers->add("earshot-source-partition", std::to_string(record.partition));
    headers->add("earshot-source-offset", std::to_string(record.offset));
    RdKafka::ErrorCode rc = producer_->produce(
        topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(record.payload.data()), record.payload.size(), nullptr, 0,
        /*timestamp=*/0, headers, nullptr);
    if (rc != RdKafka::ERR_NO_ERROR) {
      delete headers;  // ownership passes to librdkafka only on success
      if (rc == RdKafka::ERR__QUEUE_FULL) {
        dropped_->Increment();
      } else {
        failed_->Increment();
        LogFailure(RdKafka::err2str(rc));
      }
    }
  }

  void Flush(int timeout_ms) override {
    if (producer_) producer_->flush(timeout_ms);
  }

 private:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      produced_->Increment();
    } else {
      failed_->Increment();
      LogFailure(message.errstr());
    }
  }

  void LogFailure(const std::string& why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (why == last_error_) return;  // an outage fails every message alike
    last_error_ = why;
    KafkaLog("dead letter to " + topic_ + " failed: " + why);
  }

  std::string topic_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<RdKafka::Producer> producer_;
  prometheus::Counter* produced_ = nullptr;
  prometheus::Counter* dropped_ = nullptr;
  prometheus::Counter* failed_ = nullptr;
  std::mutex mu_;
  std::string last_error_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

// The producer's configuration: earshot's defaults, then the source's
// properties (consumer-only ones skipped).
StatusOr<std::unique_ptr<RdKafka::Conf>> DeadLetterConf(const KafkaConfig& config,
                                                        const std::string& topic) {
  if (topic.empty()) return Status::Error("dead letter: topic must not be empty");
  // Errors name the dead-letter producer and sit at the config lines.
  return MakeProducerConf(config.brokers, config.properties,
                          {{"client.id", "earshot-dead-letter"},
                           {"linger.ms", "50"},
                           // Bounded: when it is full, Send() drops and counts.
                           {"queue.buffering.max.messages", "100000"},
                           {"message.timeout.ms", "300000"}},
                          &config.property_locations, "dead-letter producer");
}

}  // namespace

Status CheckKafkaDeadLetterSink(const KafkaConfig& config, const std::string& topic) {
  return DeadLetterConf(config, topic).status();
}

StatusOr<std::unique_ptr<DeadLetterSink>> MakeKafkaDeadLetterSink(
    const KafkaConfig& config, const std::string& topic,
    std::shared_ptr<prometheus::Registry> registry) {
  auto conf = DeadLetterConf(config, topic);
  if (!conf.ok()) return conf.status();
  if (!registry) registry = std::make_shared<prometheus::Registry>();
  auto sink = std::make_unique<KafkaDeadLetterSink>(topic, std::move(registry));
  if (Status s = sink->Init(std::move(conf).value()); !s.ok()) return s;
  std::unique_ptr<DeadLetterSink> out = std::move(sink);
  return out;
}

}  // namespace earshot
