#pragma once
// Everything `earshot run` checks and builds before it touches the network
// or a port, in one place: Daemon::Create runs it, and so does `earshot
// check`, so that check rejects exactly what run rejects (docs/cli.md,
// "check"). Not thread-safe; plain values.
//
// In order: the sentiment lexicons, the rules' compile options (the config's
// platforms; the live set also the lexicon's vocabulary), the live rules
// compiled with them, the processor (windows, decoder), the source (Kafka:
// every librdkafka property set on a configuration, no connection; files:
// each path opened), the dead-letter producer's properties, the HTTP
// listener's limits and web config with its TLS context, and, when asked,
// the shadow rules.

#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/status.h"
#include "connectors/http_server.h"
#include "connectors/source.h"
#include "pipeline/config.h"
#include "pipeline/processor.h"
#include "rules/loader.h"
#include "rules/rule_set.h"
#include "rules/sentiment.h"

namespace earshot {

struct DeploymentOptions {
  // The HTTP listener's settings (http.web_config and limits). run: yes;
  // replay: no (it serves nothing); check: yes.
  bool http = true;
  // Compile the shadow rules (shadow.paths) too, a failure being an error.
  // check: yes (the question is whether the candidate is valid); the daemon
  // loads them itself, and a candidate that does not load is only reported:
  // it never stands in the way of counting (docs/shadow.md).
  bool shadow = false;
};

// A rule set as compiled, with the number of files it came from.
struct CompiledRules {
  std::shared_ptr<const rules::RuleSet> set;
  size_t files = 0;
};

struct Deployment {
  std::shared_ptr<const rules::SentimentLexicon> lexicon;
  rules::CompileOptions rule_options;    // the live rules': platforms + sentiment vocabulary
  rules::CompileOptions shadow_options;  // the candidate's: platforms only
  CompiledRules rules;
  CompiledRules shadow;  // set only with DeploymentOptions::shadow and shadow.paths
  std::unique_ptr<Processor> processor;
  std::unique_ptr<Source> source;  // not started
};

// The HTTP listener's options from the config (no registry).
HttpServerOptions ListenerOptions(const HttpConfig& http);

// Errors come as one Status: compiler-style lines (file:line:col: ...) where
// a file is at fault. `registry` receives the processor's and the source's
// metrics.
StatusOr<Deployment> PrepareDeployment(const Config& config, const DeploymentOptions& options,
                                       const Clock* clock,
                                       std::shared_ptr<prometheus::Registry> registry);

}  // namespace earshot
