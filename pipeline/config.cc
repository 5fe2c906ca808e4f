#include "pipeline/config.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string_view>

#include "base/duration.h"
#include "base/platform.h"
#include "base/yaml_util.h"

namespace earshot {
namespace {

namespace fs = std::filesystem;

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p == "-" || base_dir.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

// Librdkafka properties that hold a secret: given inline, they draw a warning
// at start-up (KafkaConfig::inline_secrets).
bool IsSecretProperty(const std::string& name) {
  auto ends_with = [&](std::string_view tail) {
    return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(),
                                                      tail) == 0;
  };
  return ends_with(".password") || ends_with(".secret") || name == "ssl.key.pem";
}

constexpr size_t kMaxReferencedFileBytes = 1 << 20;  // a secret, a PEM key: small

// Expands the references in a Kafka property value (docs/kafka.md):
// ${file:PATH} (the file's content, one trailing newline dropped; a relative
// PATH is taken from the config file's directory) and ${env:NAME} (the
// environment variable); `$${` is a literal `${`. Any other `${...}`, a file
// that cannot be read, an unset or empty variable is an error at `loc`.
// Sets *has_reference when the value used one.

std::optional<std::string> ExpandReferences(const std::string& value, const std::string& dir,
                                            const std::string& key, const SourceLoc& loc,
                                            Diagnostics* d, bool* has_reference) {
  std::string out;
  bool ok = true;
  size_t i = 0;
  while (i < value.size()) {
    size_t at = value.find('$', i);
    if (at == std::string::npos) {
      out.append(value, i);
      break;
    }
    out.append(value, i, at - i);
    if (value.compare(at, 3, "$${") == 0) {
      out += "${";
      i = at + 3;
      continue;
    }
    if (value.compare(at, 2, "${") != 0) {
      out += '$';
      i = at + 1;
      continue;
    }
    size_t close = value.find('}', at + 2);
    if (close == std::string::npos) {
      d->Error(loc, key + ": unterminated \"${\"",
               "write ${file:/path} or ${env:NAME}, or $${ for a literal ${");
      return std::nullopt;
    }
    const std::string ref = value.substr(at + 2, close - at - 2);
    const std::string shown = "${" + ref + "}";
    i = close + 1;
    *has_reference = true;
    if (ref.rfind("env:", 0) == 0) {
      const std::string name = ref.substr(4);
      const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
      if (v == nullptr || *v == '\0') {
        d->Error(loc, key + ": " + shown + ": environment variable " +
                          (name.empty() ? std::string("name is empty")
                                        : name + (v == nullptr ? " is not set" : " is empty")));
        ok = false;
        continue;
      }
      out += v;
    } else if (ref.rfind("file:", 0) == 0) {
      const std::string path = Resolve(dir, ref.substr(5));
      std::error_code ec;
      fs::file_status st = fs::status(path, ec);
      std::string why;
      if (ref.size() == 5) {
        why = "the path is empty";
      } else if (ec) {
        why = "cannot read " + path + ": " + ec.message();
      } else if (!fs::is_regular_file(st)) {
        why = path + " is not a regular file";
      } else if (fs::file_size(path, ec) > kMaxReferencedFileBytes) {
        why = path + " is larger than 1 MiB";
      }
      std::string content;
      if (why.empty()) {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
          why = "cannot read " + path + ": " + std::strerror(errno);
        } else {
          content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
          if (!content.empty() && content.back() == '\n') content.pop_back();
          if (!content.empty() && content.back() == '\r') content.pop_back();
          if (content.empty()) why = path + " is empty";
        }
      }
      if (!why.empty()) {
        d->Error(loc, key + ": " + shown + ": " + why);
        ok = false;
        continue;
      }
      out += content;
    } else {
      d->Error(loc, key + ": unknown reference " + shown,
               "write ${file:/path} or ${env:NAME}, or $${ for a literal ${");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

void ParseKafka(const YAML::Node& n, const std::string& file, const std::string& dir,
                KafkaConfig* k, Diagnostics* d) {
  if (!CheckKeys(n, ConfigKeysIn("source.kafka"), file, "source.kafka", d))
    return;
  if (n["brokers"]) {
    if (auto v = AsString(n["brokers"], file, "source.kafka.brokers", d)) k->brokers = *v;
  }
  if (n["topics"]) {
    if (auto v = AsStringList(n["topics"], file, "source.kafka.topics", d, /*allow_scalar=*/true)) {
      if (v->empty()) d->Error(LocOf(n["topics"], file), "topics: at least one topic is required");
      k->topics = *v;
    }
  }
  if (n["group_id"]) {
    if (auto v = AsString(n["group_id"], file, "source.kafka.group_id", d)) k->group_id = *v;
  }
  if (n["properties"]) {
    const YAML::Node& p = n["properties"];
    if (p.IsNull()) return;
    if (!p.IsMap()) {
      d->Error(LocOf(p, file), "properties: expected a mapping of librdkafka properties");
      return;
    }
    CheckDuplicateKeys(p, file, "properties", d);
    for (const auto& kv : p) {
      auto key = AsString(kv.first, file, "properties key", d);
      auto val = AsString(kv.second, file, "properties value", d);
      if (!key || !val) continue;
      bool has_reference = false;
      auto expanded =
          ExpandReferences(*val, dir, *key, LocOf(kv.second, file), d, &has_reference);
      if (!expanded) continue;
      k->properties[*key] = *expanded;
      k->property_locations[*key] = LocOf(kv.second, file);
      if (!has_reference && IsSecretProperty(*key)) k->inline_secrets.push_back(*key);
    }
  }
}

void ParseSource(const YAML::Node& n, const std::string& file, const std::string& dir,
                 SourceConfig* s, Diagnostics* d) {
  if (!CheckKeys(n, ConfigKeysIn("source"), file, "source", d)) return;
  if (n["type"]) {
    if (auto t = AsString(n["type"], file, "source.type", d)) {
      if (*t == "kafka") s->type = SourceConfig::Type::kKafka;
      else if (*t == "file") s->type = SourceConfig::Type::kFile;
      else if (*t == "generator") s->type = SourceConfig::Type::kGenerator;
      else
        d->Error(LocOf(n["type"], file), "source.type: unknown source \"" + *t + "\"",
                 "one of: kafka, file, generator");
    }
  }
  if (n["kafka"]) ParseKafka(n["kafka"], file, dir, &s->kafka, d);
  if (const YAML::Node& f = n["file"]) {
    if (CheckKeys(f, ConfigKeysIn("source.file"), file, "source.file", d)) {
      if (f["paths"]) {
        if (auto v = AsStringList(f["paths"], file, "source.file.paths", d, true)) {
          s->file.paths.clear();
          for (const auto& p : *v) s->file.paths.push_back(Resolve(dir, p));
        }
      }
      if (f["follow"]) {
        if (auto v = AsBool(f["follow"], file, "source.file.follow", d)) s->file.follow = *v;
      }
    }
  }
  if (const YAML::Node& g = n["generator"]) {
    if (CheckKeys(g, ConfigKeysIn("source.generator"), file, "source.generator", d)) {
      if (g["rate"]) {
        try {
          double r = g["rate"].as<double>();
          if (r < 0) d->Error(LocOf(g["rate"], file), "rate: must be >= 0 (0 = unlimited)");
          s->generator.rate = r;
        } catch (const YAML::Exception&) {
          d->Error(LocOf(g["rate"], file), "rate: expected a number of events per second");
        }
      }
      if (g["seed"]) {
        if (auto v = AsInt(g["seed"], file, "source.generator.seed", d)) {
          s->generator.seed = static_cast<uint64_t>(*v);
        }
      }
      if (g["count"]) {
        if (auto v = AsInt(g["count"], file, "source.generator.count", d)) s->generator.count = *v;
      }
    }
  }
  if (s->type == SourceConfig::Type::kFile && s->file.paths.empty()) {
    d->Error(LocOf(n, file), "source.file.paths: at least one path is required for type file");
  }
}

// `rules:` and `shadow:`: {paths, reload}. `what` names the section in errors.
void ParseRulePaths(const YAML::Node& r, const std::string& file, const std::string& dir,
                    const std::string& what, RulesConfig* out, Diagnostics* d) {
  if (!CheckKeys(r, ConfigKeysIn(what), file, what, d)) return;
  if (r["paths"]) {
    if (auto v = AsStringList(r["paths"], file, what + ".paths", d, true)) {
      out->paths.clear();
      for (const auto& p : *v) out->paths.push_back(Resolve(dir, p));
    }
  }
  if (r["reload"]) {
    if (auto v = AsString(r["reload"], file, what + ".reload", d)) {
      if (*v == "watch") out->reload = RulesConfig::Reload::kWatch;
      else if (*v == "signal") out->reload = RulesConfig::Reload::kSignal;
      else if (*v == "off") out->reload = RulesConfig::Reload::kOff;
      else
        d->Error(LocOf(r["reload"], file), what + ".reload: unknown mode \"" + *v + "\"",
                 "one of: watch, signal, off");
    }
  }
}

void ParseWindows(const YAML::Node& n, const std::string& file, std::vector<WindowSpec>* out,
                  Diagnostics* d) {
  if (!n.IsSequence() || n.size() == 0) {
    d->Error(LocOf(n, file), "windows: expected a non-empty list of {name, size, step}");
    return;
  }
  out->clear();
  std::set<std::string> names;
  for (const auto& w : n) {
    if (!CheckKeys(w, ConfigKeysIn("windows[]"), file, "window", d)) continue;
    WindowSpec spec;
    if (!w["name"] || !w["size"] || !w["step"]) {
      d->Error(LocOf(w, file), "window: name, size and step are all required");
      continue;
    }
    auto name = AsString(w["name"], file, "name", d);
    auto size = AsDurationMillis(w["size"], file, "size", d);
    auto step = AsDurationMillis(w["step"], file, "step", d);
    if (!name || !size || !step) continue;
    if (name->empty()) d->Error(LocOf(w["name"], file), "window name must not be empty");
    if (!names.insert(*name).second)
      d->Error(LocOf(w["name"], file), "duplicate window name \"" + *name + "\"");
    if (*step <= 0 || *size <= 0) {
      d->Error(LocOf(w, file), "window \"" + *name + "\": size and step must be positive");
      continue;
    }
    if (*size % *step != 0) {
      d->Error(LocOf(w["step"], file),
               "window \"" + *name + "\": size must be a multiple of step",
               "a hopping window of size S and step P holds S/P buckets");
      continue;
    }
    if (*size / *step > 100000) {
      d->Error(LocOf(w["step"], file), "window \"" + *name + "\": more than 100000 steps");
      continue;
    }
    spec.name = *name;
    spec.size_ms = *size;
    spec.step_ms = *step;
    out->push_back(spec);
  }
}

// signals: (docs/signals.md). Absent: the defaults; {enabled: false}: off.
void ParseSignals(const YAML::Node& n, const std::string& file, SignalsConfig* s, Diagnostics* d) {
  if (n.IsNull()) return;
  if (!CheckKeys(n, ConfigKeysIn("signals"), file, "signals", d)) {
    return;
  }
  if (n["enabled"]) {
    if (auto v = AsBool(n["enabled"], file, "signals.enabled", d)) s->enabled = *v;
  }
  auto duration = [&](const YAML::Node& node, const char* key, int64_t* out) {
    if (!node) return;
    const std::string name = std::string("signals.") + key;
    if (auto v = AsDurationMillis(node, file, name, d)) {
      if (*v <= 0) d->Error(LocOf(node, file), name + ": must be a positive duration");
      else *out = *v;
    }
  };
  duration(n["pane"], "pane", &s->pane_ms);
  duration(n["delay"], "delay", &s->delay_ms);
  duration(n["half_life"], "half_life", &s->half_life_ms);
  if (const YAML::Node& t = n["threshold"]) {
    std::optional<double> v;
    if (t.IsScalar()) {
      try {
        v = t.as<double>();
      } catch (const YAML::Exception&) {
      }
    }
    if (!v) d->Error(LocOf(t, file), "signals.threshold: expected a number");
    else if (!std::isfinite(*v) || *v <= 0)
      d->Error(LocOf(t, file), "signals.threshold: must be a number above 0",
               "the z-score that raises a spike, e.g. 4");
    else s->threshold = *v;
  }
  // An integer in [lo, hi].
  auto integer = [&](const YAML::Node& node, const std::string& name, int64_t lo, int64_t hi,
                     int64_t* out) {
    if (!node) return;
    if (auto v = AsInt(node, file, name, d)) {
      if (*v < lo || *v > hi)
        d->Error(LocOf(node, file), name + ": must be between " + std::to_string(lo) + " and " +
                                        std::to_string(hi));
      else *out = *v;
    }
  };
  integer(n["min_count"], "signals.min_count", 0, INT32_MAX, &s->min_count);
  integer(n["min_history"], "signals.min_history", 0, INT32_MAX, &s->min_history);
  if (const YAML::Node& t = n["trending"]) {
    if (CheckKeys(t, ConfigKeysIn("signals.trending"), file, "signals.trending", d)) {
      integer(t["top"], "signals.trending.top", 1, 1000000, &s->trending_top);
      integer(t["capacity"], "signals.trending.capacity", 1, 1000000, &s->trending_capacity);
      integer(t["min_count"], "signals.trending.min_count", 0, INT32_MAX, &s->trending_min_count);
      if (s->trending_capacity < s->trending_top) {
        d->Error(LocOf(t["capacity"] ? t["capacity"] : t, file),
                 "signals.trending.capacity: must be at least trending.top (" +
                     std::to_string(s->trending_top) + ")",
                 "the trending list is drawn from the capacity hashtags counted per pane");
      }
    }
  }
}

}  // namespace

int64_t Config::longest_window_ms() const {
  int64_t m = 0;
  for (const auto& w : windows) m = std::max(m, w.size_ms);
  return m;
}

bool ParseConfig(const std::string& yaml_text, const std::string& file, Config* out,
                 Diagnostics* d) {
  size_t before = d->errors().size();
  auto doc = LoadYamlString(yaml_text, file, d);
  if (!doc) return false;
  const YAML::Node& root = *doc;
  std::string dir = file.empty() ? "" : fs::path(file).parent_path().string();
  out->path = file;
  if (root.IsNull()) return true;  // an empty file: all defaults
  if (!CheckKeys(root, ConfigKeysIn(""), file, "config", d)) {
    return false;
  }
  if (root["source"]) ParseSource(root["source"], file, dir, &out->source, d);
  if (root["format"]) {
    if (auto f = AsString(root["format"], file, "format", d)) {
      if (auto fmt = ParseFormat(*f)) out->decoder.format = *fmt;
      else
        d->Error(LocOf(root["format"], file), "format: unknown format \"" + *f + "\"",
                 "one of: canonical, twitter_v1, reddit, mapping");
    }
  }
  if (const YAML::Node& m = root["mapping"]) {
    if (m.IsMap()) {
      CheckDuplicateKeys(m, file, "mapping", d);
      for (const auto& kv : m) {
        auto key = AsString(kv.first, file, "mapping key", d);
        auto val = AsString(kv.second, file, "mapping pointer", d);
        if (key && val) {
          // MakeDecoder's checks, here where they have a line and column.
          if (Status st = CheckMappingField(*key); !st.ok()) {
            d->Error(LocOf(kv.first, file), "mapping: " + st.message());
          } else if (!val->empty() && (*val)[0] != '/') {
            d->Error(LocOf(kv.second, file),
                     "mapping." + *key + ": \"" + *val + "\" is not a JSON Pointer",
                     "JSON Pointers start with '/', e.g. /data/text");
          } else if (Status pst = CheckMappingPointer(*val); !pst.ok()) {
            d->Error(LocOf(kv.second, file),
                     "mapping: field \"" + *key + "\": " + pst.message());
          }
          out->decoder.mapping[*key] = *val;
        }
      }
      // (An empty mapping is the "needs a `mapping:` section" error below.)
      if (out->decoder.format == Format::kMapping && !out->decoder.mapping.empty()) {
        for (const char* f : kRequiredMappingFields) {
          if (Status st = CheckMappingHas(out->decoder.mapping, f); !st.ok()) {
            d->Error(LocOf(m, file), "mapping: " + st.message());
          }
        }
      }
    } else if (!m.IsNull()) {
      d->Error(LocOf(m, file), "mapping: expected a mapping of field -> JSON Pointer");
    }
    // MakeDecoder refuses this too, without a position. Only where the file
    // names another format: `--format mapping` may still complete a file
    // that leaves `format` out.
    if (root["format"] && out->decoder.format != Format::kMapping &&
        !out->decoder.mapping.empty()) {
      d->Error(KeyLocOf(root, "mapping", file), "mapping: is only used with format: mapping",
               "set format: mapping, or remove this section");
    }
  }
  if (out->decoder.format == Format::kMapping && out->decoder.mapping.empty()) {
    d->Error(LocOf(root["format"], file), "format: mapping needs a `mapping:` section");
  }
  if (const YAML::Node& r = root["rules"]) ParseRulePaths(r, file, dir, "rules", &out->rules, d);
  // Shadow rules (docs/shadow.md): the same shape as `rules`; paths required.
  if (const YAML::Node& sh = root["shadow"]) {
    ParseRulePaths(sh, file, dir, "shadow", &out->shadow, d);
    if (sh.IsMap() && out->shadow.paths.empty())
      d->Error(LocOf(sh, file), "shadow.paths: at least one candidate rule path is required",
               "e.g. shadow: {paths: [rules.candidate/], reload: watch}");
  }
  if (root["windows"]) ParseWindows(root["windows"], file, &out->windows, d);
  if (root["clock"]) {
    if (auto v = AsString(root["clock"], file, "clock", d)) {
      if (*v == "wall") out->clock = ClockMode::kWall;
      else if (*v == "event") out->clock = ClockMode::kEvent;
      else
        d->Error(LocOf(root["clock"], file), "clock: unknown clock \"" + *v + "\"",
                 "one of: wall, event");
    }
  }
  if (root["max_future_skew"]) {
    if (auto v = AsDurationMillis(root["max_future_skew"], file, "max_future_skew", d))
      out->max_future_skew_ms = *v;
  }
  if (root["platforms"]) {
    if (auto v = AsStringList(root["platforms"], file, "platforms", d)) {
      std::set<std::string> seen;
      out->platforms.clear();
      for (const auto& name : *v) {
        const std::string p = CanonicalPlatformName(name);
        if (p.empty() || p == "all" || p == "other") {
          d->Error(LocOf(root["platforms"], file),
                   "platforms: \"" + p + "\" is reserved (\"other\" is implicit, \"all\" is the "
                   "cross-platform ratio)");
          continue;
        }
        if (seen.insert(p).second) out->platforms.push_back(p);
      }
      if (out->platforms.size() > 200)
        d->Error(LocOf(root["platforms"], file), "platforms: at most 200 platforms");
      if (v->empty()) {
        // Every event would count as `other`, and a rule's platform filter
        // could not be checked against the list.
        d->Error(KeyLocOf(root, "platforms", file), "platforms: the list is empty",
                 "leave platforms out for the default list");
      }
    }
  }
  if (const YAML::Node& h = root["http"]) {
    if (CheckKeys(h, ConfigKeysIn("http"), file, "http", d)) {
      if (h["listen"]) {
        if (auto v = AsString(h["listen"], file, "http.listen", d)) {
          const size_t colon = v->rfind(':');
          if (colon == std::string::npos) {
            d->Error(LocOf(h["listen"], file), "http.listen: expected host:port, e.g. :9464");
          } else {
            // The port is checked here, as run checks it before binding.
            const std::string port = v->substr(colon + 1);
            const bool digits = !port.empty() && port.size() <= 5 &&
                                port.find_first_not_of("0123456789") == std::string::npos;
            if (!digits || std::stol(port) > 65535) {
              d->Error(LocOf(h["listen"], file),
                       "http.listen: bad port \"" + port + "\" (0 to 65535)");
            }
          }
          out->http.listen = *v;
        }
      }
      if (h["web_config"]) {
        if (auto v = AsString(h["web_config"], file, "http.web_config", d))
          out->http.web_config = v->empty() ? *v : Resolve(dir, *v);
      }
      if (h["max_connections"]) {
        if (auto v = AsInt(h["max_connections"], file, "http.max_connections", d)) {
          if (*v < 1 || *v > 1000000)
            d->Error(LocOf(h["max_connections"], file),
                     "http.max_connections: must be between 1 and 1000000");
          else
            out->http.max_connections = static_cast<int>(*v);
        }
      }
      for (auto [key, ms] : {std::pair{"header_timeout", &out->http.header_timeout_ms},
                             std::pair{"idle_timeout", &out->http.idle_timeout_ms}}) {
        if (!h[key]) continue;
        if (auto v = AsDurationMillis(h[key], file, key, d)) {
          if (*v <= 0)
            d->Error(LocOf(h[key], file), std::string("http.") + key + ": must be positive");
          else
            *ms = *v;
        }
      }
    }
  }
  if (const YAML::Node& l = root["limits"]) {
    if (CheckKeys(l, ConfigKeysIn("limits"), file, "limits", d)) {
      if (l["max_event_bytes"]) {
        if (auto v = AsInt(l["max_event_bytes"], file, "limits.max_event_bytes", d)) {
          if (*v < 64 || *v > (64 << 20))
            d->Error(LocOf(l["max_event_bytes"], file),
                     "limits.max_event_bytes: must be between 64 and 67108864");
          else
            out->limits.max_event_bytes = static_cast<size_t>(*v);
        }
      }
      if (l["max_json_depth"]) {
        if (auto v = AsInt(l["max_json_depth"], file, "limits.max_json_depth", d)) {
          if (*v < 2 || *v > 10000)
            d->Error(LocOf(l["max_json_depth"], file),
                     "limits.max_json_depth: must be between 2 and 10000");
          else
            out->limits.max_json_depth = static_cast<int>(*v);
        }
      }
      if (l["max_dedupe_entries"]) {
        if (auto v = AsInt(l["max_dedupe_entries"], file, "limits.max_dedupe_entries", d)) {
          if (*v < 0)
            d->Error(LocOf(l["max_dedupe_entries"], file),
                     "limits.max_dedupe_entries: must be >= 0");
          else
            out->limits.max_dedupe_entries = static_cast<size_t>(*v);
        }
      }
      if (l["max_series"]) {
        if (auto v = AsInt(l["max_series"], file, "limits.max_series", d)) {
          if (*v < 1)
            d->Error(LocOf(l["max_series"], file), "limits.max_series: must be >= 1");
          else
            out->limits.max_series = static_cast<size_t>(*v);
        }
      }
    }
  }
  out->decoder.max_event_bytes = out->limits.max_event_bytes;
  out->decoder.max_json_depth = out->limits.max_json_depth;
  if (const YAML::Node& dl = root["dead_letter"]) {
    if (CheckKeys(dl, ConfigKeysIn("dead_letter"), file, "dead_letter", d) && dl["topic"]) {
      if (auto v = AsString(dl["topic"], file, "dead_letter.topic", d)) out->dead_letter.topic = *v;
    }
  }
  if (const YAML::Node& s = root["sentiment"]) {
    if (CheckKeys(s, ConfigKeysIn("sentiment"), file, "sentiment", d) && s["lexicons"]) {
      if (auto v = AsStringList(s["lexicons"], file, "sentiment.lexicons", d, true)) {
        for (const auto& p : *v) out->sentiment.lexicons.push_back(Resolve(dir, p));
      }
    }
  }
  if (root["signals"]) ParseSignals(root["signals"], file, &out->signals, d);
  // audience
  if (const YAML::Node& a = root["audience"]) {
    if (CheckKeys(a, ConfigKeysIn("audience"), file, "audience", d)) {
      if (a["enabled"]) {
        if (auto v = AsBool(a["enabled"], file, "audience.enabled", d)) out->audience.enabled = *v;
      }
      if (a["top_authors_capacity"]) {
        if (auto v = AsInt(a["top_authors_capacity"], file, "audience.top_authors_capacity", d)) {
          if (*v < 10 || *v > 1000000)
            d->Error(LocOf(a["top_authors_capacity"], file),
                     "audience.top_authors_capacity: must be between 10 and 1000000",
                     "the API lists 10 authors: a summary needs at least that many");
          else
            out->audience.top_authors_capacity = static_cast<size_t>(*v);
        }
      }
      if (a["hll_precision"]) {
        if (auto v = AsInt(a["hll_precision"], file, "audience.hll_precision", d)) {
          if (*v < 12 || *v > 18)
            d->Error(LocOf(a["hll_precision"], file),
                     "audience.hll_precision: must be between 12 and 18",
                     "2^p registers: 12 gives 1.6% standard error, each step up divides it by 1.41");
          else
            out->audience.hll_precision = static_cast<int>(*v);
        }
      }
    }
  }
  // end audience
  return d->errors().size() == before;
}

bool LoadConfig(const std::string& path, Config* out, Diagnostics* diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags->Error(SourceLoc{path, 0, 0}, "cannot open config file");
    return false;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseConfig(text, path, out, diags);
}

// ---- The declared key schema (config.h) -------------------------------------
// Every key once, in the order of the file's sections; the parser's
// CheckKeys lists come from here (ConfigKeysIn), so a key is accepted only
// once it is declared, and docs/config.md is checked against this table
// (tests/cli/test_docs.py). A key's default is read off a default Config,
// so the documented default is the code's.
namespace {

std::string YamlString(const std::string& s) { return s.empty() ? "\"\"" : s; }
std::string YamlList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out + "]";
}
std::string YamlNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}
// Whole hours up to two days as hours (24h, as windows are usually named).
std::string YamlDuration(int64_t ms) {
  constexpr int64_t kHour = 3600 * 1000LL;
  if (ms > 0 && ms % kHour == 0 && ms <= 48 * kHour) return std::to_string(ms / kHour) + "h";
  return FormatDurationMillis(ms);
}
std::string YamlBool(bool b) { return b ? "true" : "false"; }
std::string YamlReload(RulesConfig::Reload r) {
  switch (r) {
    case RulesConfig::Reload::kWatch: return "watch";
    case RulesConfig::Reload::kSignal: return "signal";
    case RulesConfig::Reload::kOff: return "off";
  }
  return "";
}

struct KeyDecl {
  const char* key;
  bool section;
  std::string (*value)(const Config&);  // nullptr: a section, or no default
};

using C = const Config&;
const KeyDecl kConfigKeys[] = {
    {"source", true, nullptr},
    {"source.type", false,
     [](C c) -> std::string {
       switch (c.source.type) {
         case SourceConfig::Type::kKafka: return "kafka";
         case SourceConfig::Type::kFile: return "file";
         case SourceConfig::Type::kGenerator: return "generator";
       }
       return "";
     }},
    {"source.kafka", true, nullptr},
    {"source.kafka.brokers", false, [](C c) { return YamlString(c.source.kafka.brokers); }},
    {"source.kafka.topics", false, [](C c) { return YamlList(c.source.kafka.topics); }},
    {"source.kafka.group_id", false, [](C c) { return YamlString(c.source.kafka.group_id); }},
    {"source.kafka.properties", false,
     [](C c) -> std::string { return c.source.kafka.properties.empty() ? "{}" : ""; }},
    {"source.file", true, nullptr},
    {"source.file.paths", false, [](C c) { return YamlList(c.source.file.paths); }},
    {"source.file.follow", false, [](C c) { return YamlBool(c.source.file.follow); }},
    {"source.generator", true, nullptr},
    {"source.generator.rate", false, [](C c) { return YamlNumber(c.source.generator.rate); }},
    {"source.generator.seed", false,
     [](C c) { return std::to_string(c.source.generator.seed); }},
    {"source.generator.count", false,
     [](C c) { return std::to_string(c.source.generator.count); }},
    {"format", false,
     [](C c) -> std::string {
       switch (c.decoder.format) {
         case Format::kCanonical: return "canonical";
         case Format::kTwitterV1: return "twitter_v1";
         case Format::kReddit: return "reddit";
         case Format::kMapping: return "mapping";
       }
       return "";
     }},
    {"mapping", false, [](C c) -> std::string { return c.decoder.mapping.empty() ? "{}" : ""; }},
    {"rules", true, nullptr},
    {"rules.paths", false, nullptr},
    {"rules.reload", false, [](C c) { return YamlReload(c.rules.reload); }},
    {"windows", false,
     [](C c) {
       std::string out = "[";
       for (size_t i = 0; i < c.windows.size(); ++i) {
         const WindowSpec& w = c.windows[i];
         out += (i ? ", " : "") + std::string("{name: ") + w.name +
                ", size: " + YamlDuration(w.size_ms) +
                ", step: " + YamlDuration(w.step_ms) + "}";
       }
       return out + "]";
     }},
    {"windows[].name", false, nullptr},
    {"windows[].size", false, nullptr},
    {"windows[].step", false, nullptr},
    {"clock", false,
     [](C c) -> std::string { return c.clock == ClockMode::kWall ? "wall" : "event"; }},
    {"max_future_skew", false, [](C c) { return YamlDuration(c.max_future_skew_ms); }},
    {"platforms", false, [](C c) { return YamlList(c.platforms); }},
    {"http", true, nullptr},
    {"http.listen", false, [](C c) { return YamlString(c.http.listen); }},
    {"http.web_config", false, [](C c) { return YamlString(c.http.web_config); }},
    {"http.max_connections", false, [](C c) { return std::to_string(c.http.max_connections); }},
    {"http.header_timeout", false, [](C c) { return YamlDuration(c.http.header_timeout_ms); }},
    {"http.idle_timeout", false, [](C c) { return YamlDuration(c.http.idle_timeout_ms); }},
    {"limits", true, nullptr},
    {"limits.max_event_bytes", false,
     [](C c) { return std::to_string(c.limits.max_event_bytes); }},
    {"limits.max_json_depth", false, [](C c) { return std::to_string(c.limits.max_json_depth); }},
    {"limits.max_dedupe_entries", false,
     [](C c) { return std::to_string(c.limits.max_dedupe_entries); }},
    {"limits.max_series", false, [](C c) { return std::to_string(c.limits.max_series); }},
    {"dead_letter", true, nullptr},
    {"dead_letter.topic", false, [](C c) { return YamlString(c.dead_letter.topic); }},
    {"sentiment", true, nullptr},
    {"sentiment.lexicons", false, [](C c) { return YamlList(c.sentiment.lexicons); }},
    {"shadow", true, nullptr},
    {"shadow.paths", false, nullptr},
    {"shadow.reload", false, [](C c) { return YamlReload(c.shadow.reload); }},
    {"signals", true, nullptr},
    {"signals.enabled", false, [](C c) { return YamlBool(c.signals.enabled); }},
    {"signals.pane", false, [](C c) { return YamlDuration(c.signals.pane_ms); }},
    {"signals.delay", false, [](C c) { return YamlDuration(c.signals.delay_ms); }},
    {"signals.half_life", false,
     [](C c) { return YamlDuration(c.signals.half_life_ms); }},
    {"signals.threshold", false, [](C c) { return YamlNumber(c.signals.threshold); }},
    {"signals.min_count", false, [](C c) { return std::to_string(c.signals.min_count); }},
    {"signals.min_history", false, [](C c) { return std::to_string(c.signals.min_history); }},
    {"signals.trending", true, nullptr},
    {"signals.trending.top", false, [](C c) { return std::to_string(c.signals.trending_top); }},
    {"signals.trending.capacity", false,
     [](C c) { return std::to_string(c.signals.trending_capacity); }},
    {"signals.trending.min_count", false,
     [](C c) { return std::to_string(c.signals.trending_min_count); }},
    {"audience", true, nullptr},
    {"audience.enabled", false, [](C c) { return YamlBool(c.audience.enabled); }},
    {"audience.top_authors_capacity", false,
     [](C c) { return std::to_string(c.audience.top_authors_capacity); }},
    {"audience.hll_precision", false, [](C c) { return std::to_string(c.audience.hll_precision); }},
};

}  // namespace

std::vector<ConfigKeyInfo> ConfigKeys(const Config& values) {
  std::vector<ConfigKeyInfo> out;
  for (const KeyDecl& k : kConfigKeys) {
    out.push_back({k.key, k.section, k.value ? k.value(values) : std::string()});
  }
  return out;
}

std::vector<std::string> ConfigKeysIn(std::string_view section) {
  std::vector<std::string> out;
  const size_t skip = section.empty() ? 0 : section.size() + 1;
  for (const KeyDecl& k : kConfigKeys) {
    const std::string_view key = k.key;
    if (!section.empty() &&
        (key.size() <= skip || key.substr(0, section.size()) != section ||
         key[section.size()] != '.')) {
      continue;
    }
    const std::string_view rest = key.substr(skip);
    if (rest.find('.') == std::string_view::npos) out.emplace_back(rest);
  }
  return out;
}
// ---- end of the key schema ---------------------------------------------------

}  // namespace earshot
