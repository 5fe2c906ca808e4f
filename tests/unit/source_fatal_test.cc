// A fatal Kafka error ends the source and the daemon (docs/reliability.md,
// "Kafka"): the source reports PollStatus::kFatal naming the error, Run()
// returns kExitSourceFailed, and /readyz says why before that.
//
// The fault is real librdkafka behaviour, not a stub: librdkafka's mock
// cluster answers a static member's (group.instance.id) heartbeat with
// FENCED_INSTANCE_ID, which is what a broker does when another consumer
// with the same group.instance.id joins; librdkafka makes that fatal.
// A transient error (kError), by contrast, is polled again after a back-off.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cmd/daemon.h"
#include "connectors/kafka_source.h"
#include "tests/unit/http_exchange.h"

namespace earshot {
namespace {

constexpr int16_t kHeartbeatApiKey = 12;  // Kafka protocol ApiKey of Heartbeat
constexpr auto kDeadline = std::chrono::seconds(60);

// A one-broker mock cluster with the topic "posts" (one partition).
class MockCluster {
 public:
  MockCluster() {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // This handle only hosts the cluster: no warning about its missing bootstrap.servers.
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    EXPECT_NE(rk_, nullptr) << err;
    mcluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    EXPECT_NE(mcluster_, nullptr);
    EXPECT_EQ(rd_kafka_mock_topic_create(mcluster_, "posts", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(mcluster_);
    rd_kafka_destroy(rk_);
  }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mcluster_); }
  // The next heartbeats are answered as if another instance had taken over.
  void FenceNextHeartbeats() {
    rd_kafka_mock_push_request_errors(mcluster_, kHeartbeatApiKey, 3,
                                      RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
                                      RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
                                      RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mcluster_ = nullptr;
};

KafkaConfig StaticMember(const MockCluster& cluster) {
  KafkaConfig k;
  k.brokers = cluster.bootstraps();
  k.topics = {"posts"};
  k.group_id = "earshot-fatal-test";
  k.properties = {{"group.instance.id", "earshot-1"},
                  {"heartbeat.interval.ms", "100"},
                  {"session.timeout.ms", "6000"}};
  return k;
}

struct Assignments : PartitionListener {
  void OnAssigned(const std::vector<PartitionKey>& p) override { assigned += p.size(); }
  void OnRevoked(const std::vector<PartitionKey>&) override {}
  size_t assigned = 0;
};

TEST(SourceFatalTest, KafkaSourceReportsAFencedStaticMemberAsFatal) {
  MockCluster cluster;
  KafkaSourceOptions o;
  o.config = StaticMember(cluster);
  auto source = MakeKafkaSource(o);
  ASSERT_TRUE(source.ok()) << source.message();
  Assignments listener;
  ASSERT_TRUE((*source)->Start(&listener).ok());
  // Heartbeats start once the group is joined; the first ones are fenced.
  cluster.FenceNextHeartbeats();
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::vector<Record> batch;
  PollStatus ps = PollStatus::kOk;
  while (ps == PollStatus::kOk && std::chrono::steady_clock::now() < deadline) {
    EXPECT_TRUE((*source)->failure().ok());
    batch.clear();
    ps = (*source)->Poll(&batch, 100, 100);
  }
  EXPECT_EQ(listener.assigned, 1u) << "the group was joined before the fence";
  ASSERT_EQ(ps, PollStatus::kFatal);
  const std::string why = (*source)->failure().message();
  EXPECT_NE(why.find("kafka: fatal error: FENCED_INSTANCE_ID: "), std::string::npos) << why;
  // Fatal stays fatal: no later Poll pretends otherwise.
  batch.clear();
  EXPECT_EQ((*source)->Poll(&batch, 100, 0), PollStatus::kFatal);
  (*source)->Close();
}

// GET `path` from 127.0.0.1:port; the raw response.
std::string HttpGet(int port, const std::string& path) {
  return Exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

TEST(SourceFatalTest, DaemonTurnsUnreadyAndReturnsTheSourceFailedCode) {
  MockCluster cluster;
  Config config;
  config.source.type = SourceConfig::Type::kKafka;
  config.source.kafka = StaticMember(cluster);
  config.rules.paths = {std::string(EARSHOT_SOURCE_DIR) + "/deploy/rules"};
  config.rules.reload = RulesConfig::Reload::kOff;
  config.http.listen = "127.0.0.1:0";
  auto daemon = Daemon::Create(config, DaemonOptions{}, WallClock::Get());
  ASSERT_TRUE(daemon.ok()) << daemon.message();
  Daemon* d = daemon->get();
  auto run = std::async(std::launch::async, [d] { return d->Run(); });

  // Ready once the consumer is connected and the rules are loaded.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::string ready;
  while (ready.find(" 200 ") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    ready = HttpGet(d->http_port(), "/readyz");
  }
  ASSERT_NE(ready.find(" 200 "), std::string::npos) << ready;
  // Heartbeats start once the group is joined; the next ones are fenced.
  cluster.FenceNextHeartbeats();

  ASSERT_EQ(run.wait_until(std::chrono::steady_clock::now() + kDeadline),
            std::future_status::ready)
      << "Run() did not return after the fatal error";
  EXPECT_EQ(run.get(), kExitSourceFailed);
  // What /readyz said from the fatal error on, until the process exits.
  const std::string unready = HttpGet(d->http_port(), "/readyz");
  EXPECT_NE(unready.find(" 503 "), std::string::npos) << unready;
  EXPECT_NE(unready.find("source failed: kafka: fatal error: FENCED_INSTANCE_ID: "),
            std::string::npos)
      << unready;
}

// Fails transiently `errors` times, then ends.
class FlakySource : public Source {
 public:
  explicit FlakySource(int errors) : errors_(errors) {}
  std::string_view name() const override { return "file"; }
  Status Start(PartitionListener*) override { return Status::Ok(); }
  PollStatus Poll(std::vector<Record>*, size_t, int) override {
    ++polls;
    return polls <= errors_ ? PollStatus::kError : PollStatus::kEndOfInput;
  }
  void Commit(const std::vector<Record>&) override {}
  bool Ready() const override { return true; }
  void RequestStop() override {}
  void Close() override {}
  int polls = 0;

 private:
  const int errors_;
};

TEST(SourceFatalTest, TransientErrorsBackOffInsteadOfSpinning) {
  Config config;
  config.rules.paths = {std::string(EARSHOT_SOURCE_DIR) + "/deploy/rules"};
  config.rules.reload = RulesConfig::Reload::kOff;
  DaemonOptions options;
  options.serve_http = false;
  options.exit_at_end = true;
  FlakySource* flaky = nullptr;
  options.source_for_test = [&flaky] {
    auto s = std::make_unique<FlakySource>(4);
    flaky = s.get();
    return s;
  };
  auto daemon = Daemon::Create(config, options, WallClock::Get());
  ASSERT_TRUE(daemon.ok()) << daemon.message();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*daemon)->Run(), 0);  // transient errors are not an exit
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(flaky->polls, 5);
  // 10 + 20 + 40 + 80 ms between the five polls (a spinning loop: ~0).
  EXPECT_GE(took, std::chrono::milliseconds(150));
}

}  // namespace
}  // namespace earshot
