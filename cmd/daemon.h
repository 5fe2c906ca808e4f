#pragma once
// Wires the daemon together (the components don't know each other): a
// Source, the Processor, the RuleReloader (+ file watcher), the HTTP
// endpoints and, for Kafka, the dead-letter sink. Used by `earshot run` and
// `earshot replay`.
//
// Threading: Run() is the pipeline thread. RequestStop() and
// RequestReload() are safe from any thread (the signal thread calls them).

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/status.h"
#include "connectors/dead_letter.h"
#include "connectors/file_watcher.h"
#include "connectors/http_server.h"
#include "connectors/source.h"
#include "pipeline/config.h"
#include "pipeline/exposition.h"
#include "pipeline/processor.h"
#include "pipeline/rule_reloader.h"

namespace earshot {

// Run()'s exit code when the source fails for good (a fatal Kafka error,
// docs/reliability.md): /readyz turns 503 first, the log names the error.
constexpr int kExitSourceFailed = 3;

struct DaemonOptions {
  bool serve_http = true;        // run: yes; replay: no
  bool exit_at_end = false;      // replay: stop when the source is drained
  bool progress = false;         // replay: progress on stderr
  // replay: shadow rules that do not load are an error of Create (run
  // goes on without a candidate).
  bool shadow_must_load = false;
  size_t batch_size = 4096;
  // Tests: replaces the configured source (which is still checked).
  std::function<std::unique_ptr<Source>()> source_for_test;
};

class Daemon {
 public:
  static StatusOr<std::unique_ptr<Daemon>> Create(const Config& config,
                                                  const DaemonOptions& options,
                                                  const Clock* clock);
  ~Daemon();

  // Runs until the source is drained (exit_at_end), RequestStop() or a
  // fatal source error; drains and commits before returning. Returns the
  // process exit code: 0, 1 (the source cannot start) or kExitSourceFailed.
  int Run();
  void RequestStop();
  // SIGHUP: reloads the live rules, and the shadow rules when configured
  // (each unless its reload is off).
  void RequestReload();

  // The full Prometheus text exposition (operational + result metrics),
  // written to `sink` in chunks of ~1 MiB: a replay of 10,000 brands writes
  // ~430 MB without holding it in memory.
  void WriteExposition(ExpositionSink* sink) const;
  int http_port() const;
  Processor* processor() { return processor_.get(); }

 private:
  Daemon() = default;
  void RegisterHttpHandlers();

  Config config_;
  DaemonOptions options_;
  const Clock* clock_ = nullptr;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Processor> processor_;
  std::unique_ptr<RuleReloader> reloader_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<DeadLetterSink> dead_letter_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<FileWatcher> watcher_;
  // Shadow rules (docs/shadow.md): loaded and watched like the live ones.
  Status StartShadow();
  rules::CompileOptions shadow_options_;
  std::unique_ptr<RuleReloader> shadow_reloader_;
  std::unique_ptr<FileWatcher> shadow_watcher_;
  // Waits until RequestStop() or `ms` pass; true when stopping.
  bool WaitForStop(int ms);
  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::atomic<bool> source_done_{false};
  // Set (with source_failure_) before Run() returns kExitSourceFailed: /readyz
  // says why.
  std::atomic<bool> source_failed_{false};
  std::string source_failure_;
};

// The embedded default configuration of the demo: the synthetic generator
// feeding the example rule files of deploy/rules.
Config DefaultConfig();
// Where the example rules are: $EARSHOT_RULES, ./deploy/rules, or relative
// to the executable (build tree or install prefix).
std::string FindExampleRules();

}  // namespace earshot
