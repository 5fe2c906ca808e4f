#include "connectors/kafka_common.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <tuple>

namespace earshot {

void KafkaLog(std::string_view line, LogLevel level) {
  std::string out = "kafka: ";
  out.append(line);
  Log(level, out);
}

Status SetKafkaProperty(RdKafka::Conf* conf, const std::string& name, const std::string& value,
                        const std::string& what) {
  std::string err;
  if (conf->set(name, value, err) == RdKafka::Conf::CONF_OK) return Status::Ok();
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  return Status::Error("kafka property \"" + name + "\"" + (what.empty() ? "" : " (" + what + ")") +
                       ": " + err);
}

void KafkaPropertySetter::Set(const std::string& name, const std::string& value) {
  Status s = SetKafkaProperty(conf_, name, value, what_);
  if (s.ok()) return;
  SourceLoc loc;
  if (locations_ != nullptr) {
    if (auto it = locations_->find(name); it != locations_->end()) loc = it->second;
  }
  errors_.emplace_back(loc, s.message());
}

Status KafkaPropertySetter::status() const {
  if (errors_.empty()) return Status::Ok();
  // In the config file's order; properties it does not set (earshot's
  // defaults) after them, as they came.
  std::vector<std::pair<SourceLoc, std::string>> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    const bool al = a.first.line > 0, bl = b.first.line > 0;
    if (al != bl) return al;
    return std::tie(a.first.line, a.first.col) < std::tie(b.first.line, b.first.col);
  });
  std::string out;
  for (const auto& [loc, message] : sorted) {
    if (!out.empty()) out += "\n";
    out += loc.line > 0 ? Diagnostic{loc, message, ""}.ToString() : message;
  }
  return Status::Error(out);
}

bool IsConsumerOnlyProperty(std::string_view name) {
  static constexpr std::array<std::string_view, 22> kExact = {
      "group.id",
      "group.instance.id",
      "partition.assignment.strategy",
      "session.timeout.ms",
      "heartbeat.interval.ms",
      "group.protocol.type",
      "coordinator.query.interval.ms",
      "max.poll.interval.ms",
      "enable.auto.commit",
      "auto.commit.interval.ms",
      "enable.auto.offset.store",
      "queued.min.messages",
      "queued.max.messages.kbytes",
      "fetch.wait.max.ms",
      "fetch.message.max.bytes",
      "fetch.max.bytes",
      "fetch.min.bytes",
      "fetch.error.backoff.ms",
      "fetch.queue.backoff.ms",
      "isolation.level",
      "enable.partition.eof",
      "check.crcs",
  };
  for (std::string_view e : kExact) {
    if (name == e) return true;
  }
  return name == "auto.offset.reset" || name == "offset.store.method" ||
         name == "consume.callback.max.messages" || name == "max.partition.fetch.bytes";
}

StatusOr<std::unique_ptr<RdKafka::Conf>> MakeProducerConf(
    const std::string& brokers, const std::map<std::string, std::string>& properties,
    const std::map<std::string, std::string>& defaults,
    const std::map<std::string, SourceLoc>* locations, const std::string& what) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  KafkaPropertySetter set(conf.get(), locations, what);
  set.Set("bootstrap.servers", brokers);
  for (const auto& [k, v] : defaults) {
    if (properties.count(k) == 0) set.Set(k, v);
  }
  for (const auto& [k, v] : properties) {
    if (!IsConsumerOnlyProperty(k)) set.Set(k, v);
  }
  if (Status s = set.status(); !s.ok()) return s;
  return conf;
}

std::string KafkaErrorName(RdKafka::ErrorCode err) {
  return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err));
}

const char* KafkaErrorKind(RdKafka::ErrorCode err) {
  switch (err) {
    case RdKafka::ERR__ALL_BROKERS_DOWN:
      return "broker_down";
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__RESOLVE:
    case RdKafka::ERR__SSL:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
    case RdKafka::ERR_NETWORK_EXCEPTION:
      return "transport";
    case RdKafka::ERR__AUTHENTICATION:
    case RdKafka::ERR_SASL_AUTHENTICATION_FAILED:
    case RdKafka::ERR_UNSUPPORTED_SASL_MECHANISM:
    case RdKafka::ERR_ILLEGAL_SASL_STATE:
    case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
    case RdKafka::ERR_GROUP_AUTHORIZATION_FAILED:
    case RdKafka::ERR_CLUSTER_AUTHORIZATION_FAILED:
      return "auth";
    default:
      return "other";
  }
}

}  // namespace earshot
