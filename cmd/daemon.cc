#include "cmd/daemon.h"

#include "pipeline/json_write.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>

#include <prometheus/gauge.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <prometheus/text_serializer.h>

#include "base/log.h"
#include "cmd/deployment.h"
#include "connectors/web_assets.h"
#include "rules/loader.h"

namespace earshot {

namespace fs = std::filesystem;

namespace {

// Passes exposition chunks on as pieces of an HTTP body (the writer drops
// them once the client is gone). Not thread-safe.
class HttpBodySink : public ExpositionSink {
 public:
  explicit HttpBodySink(const HttpBodyWriter& write) : write_(write) {}
  void Write(std::string_view chunk) override { write_(chunk); }

 private:
  const HttpBodyWriter& write_;
};

// `{"error": message}` with `status`, written by RapidJSON: any bytes of the
// message (a query parameter echoed back, say) come out as valid JSON.
HttpResponse JsonError(int status, std::string_view message) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("error");
  WriteJsonString(w, message);
  w.EndObject();
  return HttpResponse{status, "application/json", std::string(buf.GetString(), buf.GetSize())};
}

// A JSON API answer: the body, or a 400 with the error.
HttpResponse JsonResponse(const StatusOr<std::string>& body) {
  if (!body.ok()) return JsonError(400, body.message());
  return HttpResponse{200, "application/json", *body};
}

}  // namespace

std::string FindExampleRules() {
  if (const char* env = std::getenv("EARSHOT_RULES"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (fs::is_directory("deploy/rules", ec)) return "deploy/rules";
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
      if (fs::is_directory(dir / "deploy/rules", ec)) return (dir / "deploy/rules").string();
      if (fs::is_directory(dir / "share/earshot/rules", ec))
        return (dir / "share/earshot/rules").string();
    }
  }
  if (fs::is_directory("/etc/earshot/rules", ec)) return "/etc/earshot/rules";
  return "deploy/rules";
}

Config DefaultConfig() {
  Config c;
  c.source.type = SourceConfig::Type::kGenerator;
  c.source.generator.rate = 200;
  c.source.generator.seed = 1;
  c.rules.paths = {FindExampleRules()};
  c.rules.reload = RulesConfig::Reload::kWatch;
  return c;
}

StatusOr<std::unique_ptr<Daemon>> Daemon::Create(const Config& config,
                                                 const DaemonOptions& options,
                                                 const Clock* clock) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->config_ = config;
  d->options_ = options;
  d->clock_ = clock;
  d->registry_ = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("earshot_build_info")
      .Help("Build information; always 1.")
      .Register(*d->registry_)
      .Add({{"version", EARSHOT_VERSION}})
      .Set(1);

  auto prepared = PrepareDeployment(config, DeploymentOptions{.http = options.serve_http},
                                    clock, d->registry_);
  if (!prepared.ok()) return prepared.status();
  Deployment& dep = *prepared;
  d->processor_ = std::move(dep.processor);
  d->source_ = options.source_for_test ? options.source_for_test() : std::move(dep.source);
  d->shadow_options_ = dep.shadow_options;

  Processor* proc = d->processor_.get();
  d->reloader_ = std::make_unique<RuleReloader>(
      config.rules.paths, dep.rule_options,
      [proc](std::shared_ptr<const rules::RuleSet> rs) { proc->SetRules(std::move(rs)); },
      d->registry_, WallClock::Get(), [](LogLevel level, const std::string& m) { Log(level, m); });
  d->reloader_->Install(std::move(dep.rules.set), dep.rules.files);

  if (config.source.type == SourceConfig::Type::kKafka && !config.dead_letter.topic.empty()) {
    auto dl = MakeKafkaDeadLetterSink(config.source.kafka, config.dead_letter.topic, d->registry_);
    if (!dl.ok()) return dl.status();
    d->dead_letter_ = std::move(dl).value();
    DeadLetterSink* sink = d->dead_letter_.get();
    d->processor_->SetInvalidRecordHook(
        [sink](const Record& r, InvalidReason reason) { sink->Send(r, reason); });
  }

  if (options.serve_http) {
    HttpServerOptions ho = ListenerOptions(config.http);
    ho.registry = d->registry_;
    // Each connection is a file descriptor; the usual soft limit of 1,024
    // would refuse connections long before max_connections.
    const uint64_t files = RaiseOpenFileLimit();
    if (files < static_cast<uint64_t>(ho.max_connections) + 64) {
      LogWarn("http: the open-file limit (" + std::to_string(files) +
              ") is below http.max_connections + 64; raise it (ulimit -n, LimitNOFILE=)");
    }
    d->http_ = MakeHttpServer(ho);
    d->RegisterHttpHandlers();
    Status st = d->http_->Start();
    if (!st.ok()) return st;
  }
  if (config.rules.reload == RulesConfig::Reload::kWatch) {
    Daemon* self = d.get();
    auto w = WatchPaths(
        config.rules.paths, 200, [self] { self->reloader_->Reload(); }, rules::IsRuleFileName);
    if (!w.ok()) return w.status();
    d->watcher_ = std::move(w).value();
  }
  if (Status st = d->StartShadow(); !st.ok()) return st;
  return d;
}

Status Daemon::StartShadow() {
  if (config_.shadow.paths.empty()) return Status::Ok();
  // Compiled with the options `earshot check` uses (cmd/deployment.h).
  Processor* proc = processor_.get();
  shadow_reloader_ = std::make_unique<RuleReloader>(
      config_.shadow.paths, shadow_options_,
      [proc](std::shared_ptr<const rules::RuleSet> rs) { proc->SetShadowRules(std::move(rs)); },
      registry_, WallClock::Get(), [](LogLevel level, const std::string& m) { Log(level, m); },
      RuleReloaderNames::Shadow());
  // A candidate that does not load is reported (log, metrics) and the daemon
  // runs on without one: the candidate never stands in the way of counting.
  // A replay, whose output is the comparison, stops instead.
  if (options_.shadow_must_load) {
    Diagnostics diags;
    rules::RuleSetDef def;
    auto set = rules::LoadAndCompile(config_.shadow.paths, shadow_options_, &def, &diags);
    if (set == nullptr || !diags.ok()) {
      std::string errors = diags.ToString();
      while (!errors.empty() && errors.back() == '\n') errors.pop_back();
      return Status::Error(errors.empty() ? "shadow rules do not load" : errors);
    }
    shadow_reloader_->Install(std::move(set), def.files.size());
  } else {
    shadow_reloader_->Reload();
  }
  if (config_.shadow.reload == RulesConfig::Reload::kWatch) {
    auto w = WatchPaths(
        config_.shadow.paths, 200, [this] { shadow_reloader_->Reload(); }, rules::IsRuleFileName);
    if (w.ok()) {
      shadow_watcher_ = std::move(w).value();
    } else {
      LogWarn("shadow rules: not watched (" + w.message() + "); SIGHUP reloads them");
    }
  }
  return Status::Ok();
}

Daemon::~Daemon() {
  if (watcher_) watcher_->Stop();
  if (shadow_watcher_) shadow_watcher_->Stop();
  if (http_) http_->Stop();
}

void Daemon::RegisterHttpHandlers() {
  http_->Handle("/metrics", [this](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    // Streamed: 10,000 brands make ~430 MB of text.
    r.stream = [this](const HttpBodyWriter& write) {
      HttpBodySink sink(write);
      WriteExposition(&sink);
    };
    return r;
  });
  http_->Handle(
      "/healthz", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "ok\n"}; },
      /*open=*/true);
  http_->Handle(
      "/readyz",
      [this](const HttpRequest&) {
        if (source_failed_.load()) {
          return HttpResponse{503, "text/plain", "source failed: " + source_failure_ + "\n"};
        }
        bool rules = reloader_->loaded();
        bool source = source_ != nullptr && (source_->Ready() || source_done_.load());
        if (rules && source) return HttpResponse{200, "text/plain", "ready\n"};
        std::string why = std::string(rules ? "" : "rules not loaded\n") +
                          (source ? "" : "source not ready\n");
        return HttpResponse{503, "text/plain", why};
      },
      /*open=*/true);
  http_->Handle("/api/v1/share-of-voice", [this](const HttpRequest& req) {
    auto get = [&](const char* k) {
      auto it = req.query.find(k);
      return it == req.query.end() ? std::string() : it->second;
    };
    auto body = processor_->ShareOfVoiceJson(get("window"), get("platform"), get("basis"));
    return JsonResponse(body);
  });
  http_->Handle("/api/v1/shadow", [this](const HttpRequest& req) {
    if (!processor_->has_shadow()) {
      return JsonError(404, "no shadow rules configured (shadow.paths in the config)");
    }
    auto it = req.query.find("window");
    return JsonResponse(processor_->ShadowJson(it == req.query.end() ? "" : it->second));
  });
  // Signals (docs/signals.md): the last closed pane's spikes and trending hashtags.
  http_->Handle("/api/v1/signals", [this](const HttpRequest&) {
    if (!config_.signals.enabled) {
      return JsonError(404, "signals are off (signals: {enabled: false} in the config)");
    }
    return JsonResponse(processor_->SignalsJson());
  });
  // audience (docs/audience.md)
  http_->Handle("/api/v1/top-authors", [this](const HttpRequest& req) {
    auto get = [&](const char* k) {
      auto it = req.query.find(k);
      return it == req.query.end() ? std::string() : it->second;
    };
    return JsonResponse(
        processor_->TopAuthorsJson(get("category"), get("brand"), get("window"), get("by")));
  });
  http_->Handle("/api/v1/unique-authors", [this](const HttpRequest& req) {
    auto get = [&](const char* k) {
      auto it = req.query.find(k);
      return it == req.query.end() ? std::string() : it->second;
    };
    return JsonResponse(processor_->UniqueAuthorsJson(get("window"), get("platform")));
  });
  // end audience
  http_->Handle("/", [](const HttpRequest&) {
    return HttpResponse{200, "text/html; charset=utf-8", std::string(IndexHtml())};
  });
}

void Daemon::WriteExposition(ExpositionSink* sink) const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  // prometheus-cpp keeps a family's series in a hash map: sort them so the
  // exposition (and golden files) are stable.
  for (auto& f : families) {
    std::sort(f.metric.begin(), f.metric.end(),
              [](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
                return a.label < b.label;
              });
  }
  std::ostringstream ops;
  prometheus::TextSerializer().Serialize(ops, families);
  sink->Write(ops.str());
  // The result series (up to millions) are written straight from the
  // processor's snapshot, in the same format (results_text_test.cc).
  processor_->WriteResultsText(sink);
  processor_->WriteShadowText(sink);  // shadow rules: nothing unless configured
}

int Daemon::http_port() const { return http_ ? http_->port() : 0; }

void Daemon::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_.store(true);
  }
  stop_cv_.notify_all();
  if (source_) source_->RequestStop();
}

bool Daemon::WaitForStop(int ms) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  return stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
}

void Daemon::RequestReload() {
  // Compiles on the caller's thread (watcher or signal thread), off the hot
  // path; the processor swaps at its next batch boundary.
  if (config_.rules.reload != RulesConfig::Reload::kOff) reloader_->Reload();
  if (shadow_reloader_ && config_.shadow.reload != RulesConfig::Reload::kOff) {
    shadow_reloader_->Reload();
  }
}

int Daemon::Run() {
  Status st = source_->Start(processor_.get());
  if (!st.ok()) {
    LogError("source: " + st.message());
    return 1;
  }
  std::vector<Record> batch;
  batch.reserve(options_.batch_size);
  uint64_t records = 0;
  auto last_progress = std::chrono::steady_clock::now();
  int rc = 0;
  int error_backoff_ms = 0;
  while (!stop_.load()) {
    batch.clear();
    PollStatus ps = source_->Poll(&batch, options_.batch_size, 100);
    // Also called with an empty batch: it applies a pending rule swap and
    // expires windows even when no events arrive.
    processor_->ProcessBatch(source_->name(), batch);
    if (!batch.empty()) {
      source_->Commit(batch);
      records += batch.size();
    }
    if (options_.progress) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_progress > std::chrono::milliseconds(500)) {
        last_progress = now;
        std::string line = "\rreplay: " + std::to_string(records) + " events";
        (void)!write(STDERR_FILENO, line.data(), line.size());
      }
    }
    if (ps == PollStatus::kEndOfInput) {
      source_done_.store(true);
      if (options_.exit_at_end) break;
      LogInfo("source drained; serving metrics until stopped");
      // Nothing more will arrive. An empty batch every 100 ms, as while a
      // live source is idle, applies rule swaps (SIGHUP, watch) and
      // expires windows until a signal stops the daemon.
      const std::vector<Record> none;
      while (!WaitForStop(100)) processor_->ProcessBatch(source_->name(), none);
      break;
    }
    if (ps == PollStatus::kFatal) {
      // The source cannot go on (e.g. a fenced Kafka consumer). The batch it
      // still delivered is applied and committed above; nothing else is.
      // /readyz turns 503 before the process exits non-zero.
      Status why = source_->failure();
      source_failure_ = why.ok() ? std::string(source_->name()) + ": fatal error" : why.message();
      source_failed_.store(true);
      LogError(source_failure_ + "; exiting");
      rc = kExitSourceFailed;
      break;
    }
    if (ps == PollStatus::kError) {
      // Sources log and recover by themselves; such a Poll may return at
      // once, so back off (doubling up to 1 s) instead of spinning.
      error_backoff_ms = std::min(1000, error_backoff_ms == 0 ? 10 : error_backoff_ms * 2);
      WaitForStop(error_backoff_ms);
    } else {
      error_backoff_ms = 0;
    }
  }
  if (options_.progress) {
    std::string line = "\rreplay: " + std::to_string(records) + " events\n";
    (void)!write(STDERR_FILENO, line.data(), line.size());
  }
  source_->Close();
  if (dead_letter_) dead_letter_->Flush(5000);
  return rc;
}

}  // namespace earshot
