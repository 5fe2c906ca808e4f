#pragma once
// Loads and compiles the rule files, off the hot path, and hands a complete
// new RuleSet to the Processor (which swaps it at a batch boundary). A failed
// load keeps the previous rules active, logs the compiler-style errors and is
// visible in earshot_rules_reload_total{result="failure"} and
// earshot_rules_last_reload_successful 0 (Prometheus's own convention).
// Thread-safe: Reload() serializes itself.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/diagnostics.h"
#include "base/log.h"
#include "rules/rule_set.h"

namespace earshot {

// What a reloader calls its metrics and itself in logs: the live rules'
// names by default; Shadow() for the candidate set of docs/shadow.md.
struct RuleReloaderNames {
  std::string what = "rules";  // log lines: "<what>: reload failed, ..."
  std::string reload_total = "earshot_rules_reload_total";
  std::string last_successful = "earshot_rules_last_reload_successful";
  std::string last_success_timestamp = "earshot_rules_last_reload_success_timestamp_seconds";
  std::string loaded = "earshot_rules_loaded";
  std::string subject = "rule";  // the HELP texts': "Rule loads ...", "the last rule load"
  static RuleReloaderNames Shadow();
};

class RuleReloader {
 public:
  using Sink = std::function<void(std::shared_ptr<const rules::RuleSet>)>;
  // Loads at kInfo, failed reloads at kWarn.
  using Logger = std::function<void(LogLevel, const std::string&)>;

  RuleReloader(std::vector<std::string> paths, rules::CompileOptions options, Sink sink,
               std::shared_ptr<prometheus::Registry> registry, const Clock* clock, Logger log,
               RuleReloaderNames names = {});

  // Loads, compiles and (on success) publishes. Returns false on failure,
  // with the errors in *diags when given.
  bool Reload(Diagnostics* diags = nullptr);
  // Publishes a set compiled elsewhere from these paths with these options
  // (the daemon's start-up, cmd/deployment.h), as a successful load of
  // `files` files.
  void Install(std::shared_ptr<const rules::RuleSet> compiled, size_t files);
  // The files behind the current rule paths (for the watcher).
  std::vector<std::string> Files() const;
  const std::vector<std::string>& paths() const { return paths_; }
  bool loaded() const;

 private:
  void Publish(std::shared_ptr<const rules::RuleSet> compiled, size_t files);  // holds mu_
  std::vector<std::string> paths_;
  rules::CompileOptions options_;
  Sink sink_;
  const Clock* clock_;
  Logger log_;
  std::string what_;
  mutable std::mutex mu_;
  bool loaded_ = false;
  prometheus::Counter* success_;
  prometheus::Counter* failure_;
  prometheus::Gauge* last_successful_;
  prometheus::Gauge* last_success_ts_;
  prometheus::Family<prometheus::Gauge>* loaded_family_;
};

}  // namespace earshot
