// earshot-kafka-tool: the integration tests' hands on the broker, built on
// the same librdkafka as the daemon (no Kafka CLI, no JVM start per call).
//
//   earshot-kafka-tool create BROKERS TOPIC PARTITIONS
//       create the topic (ok if it exists) and wait until every partition
//       has a leader
//   earshot-kafka-tool produce BROKERS TOPIC FILE [--raw] [--partition P] [--timestamp-ms MS]
//       one message per line of FILE ("-" = stdin), keyed by the JSON "id"
//       (no key when there is none); --raw sends the whole file as one message;
//       --timestamp-ms gives every message that CreateTime (default: now)
//   earshot-kafka-tool consume BROKERS TOPIC --count N [--timeout-ms T]
//       read all partitions from the beginning (no group) until N messages;
//       prints one JSON object per message: topic, partition, offset, key,
//       value_hex, value (when UTF-8 clean) and headers; exit 1 on timeout
//   earshot-kafka-tool committed BROKERS GROUP TOPIC
//       prints {"<partition>": committed offset (-1 = none), ...}
//   earshot-kafka-tool end-offsets BROKERS TOPIC
//       prints {"<partition>": high watermark, ...}
//   earshot-kafka-tool consume-cost BROKERS TOPIC COUNT per-message|batch
//       a high-level consumer in a fresh group reads COUNT messages from the
//       beginning, with the C++ per-message consume() or the C batch
//       rd_kafka_consume_batch_queue(); prints the calling thread's CPU
//       seconds from the first message to the last (scripts/bench-kafka.sh)
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "earshot-kafka-tool: %s\n", msg.c_str());
  std::exit(1);
}

rd_kafka_conf_t* Conf(const std::string& brokers) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err)) !=
      RD_KAFKA_CONF_OK) {
    Die(err);
  }
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  return conf;
}

rd_kafka_t* NewClient(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) Die(err);
  return rk;
}

int PartitionCount(rd_kafka_t* rk, const std::string& topic, bool need_leaders) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int n = -1;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      n = md->topics[0].partition_cnt;
      for (int i = 0; i < md->topics[0].partition_cnt && need_leaders; ++i) {
        if (md->topics[0].partitions[i].leader < 0) n = -1;
      }
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(rkt);
  return n;
}

int Create(const std::string& brokers, const std::string& topic, int partitions) {
  rd_kafka_t* rk = NewClient(RD_KAFKA_PRODUCER, Conf(brokers));
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof(err));
  if (nt == nullptr) Die(err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  if (ev == nullptr) Die("CreateTopics timed out");
  if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Die(std::string("CreateTopics: ") + rd_kafka_event_error_string(ev));
  }
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  size_t cnt = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &cnt);
  for (size_t i = 0; i < cnt; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      Die(std::string("create ") + topic + ": " + rd_kafka_err2str(e) + ": " +
          (rd_kafka_topic_result_error_string(results[i]) ?: ""));
    }
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (PartitionCount(rk, topic, true) != partitions) {
    if (std::chrono::steady_clock::now() > deadline) Die("topic " + topic + " has no leaders");
    rd_kafka_poll(rk, 100);
  }
  rd_kafka_destroy(rk);
  return 0;
}

std::string ReadAll(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string KeyOf(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return {};
  auto id = doc.FindMember("id");
  if (id == doc.MemberEnd()) return {};
  if (id->value.IsString()) return std::string(id->value.GetString(), id->value.GetStringLength());
  if (id->value.IsInt64()) return std::to_string(id->value.GetInt64());
  if (id->value.IsUint64()) return std::to_string(id->value.GetUint64());
  return {};
}

int g_failed = 0;
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (g_failed++ == 0) std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  }
}

int Produce(const std::string& brokers, const std::string& topic, const std::string& path,
            bool raw, int partition, int64_t timestamp_ms) {
  rd_kafka_conf_t* conf = Conf(brokers);
  char err[512];
  rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err));
  // Hostile-input tests send multi-megabyte messages (the test broker allows 8 MiB).
  rd_kafka_conf_set(conf, "message.max.bytes", "8388608", err, sizeof(err));
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_t* rk = NewClient(RD_KAFKA_PRODUCER, conf);
  std::string data = ReadAll(path);
  std::vector<std::string> messages;
  if (raw) {
    messages.push_back(data);
  } else {
    std::istringstream in(data);
    std::string line;
    while (std::getline(in, line)) messages.push_back(line);
  }
  long n = 0;
  for (const std::string& m : messages) {
    std::string key = raw ? std::string() : KeyOf(m);
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(m.data()), m.size()),
          RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
          RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(std::string("produce: ") + rd_kafka_err2str(e));
      rd_kafka_poll(rk, 100);
    }
    ++n;
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  if (rd_kafka_outq_len(rk) > 0) Die("messages still queued after 60s");
  rd_kafka_destroy(rk);
  if (g_failed > 0) Die(std::to_string(g_failed) + " messages not delivered");
  std::fprintf(stderr, "produced %ld messages to %s\n", n, topic.c_str());
  return 0;
}

bool Utf8Clean(const char* p, size_t n) {
  rapidjson::MemoryStream ms(p, n);
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(ms);
  while (ms.Tell() < n) {
    rapidjson::StringBuffer sink;
    if (!rapidjson::UTF8<>::Validate(in, sink)) return false;
  }
  return true;
}

std::string Hex(const char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

int Consume(const std::string& brokers, const std::string& topic, long count, int timeout_ms) {
  rd_kafka_conf_t* conf = Conf(brokers);
  char err[512];
  rd_kafka_conf_set(conf, "group.id", "earshot-kafka-tool", err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_t* rk = NewClient(RD_KAFKA_CONSUMER, conf);
  int parts = PartitionCount(rk, topic, false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (parts <= 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_poll(rk, 100);
    parts = PartitionCount(rk, topic, false);
  }
  if (parts <= 0) Die("topic " + topic + " not found");
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  long got = 0;
  while (got < count) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, static_cast<int>(std::min<long>(left, 200)));
    if (m == nullptr) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("topic");
    w.String(rd_kafka_topic_name(m->rkt));
    w.Key("partition");
    w.Int(m->partition);
    w.Key("offset");
    w.Int64(m->offset);
    w.Key("key");
    if (m->key != nullptr) {
      w.String(static_cast<const char*>(m->key), static_cast<rapidjson::SizeType>(m->key_len));
    } else {
      w.Null();
    }
    const char* payload = static_cast<const char*>(m->payload);
    w.Key("value_hex");
    w.String(Hex(payload, m->len).c_str());
    if (Utf8Clean(payload, m->len)) {
      w.Key("value");
      w.String(payload, static_cast<rapidjson::SizeType>(m->len));
    }
    w.Key("headers");
    w.StartObject();
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        w.Key(name);
        w.String(static_cast<const char*>(value), static_cast<rapidjson::SizeType>(size));
      }
    }
    w.EndObject();
    w.EndObject();
    std::printf("%s\n", buf.GetString());
    ++got;
    rd_kafka_message_destroy(m);
  }
  std::fflush(stdout);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (got < count) {
    std::fprintf(stderr, "earshot-kafka-tool: got %ld of %ld messages\n", got, count);
    return 1;
  }
  return 0;
}

// Offsets per partition as one JSON object.
void PrintOffsets(const std::map<int, int64_t>& offsets) {
  std::string out = "{";
  for (const auto& [p, o] : offsets) {
    if (out.size() > 1) out += ", ";
    out += "\"" + std::to_string(p) + "\": " + std::to_string(o);
  }
  std::printf("%s}\n", out.c_str());
}

int Committed(const std::string& brokers, const std::string& group, const std::string& topic) {
  rd_kafka_conf_t* conf = Conf(brokers);
  char err[512];
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof(err));
  rd_kafka_t* rk = NewClient(RD_KAFKA_CONSUMER, conf);
  int parts = PartitionCount(rk, topic, false);
  if (parts <= 0) Die("topic " + topic + " not found");
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, list, 10000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) Die(std::string("committed: ") + rd_kafka_err2str(e));
  std::map<int, int64_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    out[list->elems[i].partition] = list->elems[i].offset < 0 ? -1 : list->elems[i].offset;
  }
  PrintOffsets(out);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return 0;
}

int EndOffsets(const std::string& brokers, const std::string& topic) {
  rd_kafka_t* rk = NewClient(RD_KAFKA_PRODUCER, Conf(brokers));
  int parts = PartitionCount(rk, topic, false);
  if (parts <= 0) Die("topic " + topic + " not found");
  std::map<int, int64_t> out;
  for (int p = 0; p < parts; ++p) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) Die(std::string("watermarks: ") + rd_kafka_err2str(e));
    out[p] = hi;
  }
  PrintOffsets(out);
  rd_kafka_destroy(rk);
  return 0;
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: earshot-kafka-tool create BROKERS TOPIC PARTITIONS\n"
               "       earshot-kafka-tool produce BROKERS TOPIC FILE [--raw] [--partition P]"
               " [--timestamp-ms MS]\n"
               "       earshot-kafka-tool consume BROKERS TOPIC --count N [--timeout-ms T]\n"
               "       earshot-kafka-tool committed BROKERS GROUP TOPIC\n"
               "       earshot-kafka-tool end-offsets BROKERS TOPIC\n"
               "       earshot-kafka-tool consume-cost BROKERS TOPIC COUNT per-message|batch\n");
  std::exit(2);
}

}  // namespace

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The consume API's own cost on the application thread: what earshot's
// pipeline thread pays per record before decoding it.
int ConsumeCost(const std::string& brokers, const std::string& topic, long count,
                const std::string& api) {
  if (api != "per-message" && api != "batch") Usage();
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  const std::string group =
      "consume-cost-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  // The consumer settings of scripts/bench-kafka.sh and earshot's defaults.
  for (const auto& [k, v] : std::map<std::string, std::string>{
           {"bootstrap.servers", brokers}, {"group.id", group},
           {"auto.offset.reset", "earliest"}, {"enable.auto.commit", "false"},
           {"enable.auto.offset.store", "false"},
           {"partition.assignment.strategy", "cooperative-sticky"},
           {"fetch.max.bytes", "104857600"}, {"max.partition.fetch.bytes", "16777216"},
           {"queued.max.messages.kbytes", "262144"}, {"queued.min.messages", "1000000"}}) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) Die(k + ": " + err);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) Die(err);
  if (c->subscribe({topic}) != RdKafka::ERR_NO_ERROR) Die("subscribe failed");
  long seen = 0;
  size_t bytes = 0;  // touches each payload, as a decoder would
  double start = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  if (api == "per-message") {
    while (seen < count && std::chrono::steady_clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> m(c->consume(100));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      if (start < 0) start = ThreadCpuSeconds();
      bytes += m->len() + static_cast<const char*>(m->payload())[0];
      ++seen;
    }
  } else {
    rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(c->c_ptr());
    std::vector<rd_kafka_message_t*> msgs(1024);
    while (seen < count && std::chrono::steady_clock::now() < deadline) {
      ssize_t n = rd_kafka_consume_batch_queue(q, seen == 0 ? 100 : 0, msgs.data(), msgs.size());
      for (ssize_t i = 0; i < n; ++i) {
        rd_kafka_message_t* m = msgs[i];
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          if (start < 0) start = ThreadCpuSeconds();
          bytes += m->len + static_cast<const char*>(m->payload)[0];
          ++seen;
        }
        rd_kafka_message_destroy(m);
      }
    }
    rd_kafka_queue_destroy(q);
  }
  const double cpu = ThreadCpuSeconds() - start;
  c->close();
  if (seen < count) Die("only " + std::to_string(seen) + " of " + std::to_string(count));
  if (bytes == 0) Die("no payload bytes read");
  std::printf("%.3f\n", cpu);
  return 0;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 3) Usage();
  const std::string& cmd = args[0];
  if (cmd == "create" && args.size() == 4) return Create(args[1], args[2], std::atoi(args[3].c_str()));
  if (cmd == "produce" && args.size() >= 4) {
    bool raw = false;
    int partition = RD_KAFKA_PARTITION_UA;
    int64_t timestamp_ms = 0;  // 0: now
    for (size_t i = 4; i < args.size(); ++i) {
      if (args[i] == "--raw") {
        raw = true;
      } else if (args[i] == "--timestamp-ms" && i + 1 < args.size()) {
        timestamp_ms = std::atoll(args[++i].c_str());
      } else if (args[i] == "--partition" && i + 1 < args.size()) {
        partition = std::atoi(args[++i].c_str());
      } else {
        Usage();
      }
    }
    return Produce(args[1], args[2], args[3], raw, partition, timestamp_ms);
  }
  if (cmd == "consume") {
    long count = -1;
    int timeout_ms = 30000;
    for (size_t i = 3; i < args.size(); ++i) {
      if (args[i] == "--count" && i + 1 < args.size()) {
        count = std::atol(args[++i].c_str());
      } else if (args[i] == "--timeout-ms" && i + 1 < args.size()) {
        timeout_ms = std::atoi(args[++i].c_str());
      } else {
        Usage();
      }
    }
    if (count < 0) Usage();
    return Consume(args[1], args[2], count, timeout_ms);
  }
  if (cmd == "committed" && args.size() == 4) return Committed(args[1], args[2], args[3]);
  if (cmd == "end-offsets" && args.size() == 3) return EndOffsets(args[1], args[2]);
  if (cmd == "consume-cost" && args.size() == 5) {
    return ConsumeCost(args[1], args[2], std::atol(args[3].c_str()), args[4]);
  }
  Usage();
}
