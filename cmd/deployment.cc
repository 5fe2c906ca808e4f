#include "cmd/deployment.h"

#include <utility>

#include "base/diagnostics.h"
#include "connectors/dead_letter.h"
#include "connectors/file_source.h"
#include "connectors/generator_source.h"
#include "connectors/http_server.h"
#include "connectors/kafka_source.h"

namespace earshot {
namespace {

// "what:\n<diagnostics>" without the trailing newline.
Status DiagnosticsError(const std::string& what, const Diagnostics& diags) {
  std::string text = diags.ToString();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return Status::Error(what.empty() ? text : what + ":\n" + text);
}

StatusOr<CompiledRules> CompileRules(const std::vector<std::string>& paths,
                                     const rules::CompileOptions& options,
                                     const std::string& what) {
  Diagnostics diags;
  rules::RuleSetDef def;
  CompiledRules out;
  out.set = rules::LoadAndCompile(paths, options, &def, &diags);
  if (out.set == nullptr || !diags.ok()) {
    if (diags.ok()) diags.Error(SourceLoc{}, what.empty() ? "rules failed to compile"
                                                          : what + " failed to compile");
    return DiagnosticsError(what, diags);
  }
  out.files = def.files.size();
  return out;
}

StatusOr<std::unique_ptr<Source>> MakeSource(const Config& config, const Clock* clock,
                                             std::shared_ptr<prometheus::Registry> registry) {
  switch (config.source.type) {
    case SourceConfig::Type::kFile:
      return MakeFileSource(config.source.file, config.limits.max_event_bytes);
    case SourceConfig::Type::kGenerator:
      return MakeGeneratorSource(config.source.generator, clock);
    case SourceConfig::Type::kKafka: {
      KafkaSourceOptions ko;
      ko.config = config.source.kafka;
      ko.rebuild_horizon_ms = config.longest_window_ms();
      ko.clock = clock;
      ko.registry = std::move(registry);
      auto source = MakeKafkaSource(ko);
      // The consumer's errors first (the producer shares most properties:
      // each bad one is then reported once); the dead-letter producer
      // itself is created by the daemon, since it connects.
      if (source.ok() && !config.dead_letter.topic.empty()) {
        Status st = CheckKafkaDeadLetterSink(config.source.kafka, config.dead_letter.topic);
        if (!st.ok()) return st;
      }
      return source;
    }
  }
  return Status::Error("unknown source type");
}

}  // namespace

HttpServerOptions ListenerOptions(const HttpConfig& http) {
  HttpServerOptions ho;
  ho.listen = http.listen;
  ho.web_config = http.web_config;
  ho.max_connections = http.max_connections;
  ho.header_timeout_ms = http.header_timeout_ms;
  ho.idle_timeout_ms = http.idle_timeout_ms;
  return ho;
}

StatusOr<Deployment> PrepareDeployment(const Config& config, const DeploymentOptions& options,
                                       const Clock* clock,
                                       std::shared_ptr<prometheus::Registry> registry) {
  Deployment d;
  // Sentiment lexicons: configured files, else the built-in ones.
  if (!config.sentiment.lexicons.empty()) {
    Diagnostics diags;
    d.lexicon = rules::SentimentLexicon::Load(config.sentiment.lexicons, &diags);
    if (d.lexicon == nullptr || !diags.ok()) return DiagnosticsError("sentiment lexicons", diags);
  } else {
    d.lexicon = rules::SentimentLexicon::BuiltIn();
  }
  d.shadow_options.platforms = config.platforms;
  // Nothing reads sentiment off the candidate's matches: no vocabulary.
  d.rule_options = d.shadow_options;
  d.lexicon->AddVocabulary(&d.rule_options);  // sentiment reads the lexicon's words off the matcher

  if (config.rules.paths.empty()) return Status::Error("no rule paths configured (rules.paths)");
  auto live = CompileRules(config.rules.paths, d.rule_options, "");
  if (!live.ok()) return live.status();
  d.rules = std::move(live).value();

  auto processor = Processor::Create(config, clock, registry, d.lexicon);
  if (!processor.ok()) return processor.status();
  d.processor = std::move(processor).value();

  auto source = MakeSource(config, clock, registry);
  if (!source.ok()) return source.status();
  d.source = std::move(source).value();

  if (options.http) {
    if (Status st = CheckHttpServerOptions(ListenerOptions(config.http)); !st.ok()) return st;
  }

  if (options.shadow && !config.shadow.paths.empty()) {
    auto shadow = CompileRules(config.shadow.paths, d.shadow_options, "shadow rules");
    if (!shadow.ok()) return shadow.status();
    d.shadow = std::move(shadow).value();
  }
  return d;
}

}  // namespace earshot
