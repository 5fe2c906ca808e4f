// End-to-end throughput tool: for each rule-set size, generates the
// deterministic workload (bench/workload.h), then measures on this thread
//   floor     copy + RapidJSON in-situ DOM parse (the parse-only limit)
//   decode    the canonical decoder alone
//   match     decode + normalize + match (RuleSet::Match)
//   sentiment decode + match + lexicon sentiment
//   pipeline  Processor::ProcessBatch in 4096-record batches: decode, time
//             checks, dedupe, normalize, match, sentiment, windows, counters
// and prints events/s, ns/event per stage (as differences), the rule
// compile time, the scrape time and series count, the hot-reload pause, and
// peak RSS. Run it pinned: taskset -c 0 throughput ...
//
// Usage: throughput [--brands 10,100,1000,10000] [--events N] [--seed S]
//                   [--cache DIR] [--repeat R] [--memory-hours H --memory-rate R]
//                   [--memory-full] [--memory-shadow] [--dedupe-cap N] [--write-only]
//                   [--pipeline-only] [--script mixed|latin|arabic|japanese] [--no-signals]
//                   [--audience on|off] [--authors N] [--top-authors-capacity N]
// --memory-shadow: the memory run with shadow rules, a candidate as large as
// the live set (the same rules), as docs/performance.md "Shadow rules" reports.

#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <rapidjson/document.h>

#include "base/clock.h"
#include "base/diagnostics.h"
#include "bench/workload.h"
#include "pipeline/config.h"
#include "pipeline/decoder.h"
#include "pipeline/processor.h"
#include "rules/loader.h"
#include "rules/rule_set.h"
#include "rules/sentiment.h"

namespace earshot::bench {
namespace {

using Clk = std::chrono::steady_clock;

double Seconds(Clk::time_point a, Clk::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

double CurrentRssMiB() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages = 0, resident = 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

struct Options {
  std::vector<int> brands = {10, 100, 1000, 10000};
  size_t events = 300000;
  uint64_t seed = 1;
  std::string cache = "/tmp/earshot-bench";
  int repeat = 3;
  double memory_hours = 0;
  double memory_rate = 1000;
  size_t dedupe_cap = 1000000;  // limits.max_dedupe_entries for the memory run
  bool pipeline_only = false;  // skip the stage runs (for profiling the pipeline)
  bool memory_full = false;  // memory run: memory_rate for all of memory_hours
  bool memory_shadow = false;  // memory run: the same rules as a shadow candidate too
  bool write_only = false;  // write cache/rules-B/ and cache/events-B.jsonl, then exit
  Script script = Script::kMixed;  // the workload's script (bench/workload.h)
  bool signals = true;      // --no-signals: signals: {enabled: false} (docs/signals.md)
  bool audience = true;     // audience.enabled (unique and top authors)
  int authors = 0;          // distinct authors in the workload (0: its default, 1,000,000)
  size_t top_authors_capacity = 1000;
};

// The cache names of a workload: "B" for the mixed one (as before), else
// "<script>-B".
std::string WorkloadName(const Options& opt, int brands) {
  return opt.script == Script::kMixed ? std::to_string(brands)
                                      : std::string(ScriptName(opt.script)) + "-" + std::to_string(brands);
}

// Runs `fn` `repeat` times and keeps the fastest CPU time (least disturbed by
// other load on the machine).
template <typename Fn>
double BestCpu(int repeat, Fn fn) {
  double best = repeat > 0 ? 1e100 : 0;
  for (int r = 0; r < repeat; ++r) {
    double c0 = CpuSeconds();
    fn();
    best = std::min(best, CpuSeconds() - c0);
  }
  return best;
}

std::shared_ptr<const rules::RuleSet> LoadRules(const std::string& dir, const Config& config,
                                                double* seconds) {
  auto t0 = Clk::now();
  rules::RuleSetDef def;
  Diagnostics diags;
  std::shared_ptr<const rules::RuleSet> rs;
  if (rules::LoadRuleFiles({dir}, &def, &diags)) {
    rules::CompileOptions copts;
    copts.platforms = config.platforms;
    rules::SentimentLexicon::BuiltIn()->AddVocabulary(&copts);  // as the daemon compiles
    rs = rules::RuleSet::Compile(def, copts, &diags);
  }
  *seconds = Seconds(t0, Clk::now());
  if (rs == nullptr || !diags.ok()) {
    std::fprintf(stderr, "throughput: rules in %s:\n%s", dir.c_str(), diags.ToString().c_str());
    std::exit(1);
  }
  return rs;
}

std::vector<std::string_view> Lines(const std::string& data) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    lines.emplace_back(data.data() + pos, nl - pos);
    pos = nl + 1;
  }
  return lines;
}

std::vector<Record> Records(const std::vector<std::string_view>& lines) {
  std::vector<Record> recs(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    recs[i].payload = lines[i];
    recs[i].offset = static_cast<int64_t>(i);
  }
  return recs;
}

bool g_signals = true;  // Options::signals
bool g_audience = true;  // Options::audience
size_t g_top_authors_capacity = 1000;  // Options::top_authors_capacity

Config BenchConfig() {
  Config c;
  c.clock = ClockMode::kEvent;  // as `earshot replay`
  c.signals.enabled = g_signals;
  c.audience.enabled = g_audience;
  c.audience.top_authors_capacity = g_top_authors_capacity;
  return c;
}

// Counts the series lines and bytes of streamed exposition text.
class CountingSink : public ExpositionSink {
 public:
  void Write(std::string_view chunk) override {
    for (char c : chunk) {
      if (at_line_start_) series_ += c != '#';  // not a HELP or TYPE line
      at_line_start_ = c == '\n';
    }
    bytes_ += chunk.size();
  }
  size_t series() const { return series_; }
  size_t bytes() const { return bytes_; }

 private:
  size_t series_ = 0, bytes_ = 0;
  bool at_line_start_ = true;
};

// A scrape of the processor's result series as /metrics makes it
// (Processor::WriteResultsText, streamed). `*family_ms`, when given, gets
// the time of the MetricFamily + prometheus::TextSerializer path for
// comparison.
size_t Scrape(const Processor& p, size_t* series, double* family_ms = nullptr) {
  if (family_ms != nullptr) {
    auto t0 = Clk::now();
    std::vector<prometheus::MetricFamily> fams = p.CollectResults();
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, fams);
    *family_ms = Seconds(t0, Clk::now()) * 1e3;
  }
  CountingSink sink;
  p.WriteResultsText(&sink);
  *series = sink.series();
  return sink.bytes();
}

struct Row {
  int brands;
  double compile_s, floor_ns, decode_ns, match_ns, sentiment_ns, pipeline_ns;
  double scrape_ms, collect_ms;
  size_t series, scrape_bytes;
  double reload_pause_ms;
  double avg_bytes;
};

Row RunOne(const Options& opt, int brands) {
  Row row{};
  row.brands = brands;
  Config config = BenchConfig();
  WorkloadSpec spec;
  spec.brands = brands;
  spec.seed = opt.seed;
  spec.script = opt.script;
  spec.authors = opt.authors;
  Workload w(spec);
  std::string dir = opt.cache + "/rules-" + WorkloadName(opt, brands);
  if (!w.WriteRules(dir)) {
    std::fprintf(stderr, "throughput: cannot write %s\n", dir.c_str());
    std::exit(1);
  }
  auto rules = LoadRules(dir, config, &row.compile_s);
  std::string data = w.Events(opt.events);
  std::vector<std::string_view> lines = Lines(data);
  const double n = static_cast<double>(lines.size());
  row.avg_bytes = static_cast<double>(data.size()) / n - 1;

  // Floor: what the decoder must at least do (copy + in-situ DOM parse).
  std::string buf;
  size_t sink = 0;
  const int stage_repeat = opt.pipeline_only ? 0 : opt.repeat;
  row.floor_ns = BestCpu(stage_repeat, [&] {
                   for (auto line : lines) {
                     buf.assign(line.data(), line.size());
                     rapidjson::Document d;
                     d.ParseInsitu(buf.data());
                     sink += d.HasParseError() ? 0 : d.MemberCount();
                   }
                 }) / n * 1e9;

  auto decoder = MakeDecoder(config.decoder);
  Event ev;
  size_t invalid = 0;
  row.decode_ns = BestCpu(stage_repeat, [&] {
                    for (auto line : lines) invalid += (*decoder)->Decode(line, &ev) ? 1 : 0;
                  }) / n * 1e9;

  rules::MatchScratch scratch;
  rules::MatchOutput out;
  size_t matched = 0;
  auto lex = rules::SentimentLexicon::BuiltIn();
  const PlatformTable platforms(config.platforms);
  auto match_all = [&](bool sentiment) {
    for (auto line : lines) {
      if ((*decoder)->Decode(line, &ev)) continue;
      const rules::MatchInput in = rules::ToMatchInput(
          {ev.text, ev.platform, ev.lang, ev.author_handle, ev.country}, platforms);
      out.clear();
      rules->Match(in, &scratch, &out);
      matched += out.brands.size();
      if (sentiment && !out.brands.empty()) sink += static_cast<size_t>(lex->Classify(scratch));
    }
  };
  row.match_ns = BestCpu(stage_repeat, [&] { match_all(false); }) / n * 1e9;
  row.sentiment_ns = BestCpu(stage_repeat, [&] { match_all(true); }) / n * 1e9;

  // The whole pipeline, fresh state each repetition.
  std::vector<Record> recs = Records(lines);
  std::unique_ptr<Processor> proc;
  row.pipeline_ns = BestCpu(opt.repeat, [&] {
                      auto p = Processor::Create(config, WallClock::Get(),
                                                 std::make_shared<prometheus::Registry>(), lex);
                      (*p)->SetRules(rules);
                      std::vector<Record> batch;
                      for (size_t i = 0; i < recs.size(); i += 4096) {
                        batch.assign(recs.begin() + static_cast<long>(i),
                                     recs.begin() + static_cast<long>(std::min(recs.size(), i + 4096)));
                        (*p)->ProcessBatch("file", batch);
                      }
                      proc = std::move(p).value();
                    }) / n * 1e9;

  // Scrape: the result families, collected and serialized.
  Scrape(*proc, &row.series, &row.collect_ms);  // warm up; MetricFamily path timed
  auto t0 = Clk::now();
  row.scrape_bytes = Scrape(*proc, &row.series);
  row.scrape_ms = Seconds(t0, Clk::now()) * 1e3;

  // Hot reload: the pause is the batch boundary that applies the new set.
  {
    double ignored;
    auto again = LoadRules(dir, config, &ignored);
    proc->SetRules(again);
    std::vector<Record> empty;
    auto r0 = Clk::now();
    proc->ProcessBatch("file", empty);
    row.reload_pause_ms = Seconds(r0, Clk::now()) * 1e3;
  }
  if (sink == 42 && invalid == 42 && matched == 42) std::puts("");
  std::fprintf(stderr,
               "  brands=%d: %zu events (%.0f B avg), %zu invalid, %zu brand matches; scrape "
               "%.1f ms (MetricFamily + TextSerializer path: %.1f ms)\n",
               brands, lines.size(), row.avg_bytes, invalid / static_cast<size_t>(std::max(1, stage_repeat)),
               matched / static_cast<size_t>(2 * std::max(1, stage_repeat)), row.scrape_ms, row.collect_ms);
  return row;
}

// Memory: 1,000 brands x 11 platforms x 3 windows after `hours` of event
// time. The last hour runs at `rate` events/s, the hours before it at a tenth
// of it: the 24 h window's 15-minute buckets hold every series either way
// (11,000 series, 90,000+ events a bucket), the 1 h and 5 m windows and the
// dedupe see the full rate, and the run takes a minute instead of 24 hours'
// worth of events.
void RunMemory(const Options& opt) {
  Config config = BenchConfig();
  config.limits.max_dedupe_entries = opt.dedupe_cap;
  if (opt.memory_shadow) config.shadow.paths = {opt.cache + "/rules-1000"};
  WorkloadSpec spec;
  spec.brands = 1000;
  spec.seed = opt.seed;
  spec.authors = opt.authors;
  // The whole run at memory_rate with --memory-full; else the last hour,
  // and a tenth of it before (every bucket of the 24 h window still holds
  // every series, in a fraction of the events).
  spec.events_per_second = opt.memory_full ? opt.memory_rate : opt.memory_rate / 10;
  Workload w(spec);
  std::string dir = opt.cache + "/rules-1000";
  w.WriteRules(dir);
  double compile_s;
  auto rules = LoadRules(dir, config, &compile_s);
  auto p = Processor::Create(config, WallClock::Get(), std::make_shared<prometheus::Registry>(),
                             rules::SentimentLexicon::BuiltIn());
  (*p)->SetRules(rules);
  if (opt.memory_shadow) (*p)->SetShadowRules(rules);
  const double rss0 = CurrentRssMiB();
  const int64_t end_ms = spec.start_ms + static_cast<int64_t>(opt.memory_hours * 3600e3);
  const int64_t full_rate_from = end_ms - std::min<int64_t>(3600000, end_ms - spec.start_ms);
  bool full_rate = false;
  std::string chunk;
  std::vector<Record> batch;
  size_t total = 0;
  auto t0 = Clk::now();
  double c0 = CpuSeconds();
  while (w.NextEventMillis() < end_ms) {
    if (!full_rate && w.NextEventMillis() >= full_rate_from) {
      w.SetRate(opt.memory_rate);
      full_rate = true;
    }
    chunk = w.Events(4096);
    batch = Records(Lines(chunk));
    (*p)->ProcessBatch("file", batch);
    total += batch.size();
  }
  double cpu = CpuSeconds() - c0;
  const double rss_end = CurrentRssMiB();
  const double peak_before_scrape = PeakRssMiB();
  malloc_trim(0);  // how much of it is free heap the allocator kept
  const double rss_trimmed = CurrentRssMiB();
  size_t series;
  auto s0 = Clk::now();
  size_t bytes = Scrape(**p, &series);
  double scrape_ms = Seconds(s0, Clk::now()) * 1e3;
  std::printf(
      "\nmemory: 1000 brands x %zu platforms x %zu windows%s, %.1f h of event time (last hour at "
      "%.0f/s, before at %.0f/s): %zu events, %.0f s wall, %.0f s CPU incl. generation\n",
      config.platforms.size(), config.windows.size(),
      opt.memory_shadow ? " + an equal shadow candidate" : "", opt.memory_hours, opt.memory_rate,
      opt.memory_full ? opt.memory_rate : opt.memory_rate / 10, total, Seconds(t0, Clk::now()),
      cpu);
  std::printf("  RSS %.1f MiB at the end (%.1f MiB after malloc_trim; %.1f MiB before the "
              "events); limits.max_dedupe_entries %zu\n",
              rss_end, rss_trimmed, rss0, config.limits.max_dedupe_entries);
  std::printf("  audience %s (top_authors_capacity %zu, hll_precision %d); %d distinct authors\n",
              config.audience.enabled ? "on" : "off", config.audience.top_authors_capacity,
              config.audience.hll_precision, spec.authors > 0 ? spec.authors : 1000000);
  std::printf("  peak RSS before the scrape %.1f MiB\n", peak_before_scrape);
  std::printf("  scrape after it (WriteResultsText, streamed): %zu series, %zu bytes in %.1f ms; peak RSS "
              "after it %.1f MiB\n",
              series, bytes, scrape_ms, PeakRssMiB());
}

std::vector<int> ParseList(const char* s) {
  std::vector<int> out;
  for (const char* p = s; *p;) {
    out.push_back(std::atoi(p));
    p = std::strchr(p, ',');
    if (p == nullptr) break;
    ++p;
  }
  return out;
}

int Main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--brands") opt.brands = ParseList(v), ++i;
    else if (a == "--events") opt.events = std::strtoull(v, nullptr, 10), ++i;
    else if (a == "--seed") opt.seed = std::strtoull(v, nullptr, 10), ++i;
    else if (a == "--cache") opt.cache = v, ++i;
    else if (a == "--repeat") opt.repeat = std::max(1, std::atoi(v)), ++i;
    else if (a == "--memory-hours") opt.memory_hours = std::atof(v), ++i;
    else if (a == "--memory-rate") opt.memory_rate = std::atof(v), ++i;
    else if (a == "--dedupe-cap") opt.dedupe_cap = std::strtoull(v, nullptr, 10), ++i;
    else if (a == "--write-only") opt.write_only = true;
    else if (a == "--memory-full") opt.memory_full = true;
    else if (a == "--memory-shadow") opt.memory_shadow = true;
    else if (a == "--pipeline-only") opt.pipeline_only = true;
    else if (a == "--script" && ParseScript(v, &opt.script)) ++i;
    else if (a == "--no-signals") opt.signals = false;
    else if (a == "--audience") opt.audience = std::strcmp(v, "off") != 0, ++i;
    else if (a == "--authors") opt.authors = std::atoi(v), ++i;
    else if (a == "--top-authors-capacity") opt.top_authors_capacity = std::strtoull(v, nullptr, 10), ++i;
    else {
      std::fprintf(stderr,
                   "usage: throughput [--brands 10,100,1000,10000] [--events N] [--seed S] "
                   "[--cache DIR] [--repeat R] [--memory-hours H] [--memory-rate R] [--memory-full] "
                   "[--memory-shadow] [--dedupe-cap N] "
                   "[--write-only] "
                   "[--pipeline-only] [--script mixed|latin|arabic|japanese] [--no-signals] "
                   "[--audience on|off] [--authors N] [--top-authors-capacity N]\n");
      return 2;
    }
  }
  g_signals = opt.signals;
  g_audience = opt.audience;
  g_top_authors_capacity = opt.top_authors_capacity;
  ::mkdir(opt.cache.c_str(), 0755);
  if (opt.write_only) {
    // Inputs for `earshot replay --rules DIR FILE` (scripts/bench.sh).
    for (int b : opt.brands) {
      WorkloadSpec spec;
      spec.brands = b;
      spec.seed = opt.seed;
      spec.script = opt.script;
      spec.authors = opt.authors;
      Workload w(spec);
      std::string base = opt.cache + "/";
      if (!w.WriteRules(base + "rules-" + WorkloadName(opt, b)) ||
          !w.WriteEvents(base + "events-" + WorkloadName(opt, b) + ".jsonl", opt.events)) {
        std::fprintf(stderr, "throughput: cannot write into %s\n", opt.cache.c_str());
        return 1;
      }
    }
    return 0;
  }
  std::vector<Row> rows;
  if (!opt.brands.empty() && opt.brands[0] > 0) {
    for (int b : opt.brands) rows.push_back(RunOne(opt, b));
    std::printf(
        "%zu events a run, seed %llu, best of %d, CPU time of this thread "
        "(ns/event; stage = difference to the previous column)\n\n",
        opt.events, static_cast<unsigned long long>(opt.seed), opt.repeat);
    std::printf(
        "| brands | compile s | parse floor ev/s | pipeline ev/s | %% of floor | floor ns | "
        "decode ns | norm+match ns | sentiment ns | dedupe+windows+counters ns | scrape series | "
        "scrape ms | reload pause ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const Row& r : rows) {
      std::printf("| %d | %.2f | %.0f | %.0f | %.0f%% | %.0f | %.0f | %.0f | %.0f | %.0f | %zu | %.1f | %.1f |\n",
                  r.brands, r.compile_s, 1e9 / r.floor_ns, 1e9 / r.pipeline_ns,
                  100.0 * r.floor_ns / r.pipeline_ns, r.floor_ns, r.decode_ns,
                  r.match_ns - r.decode_ns, r.sentiment_ns - r.match_ns,
                  r.pipeline_ns - r.sentiment_ns, r.series, r.scrape_ms, r.reload_pause_ms);
    }
    std::printf("\npeak RSS %.1f MiB\n", PeakRssMiB());
  }
  if (opt.memory_hours > 0) RunMemory(opt);
  return 0;
}

}  // namespace
}  // namespace earshot::bench

int main(int argc, char** argv) { return earshot::bench::Main(argc, argv); }
