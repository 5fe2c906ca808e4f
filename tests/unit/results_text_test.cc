// Processor::WriteResultsText against CollectResults() + TextSerializer
// (empty families left out), on a few thousand synthetic events over several
// rule categories, topics and windows: the same series in the same order,
// grouped the same way, with the same values spelled the same way (%.16g):
// the direct text is byte-identical to what prometheus-cpp would serve.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "base/clock.h"
#include "base/diagnostics.h"
#include "pipeline/processor.h"
#include "connectors/synth.h"
#include "rules/loader.h"
#include "rules/rule_set.h"
#include "rules/sentiment.h"

namespace earshot {
namespace {

namespace fs = std::filesystem;

const char* kRules = R"(
category: sneakers
brands:
  - name: nike
    terms: [nike, "just do it", "#nike", نايكي, ナイキ]
  - name: adidas
    terms: [adidas, أديداس, アディダス]
  - name: puma
    terms: [puma]
  - name: new_balance
    terms: ["new balance"]
topics:
  - name: pricing
    terms: [price, expensive, cheap, سعر, 値段]
  - name: quality
    terms: [quality, comfortable]
)";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A sample line split into its series (name and labels) and value text.
std::pair<std::string, std::string> SplitSample(const std::string& line) {
  size_t sp = line.rfind(' ');
  EXPECT_NE(sp, std::string::npos) << line;
  return {line.substr(0, sp), line.substr(sp + 1)};
}

// `value` as prometheus::TextSerializer spells it.
std::string Sixteen(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.16g", value);
  return buf;
}

class ResultsTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path dir = fs::temp_directory_path() / ("results_text_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "rules.yaml") << kRules;
    rules::RuleSetDef def;
    Diagnostics d;
    ASSERT_TRUE(rules::LoadRuleFiles({(dir / "rules.yaml").string()}, &def, &d)) << d.ToString();
    auto rs = rules::RuleSet::Compile(def, rules::CompileOptions{}, &d);
    ASSERT_NE(rs, nullptr) << d.ToString();
    fs::remove_all(dir);

    Config c;
    c.clock = ClockMode::kEvent;
    auto p = Processor::Create(c, WallClock::Get(), std::make_shared<prometheus::Registry>(),
                               rules::SentimentLexicon::BuiltIn());
    ASSERT_TRUE(p.ok());
    proc_ = std::move(p).value();
    proc_->SetRules(rs);
    auto synth = MakeEventSynthesizer(7);
    std::vector<std::string> payloads(5000);
    int64_t t = 1714521600000;
    for (auto& s : payloads) synth->Next(t += 700, &s);
    std::vector<Record> batch;
    for (const auto& s : payloads) {
      Record r;
      r.payload = s;
      batch.push_back(r);
      if (batch.size() == 512) {
        proc_->ProcessBatch("file", batch);
        batch.clear();
      }
    }
    proc_->ProcessBatch("file", batch);

    // The reference: MetricFamily objects, serialized by prometheus-cpp.
    std::vector<prometheus::MetricFamily> fams = proc_->CollectResults();
    std::vector<prometheus::MetricFamily> nonempty;
    for (auto& f : fams) {
      for (const auto& m : f.metric) {
        std::string key = f.name + "{";
        for (size_t i = 0; i < m.label.size(); ++i) {
          key += (i ? "," : "") + m.label[i].name + "=\"" + m.label[i].value + "\"";
        }
        key += "}";
        exact_[key] = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
      }
      if (!f.metric.empty()) nonempty.push_back(std::move(f));
    }
    std::ostringstream want;
    prometheus::TextSerializer().Serialize(want, nonempty);
    want_ = want.str();
    StringExpositionSink sink(&got_);
    proc_->WriteResultsText(&sink);
  }

  std::unique_ptr<Processor> proc_;
  std::map<std::string, double> exact_;  // series -> value, from CollectResults()
  std::string want_;                     // CollectResults() + TextSerializer
  std::string got_;                      // WriteResultsText
};

TEST_F(ResultsTextTest, SameSeriesAndValuesAsTextSerializer) {
  std::map<std::string, std::string> got, want;  // series -> value text
  for (const auto& line : Lines(got_)) {
    if (line[0] == '#') continue;
    EXPECT_TRUE(got.insert(SplitSample(line)).second) << "twice: " << line;
  }
  for (const auto& line : Lines(want_)) {
    if (line[0] != '#') want.insert(SplitSample(line));
  }
  ASSERT_GT(want.size(), 100u);
  ASSERT_EQ(got.size(), want.size());
  size_t ratios = 0;
  for (const auto& [series, value] : want) {
    auto it = got.find(series);
    ASSERT_NE(it, got.end()) << "missing " << series;
    EXPECT_EQ(it->second, value) << series;
    EXPECT_EQ(it->second, Sixteen(exact_.at(series))) << series;
    if (series.rfind("earshot_share_of_voice_ratio{", 0) == 0) ++ratios;
  }
  EXPECT_GT(ratios, 100u);
}

TEST_F(ResultsTextTest, SameLayoutAsTextSerializer) {
  // Line by line: HELP and TYPE once per family, families and series in the
  // same order, the same bytes.
  std::vector<std::string> got = Lines(got_), want = Lines(want_);
  ASSERT_EQ(got.size(), want.size());
  size_t headers = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "line " << i;
    if (want[i][0] == '#') ++headers;
  }
  EXPECT_EQ(got_, want_);
  // Every result family has data here: 4 totals, 4 window gauges, share of
  // voice, topics, sentiment; the 4 spike families (signals); unique authors
  // (audience).
  EXPECT_EQ(headers, 2u * (11 + 4 + 1));
}

TEST_F(ResultsTextTest, StreamedInChunksAsOneString) {
  struct Chunks : ExpositionSink {
    std::vector<std::string> chunks;
    void Write(std::string_view c) override { chunks.emplace_back(c); }
  } sink;
  proc_->WriteResultsText(&sink);
  std::string joined;
  for (const auto& c : sink.chunks) {
    EXPECT_FALSE(c.empty());
    EXPECT_EQ(c.back(), '\n');  // chunks end at line ends
    joined += c;
  }
  EXPECT_EQ(joined, got_);
}

}  // namespace
}  // namespace earshot
