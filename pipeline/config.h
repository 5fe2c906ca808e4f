#pragma once
// The daemon's configuration file (docs/config.md). Every option is declared
// once here with its default; LoadConfig validates the whole file and reports
// every error as file:line:col. Plain values, thread-compatible.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostics.h"
#include "pipeline/decoder.h"

namespace earshot {

struct KafkaConfig {
  std::string brokers = "localhost:9092";
  std::vector<std::string> topics = {"social.posts"};
  std::string group_id = "earshot";
  // Passed through to librdkafka, with ${file:PATH} and ${env:NAME}
  // references already expanded (docs/kafka.md).
  std::map<std::string, std::string> properties;
  // Where the config file sets each property (errors point there).
  std::map<std::string, SourceLoc> property_locations;
  // Secret properties (sasl.password, ssl.key.password, ...) written in the
  // config file itself rather than as a reference; the source warns at start.
  std::vector<std::string> inline_secrets;
};

struct FileSourceConfig {
  std::vector<std::string> paths;  // "-" is stdin
  bool follow = false;
};

struct GeneratorConfig {
  double rate = 200;  // events per second; 0 = as fast as possible
  uint64_t seed = 1;
  int64_t count = 0;  // 0 = unbounded
};

struct SourceConfig {
  enum class Type { kKafka, kFile, kGenerator } type = Type::kGenerator;
  KafkaConfig kafka;
  FileSourceConfig file;
  GeneratorConfig generator;
};

struct WindowSpec {
  std::string name;
  int64_t size_ms = 0;
  int64_t step_ms = 0;
};

struct RulesConfig {
  std::vector<std::string> paths;
  enum class Reload { kWatch, kSignal, kOff } reload = Reload::kWatch;
};

struct HttpConfig {
  std::string listen = "0.0.0.0:9464";
  std::string web_config;
  int max_connections = 1000;        // more are refused (and counted)
  int64_t header_timeout_ms = 5000;  // TLS handshake + request head
  int64_t idle_timeout_ms = 30000;   // between keep-alive requests
};

struct LimitsConfig {
  size_t max_event_bytes = 1048576;
  int max_json_depth = 64;
  size_t max_dedupe_entries = 8000000;  // bounds dedupe memory (~16 B an entry)
  // Caps the result counter series (brand x platform, topic x brand x
  // platform); new series past it are dropped and counted in
  // earshot_series_overflow_total, so no rule set can explode the exposition.
  size_t max_series = 1000000;
};

struct DeadLetterConfig {
  std::string topic;
};

struct SentimentConfig {
  std::vector<std::string> lexicons;  // lexicon files or directories; empty = built-in
};

// Signals (docs/signals.md, pipeline/signals.h): mention spikes against an
// exponentially weighted baseline, and trending hashtags, per tumbling
// event-time pane.
struct SignalsConfig {
  bool enabled = true;
  int64_t pane_ms = 5 * 60 * 1000;             // tumbling event-time panes
  int64_t delay_ms = 60 * 1000;                // pane k closes when T >= (k+1)*pane + delay
  int64_t half_life_ms = 6 * 3600 * 1000LL;    // of the baseline's exponential weighting
  double threshold = 4;                        // z that raises a spike
  int64_t min_count = 20;                      // mentions a pane needs to raise one
  int64_t min_history = 12;                    // closed panes a series needs first
  int64_t trending_top = 10;                   // trending.top
  int64_t trending_capacity = 1000;            // trending.capacity: hashtags per category
  int64_t trending_min_count = 5;              // trending.min_count
};
// audience: unique authors and top authors per brand (docs/audience.md).
struct AudienceConfig {
  bool enabled = true;
  // Space-Saving summary size: authors a brand, per window step (exact
  // while a brand has no more distinct authors in a step).
  size_t top_authors_capacity = 1000;
  // HyperLogLog registers = 2^hll_precision; relative standard error
  // ~1.04 / 2^(hll_precision / 2): 1.6% at 12.
  int hll_precision = 12;
};
// end audience

enum class ClockMode { kWall, kEvent };

struct Config {
  std::string path;  // where it was loaded from ("" = embedded default)
  SourceConfig source;
  DecoderOptions decoder;  // format, mapping, limits
  RulesConfig rules;
  std::vector<WindowSpec> windows = {
      {"5m", 5 * 60 * 1000LL, 10 * 1000LL},
      {"1h", 3600 * 1000LL, 60 * 1000LL},
      {"24h", 24 * 3600 * 1000LL, 15 * 60 * 1000LL},
  };
  ClockMode clock = ClockMode::kWall;
  int64_t max_future_skew_ms = 5 * 60 * 1000;
  std::vector<std::string> platforms = {"twitter", "facebook", "instagram", "reddit",
                                        "youtube", "tiktok",   "linkedin",  "tumblr",
                                        "news",    "blogs",    "forums"};
  HttpConfig http;
  LimitsConfig limits;
  DeadLetterConfig dead_letter;
  SentimentConfig sentiment;
  // Shadow rules (docs/shadow.md): a candidate rule set
  // classified beside the live one and counted apart; loaded, validated and
  // reloaded like `rules`. No paths: no candidate.
  RulesConfig shadow;
  SignalsConfig signals;
  AudienceConfig audience;  // audience

  int64_t longest_window_ms() const;
};

// ---- The declared key schema ----------------------------------------------
// Every key of the config file, declared once (kConfigKeys in config.cc):
// the parser's unknown-key checks take their key lists from it, and
// docs/config.md must list each one (tests/cli/test_docs.py reads them
// through tests/tools/earshot_config_keys.cc). `key` is dotted
// ("source.kafka.brokers"); "windows[].name" is a key of each item of the
// `windows` list. Free-form maps (`mapping`, `source.kafka.properties`) are
// one key each: their entries are not config keys.
struct ConfigKeyInfo {
  std::string key;
  bool section = false;  // a mapping of further keys (source, source.kafka, ...)
  // The key's value in `values`, written as YAML: 5m, [twitter, facebook],
  // "" for an empty string. Empty for a section and for a key without a
  // default (rules.paths, windows[].name, ...).
  std::string value;
};
// In declaration order, which is the order of the parser's key lists.
// ConfigKeys() gives the defaults; ConfigKeys(parsed) what a file set.
std::vector<ConfigKeyInfo> ConfigKeys(const Config& values = Config());
// The keys directly inside `section` ("" for the top level), in order.
std::vector<std::string> ConfigKeysIn(std::string_view section);
// ---- end of the key schema --------------------------------------------------

// Loads and validates a config file. Relative paths inside it (rules, files)
// are resolved against the config file's directory.
bool LoadConfig(const std::string& path, Config* out, Diagnostics* diags);
bool ParseConfig(const std::string& yaml_text, const std::string& file, Config* out,
                 Diagnostics* diags);

}  // namespace earshot
