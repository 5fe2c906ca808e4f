// Processor::AppendResultsText writes exactly what prometheus::TextSerializer
// writes for CollectResults() (empty families left out), on a few thousand
// synthetic events over several rule categories, topics and windows.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "base/clock.h"
#include "base/diagnostics.h"
#include "pipeline/processor.h"
#include "pipeline/synth.h"
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

TEST(ResultsTextTest, MatchesTextSerializer) {
  fs::path dir = fs::temp_directory_path() / ("results_text_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "rules.yaml") << kRules;
  rules::RuleSetDef def;
  Diagnostics d;
  ASSERT_TRUE(rules::LoadRuleFiles({(dir / "rules.yaml").string()}, &def, &d)) << d.ToString();
  auto rs = rules::RuleSet::Compile(def, rules::CompileOptions{}, &d);
  ASSERT_NE(rs, nullptr) << d.ToString();

  Config c;
  c.clock = ClockMode::kEvent;
  auto p = Processor::Create(c, WallClock::Get(), std::make_shared<prometheus::Registry>(),
                             rules::SentimentLexicon::BuiltIn());
  ASSERT_TRUE(p.ok());
  (*p)->SetRules(rs);
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
      (*p)->ProcessBatch("file", batch);
      batch.clear();
    }
  }
  (*p)->ProcessBatch("file", batch);

  std::vector<prometheus::MetricFamily> fams = (*p)->CollectResults();
  std::vector<prometheus::MetricFamily> nonempty;
  size_t series = 0;
  for (auto& f : fams) {
    series += f.metric.size();
    if (!f.metric.empty()) nonempty.push_back(std::move(f));
  }
  ASSERT_GT(series, 100u);
  std::ostringstream want;
  prometheus::TextSerializer().Serialize(want, nonempty);
  std::string got;
  (*p)->AppendResultsText(&got);
  EXPECT_EQ(got, want.str());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace earshot
