#include "cmd/diff.h"

#include "pipeline/json_write.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include <prometheus/registry.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/clock.h"
#include "base/duration.h"
#include "connectors/file_source.h"
#include "connectors/kafka_history.h"
#include "pipeline/config.h"
#include "pipeline/processor.h"
#include "pipeline/shadow.h"
#include "rules/loader.h"
#include "rules/rule_set.h"

namespace earshot {
namespace {

// Samples printed per brand and change (the newest ones).
constexpr size_t kDiffSamples = 3;

std::shared_ptr<const rules::RuleSet> Compile(const std::vector<std::string>& paths,
                                              const Config& config, const char* what,
                                              std::ostream& err) {
  Diagnostics diags;
  rules::RuleSetDef def;
  std::shared_ptr<const rules::RuleSet> rs;
  rules::CompileOptions copts;
  copts.platforms = config.platforms;
  rs = rules::LoadAndCompile(paths, copts, &def, &diags);
  if (rs == nullptr || !diags.ok()) {
    if (diags.ok()) diags.Error(SourceLoc{}, "rules failed to compile");
    err << "earshot diff: " << what << " rules:\n" << diags.ToString();
    return nullptr;
  }
  return rs;
}

std::string Percent(const std::optional<double>& share) {
  if (!share) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", *share * 100);
  return buf;
}

// One line of a sample's text: newlines and tabs as spaces.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

const std::vector<ShadowSample>& SamplesOf(const ShadowSnapshot& s, const ShadowBrandRow& r,
                                           int change) {
  static const std::vector<ShadowSample> kNone;
  const size_t k = static_cast<size_t>(r.id) * kShadowChangeCount + change;
  return k < s.samples.size() ? s.samples[k] : kNone;
}

bool Changed(const ShadowBrandRow& r) { return r.added_total != 0 || r.removed_total != 0; }

void WriteJson(const ShadowSnapshot& s, const std::vector<ShadowBrandRow>& rows,
               std::ostream& out) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> j(buf);
  auto str = [&j](std::string_view v) { WriteJsonString(j, v); };
  j.StartObject();
  j.Key("brands");
  j.StartArray();
  for (const ShadowBrandRow& r : rows) {
    j.StartObject();
    j.Key("category");
    str(r.category);
    j.Key("brand");
    str(r.brand);
    j.Key("live");
    j.Uint64(r.live_total);
    j.Key("candidate");
    j.Uint64(r.candidate_total);
    j.Key("added");
    j.Uint64(r.added_total);
    j.Key("removed");
    j.Uint64(r.removed_total);
    j.EndObject();
  }
  j.EndArray();
  j.Key("samples");
  j.StartArray();
  for (const ShadowBrandRow& r : rows) {
    for (int change = 0; change < kShadowChangeCount; ++change) {
      const auto& samples = SamplesOf(s, r, change);
      for (size_t i = 0; i < samples.size() && i < kDiffSamples; ++i) {
        const ShadowSample& x = samples[i];
        j.StartObject();
        j.Key("category");
        str(r.category);
        j.Key("brand");
        str(r.brand);
        j.Key("change");
        str(ShadowChangeName(change));
        j.Key("id");
        str(x.id);
        j.Key("platform");
        str(s.platform_names[x.platform]);
        j.Key("time");
        str(FormatTimeMillis(x.time_ms));
        j.Key("text");
        str(x.text);
        j.Key("fired");
        str(x.fired);
        j.EndObject();
      }
    }
  }
  j.EndArray();
  j.EndObject();
  out << std::string_view(buf.GetString(), buf.GetSize()) << "\n";
}

void WriteText(const ShadowSnapshot& s, const std::vector<ShadowBrandRow>& rows,
               const std::string& window, const Processor& proc, std::ostream& out) {
  uint64_t events = 0;
  for (int o = 0; o < kOutcomeCount; ++o) events += proc.outcome_count(static_cast<Outcome>(o));
  size_t changed = 0;
  uint64_t added = 0, removed = 0;
  for (const ShadowBrandRow& r : rows) {
    if (!Changed(r)) continue;
    ++changed;
    added += r.added_total;
    removed += r.removed_total;
    out << r.category << "/" << r.brand;
    if (!r.in_live) out << " (candidate only)";
    if (!r.in_candidate) out << " (live only)";
    out << ": live " << r.live_total << ", candidate " << r.candidate_total << " (+"
        << r.added_total << " -" << r.removed_total << "); share of voice " << window << " "
        << Percent(r.live_share) << " -> " << Percent(r.candidate_share) << "\n";
    for (int change = 0; change < kShadowChangeCount; ++change) {
      const auto& samples = SamplesOf(s, r, change);
      for (size_t i = 0; i < samples.size() && i < kDiffSamples; ++i) {
        const ShadowSample& x = samples[i];
        out << "  " << (change == kAdded ? "+ " : "- ") << x.id << " "
            << s.platform_names[x.platform] << " " << FormatTimeMillis(x.time_ms) << " ["
            << OneLine(x.fired) << "] " << OneLine(x.text) << "\n";
      }
    }
  }
  const uint64_t invalid = proc.outcome_count(Outcome::kInvalid);
  const uint64_t duplicate = proc.outcome_count(Outcome::kDuplicate);
  if (changed == 0) {
    out << "no difference: " << rows.size() << " brands, " << events << " events (" << invalid
        << " invalid, " << duplicate << " duplicate)\n";
  } else {
    out << changed << " of " << rows.size() << " brands changed: " << added << " added, "
        << removed << " removed; " << events << " events (" << invalid << " invalid, "
        << duplicate << " duplicate); share of voice over the last " << window
        << " at the end of the input\n";
  }
}

}  // namespace

int RunDiff(const DiffOptions& o, std::ostream& out, std::ostream& err) {
  Config config;
  if (!o.config.empty()) {
    Diagnostics diags;
    if (!LoadConfig(o.config, &config, &diags)) {
      err << diags.ToString();
      return 2;
    }
  }
  if (!o.format.empty()) {
    auto f = ParseFormat(o.format);
    if (!f) {
      err << "earshot diff: unknown format " << o.format << "\n";
      return 2;
    }
    config.decoder.format = *f;
  }
  const std::vector<std::string> live_paths = o.rules.empty() ? config.rules.paths : o.rules;
  const std::vector<std::string> cand_paths =
      o.candidate.empty() ? config.shadow.paths : o.candidate;
  if (live_paths.empty() || cand_paths.empty()) {
    err << "earshot diff: --rules LIVE and --candidate CANDIDATE are required (or rules.paths "
           "and shadow.paths in the config)\n";
    return 2;
  }
  auto live = Compile(live_paths, config, "live", err);
  auto candidate = Compile(cand_paths, config, "candidate", err);
  if (live == nullptr || candidate == nullptr) return 2;

  // The input: files, or the Kafka source's recent history.
  std::unique_ptr<Source> source;
  if (!o.since.empty()) {
    auto since = ParseDurationMillis(o.since);
    if (!since.ok() || *since <= 0) {
      err << "earshot diff: --since: expected a duration such as 24h\n";
      return 2;
    }
    if (config.source.type != SourceConfig::Type::kKafka || !o.inputs.empty()) {
      err << "earshot diff: --since reads a Kafka source: give --config with source.type "
             "kafka, and no input files\n";
      return 2;
    }
    KafkaHistoryOptions ko;
    ko.config = config.source.kafka;
    ko.since_ms = WallClock::Get()->NowMillis() - *since;
    auto s = MakeKafkaHistorySource(ko);
    if (!s.ok()) {
      err << "earshot diff: " << s.message() << "\n";
      return 2;
    }
    source = std::move(s).value();
  } else {
    FileSourceConfig files = config.source.file;
    if (!o.inputs.empty()) files.paths = o.inputs;
    else if (config.source.type != SourceConfig::Type::kFile) files.paths.clear();
    files.follow = false;
    if (files.paths.empty()) {
      err << "earshot diff: no input: give FILE... (- for stdin), or --since with a Kafka "
             "source\n";
      return 2;
    }
    auto s = MakeFileSource(files, config.limits.max_event_bytes);
    if (!s.ok()) {
      err << "earshot diff: " << s.message() << "\n";
      return 2;
    }
    source = std::move(s).value();
  }

  // The replay pipeline (clock: event), with the candidate as its shadow.
  config.clock = ClockMode::kEvent;
  config.rules.paths = live_paths;
  config.shadow.paths = cand_paths;
  auto registry = std::make_shared<prometheus::Registry>();
  auto created = Processor::Create(config, WallClock::Get(), registry, nullptr);
  if (!created.ok()) {
    err << "earshot diff: " << created.message() << "\n";
    return 2;
  }
  std::unique_ptr<Processor> proc = std::move(created).value();
  proc->SetRules(live);
  proc->SetShadowRules(candidate);
  if (Status st = source->Start(proc.get()); !st.ok()) {
    err << "earshot diff: " << st.message() << "\n";
    return 2;
  }
  std::vector<Record> batch;
  for (;;) {
    batch.clear();
    const PollStatus ps = source->Poll(&batch, 4096, 100);
    proc->ProcessBatch(source->name(), batch);  // also applies the rule sets
    source->Commit(batch);
    if (ps == PollStatus::kEndOfInput) break;
    if (ps == PollStatus::kError || ps == PollStatus::kFatal) {
      source->Close();
      err << "earshot diff: reading the input failed ("
          << (source->failure().ok() ? "see the log above" : source->failure().message())
          << ")\n";
      return 2;
    }
  }
  source->Close();

  const ShadowSnapshot snap = proc->TakeShadowSnapshot(/*full=*/true);
  size_t longest = 0;
  for (size_t w = 0; w < config.windows.size(); ++w) {
    if (config.windows[w].size_ms > config.windows[longest].size_ms) longest = w;
  }
  const std::vector<ShadowBrandRow> rows = BuildShadowRows(snap, longest);
  if (o.json) WriteJson(snap, rows, out);
  else WriteText(snap, rows, config.windows[longest].name, *proc, out);
  out.flush();
  if (!out) {
    err << "earshot diff: cannot write the report\n";
    return 2;
  }
  return std::any_of(rows.begin(), rows.end(), Changed) ? 1 : 0;
}

}  // namespace earshot
