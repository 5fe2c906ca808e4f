#include "connectors/kafka_source.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/kafka_common.h"

namespace earshot {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kQueryTimeoutMs = 10000;   // committed() / offsetsForTimes() in a rebalance
constexpr int kProbeIntervalMs = 2000;  // metadata probe while disconnected
constexpr int kMaxConsumeWaitMs = 100;  // bounds how long RequestStop() takes to be seen
// Shutdown with an unreachable cluster: the final commit, then leaving the
// group, each wait at most this long (librdkafka would wait for the group
// coordinator forever: issue 3740). docs/kafka.md, "Shutdown".
constexpr int kCloseCommitTimeoutMs = 5000;
constexpr int kCloseGroupTimeoutMs = 5000;

// Deletes a vector of TopicPartition we created ourselves.
struct PartitionListDeleter {
  std::vector<RdKafka::TopicPartition*>* list;
  ~PartitionListDeleter() { RdKafka::TopicPartition::destroy(*list); }
};

// Default consumer properties; any of them may be overridden by the user.
const std::map<std::string, std::string>& ConsumerDefaults() {
  static const std::map<std::string, std::string> kDefaults = {
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.auto.commit", "true"},
      {"auto.commit.interval.ms", "5000"},
      {"auto.offset.reset", "earliest"},
      {"statistics.interval.ms", "5000"},
      {"client.id", "earshot"},
      // Bounded pre-fetch: at most 16 MiB queued per partition; the pipeline
      // drains far faster than the network, so more only costs memory.
      {"queued.max.messages.kbytes", "16384"},
      // When the local queue is over its bound, librdkafka pauses that
      // partition's fetching for fetch.queue.backoff.ms (default 1000 ms;
      // fixed at 1 s before 2.1, where the property did not exist): a
      // catch-up then idled most of each second (39,000 events/s against
      // ~140,000 at 10 ms on the same machine, docs/kafka.md).
      {"fetch.queue.backoff.ms", "10"},
      {"fetch.wait.max.ms", "100"},
      {"socket.keepalive.enable", "true"},
  };
  return kDefaults;
}

// librdkafka before 2.6.1 repeats the client nonce in the SCRAM
// client-final-message (fixed by confluentinc/librdkafka PR 4895). Brokers
// that check the nonce strictly, Kafka 4.x among them, reject every such
// login even with the right password, and the broker's answer reads like a
// wrong password. CMake refuses such a librdkafka unless
// EARSHOT_ALLOW_OLD_RDKAFKA is on; then the hint names the real cause.
constexpr int kScramFixedVersion = 0x02060100;  // 2.6.1 (0xMMmmrrpp, pp = pre-release)

bool UsesScram(const std::map<std::string, std::string>& properties) {
  for (const char* key : {"sasl.mechanisms", "sasl.mechanism"}) {
    auto it = properties.find(key);
    if (it != properties.end() && it->second.find("SCRAM") != std::string::npos) return true;
  }
  return false;
}

std::string ScramVersionHint(const std::map<std::string, std::string>& properties) {
  if (RdKafka::version() >= kScramFixedVersion || !UsesScram(properties)) return "";
  return " (if the password is right: librdkafka " + RdKafka::version_str() +
         " predates the SCRAM fix of 2.6.1, and Kafka 4.x brokers reject its SCRAM logins; "
         "use librdkafka >= 2.6.1 or another SASL mechanism)";
}

struct PartitionState {
  const std::string* topic = nullptr;  // interned
  int32_t partition = 0;
  int64_t rebuild_end = -1;  // records with offset < rebuild_end are rebuild records
  int64_t stored = -1;       // next offset to commit (last applied + 1), -1 = none
  int64_t committed = -1;    // what we last committed synchronously
  prometheus::Gauge* lag = nullptr;
};

// Single pipeline thread for Poll/Commit/Close (see source.h). librdkafka
// serves its callbacks (rebalance, events, commits) from inside consume(),
// i.e. on that same thread; only connected_ and stop_ cross threads.
class KafkaSource;

// librdkafka keeps pointers to its callbacks for the client's lifetime; this
// object outlives the client and forwards to the source. Log events arrive
// on librdkafka's own threads and are handled without touching the source;
// everything else is served by the consume calls in Poll() and Close().
class Callbacks final : public RdKafka::RebalanceCb,
                        public RdKafka::EventCb,
                        public RdKafka::OffsetCommitCb {
 public:
  explicit Callbacks(KafkaSource* owner) : owner_(owner) {}
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;
  void event_cb(RdKafka::Event& event) override;
  void offset_commit_cb(RdKafka::ErrorCode err,
                        std::vector<RdKafka::TopicPartition*>& offsets) override;
  // From now on the callbacks do nothing: the client outlives its source
  // (an abandoned close, see KafkaSource::Close).
  void Detach() { owner_.store(nullptr); }

 private:
  std::atomic<KafkaSource*> owner_;
};

// Set once a consumer was left to finish closing in the background.
std::atomic<bool> g_abandoned{false};

class KafkaSource final : public Source {
 public:
  KafkaSource(const KafkaSourceOptions& options, std::unique_ptr<RdKafka::Conf> conf)
      : options_(options), conf_(std::move(conf)) {
    if (options_.clock == nullptr) options_.clock = WallClock::Get();
    if (!options_.registry) options_.registry = std::make_shared<prometheus::Registry>();
    prometheus::Registry& r = *options_.registry;
    assigned_gauge_ = &prometheus::BuildGauge()
                           .Name("earshot_kafka_assigned_partitions")
                           .Help("Kafka partitions currently assigned to this process.")
                           .Register(r)
                           .Add({});
    lag_family_ = &prometheus::BuildGauge()
                       .Name("earshot_kafka_consumer_lag")
                       .Help("Messages between the committed (stored) offset and the end of "
                             "each assigned partition, from librdkafka statistics.")
                       .Register(r);
    rebuild_pending_ = &prometheus::BuildGauge()
                            .Name("earshot_kafka_rebuild_partitions_pending")
                            .Help("Assigned partitions whose window state is still being "
                                  "rebuilt from Kafka.")
                            .Register(r)
                            .Add({});
    rebuild_records_ = &prometheus::BuildCounter()
                            .Name("earshot_kafka_rebuild_records_total")
                            .Help("Records replayed into windows to rebuild state after an "
                                  "assignment.")
                            .Register(r)
                            .Add({});
    auto& errors = prometheus::BuildCounter()
                       .Name("earshot_kafka_errors_total")
                       .Help("Kafka client errors by kind.")
                       .Register(r);
    for (const char* kind : {"broker_down", "transport", "auth", "other"}) {
      errors_[kind] = &errors.Add({{"kind", kind}});
    }
    connected_gauge_ = &prometheus::BuildGauge()
                            .Name("earshot_kafka_connected")
                            .Help("1 while the Kafka cluster is reachable, else 0.")
                            .Register(r)
                            .Add({});
    auto it = options_.config.properties.find("sasl.username");
    if (it != options_.config.properties.end()) sasl_user_ = it->second;
    auth_hint_ = ScramVersionHint(options_.config.properties);
    it = options_.config.properties.find("enable.auto.commit");
    auto_commit_ = it == options_.config.properties.end() || it->second != "false";
    it = options_.config.properties.find("auto.commit.interval.ms");
    if (it != options_.config.properties.end()) {
      commit_interval_ms_ = std::max(100, std::atoi(it->second.c_str()));
    }
  }

  ~KafkaSource() override { Close(); }

  std::string_view name() const override { return "kafka"; }

  Status Start(PartitionListener* listener) override {
    listener_ = listener;
    std::string err;
    callbacks_ = std::make_unique<Callbacks>(this);
    if (conf_->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(callbacks_.get()), err) !=
            RdKafka::Conf::CONF_OK ||
        conf_->set("event_cb", static_cast<RdKafka::EventCb*>(callbacks_.get()), err) !=
            RdKafka::Conf::CONF_OK ||
        conf_->set("offset_commit_cb", static_cast<RdKafka::OffsetCommitCb*>(callbacks_.get()),
                   err) != RdKafka::Conf::CONF_OK) {
      return Status::Error("kafka: " + err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf_.get(), err));
    if (!consumer_) return Status::Error("kafka: cannot create consumer: " + err);
    RdKafka::ErrorCode rc = consumer_->subscribe(options_.config.topics);
    if (rc != RdKafka::ERR_NO_ERROR) {
      return Status::Error("kafka: cannot subscribe: " + RdKafka::err2str(rc));
    }
    last_probe_ = SteadyClock::now() - std::chrono::milliseconds(kProbeIntervalMs);
    last_commit_ = SteadyClock::now();
    return Status::Ok();
  }

  PollStatus Poll(std::vector<Record>* batch, size_t max_records, int timeout_ms) override {
    held_.clear();
    if (!failure_.ok()) return PollStatus::kFatal;
    if (!consumer_) return PollStatus::kError;
    batch_ = batch;
    batch_start_ = batch->size();
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    MaybeProbe();
    while (batch->size() - batch_start_ < max_records && !stop_.load() && failure_.ok()) {
      int wait = 0;
      if (batch->size() == batch_start_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - SteadyClock::now())
                        .count();
        wait = static_cast<int>(std::clamp<int64_t>(left, 0, kMaxConsumeWaitMs));
      }
      std::unique_ptr<RdKafka::Message> msg(consumer_->consume(wait));
      RdKafka::ErrorCode err = msg->err();
      if (err == RdKafka::ERR_NO_ERROR) {
        HandleMessage(std::move(msg));
        continue;
      }
      if (err == RdKafka::ERR__FATAL) {
        NoteFatal(msg->errstr());
      } else if (err != RdKafka::ERR__TIMED_OUT && err != RdKafka::ERR__PARTITION_EOF) {
        HandleError(err, msg->errstr());
      }
      if (batch->size() > batch_start_ || SteadyClock::now() >= deadline) break;
    }
    batch_ = nullptr;
    MaybeCommitExplicitly();
    return failure_.ok() ? PollStatus::kOk : PollStatus::kFatal;
  }

  void Commit(const std::vector<Record>& batch) override {
    if (!consumer_) return;
    std::map<std::pair<std::string_view, int32_t>, int64_t> next;
    for (const Record& r : batch) {
      if (r.rebuild || r.offset < 0) continue;
      int64_t& n = next[{r.topic, r.partition}];
      n = std::max(n, r.offset + 1);
    }
    if (next.empty()) return;
    std::vector<RdKafka::TopicPartition*> offsets;
    PartitionListDeleter del{&offsets};
    for (const auto& [key, offset] : next) {
      auto it = partitions_.find({std::string(key.first), key.second});
      if (it == partitions_.end()) continue;  // revoked meanwhile: the new owner redoes it
      if (offset <= it->second.stored) continue;
      it->second.stored = offset;
      offsets.push_back(RdKafka::TopicPartition::create(std::string(key.first), key.second, offset));
    }
    if (offsets.empty()) return;
    RdKafka::ErrorCode rc = consumer_->offsets_store(offsets);
    if (rc != RdKafka::ERR_NO_ERROR && rc != RdKafka::ERR__STATE) {
      CountError(rc, "offsets_store: " + RdKafka::err2str(rc));
    }
  }

  bool Ready() const override { return connected_.load(); }

  void RequestStop() override { stop_.store(true); }

  Status failure() const override { return failure_; }

  void Close() override {
    // Messages keep references into the client; destroying it with any
    // still alive blocks forever. The last batch is applied by now.
    held_.clear();
    if (!consumer_) return;
    closing_ = true;
    // No special case before the first assignment any more: librdkafka
    // < 2.3.0 aborted when a cooperative-sticky consumer was closed while its
    // first join was in flight (issue 4312); earshot requires >= 2.6.1
    // (KafkaSourceITest.CloseDuringFirstJoinDoesNotAbort). A build with
    // EARSHOT_ALLOW_OLD_RDKAFKA on an older one can abort here.
    //
    // Both steps are bounded: with the cluster gone, a synchronous commit
    // waits for the session timeout and close() for the coordinator forever.
    const bool clean = CommitStoredBounded(AllAssigned(), kCloseCommitTimeoutMs) &&
                       CloseBounded(kCloseGroupTimeoutMs);
    if (clean) {
      consumer_.reset();  // rd_kafka_destroy_flags(NO_CONSUMER_CLOSE)
    } else {
      // Destroying a client whose group could not be left waits for the
      // coordinator up to the session timeout: it is done on a thread of
      // its own, with the callbacks it may still reach, and the process
      // may exit without waiting (KafkaClientsAbandoned()).
      callbacks_->Detach();
      g_abandoned.store(true);
      std::thread([consumer = std::move(consumer_), callbacks = std::move(callbacks_),
                   conf = std::move(conf_)]() mutable {
        consumer.reset();
        callbacks.reset();
      }).detach();
    }
    for (auto& [key, ps] : partitions_) {
      if (ps.lag != nullptr) lag_family_->Remove(ps.lag);
    }
    partitions_.clear();
    assigned_gauge_->Set(0);
    rebuild_pending_->Set(0);
  }

 private:
  friend class Callbacks;
  using Key = std::pair<std::string, int32_t>;

  // --- data path -----------------------------------------------------------

  void HandleMessage(std::unique_ptr<RdKafka::Message> msg) {
    SetConnected(true, "");
    const std::string topic = msg->topic_name();
    auto it = partitions_.find({topic, msg->partition()});
    if (it == partitions_.end()) return;  // not ours (any more)
    PartitionState& ps = it->second;
    Record r;
    r.payload = std::string_view(static_cast<const char*>(msg->payload()), msg->len());
    r.partition = msg->partition();
    r.topic = *ps.topic;
    r.offset = msg->offset();
    RdKafka::MessageTimestamp ts = msg->timestamp();
    r.timestamp_ms = ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE
                         ? -1
                         : ts.timestamp;
    if (ps.rebuild_end >= 0) {
      if (r.offset < ps.rebuild_end) {
        r.rebuild = true;
        rebuild_records_->Increment();
      }
      if (r.offset + 1 >= ps.rebuild_end) FinishRebuild(&ps);
    }
    batch_->push_back(r);
    held_.push_back(std::move(msg));
  }

  void FinishRebuild(PartitionState* ps) {
    if (ps->rebuild_end < 0) return;
    ps->rebuild_end = -1;
    rebuild_pending_->Decrement();
  }

  // --- commits -------------------------------------------------------------

  std::vector<Key> AllAssigned() const {
    std::vector<Key> keys;
    for (const auto& [key, ps] : partitions_) keys.push_back(key);
    return keys;
  }

  // The stored offsets of `keys` that are not committed yet.
  std::vector<std::pair<Key, int64_t>> Uncommitted(const std::vector<Key>& keys) const {
    std::vector<std::pair<Key, int64_t>> out;
    for (const Key& k : keys) {
      auto it = partitions_.find(k);
      if (it != partitions_.end() && it->second.stored >= 0 &&
          it->second.stored != it->second.committed) {
        out.emplace_back(k, it->second.stored);
      }
    }
    return out;
  }

  // A commit of `offset` for the partition succeeded.
  void MarkCommitted(const std::string& topic, int32_t partition, int64_t offset) {
    auto it = partitions_.find({topic, partition});
    if (it != partitions_.end()) it->second.committed = offset;
  }

  void CommitStoredSync(const std::vector<Key>& keys) {
    std::vector<RdKafka::TopicPartition*> offsets;
    PartitionListDeleter del{&offsets};
    for (const auto& [k, offset] : Uncommitted(keys)) {
      offsets.push_back(RdKafka::TopicPartition::create(k.first, k.second, offset));
    }
    if (offsets.empty()) return;
    RdKafka::ErrorCode rc = consumer_->commitSync(offsets);
    if (rc != RdKafka::ERR_NO_ERROR) {
      CountError(rc, "synchronous commit failed: " + RdKafka::err2str(rc));
      return;
    }
    for (RdKafka::TopicPartition* tp : offsets) {
      if (tp->err() == RdKafka::ERR_NO_ERROR) {
        MarkCommitted(tp->topic(), tp->partition(), tp->offset());
      }
    }
  }

  // CommitStoredSync, waiting at most `timeout_ms` (shutdown): the commit
  // goes through a queue of its own, which is waited on for that long. A
  // commit still in flight then is given up: its records come again to the
  // next owner (at-least-once). Returns false if it did not finish in time.
  bool CommitStoredBounded(const std::vector<Key>& keys, int timeout_ms) {
    bool answered = true;
    rd_kafka_t* rk = consumer_->c_ptr();
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    for (const auto& [k, offset] : Uncommitted(keys)) {
      rd_kafka_topic_partition_list_add(list, k.first.c_str(), k.second)->offset = offset;
    }
    if (list->cnt > 0) {
      rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
      rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk, list, q, nullptr, nullptr);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        // The result is an event on `q` (the event API: no callback).
        rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms);
        if (ev == nullptr) {
          answered = false;
          KafkaLog("final commit: no answer within " + std::to_string(timeout_ms / 1000) +
                       " s; its records will be redelivered",
                   LogLevel::kWarn);
        } else {
          err = rd_kafka_event_error(ev);
          if (const rd_kafka_topic_partition_list_t* done = rd_kafka_event_topic_partition_list(ev);
              err == RD_KAFKA_RESP_ERR_NO_ERROR && done != nullptr) {
            for (int i = 0; i < done->cnt; ++i) {
              const rd_kafka_topic_partition_t& tp = done->elems[i];
              if (tp.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                MarkCommitted(tp.topic, tp.partition, tp.offset);
              }
            }
          }
          rd_kafka_event_destroy(ev);
        }
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        CountError(static_cast<RdKafka::ErrorCode>(err),
                   std::string("final commit failed: ") + rd_kafka_err2str(err));
      }
      rd_kafka_queue_destroy(q);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return answered;
  }

  // Leaves the group (the final revoke runs in OnRevoke, served here) and
  // waits at most `timeout_ms` for it. Returns false if the group was not
  // left in time (Close() then abandons the client: the group notices by
  // session timeout, as after a crash); true when close() itself fails.
  bool CloseBounded(int timeout_ms) {
    std::unique_ptr<RdKafka::Queue> q(RdKafka::Queue::create(consumer_.get()));
    std::unique_ptr<RdKafka::Error> err(consumer_->close(q.get()));
    if (err != nullptr) {
      // Refused at once (a fatal error): nothing to wait for, the handle
      // is destroyed as usual.
      KafkaLog("close: " + err->str());
      return true;
    }
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    while (!consumer_->closed()) {
      if (SteadyClock::now() >= deadline) {
        KafkaLog("close: the group coordinator did not answer within " +
                     std::to_string(timeout_ms / 1000) +
                     " s; leaving without it (the group notices by session timeout)",
                 LogLevel::kWarn);
        return false;
      }
      std::unique_ptr<RdKafka::Message> m(q->consume(kMaxConsumeWaitMs));
    }
    return true;
  }

  // With enable.auto.commit=false the user still gets at-least-once with
  // bounded redelivery: stored offsets are committed on the same interval.
  void MaybeCommitExplicitly() {
    if (auto_commit_) return;
    auto now = SteadyClock::now();
    if (now - last_commit_ < std::chrono::milliseconds(commit_interval_ms_)) return;
    last_commit_ = now;
    RdKafka::ErrorCode rc = consumer_->commitAsync();
    if (rc != RdKafka::ERR_NO_ERROR && rc != RdKafka::ERR__NO_OFFSET) {
      CountError(rc, "commit: " + RdKafka::err2str(rc));
    }
  }

  void offset_commit_cb(RdKafka::ErrorCode err,
                        std::vector<RdKafka::TopicPartition*>& offsets) {
    if (err == RdKafka::ERR_NO_ERROR || err == RdKafka::ERR__NO_OFFSET) return;
    CountError(err, "");
    LogOnce("offset commit failed: " + RdKafka::err2str(err));
  }

  // --- rebalances ----------------------------------------------------------

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) {
    // An assignment needs the coordinator; a revoke can be local (lost
    // assignment during an outage) and says nothing about connectivity.
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) SetConnected(true, "");
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      OnAssign(consumer, partitions, cooperative);
    } else if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
      OnRevoke(consumer, partitions, cooperative);
    } else {
      KafkaLog("rebalance error: " + RdKafka::err2str(err));
      CountError(err, "");
      if (cooperative) {
        DeleteError(consumer->incremental_unassign(partitions));
      } else {
        consumer->unassign();
      }
    }
  }

  void OnAssign(RdKafka::KafkaConsumer* consumer,
                std::vector<RdKafka::TopicPartition*>& partitions, bool cooperative) {
    std::vector<PartitionKey> keys;
    if (!closing_ && !partitions.empty()) PlanStartOffsets(consumer, partitions);
    for (RdKafka::TopicPartition* tp : partitions) {
      Key key{tp->topic(), tp->partition()};
      PartitionState ps;
      ps.topic = &*topic_names_.insert(tp->topic()).first;
      ps.partition = tp->partition();
      auto rebuild = rebuild_plan_.find(key);
      if (rebuild != rebuild_plan_.end()) {
        ps.rebuild_end = rebuild->second;
        rebuild_pending_->Increment();
      }
      ps.lag = &lag_family_->Add(
          {{"topic", tp->topic()}, {"partition", std::to_string(tp->partition())}});
      auto old = partitions_.find(key);
      if (old != partitions_.end()) DropState(&old->second);
      partitions_[key] = ps;
      keys.push_back({tp->topic(), tp->partition()});
    }
    rebuild_plan_.clear();
    assigned_gauge_->Set(static_cast<double>(partitions_.size()));
    if (listener_ != nullptr && !closing_ && !keys.empty()) listener_->OnAssigned(keys);
    if (cooperative) {
      DeleteError(consumer->incremental_assign(partitions));
    } else {
      RdKafka::ErrorCode rc = consumer->assign(partitions);
      if (rc != RdKafka::ERR_NO_ERROR) KafkaLog("assign: " + RdKafka::err2str(rc));
    }
    if (!keys.empty()) {
      KafkaLog("assigned " + std::to_string(keys.size()) + " partition(s), " +
               std::to_string(partitions_.size()) + " in total");
    }
  }

  // Sets each partition's start offset: the committed offset, or the offset
  // for now - rebuild_horizon_ms when records lie between the two (those are
  // then delivered as rebuild records). Any failed query falls back to
  // librdkafka's default (the committed offset, else auto.offset.reset).
  void PlanStartOffsets(RdKafka::KafkaConsumer* consumer,
                        std::vector<RdKafka::TopicPartition*>& partitions) {
    rebuild_plan_.clear();
    std::vector<RdKafka::TopicPartition*> committed;
    PartitionListDeleter del1{&committed};
    for (RdKafka::TopicPartition* tp : partitions) {
      committed.push_back(RdKafka::TopicPartition::create(tp->topic(), tp->partition()));
    }
    RdKafka::ErrorCode rc = consumer->committed(committed, kQueryTimeoutMs);
    if (rc != RdKafka::ERR_NO_ERROR) {
      CountError(rc, "cannot read committed offsets; no window rebuild: " + RdKafka::err2str(rc));
      return;
    }
    std::vector<RdKafka::TopicPartition*> times;
    PartitionListDeleter del2{&times};
    const int64_t since = options_.clock->NowMillis() - options_.rebuild_horizon_ms;
    for (RdKafka::TopicPartition* tp : partitions) {
      times.push_back(RdKafka::TopicPartition::create(tp->topic(), tp->partition(), since));
    }
    bool have_times = false;
    if (options_.rebuild_horizon_ms > 0) {
      rc = consumer->offsetsForTimes(times, kQueryTimeoutMs);
      if (rc == RdKafka::ERR_NO_ERROR) {
        have_times = true;
      } else {
        CountError(rc, "offsetsForTimes failed; no window rebuild: " + RdKafka::err2str(rc));
      }
    }
    for (size_t i = 0; i < partitions.size(); ++i) {
      const int64_t c = committed[i]->err() == RdKafka::ERR_NO_ERROR ? committed[i]->offset()
                                                                     : RdKafka::Topic::OFFSET_INVALID;
      if (c < 0) continue;  // no committed offset: auto.offset.reset decides
      int64_t start = c;
      if (have_times && times[i]->err() == RdKafka::ERR_NO_ERROR && times[i]->offset() >= 0 &&
          times[i]->offset() < c) {
        start = times[i]->offset();
        rebuild_plan_[{partitions[i]->topic(), partitions[i]->partition()}] = c;
        KafkaLog("rebuilding " + partitions[i]->topic() + "[" +
                 std::to_string(partitions[i]->partition()) + "] from offset " +
                 std::to_string(start) + " up to " + std::to_string(c));
      }
      partitions[i]->set_offset(start);
    }
  }

  void OnRevoke(RdKafka::KafkaConsumer* consumer,
                std::vector<RdKafka::TopicPartition*>& partitions, bool cooperative) {
    std::vector<Key> keys;
    std::vector<PartitionKey> pkeys;
    for (RdKafka::TopicPartition* tp : partitions) {
      keys.push_back({tp->topic(), tp->partition()});
      pkeys.push_back({tp->topic(), tp->partition()});
    }
    // Records of these partitions fetched in this Poll() were not applied:
    // drop them, the next owner starts from the committed offset.
    if (batch_ != nullptr) {
      std::set<std::pair<std::string_view, int32_t>> gone;
      for (const Key& k : keys) gone.insert({k.first, k.second});
      auto first = batch_->begin() + static_cast<std::ptrdiff_t>(batch_start_);
      batch_->erase(std::remove_if(first, batch_->end(),
                                   [&](const Record& r) {
                                     return gone.count({r.topic, r.partition}) != 0;
                                   }),
                    batch_->end());
    }
    if (closing_) {
      // Close() committed already (or gave up after its bound): a second,
      // unbounded commit here would hang a shutdown with the cluster gone.
    } else if (!consumer->assignment_lost()) {
      CommitStoredSync(keys);
    } else {
      KafkaLog("assignment lost: " + std::to_string(keys.size()) +
               " partition(s) revoked without commit");
    }
    if (listener_ != nullptr && !closing_ && !pkeys.empty()) listener_->OnRevoked(pkeys);
    for (const Key& k : keys) {
      auto it = partitions_.find(k);
      if (it == partitions_.end()) continue;
      DropState(&it->second);
      partitions_.erase(it);
    }
    assigned_gauge_->Set(static_cast<double>(partitions_.size()));
    if (cooperative) {
      DeleteError(consumer->incremental_unassign(partitions));
    } else {
      consumer->unassign();
    }
    if (!keys.empty() && !closing_) {
      KafkaLog("revoked " + std::to_string(keys.size()) + " partition(s), " +
               std::to_string(partitions_.size()) + " left");
    }
  }

  void DropState(PartitionState* ps) {
    FinishRebuild(ps);
    if (ps->lag != nullptr) {
      lag_family_->Remove(ps->lag);
      ps->lag = nullptr;
    }
  }

  void DeleteError(RdKafka::Error* error) {
    if (error == nullptr) return;
    KafkaLog("rebalance: " + error->str());
    delete error;
  }

  // --- health, errors, statistics -------------------------------------------

  void event_cb(RdKafka::Event& event) {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (event.fatal()) {
          NoteFatal(event.str());
        } else {
          HandleError(event.err(), event.str());
        }
        break;
      case RdKafka::Event::EVENT_STATS:
        HandleStats(event.str());
        break;
      default:
        break;
    }
  }

  // A fatal error (e.g. a static member fenced by another with the same
  // group.instance.id): the client cannot go on. Names the underlying error,
  // which librdkafka keeps (the event itself says only ERR__FATAL); the
  // daemon logs it and exits (docs/reliability.md).
  void NoteFatal(const std::string& text) {
    if (!failure_.ok()) return;
    errors_["other"]->Increment();
    std::string reason;
    RdKafka::ErrorCode err = consumer_ ? consumer_->fatal_error(reason) : RdKafka::ERR__FATAL;
    if (reason.empty()) reason = text;
    failure_ = Status::Error("kafka: fatal error: " + KafkaErrorName(err) + ": " + reason);
  }

  void HandleError(RdKafka::ErrorCode err, const std::string& text) {
    const char* kind = KafkaErrorKind(err);
    errors_[kind]->Increment();
    if (std::string_view(kind) == "auth") {
      if (!auth_failed_) {
        auth_failed_ = true;
        KafkaLog("authentication failed" +
                 (sasl_user_.empty() ? std::string() : " for SASL user " + sasl_user_) + ": " +
                 text + auth_hint_,
                 LogLevel::kError);
      }
      SetConnected(false, "");
      return;
    }
    if (err == RdKafka::ERR__ALL_BROKERS_DOWN) {
      SetConnected(false, "all brokers down: " + text);
      return;
    }
    // During an outage every retry fails anew; the state change was logged.
    if (connected_.load() || std::string_view(kind) != "transport") {
      LogOnce(RdKafka::err2str(err) + ": " + text);
    } else if (!ever_connected_ && !told_cannot_connect_) {
      // Never connected yet: no state change will explain why, so the first
      // failure is shown once (a missing client certificate, a TLS mismatch).
      told_cannot_connect_ = true;
      KafkaLog("cannot connect to " + options_.config.brokers + " yet: " +
                   RdKafka::err2str(err) + ": " + text,
               LogLevel::kWarn);
    }
  }

  void CountError(RdKafka::ErrorCode err, const std::string& text) {
    errors_[KafkaErrorKind(err)]->Increment();
    if (!text.empty()) KafkaLog(text);
  }

  // Repeated identical messages (retries during an outage) are logged once.
  void LogOnce(const std::string& line) {
    if (line == last_logged_) return;
    last_logged_ = line;
    KafkaLog(line);
  }

  void SetConnected(bool up, const std::string& why) {
    if (up) {
      auth_failed_ = false;
      ever_connected_ = true;
    }
    if (connected_.exchange(up) == up) return;
    connected_gauge_->Set(up ? 1 : 0);
    last_logged_.clear();
    if (up) {
      KafkaLog("connected to " + options_.config.brokers);
    } else if (!why.empty()) {
      KafkaLog(why);
    } else {
      KafkaLog("disconnected from " + options_.config.brokers);
    }
  }

  // While disconnected, a cheap metadata request tells when the cluster is
  // back even if no partition has data to fetch.
  void MaybeProbe() {
    if (connected_.load()) return;
    auto now = SteadyClock::now();
    if (now - last_probe_ < std::chrono::milliseconds(kProbeIntervalMs)) return;
    last_probe_ = now;
    RdKafka::Metadata* md = nullptr;
    RdKafka::ErrorCode rc = consumer_->metadata(false, nullptr, &md, 500);
    delete md;
    if (rc == RdKafka::ERR_NO_ERROR && !auth_failed_) SetConnected(true, "");
  }

  void HandleStats(const std::string& json) {
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError() || !doc.IsObject()) return;
    auto brokers = doc.FindMember("brokers");
    if (brokers != doc.MemberEnd() && brokers->value.IsObject()) {
      bool any_up = false;
      bool any_broker = false;
      for (const auto& b : brokers->value.GetObject()) {
        if (!b.value.IsObject()) continue;
        auto id = b.value.FindMember("nodeid");
        auto state = b.value.FindMember("state");
        if (id != b.value.MemberEnd() && id->value.IsInt() && id->value.GetInt() >= 0 &&
            state != b.value.MemberEnd() && state->value.IsString()) {
          any_broker = true;
          if (std::string_view(state->value.GetString()) == "UP") any_up = true;
        }
      }
      if (any_up && !auth_failed_) {
        SetConnected(true, "");
      } else if (any_broker && !any_up && connected_.load()) {
        // librdkafka raises ALL_BROKERS_DOWN only if, when a broker first
        // goes down, every other one is down already; a group coordinator
        // that is lost only later leaves it unsaid (seen with 2.8.0 when a
        // single broker stops). The statistics tell it either way.
        errors_["broker_down"]->Increment();
        SetConnected(false, "all brokers down: no broker connection is up");
      }
    }
    auto topics = doc.FindMember("topics");
    if (topics == doc.MemberEnd() || !topics->value.IsObject()) return;
    for (const auto& t : topics->value.GetObject()) {
      auto parts = t.value.FindMember("partitions");
      if (parts == t.value.MemberEnd() || !parts->value.IsObject()) continue;
      const std::string topic = t.name.GetString();
      for (const auto& p : parts->value.GetObject()) {
        int32_t partition = std::atoi(p.name.GetString());
        auto it = partitions_.find({topic, partition});
        if (it == partitions_.end() || it->second.lag == nullptr) continue;
        int64_t lag = -1;
        for (const char* field : {"consumer_lag_stored", "consumer_lag"}) {
          auto f = p.value.FindMember(field);
          if (f != p.value.MemberEnd() && f->value.IsInt64() && f->value.GetInt64() >= 0) {
            lag = f->value.GetInt64();
            break;
          }
        }
        if (lag >= 0) it->second.lag->Set(static_cast<double>(lag));
      }
    }
  }

  KafkaSourceOptions options_;
  std::unique_ptr<RdKafka::Conf> conf_;
  std::unique_ptr<Callbacks> callbacks_;  // declared before consumer_: outlives it
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  PartitionListener* listener_ = nullptr;

  std::map<Key, PartitionState> partitions_;
  std::map<Key, int64_t> rebuild_plan_;  // filled in PlanStartOffsets, consumed in OnAssign
  std::set<std::string> topic_names_;    // stable storage for Record::topic
  std::vector<std::unique_ptr<RdKafka::Message>> held_;  // backs the last batch's payloads
  std::vector<Record>* batch_ = nullptr;                 // the batch being filled, in Poll()
  size_t batch_start_ = 0;

  std::atomic<bool> connected_{false};
  std::atomic<bool> stop_{false};
  Status failure_;  // set once by a fatal error; Poll() then reports kFatal
  bool closing_ = false;
  bool auth_failed_ = false;
  bool ever_connected_ = false;
  bool told_cannot_connect_ = false;
  bool auto_commit_ = true;
  int commit_interval_ms_ = 5000;
  std::string sasl_user_;
  std::string auth_hint_;  // appended to the authentication-failure line
  std::string last_logged_;
  SteadyClock::time_point last_probe_;
  SteadyClock::time_point last_commit_;

  prometheus::Gauge* assigned_gauge_ = nullptr;
  prometheus::Family<prometheus::Gauge>* lag_family_ = nullptr;
  prometheus::Gauge* rebuild_pending_ = nullptr;
  prometheus::Counter* rebuild_records_ = nullptr;
  std::map<std::string, prometheus::Counter*> errors_;
  prometheus::Gauge* connected_gauge_ = nullptr;
};

void Callbacks::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                             std::vector<RdKafka::TopicPartition*>& partitions) {
  if (KafkaSource* owner = owner_.load()) owner->rebalance_cb(consumer, err, partitions);
}

void Callbacks::event_cb(RdKafka::Event& event) {
  if (event.type() == RdKafka::Event::EVENT_LOG) {
    // Connection failures also arrive as error events (counted, logged once
    // per state change); other warnings, e.g. ignored properties, are shown.
    if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING && event.fac() != "FAIL") {
      KafkaLog("librdkafka: " + event.fac() + ": " + event.str(), LogLevel::kWarn);
    }
    return;
  }
  if (KafkaSource* owner = owner_.load()) owner->event_cb(event);
}

void Callbacks::offset_commit_cb(RdKafka::ErrorCode err,
                                 std::vector<RdKafka::TopicPartition*>& offsets) {
  if (KafkaSource* owner = owner_.load()) owner->offset_commit_cb(err, offsets);
}

}  // namespace

bool KafkaClientsAbandoned() { return g_abandoned.load(); }

StatusOr<std::unique_ptr<Source>> MakeKafkaSource(const KafkaSourceOptions& options) {
  const KafkaConfig& cfg = options.config;
  if (cfg.brokers.empty()) return Status::Error("kafka: brokers must not be empty");
  if (cfg.topics.empty()) return Status::Error("kafka: at least one topic is required");
  if (cfg.group_id.empty()) return Status::Error("kafka: group_id must not be empty");
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  if (Status s = SetKafkaProperty(conf.get(), "bootstrap.servers", cfg.brokers); !s.ok()) return s;
  if (Status s = SetKafkaProperty(conf.get(), "group.id", cfg.group_id); !s.ok()) return s;
  for (const auto& [k, v] : ConsumerDefaults()) {
    if (cfg.properties.count(k) != 0) continue;
    // Unknown before 2.1.0 (reachable with -DEARSHOT_ALLOW_OLD_RDKAFKA=ON).
    if (k == "fetch.queue.backoff.ms" && RdKafka::version() < 0x02010000) continue;
    if (Status s = SetKafkaProperty(conf.get(), k, v); !s.ok()) return s;
  }
  KafkaPropertySetter user(conf.get(), &cfg.property_locations);
  for (const auto& [k, v] : cfg.properties) {
    if (k == "enable.auto.offset.store") {
      if (v != "false") {
        KafkaLog("ignoring enable.auto.offset.store=" + v +
                 ": earshot stores offsets itself after applying each batch (at-least-once)");
      }
      continue;
    }
    if (k == "bootstrap.servers" || k == "group.id") {
      KafkaLog("ignoring property " + k + ": set source.kafka." +
               (k == "group.id" ? "group_id" : "brokers") + " instead");
      continue;
    }
    user.Set(k, v);
  }
  if (Status s = user.status(); !s.ok()) return s;
  // The guarantee: an offset is stored only after its record was applied.
  if (Status s = SetKafkaProperty(conf.get(), "enable.auto.offset.store", "false"); !s.ok()) {
    return s;
  }
  for (const std::string& name : cfg.inline_secrets) {
    KafkaLog("property " + name +
                 " is written inline in the config file; keep secrets out of it with a "
                 "reference: " + name + ": \"${file:/run/secrets/kafka-" +
                 (name.find("password") != std::string::npos ? "password" : "secret") +
                 "}\" or \"${env:NAME}\" (docs/kafka.md)",
             LogLevel::kWarn);
  }
  // Only a build configured with -DEARSHOT_ALLOW_OLD_RDKAFKA=ON gets here
  // with an old librdkafka; say at once what its SCRAM logins will meet.
  if (UsesScram(cfg.properties) && RdKafka::version() < kScramFixedVersion) {
    KafkaLog("librdkafka " + RdKafka::version_str() +
                 " predates the SCRAM fix of 2.6.1: Kafka 4.x brokers reject its SCRAM logins "
                 "even with the right password; use librdkafka >= 2.6.1 "
                 "(scripts/install-deps.sh) or another SASL mechanism",
             LogLevel::kWarn);
  }
  std::unique_ptr<Source> src = std::make_unique<KafkaSource>(options, std::move(conf));
  return src;
}

}  // namespace earshot
