// Pipeline micro-benchmarks: window update, dedupe, whole-event processing and
// scrape (snapshot, Prometheus text) on the bench/workload.h workload.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "base/clock.h"
#include "base/diagnostics.h"
#include "bench/workload.h"
#include "pipeline/dedupe.h"
#include "pipeline/exposition.h"
#include "pipeline/processor.h"
#include "pipeline/window_state.h"
#include "rules/loader.h"
#include "rules/rule_set.h"
#include "rules/sentiment.h"

namespace earshot {
namespace {

// One matched brand added to the three default windows (5m/10s, 1h/1m,
// 24h/15m), 1,000 brands x 11 platforms, event time advancing 1 ms an event.
void BM_WindowAdd3(benchmark::State& state) {
  Config c;
  std::vector<HoppingWindow> windows;
  for (const auto& s : c.windows) windows.emplace_back(s);
  std::mt19937_64 rng(1);
  std::vector<SeriesKey> keys(1 << 16);
  for (auto& k : keys) k = MakeSeriesKey(static_cast<uint32_t>(rng() % 1000), static_cast<uint32_t>(rng() % 11));
  Values v;
  v.v[kMentions] = 1;
  v.v[kReach] = 100;
  int64_t now = 1714521600000;
  size_t i = 0;
  for (auto _ : state) {
    ++now;
    for (auto& w : windows) w.Add(now, now, keys[i & 0xffff], v);
    if ((i & 4095) == 0)
      for (auto& w : windows) w.Expire(now);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WindowAdd3);

void BM_DedupeInsert(benchmark::State& state) {
  Deduper d(8000000);
  uint64_t id = 0;
  std::string s;
  for (auto _ : state) {
    s = std::to_string(1785653421867786240ULL + ++id);
    benchmark::DoNotOptimize(d.SeenOrInsert(DedupeFingerprint("twitter", s), static_cast<int64_t>(id >> 20)));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DedupeInsert);

struct Loaded {
  std::shared_ptr<const rules::RuleSet> rules;
  std::string data;
  std::vector<Record> records;
};

Loaded Load(int brands, size_t events) {
  bench::WorkloadSpec spec;
  spec.brands = brands;
  bench::Workload w(spec);
  std::string dir = "/tmp/earshot-pipeline-bench-" + std::to_string(brands);
  w.WriteRules(dir);
  Loaded l;
  rules::RuleSetDef def;
  Diagnostics diags;
  if (rules::LoadRuleFiles({dir}, &def, &diags)) {
    rules::CompileOptions o;
    o.platforms = Config().platforms;
    l.rules = rules::RuleSet::Compile(def, o, &diags);
  }
  l.data = w.Events(events);
  size_t pos = 0;
  while (pos < l.data.size()) {
    size_t nl = l.data.find('\n', pos);
    Record r;
    r.payload = std::string_view(l.data).substr(pos, nl - pos);
    l.records.push_back(r);
    pos = nl + 1;
  }
  return l;
}

std::unique_ptr<Processor> NewProcessor(const Loaded& l) {
  Config c;
  c.clock = ClockMode::kEvent;
  auto p = Processor::Create(c, WallClock::Get(), std::make_shared<prometheus::Registry>(),
                             rules::SentimentLexicon::BuiltIn());
  (*p)->SetRules(l.rules);
  return std::move(p).value();
}

// Whole events through Processor::ProcessBatch (batches of 4,096).
void BM_ProcessEvents(benchmark::State& state) {
  Loaded l = Load(static_cast<int>(state.range(0)), 65536);
  auto p = NewProcessor(l);
  std::vector<Record> batch;
  size_t i = 0;
  for (auto _ : state) {
    // The same events again are duplicates after the first pass: new
    // processor state each pass so every pass does the full work.
    if (i == l.records.size()) {
      state.PauseTiming();
      p = NewProcessor(l);
      i = 0;
      state.ResumeTiming();
    }
    batch.assign(l.records.begin() + static_cast<long>(i), l.records.begin() + static_cast<long>(i + 4096));
    p->ProcessBatch("file", batch);
    i += 4096;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_ProcessEvents)->Arg(1000)->Unit(benchmark::kMillisecond);

// Discards the text (a scrape written to /dev/null).
struct NullSink : ExpositionSink {
  size_t bytes = 0;
  void Write(std::string_view chunk) override { bytes += chunk.size(); }
};

// A scrape of the result families after 200k events: the series count is a
// counter of the benchmark, and lock_ms how long the snapshot held the
// pipeline lock (mean per scrape).
void BM_Scrape(benchmark::State& state) {
  Loaded l = Load(static_cast<int>(state.range(0)), 200000);
  auto p = NewProcessor(l);
  for (size_t i = 0; i < l.records.size(); i += 4096) {
    std::vector<Record> batch(l.records.begin() + static_cast<long>(i),
                              l.records.begin() + static_cast<long>(std::min(l.records.size(), i + 4096)));
    p->ProcessBatch("file", batch);
  }
  size_t series = 0;
  {
    std::string text;
    StringExpositionSink sink(&text);
    p->WriteResultsText(&sink);
    for (size_t pos = 0; pos < text.size(); pos = text.find('\n', pos) + 1) {
      if (text[pos] != '#') ++series;  // not a HELP or TYPE line
    }
  }
  const int64_t mode = state.range(1);
  int64_t lock_ns = 0;
  for (auto _ : state) {
    if (mode == 1) {
      // The MetricFamily objects + prometheus::TextSerializer path.
      auto fams = p->CollectResults();
      std::ostringstream out;
      prometheus::TextSerializer().Serialize(out, fams);
      benchmark::DoNotOptimize(out.str().size());
    } else if (mode == 2) {
      // The snapshot alone.
      int64_t ns = 0;
      ResultsSnapshot s = p->TakeSnapshot(&ns);
      lock_ns += ns;
      benchmark::DoNotOptimize(s.totals.data());
    } else if (mode == 3) {
      NullSink sink;
      p->WriteResultsText(&sink);
      benchmark::DoNotOptimize(sink.bytes);
    } else {
      std::string text;
      StringExpositionSink sink(&text);
      p->WriteResultsText(&sink);
      benchmark::DoNotOptimize(text.size());
    }
  }
  state.counters["series"] = static_cast<double>(series);
  if (mode == 2) {
    state.counters["lock_ms"] =
        static_cast<double>(lock_ns) / 1e6 / static_cast<double>(state.iterations());
  }
}
// Second argument: 0 = WriteResultsText into one string, 1 = CollectResults +
// TextSerializer, 2 = TakeSnapshot only, 3 = WriteResultsText to a sink that
// drops the chunks (as `earshot replay > /dev/null`).
BENCHMARK(BM_Scrape)
    ->Args({100, 0})->Args({100, 1})->Args({100, 2})->Args({100, 3})
    ->Args({1000, 0})->Args({1000, 1})->Args({1000, 2})->Args({1000, 3})
    ->Args({10000, 0})->Args({10000, 2})->Args({10000, 3})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace earshot

BENCHMARK_MAIN();
