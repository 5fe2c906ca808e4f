#include "connectors/kafka_history.h"

#include <unistd.h>

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka_common.h"

namespace earshot {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Properties that would make this reader a group member or let it commit:
// never passed through from source.kafka.properties.
bool IsGroupProperty(const std::string& name) {
  static const std::set<std::string> kGroup = {
      "group.id",           "group.instance.id",       "partition.assignment.strategy",
      "enable.auto.commit", "auto.commit.interval.ms", "enable.auto.offset.store",
      "group.protocol",     "group.remote.assignor",   "offset.store.method",
      "bootstrap.servers",  "enable.partition.eof"};
  return kGroup.count(name) != 0;
}

struct Range {
  std::string topic;
  int32_t partition = 0;
  int64_t start = 0;  // first offset to read
  int64_t end = 0;    // high watermark at start-up: read up to end - 1
};

class KafkaHistorySource final : public Source {
 public:
  KafkaHistorySource(KafkaHistoryOptions options, std::unique_ptr<RdKafka::Conf> conf,
                     std::string group_id)
      : options_(std::move(options)), conf_(std::move(conf)), group_id_(std::move(group_id)) {}
  ~KafkaHistorySource() override { Close(); }

  std::string_view name() const override { return "kafka"; }

  Status Start(PartitionListener* listener) override {
    std::string err;
    consumer_.reset(RdKafka::KafkaConsumer::create(conf_.get(), err));
    if (!consumer_) return Status::Error("kafka: cannot create consumer: " + err);
    std::vector<Range> ranges;
    if (Status s = PlanRanges(&ranges); !s.ok()) return s;
    std::vector<RdKafka::TopicPartition*> assign;
    std::vector<PartitionKey> keys;
    for (const Range& r : ranges) {
      if (r.start >= r.end) continue;  // nothing since `since_ms`
      assign.push_back(RdKafka::TopicPartition::create(r.topic, r.partition, r.start));
      keys.push_back({r.topic, r.partition});
      open_[{r.topic, r.partition}] = r.end;
      topic_names_.insert(r.topic);
      KafkaLog("history: " + r.topic + "[" + std::to_string(r.partition) + "] offsets " +
               std::to_string(r.start) + " to " + std::to_string(r.end - 1));
    }
    KafkaLog("history: reading " + std::to_string(keys.size()) +
             " partition(s) by assign(), no consumer group joined, nothing committed (group id " +
             group_id_ + ")");
    if (listener != nullptr && !keys.empty()) listener->OnAssigned(keys);
    RdKafka::ErrorCode rc = assign.empty() ? RdKafka::ERR_NO_ERROR : consumer_->assign(assign);
    RdKafka::TopicPartition::destroy(assign);
    if (rc != RdKafka::ERR_NO_ERROR) {
      return Status::Error("kafka: cannot assign partitions: " + RdKafka::err2str(rc));
    }
    last_progress_ = SteadyClock::now();
    return Status::Ok();
  }

  PollStatus Poll(std::vector<Record>* batch, size_t max_records, int timeout_ms) override {
    held_.clear();
    if (!failure_.ok()) return PollStatus::kFatal;
    if (!consumer_) return PollStatus::kError;
    const size_t first = batch->size();
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    while (!open_.empty() && batch->size() - first < max_records && !stop_.load()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - SteadyClock::now())
                            .count();
      const int wait =
          batch->size() > first ? 0 : static_cast<int>(std::clamp<int64_t>(left, 0, 100));
      std::unique_ptr<RdKafka::Message> msg(consumer_->consume(wait));
      switch (msg->err()) {
        case RdKafka::ERR_NO_ERROR:
          last_progress_ = SteadyClock::now();
          Deliver(std::move(msg), batch);
          continue;
        case RdKafka::ERR__PARTITION_EOF:
          // The end of what is there (compacted or transaction markers can
          // leave the last offsets without a message).
          last_progress_ = SteadyClock::now();
          Finish(msg->topic_name(), msg->partition());
          continue;
        case RdKafka::ERR__TIMED_OUT:
          break;
        default:
          KafkaLog("history: " + RdKafka::err2str(msg->err()) + ": " + msg->errstr(),
                   LogLevel::kWarn);
          if (msg->err() == RdKafka::ERR__FATAL ||
              std::string_view(KafkaErrorKind(msg->err())) == "auth") {
            failure_ = Status::Error("kafka: history: " + KafkaErrorName(msg->err()) + ": " +
                                     msg->errstr());
            return PollStatus::kFatal;
          }
          break;
      }
      if (batch->size() > first || SteadyClock::now() >= deadline) break;
    }
    if (open_.empty()) return batch->size() > first ? PollStatus::kOk : PollStatus::kEndOfInput;
    if (batch->size() == first &&
        SteadyClock::now() - last_progress_ > std::chrono::milliseconds(options_.timeout_ms)) {
      failure_ = Status::Error("kafka: history: nothing received for " +
                               std::to_string(options_.timeout_ms / 1000) + " s with " +
                               std::to_string(open_.size()) + " partition(s) unfinished");
      KafkaLog(failure_.message().substr(7), LogLevel::kError);
      return PollStatus::kFatal;
    }
    return PollStatus::kOk;
  }

  void Commit(const std::vector<Record>&) override {}  // never: the group is not ours

  bool Ready() const override { return consumer_ != nullptr; }
  void RequestStop() override { stop_.store(true); }
  Status failure() const override { return failure_; }

  void Close() override {
    held_.clear();  // messages reference the client
    if (!consumer_) return;
    // Not a group member and nothing to commit: close() only releases it.
    consumer_->unassign();
    consumer_->close();
    consumer_.reset();
  }

 private:
  // Each partition's [offset for since_ms, high watermark).
  Status PlanRanges(std::vector<Range>* out) {
    const int timeout = options_.timeout_ms;
    for (const std::string& topic : options_.config.topics) {
      std::string err;
      std::unique_ptr<RdKafka::Topic> handle(
          RdKafka::Topic::create(consumer_.get(), topic, nullptr, err));
      if (!handle) return Status::Error("kafka: topic " + topic + ": " + err);
      RdKafka::Metadata* md = nullptr;
      RdKafka::ErrorCode rc = consumer_->metadata(false, handle.get(), &md, timeout);
      std::unique_ptr<RdKafka::Metadata> owned(md);
      if (rc != RdKafka::ERR_NO_ERROR) {
        return Status::Error("kafka: metadata of " + topic + ": " + RdKafka::err2str(rc));
      }
      std::vector<int32_t> partitions;
      for (const RdKafka::TopicMetadata* t : *md->topics()) {
        if (t->topic() != topic) continue;
        if (t->err() != RdKafka::ERR_NO_ERROR) {
          return Status::Error("kafka: topic " + topic + ": " + RdKafka::err2str(t->err()));
        }
        for (const RdKafka::PartitionMetadata* p : *t->partitions()) partitions.push_back(p->id());
      }
      if (partitions.empty()) return Status::Error("kafka: topic " + topic + " has no partitions");
      std::sort(partitions.begin(), partitions.end());
      std::vector<RdKafka::TopicPartition*> times;
      for (int32_t p : partitions) {
        times.push_back(RdKafka::TopicPartition::create(topic, p, options_.since_ms));
      }
      rc = consumer_->offsetsForTimes(times, timeout);
      Status st = Status::Ok();
      if (rc != RdKafka::ERR_NO_ERROR) {
        st = Status::Error("kafka: offsets for times of " + topic + ": " + RdKafka::err2str(rc));
      }
      for (size_t i = 0; i < times.size() && st.ok(); ++i) {
        Range r;
        r.topic = topic;
        r.partition = partitions[i];
        int64_t low = 0, high = 0;
        rc = consumer_->query_watermark_offsets(topic, r.partition, &low, &high, timeout);
        if (rc != RdKafka::ERR_NO_ERROR) {
          st = Status::Error("kafka: end offset of " + topic + "[" + std::to_string(r.partition) +
                             "]: " + RdKafka::err2str(rc));
          break;
        }
        if (times[i]->err() != RdKafka::ERR_NO_ERROR) {
          st = Status::Error("kafka: offset for times of " + topic + "[" +
                             std::to_string(r.partition) +
                             "]: " + RdKafka::err2str(times[i]->err()));
          break;
        }
        r.end = high;
        // -1 (OFFSET_END): no message at or after since_ms.
        const int64_t at = times[i]->offset();
        r.start = at < 0 ? high : std::max(at, low);
        out->push_back(r);
      }
      RdKafka::TopicPartition::destroy(times);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  void Deliver(std::unique_ptr<RdKafka::Message> msg, std::vector<Record>* batch) {
    const std::string topic = msg->topic_name();
    auto it = open_.find({topic, msg->partition()});
    if (it == open_.end() || msg->offset() >= it->second) return;  // past the end at start-up
    Record r;
    r.payload = std::string_view(static_cast<const char*>(msg->payload()), msg->len());
    r.partition = msg->partition();
    r.topic = *topic_names_.find(topic);
    r.offset = msg->offset();
    const RdKafka::MessageTimestamp ts = msg->timestamp();
    r.timestamp_ms =
        ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? -1 : ts.timestamp;
    if (msg->offset() + 1 >= it->second) Finish(topic, msg->partition());
    batch->push_back(r);
    held_.push_back(std::move(msg));
  }

  // The partition is read to its end: stop fetching it (pause() works for
  // any assignment; what is fetched anyway is past the end and dropped).
  void Finish(const std::string& topic, int32_t partition) {
    auto it = open_.find({topic, partition});
    if (it == open_.end()) return;
    open_.erase(it);
    std::vector<RdKafka::TopicPartition*> tp = {RdKafka::TopicPartition::create(topic, partition)};
    RdKafka::ErrorCode rc = consumer_->pause(tp);
    if (rc != RdKafka::ERR_NO_ERROR) {
      KafkaLog("history: pause " + topic + "[" + std::to_string(partition) + "]: " +
               RdKafka::err2str(rc));
    }
    RdKafka::TopicPartition::destroy(tp);
  }

  KafkaHistoryOptions options_;
  std::unique_ptr<RdKafka::Conf> conf_;
  std::string group_id_;  // librdkafka's due for assign(); never joined, never committed
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::map<std::pair<std::string, int32_t>, int64_t> open_;  // unfinished -> end offset
  std::set<std::string> topic_names_;                        // stable storage for Record::topic
  std::vector<std::unique_ptr<RdKafka::Message>> held_;      // backs the last batch's payloads
  SteadyClock::time_point last_progress_;
  std::atomic<bool> stop_{false};
  Status failure_;  // set when the read cannot finish; Poll() then reports kFatal
};

}  // namespace

StatusOr<std::unique_ptr<Source>> MakeKafkaHistorySource(const KafkaHistoryOptions& options) {
  const KafkaConfig& cfg = options.config;
  if (cfg.brokers.empty()) return Status::Error("kafka: brokers must not be empty");
  if (cfg.topics.empty()) return Status::Error("kafka: at least one topic is required");
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  // librdkafka's KafkaConsumer wants a group id even for assign(); this one
  // is never joined (no subscribe) and never committed to.
  const std::string group_id = "earshot-history-" + std::to_string(::getpid());
  const std::map<std::string, std::string> fixed = {
      {"bootstrap.servers", cfg.brokers},
      {"group.id", group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"client.id", "earshot-diff"},
  };
  for (const auto& [k, v] : fixed) {
    if (Status s = SetKafkaProperty(conf.get(), k, v); !s.ok()) return s;
  }
  KafkaPropertySetter user(conf.get(), &cfg.property_locations);
  for (const auto& [k, v] : cfg.properties) {
    if (IsGroupProperty(k) || k == "auto.offset.reset" || k == "client.id") continue;
    user.Set(k, v);
  }
  if (Status s = user.status(); !s.ok()) return s;
  std::unique_ptr<Source> src =
      std::make_unique<KafkaHistorySource>(options, std::move(conf), group_id);
  return src;
}

}  // namespace earshot
