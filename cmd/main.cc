// earshot: one binary, several commands (docs/cli.md). A thin main:
// argument parsing and wiring only.

#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/duration.h"
#include "base/log.h"
#include "base/platform.h"
#include "cmd/daemon.h"
#include "cmd/deployment.h"
#include "cmd/diff.h"
#include "connectors/kafka_producer.h"
#include "connectors/kafka_source.h"
#include "pipeline/config.h"
#include "pipeline/exposition.h"
#include "connectors/synth.h"
#include "rules/loader.h"
#include "rules/rule_set.h"
#include "rules/rule_tests.h"

namespace earshot {
namespace {

constexpr const char* kUsage = R"(usage: earshot <command> [options]

commands:
  run      [--config FILE] [--rules PATH]...
                                    the daemon (SIGTERM/SIGINT drain and exit 0, SIGHUP reloads rules);
                                    without --config: the embedded demo (generator + deploy/rules)
  replay   [--config FILE] [--rules PATH]... [--format F] FILE|-...
                                    the same pipeline over files with clock: event; prints the metrics
  check    [--config FILE] [--no-shadow] [RULES]...
                                    validate what run validates (exit 1 with compiler-style errors)
  test     [--config FILE] [--verbose] [RULES]...
                                    run the rule files' tests: (with the config's platforms)
  explain  [--config FILE] --rules PATH [--platform P] [--lang L] [--author A] [--country C] TEXT
                                    show how a text is normalized and matched (TEXT "-": stdin)
  diff     [--config FILE] --rules LIVE --candidate CAND [--json] [--since DUR] [--format F] [FILE|-]...
                                    what a rule change would change, per brand (exit 0 none, 1 some,
                                    2 error); --since 24h reads the config's Kafka topics instead
  generate [--rate N] [--count N] [--seed S] [--kafka BROKERS --topic T]
                                    synthetic events to stdout (JSONL) or Kafka
  version                           print the version, and the librdkafka version it runs with
)";

int Usage(const std::string& error = "") {
  if (!error.empty()) std::fprintf(stderr, "earshot: %s\n\n", error.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}

// Simple flag parsing: --name VALUE / --name=VALUE, repeated flags kept in order.
struct Args {
  std::vector<std::pair<std::string, std::string>> flags;
  std::vector<std::string> positional;
  std::string error;
  std::string Get(const std::string& name, const std::string& def = "") const {
    std::string v = def;
    for (const auto& [k, val] : flags)
      if (k == name) v = val;
    return v;
  }
  std::vector<std::string> All(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : flags)
      if (k == name) out.push_back(v);
    return out;
  }
  bool Has(const std::string& name) const {
    for (const auto& [k, v] : flags)
      if (k == name) return true;
    return false;
  }
};

Args ParseArgs(int argc, char** argv, int start, const std::vector<std::string>& known,
               const std::vector<std::string>& booleans = {}) {
  Args a;
  for (int i = start; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) a.positional.push_back(argv[i]);
      break;
    }
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      std::string name = arg.substr(2), value;
      size_t eq = name.find('=');
      bool has_value = eq != std::string::npos;
      if (has_value) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      bool ok = false;
      for (const auto& k : known) ok |= (k == name);
      if (!ok) {
        a.error = "unknown option --" + name;
        return a;
      }
      bool is_bool = false;
      for (const auto& b : booleans) is_bool |= (b == name);
      if (is_bool && !has_value) {
        value = "true";
      } else if (!has_value) {
        if (i + 1 >= argc) {
          a.error = "option --" + name + " needs a value";
          return a;
        }
        value = argv[++i];
      }
      a.flags.emplace_back(name, value);
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

// Blocks SIGTERM/SIGINT/SIGHUP in every thread and handles them on a
// dedicated thread with sigwait (no async-signal-safety pitfalls).
class SignalThread {
 public:
  SignalThread() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGHUP);
    sigaddset(&set_, SIGUSR2);  // internal: wake up to exit
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  void Start(Daemon* daemon, bool reload_on_hup = true) {
    thread_ = std::thread([this, daemon, reload_on_hup] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (sig == SIGUSR2) return;
        if (sig == SIGHUP) {
          if (!reload_on_hup) {
            LogInfo("SIGHUP ignored: rules.reload is off");
            continue;
          }
          LogInfo("SIGHUP: reloading rules");
          daemon->RequestReload();
        } else {
          LogInfo(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": draining and exiting");
          daemon->RequestStop();
        }
      }
    });
  }
  ~SignalThread() {
    if (thread_.joinable()) {
      pthread_kill(thread_.native_handle(), SIGUSR2);
      thread_.join();
    }
  }

 private:
  sigset_t set_;
  std::thread thread_;
};

bool LoadConfigOrDefault(const std::string& path, Config* config) {
  if (path.empty()) {
    *config = DefaultConfig();
    return true;
  }
  Diagnostics diags;
  if (!LoadConfig(path, config, &diags)) {
    std::cerr << diags.ToString();
    return false;
  }
  return true;
}

// A setup error of run, replay and check, printed the same way by all three
// (compiler-style): an error that starts with a file of its own ("rules/
// r.yaml:4:13: ...") as it is; one that names none is the config file's
// ("earshot.yaml: ..."), or earshot's without a config file.
void PrintSetupError(const std::string& config_path, const std::string& msg) {
  const std::string first = msg.substr(0, msg.find(':'));
  std::error_code ec;
  // symlink_status: a broken symbolic link is a file of its own too.
  const bool located =
      !first.empty() && std::filesystem::exists(std::filesystem::symlink_status(first, ec));
  const std::string prefix = located ? "" : config_path.empty() ? "earshot: " : config_path + ": ";
  std::cerr << prefix << msg << "\n";
}

int CmdRun(const Args& args) {
  SignalThread signals;  // before any thread starts
  Config config;
  if (!LoadConfigOrDefault(args.Get("config"), &config)) return 1;
  if (args.Has("rules")) config.rules.paths = args.All("rules");
  DaemonOptions opts;
  auto daemon = Daemon::Create(config, opts, WallClock::Get());
  if (!daemon.ok()) {
    PrintSetupError(args.Get("config"), daemon.message());
    return 1;
  }
  const bool shadow_on_hup =
      !config.shadow.paths.empty() && config.shadow.reload != RulesConfig::Reload::kOff;
  signals.Start(daemon->get(), config.rules.reload != RulesConfig::Reload::kOff || shadow_on_hup);
  const int port = (*daemon)->http_port();
  // The links name the configured host, or localhost for a wildcard one.
  // "listening on :PORT" stays first: scripts read the port from it.
  const std::string& listen = config.http.listen;
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "localhost";
  const std::string url = "http://" + host + ":" + std::to_string(port);
  LogInfo("earshot " EARSHOT_VERSION " listening on :" + std::to_string(port) +
          (host == "localhost" ? "" : " (" + host + " only)") + "  (dashboard " + url +
          "/  metrics " + url + "/metrics)");
  int rc = (*daemon)->Run();
  LogInfo("stopped");
  if (KafkaClientsAbandoned()) {
    // A consumer is still leaving its unreachable group on a thread of its
    // own (docs/kafka.md, "Shutdown"): end here, without static destructors
    // running beside librdkafka's threads.
    std::fflush(nullptr);
    std::_Exit(rc);
  }
  return rc;
}

int CmdReplay(const Args& args) {
  SignalThread signals;
  Config config;
  std::string path = args.Get("config");
  if (!path.empty()) {
    if (!LoadConfigOrDefault(path, &config)) return 1;
  } else {
    config.rules.paths = {FindExampleRules()};
  }
  if (args.Has("rules")) config.rules.paths = args.All("rules");
  if (args.Has("format")) {
    auto f = ParseFormat(args.Get("format"));
    if (!f) return Usage("unknown format " + args.Get("format"));
    config.decoder.format = *f;
  }
  if (!args.positional.empty()) {
    config.source.type = SourceConfig::Type::kFile;
    config.source.file.paths = args.positional;
    config.source.file.follow = false;
  } else if (config.source.type != SourceConfig::Type::kFile) {
    return Usage("replay needs input files (or - for stdin)");
  }
  config.clock = ClockMode::kEvent;
  config.rules.reload = RulesConfig::Reload::kOff;
  config.shadow.reload = RulesConfig::Reload::kOff;
  DaemonOptions opts;
  opts.serve_http = false;
  opts.exit_at_end = true;
  opts.progress = isatty(STDERR_FILENO);
  opts.shadow_must_load = true;
  auto daemon = Daemon::Create(config, opts, WallClock::Get());
  if (!daemon.ok()) {
    PrintSetupError(path, daemon.message());
    return 1;
  }
  signals.Start(daemon->get());
  int rc = (*daemon)->Run();
  // Streamed: the exposition of a large rule set is hundreds of MB.
  FileExpositionSink out(stdout);
  (*daemon)->WriteExposition(&out);
  if (int err = out.Finish(); err != 0) {
    std::cerr << "earshot: replay: writing the exposition to stdout: " << std::strerror(err)
              << "\n";
    return 1;
  }
  return rc;
}

bool LoadAndCompile(const std::vector<std::string>& paths, const std::vector<std::string>& platforms,
                    rules::RuleSetDef* def, std::shared_ptr<const rules::RuleSet>* out) {
  Diagnostics diags;
  rules::CompileOptions copts;
  copts.platforms = platforms;
  *out = rules::LoadAndCompile(paths, copts, def, &diags);
  const bool ok = *out != nullptr && diags.ok();
  if (!ok) std::cerr << diags.ToString();
  return ok;
}

// Everything `run` would reject before it listens, without the network:
// the config, lexicons, rules (compiled as run compiles them), the source
// (Kafka properties, input files), the web config and, unlike run (which
// only reports it), a shadow rule set that does not load (docs/cli.md);
// --no-shadow leaves the candidate out, as the daemon's pre-start check
// does: a broken candidate must not keep the live counting from starting.
int CmdCheck(const Args& args) {
  Config config;
  std::string path = args.Get("config");
  if (!path.empty()) {
    Diagnostics diags;
    if (!LoadConfig(path, &config, &diags)) {
      std::cerr << diags.ToString();
      return 1;
    }
  }
  if (!args.positional.empty()) config.rules.paths = args.positional;
  // With a config file, no rule paths is that file's error, as `run` reports it.
  if (config.rules.paths.empty() && path.empty()) {
    return Usage("check: no rule files given (pass RULES or --config)");
  }
  const bool shadow = args.Get("no-shadow").empty();
  auto dep = PrepareDeployment(config, DeploymentOptions{.http = true, .shadow = shadow},
                               WallClock::Get(), std::make_shared<prometheus::Registry>());
  if (!dep.ok()) {
    PrintSetupError(path, dep.message());
    return 1;
  }
  auto st = dep->rules.set->stats();
  std::cout << "ok: " << dep->rules.files << " files, " << st.categories << " categories, "
            << st.brands << " brands, " << st.topics << " topics, " << st.terms << " terms, "
            << st.regexes << " regexes, " << st.queries << " queries\n";
  if (dep->shadow.set != nullptr) {
    std::cout << "ok: shadow rules: " << dep->shadow.files << " files, "
              << dep->shadow.set->stats().brands << " brands\n";
  }
  return 0;
}

// The deployment `test` and `explain` run as: the config given with
// --config (its platforms, and its rule paths when none are given on the
// command line), else the defaults.
bool LoadDeployment(const Args& args, Config* config) {
  return LoadConfigOrDefault(args.Get("config"), config);
}

int CmdTest(const Args& args) {
  Config config;
  if (!LoadDeployment(args, &config)) return 1;
  std::vector<std::string> paths = args.positional.empty() && args.Has("config")
                                       ? config.rules.paths
                                       : args.positional;
  if (paths.empty()) return Usage("test: no rule files given (pass RULES or --config)");
  rules::RuleSetDef def;
  std::shared_ptr<const rules::RuleSet> rs;
  if (!LoadAndCompile(paths, config.platforms, &def, &rs)) return 1;
  const PlatformTable platforms(config.platforms);
  rules::RuleTestSummary sum =
      rules::RunRuleTests(def, *rs, platforms, std::cout, args.Has("verbose"));
  return sum.failed == 0 ? 0 : 1;
}

int CmdExplain(const Args& args) {
  Config config;
  if (!LoadDeployment(args, &config)) return 1;
  std::vector<std::string> paths =
      args.Has("rules") ? args.All("rules") : (args.Has("config") ? config.rules.paths
                                                                  : std::vector<std::string>{});
  if (paths.empty()) return Usage("explain: --rules PATH (or --config FILE) is required");
  if (args.positional.empty()) return Usage("explain: no TEXT given");
  std::string text;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i) text += ' ';
    text += args.positional[i];
  }
  if (text == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    // The line end that `echo` or a file adds is not part of the post
    // (a regex anchored with $ would miss it); other newlines stay.
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
  }
  rules::RuleSetDef def;
  std::shared_ptr<const rules::RuleSet> rs;
  if (!LoadAndCompile(paths, config.platforms, &def, &rs)) return 1;
  const std::string platform = args.Get("platform"), lang = args.Get("lang"),
                    author = args.Get("author"), country = args.Get("country");
  const PlatformTable platforms(config.platforms);
  const rules::MatchInput in =
      rules::ToMatchInput({text, platform, lang, author, country}, platforms);
  if (!platform.empty() && in.platform != CanonicalPlatformName(platform)) {
    std::cout << "platform: " << platform << " counts as \"" << in.platform
              << "\" (not in the configured platforms)\n";
  }
  std::cout << rs->Explain(in);
  return 0;
}

int CmdDiff(const Args& args) {
  DiffOptions o;
  o.config = args.Get("config");
  o.rules = args.All("rules");
  o.candidate = args.All("candidate");
  o.since = args.Get("since");
  o.format = args.Get("format");
  o.json = args.Has("json");
  o.inputs = args.positional;
  return RunDiff(o, std::cout, std::cerr);
}

// generate's write failed: 0 when the reader of stdout is gone (EPIPE:
// SIGPIPE is ignored), which ends a run piped into `head`; any other
// error (a full disk) is reported and is a failure.
int ReaderGone() {
  if (errno == EPIPE) return 0;
  std::cerr << "earshot generate: cannot write to stdout: " << std::strerror(errno) << "\n";
  return 1;
}

int CmdGenerate(const Args& args) {
  double rate = 0;
  int64_t count = 0;
  uint64_t seed = 1;
  if (!args.positional.empty()) {
    return Usage("generate: unexpected argument \"" + args.positional[0] + "\"");
  }
  // The whole value must be the number: "10x", "1e3" for a count or "0x10"
  // are usage errors, not 10, 1 and 0 (0 is "for ever").
  auto whole = [](auto parse, const std::string& text) {
    size_t used = 0;
    auto v = parse(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return v;
  };
  try {
    rate = whole([](const std::string& t, size_t* n) { return std::stod(t, n); },
                 args.Get("rate", "0"));
    count = whole([](const std::string& t, size_t* n) { return std::stoll(t, n); },
                  args.Get("count", "0"));
    seed = whole([](const std::string& t, size_t* n) { return std::stoull(t, n); },
                 args.Get("seed", "1"));
  } catch (const std::exception&) {
    return Usage("generate: --rate, --count and --seed take numbers");
  }
  if (rate < 0 || count < 0) return Usage("generate: --rate and --count must be >= 0");
  if (args.Has("kafka")) {
    if (!args.Has("topic")) return Usage("generate: --kafka needs --topic");
    GenerateToKafkaOptions o;
    o.brokers = args.Get("kafka");
    o.topic = args.Get("topic");
    o.rate = rate;
    o.count = count;
    o.seed = seed;
    SignalThread signals;  // blocks SIGTERM/SIGINT for the waiter below
    static std::atomic<bool> stop{false};
    // Stop on SIGTERM/SIGINT from a small waiter thread.
    std::thread([] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGTERM);
      sigaddset(&set, SIGINT);
      int sig;
      sigwait(&set, &sig);
      stop.store(true);
    }).detach();
    Status st = GenerateToKafka(o, WallClock::Get(), &stop);
    if (!st.ok()) {
      std::cerr << "earshot generate: " << st.message() << "\n";
      return 1;
    }
    return 0;
  }
  auto synth = MakeEventSynthesizer(seed);
  const Clock* clock = WallClock::Get();
  std::string buf;
  auto start = std::chrono::steady_clock::now();
  int64_t start_ms = clock->NowMillis();
  for (int64_t i = 0; count == 0 || i < count; ++i) {
    int64_t now = clock->NowMillis();
    if (rate > 0) {
      auto due = start + std::chrono::duration<double>(static_cast<double>(i) / rate);
      std::this_thread::sleep_until(due);  // pacing output, not a test
      now = clock->NowMillis();
    } else {
      now = start_ms;  // full speed: one timestamp, so replays are reproducible per seed
    }
    synth->Next(now, &buf);
    buf.push_back('\n');
    if (buf.size() > (1 << 16) || rate > 0) {
      // The reader gone (EPIPE: SIGPIPE is ignored) ends the run. A paced
      // run learns it from the flush: its writes only fill stdio's buffer.
      if (std::fwrite(buf.data(), 1, buf.size(), stdout) != buf.size()) return ReaderGone();
      if (rate > 0 && std::fflush(stdout) != 0) return ReaderGone();
      buf.clear();
    }
  }
  if (std::fwrite(buf.data(), 1, buf.size(), stdout) != buf.size() || std::fflush(stdout) != 0) {
    return ReaderGone();
  }
  return 0;
}

}  // namespace
}  // namespace earshot

namespace earshot {
namespace {
// A command's status once what it printed has reached stdout: a report
// that could not be written (a full disk, a closed pipe) is a failure,
// not an exit 0 with nothing to show.
int StdoutWritten(const char* cmd, int rc) {
  std::cout.flush();
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0 && !std::ferror(stdout);
  if (std::cout.good() && flushed) return rc;
  std::cerr << "earshot " << cmd << ": cannot write to stdout"
            << (errno != 0 ? std::string(": ") + std::strerror(errno) : std::string()) << "\n";
  return rc == 0 ? 1 : rc;
}
}  // namespace
}  // namespace earshot

int main(int argc, char** argv) {
  using namespace earshot;
  std::signal(SIGPIPE, SIG_IGN);
  // Blocks below 32 MiB (glibc's cap) come from the heap instead of a
  // mapping each: window buckets, hash tables and buffers of 128 KiB to a
  // few MiB are freed and allocated again all the time (a bucket every
  // step), and a freed mapping is returned to the kernel, so its successor
  // faults every page in again (a minor fault costs microseconds on a VM).
  // glibc's dynamic threshold gets there too, but only after the first
  // large free and only up to that size. The cost: freed memory below the
  // heap's top stays resident for reuse instead of being returned; at a
  // steady state the same sizes come back. GLIBC_TUNABLES's
  // glibc.malloc.mmap_threshold, when given, wins.
  if (const char* t = std::getenv("GLIBC_TUNABLES");
      t == nullptr || std::strstr(t, "mmap_threshold") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
  }
  if (argc < 2) return Usage();
  std::string cmd = argv[1];
  if (cmd == "version" || cmd == "--version") {
    std::printf("earshot %s\n", EARSHOT_VERSION);
    // The library loaded at run time, which is what decides SCRAM support
    // (docs/kafka.md), not the headers earshot was compiled with.
    std::printf("librdkafka %s\n", rd_kafka_version_str());
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  // `earshot run --help` too (before a `--`, after which -h may be a file).
  for (int i = 2; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  std::vector<std::string> known;
  if (cmd == "run") known = {"config", "rules"};
  else if (cmd == "replay") known = {"config", "rules", "format"};
  else if (cmd == "check") known = {"config", "no-shadow"};
  else if (cmd == "test") known = {"config", "verbose"};
  else if (cmd == "explain") known = {"config", "rules", "platform", "lang", "author", "country"};
  else if (cmd == "generate") known = {"rate", "count", "seed", "kafka", "topic"};
  else if (cmd == "diff") known = {"config", "rules", "candidate", "json", "since", "format"};
  else return Usage("unknown command \"" + cmd + "\"");
  Args args = ParseArgs(argc, argv, 2, known, {"verbose", "json", "no-shadow"});
  if (!args.error.empty()) return Usage(args.error);
  if (cmd == "diff") return CmdDiff(args);
  if (cmd == "run") return CmdRun(args);
  if (cmd == "replay") return CmdReplay(args);
  if (cmd == "check") return StdoutWritten("check", CmdCheck(args));
  if (cmd == "test") return StdoutWritten("test", CmdTest(args));
  if (cmd == "explain") return StdoutWritten("explain", CmdExplain(args));
  return CmdGenerate(args);
}
