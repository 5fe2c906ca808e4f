// Shadow rules (docs/shadow.md) through the processor: the diff of a
// candidate against the live rules per brand (terms dropped and added, an
// exclude added, brands removed, added and moved between categories,
// identical sets), that the candidate changes no live series, samples,
// swaps, limits, the exposition, the JSON API, the config section and the
// reloader's shadow metrics.
#include "pipeline/shadow.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "pipeline/config.h"
#include "pipeline/processor.h"
#include "pipeline/rule_reloader.h"
#include "rules/loader.h"
#include "tests/unit/registry_values.h"

namespace earshot {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 ("earshot_shadow_" + std::to_string(::getpid()) + "_" + name);
  fs::create_directories(dir);
  return dir;
}

std::shared_ptr<const rules::RuleSet> Compile(const std::string& yaml) {
  fs::path dir = TempDir("compile");
  fs::path file = dir / "rules.yaml";
  std::ofstream(file) << yaml;
  rules::RuleSetDef def;
  Diagnostics d;
  EXPECT_TRUE(rules::LoadRuleFiles({file.string()}, &def, &d)) << d.ToString();
  rules::CompileOptions copts;
  copts.platforms = {"twitter", "instagram"};
  auto rs = rules::RuleSet::Compile(def, copts, &d);
  EXPECT_NE(rs, nullptr) << d.ToString();
  fs::remove_all(dir);
  return rs;
}

std::string Ev(const std::string& id, const std::string& platform, const std::string& text,
               int64_t created_ms) {
  return R"({"id":")" + id + R"(","platform":")" + platform + R"(","text":")" + text +
         R"(","created_at":)" + std::to_string(created_ms) + "}";
}

const char* kLive = R"(category: sneakers
brands:
  - name: nike
    terms: [nike, "air max"]
  - name: adidas
    terms: [adidas]
  - name: puma
    terms: [puma]
)";

class ShadowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.windows = {{"5m", 5 * kMin, kMin}, {"1h", 60 * kMin, 10 * kMin}};
    config_.platforms = {"twitter", "instagram"};
    config_.shadow.paths = {"candidate/"};  // only its presence matters here
    clock_.Set(kT0 + 120 * kMin);
  }

  // A processor with `live` and, when given, `candidate` as its shadow.
  void Start(const std::string& live, const std::string& candidate) {
    registry_ = std::make_shared<prometheus::Registry>();
    auto p = Processor::Create(config_, &clock_, registry_, nullptr);
    ASSERT_TRUE(p.ok()) << p.message();
    proc_ = std::move(p).value();
    proc_->SetRules(Compile(live));
    if (!candidate.empty()) proc_->SetShadowRules(Compile(candidate));
  }

  void Feed(const std::vector<std::string>& payloads, bool rebuild = false) {
    storage_.push_back(payloads);
    std::vector<Record> batch;
    for (const auto& p : storage_.back()) {
      Record r;
      r.payload = p;
      r.topic = "t";
      r.rebuild = rebuild;
      batch.push_back(r);
    }
    proc_->ProcessBatch("file", batch);
  }

  // The rows of `earshot diff` (the last window, every platform), by
  // "category/brand".
  std::map<std::string, ShadowBrandRow> Rows(size_t window = 1) {
    std::map<std::string, ShadowBrandRow> out;
    for (auto& r : BuildShadowRows(proc_->TakeShadowSnapshot(true), window)) {
      out[r.category + "/" + r.brand] = r;
    }
    return out;
  }

  static bool AnyChange(const std::map<std::string, ShadowBrandRow>& rows) {
    for (const auto& [k, r] : rows) {
      if (r.added_total != 0 || r.removed_total != 0) return true;
    }
    return false;
  }

  std::string LiveText() {
    std::string text;
    StringExpositionSink sink(&text);
    proc_->WriteResultsText(&sink);
    return text;
  }

  std::string ShadowText() {
    std::string text;
    StringExpositionSink sink(&text);
    proc_->WriteShadowText(&sink);
    return text;
  }

  double Operational(const std::string& name) {
    for (const auto& f : registry_->Collect()) {
      if (f.name != name || f.metric.empty()) continue;
      return f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                       : f.metric[0].gauge.value;
    }
    return -1;
  }

  // A few events for every scenario: nike, air max, adidas, "three stripes",
  // puma, a nike missile, a duplicate and an invalid line.
  void FeedMix() {
    const int64_t t = clock_.NowMillis() - kMin;
    Feed({Ev("1", "twitter", "nike shoes", t), Ev("2", "twitter", "air max 90", t),
          Ev("3", "instagram", "adidas and nike", t), Ev("4", "twitter", "three stripes", t),
          Ev("5", "twitter", "puma run", t), Ev("6", "instagram", "the nike missile", t),
          Ev("1", "twitter", "nike shoes", t), "not json"});
  }

  Config config_;
  FakeClock clock_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Processor> proc_;
  std::vector<std::vector<std::string>> storage_;
};

TEST_F(ShadowTest, IdenticalSetsChangeNothing) {
  Start(kLive, kLive);
  FeedMix();
  auto rows = Rows();
  EXPECT_FALSE(AnyChange(rows));  // `earshot diff` exits 0
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows["sneakers/nike"].live_total, 4u);  // 1, 2, 3, 6 (the duplicate once)
  EXPECT_EQ(rows["sneakers/nike"].candidate_total, 4u);
  EXPECT_EQ(rows["sneakers/adidas"].live_total, 1u);
  EXPECT_EQ(rows["sneakers/adidas"].candidate_total, 1u);
  EXPECT_EQ(rows["sneakers/nike"].live_window, rows["sneakers/nike"].candidate_window);
  EXPECT_EQ(rows["sneakers/nike"].live_share, rows["sneakers/nike"].candidate_share);
}

TEST_F(ShadowTest, TermDropped) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: adidas
    terms: [adidas]
  - name: puma
    terms: [puma]
)");
  FeedMix();
  auto rows = Rows();
  EXPECT_TRUE(AnyChange(rows));
  const auto& nike = rows["sneakers/nike"];
  EXPECT_EQ(nike.live_total, 4u);
  EXPECT_EQ(nike.candidate_total, 3u);
  EXPECT_EQ(nike.added_total, 0u);
  EXPECT_EQ(nike.removed_total, 1u);  // "air max 90"
  EXPECT_EQ(rows["sneakers/adidas"].removed_total + rows["sneakers/adidas"].added_total, 0u);
  // Share of voice in the window, before and after: nike 4/6 -> 3/5.
  EXPECT_DOUBLE_EQ(*nike.live_share, 4.0 / 6);
  EXPECT_DOUBLE_EQ(*nike.candidate_share, 3.0 / 5);
}

TEST_F(ShadowTest, TermAdded) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike, "air max"]
  - name: adidas
    terms: [adidas, "three stripes"]
  - name: puma
    terms: [puma]
)");
  FeedMix();
  auto rows = Rows();
  const auto& adidas = rows["sneakers/adidas"];
  EXPECT_EQ(adidas.live_total, 1u);
  EXPECT_EQ(adidas.candidate_total, 2u);
  EXPECT_EQ(adidas.added_total, 1u);
  EXPECT_EQ(adidas.removed_total, 0u);
  EXPECT_EQ(rows["sneakers/nike"].added_total + rows["sneakers/nike"].removed_total, 0u);
}

TEST_F(ShadowTest, ExcludeAdded) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike, "air max"]
    exclude: ["nike missile"]
  - name: adidas
    terms: [adidas]
  - name: puma
    terms: [puma]
)");
  FeedMix();
  auto rows = Rows();
  const auto& nike = rows["sneakers/nike"];
  EXPECT_EQ(nike.candidate_total, 3u);
  EXPECT_EQ(nike.removed_total, 1u);
  EXPECT_EQ(nike.added_total, 0u);
  // The sample names the event and what made live count it.
  auto snap = proc_->TakeShadowSnapshot(true);
  const auto& samples = snap.samples[nike.id * kShadowChangeCount + kRemoved];
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].id, "6");
  EXPECT_EQ(snap.platform_names[samples[0].platform], "instagram");
  EXPECT_EQ(samples[0].text, "the nike missile");
  EXPECT_EQ(samples[0].time_ms, clock_.NowMillis() - kMin);
  EXPECT_NE(samples[0].fired.find("nike"), std::string::npos) << samples[0].fired;
}

TEST_F(ShadowTest, BrandRemoved) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike, "air max"]
  - name: adidas
    terms: [adidas]
)");
  FeedMix();
  auto rows = Rows();
  const auto& puma = rows["sneakers/puma"];
  EXPECT_TRUE(puma.in_live);
  EXPECT_FALSE(puma.in_candidate);
  EXPECT_EQ(puma.live_total, 1u);
  EXPECT_EQ(puma.candidate_total, 0u);
  EXPECT_EQ(puma.removed_total, 1u);  // every event of a brand of one set only
  EXPECT_FALSE(puma.candidate_share.has_value());
}

TEST_F(ShadowTest, BrandAdded) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike, "air max"]
  - name: adidas
    terms: [adidas]
  - name: puma
    terms: [puma]
  - name: stripes
    terms: [stripes]
)");
  FeedMix();
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 4u);
  const auto& stripes = rows["sneakers/stripes"];
  EXPECT_FALSE(stripes.in_live);
  EXPECT_TRUE(stripes.in_candidate);
  EXPECT_EQ(stripes.live_total, 0u);
  EXPECT_EQ(stripes.candidate_total, 1u);
  EXPECT_EQ(stripes.added_total, 1u);
  EXPECT_FALSE(stripes.live_share.has_value());
  // A new brand takes share from the others: nike 4/6 -> 4/7.
  EXPECT_DOUBLE_EQ(*rows["sneakers/nike"].candidate_share, 4.0 / 7);
}

TEST_F(ShadowTest, BrandMovedBetweenCategories) {
  // The candidate moves puma into a category of its own, in a second file.
  Start(kLive, "");
  fs::path dir = TempDir("moved");
  std::ofstream(dir / "a.yaml") << "category: sneakers\nbrands:\n  - name: nike\n"
                                   "    terms: [nike, \"air max\"]\n  - name: adidas\n"
                                   "    terms: [adidas]\n";
  std::ofstream(dir / "b.yaml") << "category: running\nbrands:\n  - name: puma\n"
                                   "    terms: [puma]\n";
  rules::RuleSetDef def;
  Diagnostics d;
  ASSERT_TRUE(rules::LoadRuleFiles({dir.string()}, &def, &d)) << d.ToString();
  proc_->SetShadowRules(rules::RuleSet::Compile(def, rules::CompileOptions{}, &d));
  fs::remove_all(dir);
  FeedMix();
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 4u);
  const auto& old_home = rows["sneakers/puma"];
  const auto& new_home = rows["running/puma"];
  EXPECT_EQ(old_home.live_total, 1u);
  EXPECT_EQ(old_home.candidate_total, 0u);
  EXPECT_EQ(old_home.removed_total, 1u);
  EXPECT_EQ(new_home.live_total, 0u);
  EXPECT_EQ(new_home.candidate_total, 1u);
  EXPECT_EQ(new_home.added_total, 1u);
  EXPECT_DOUBLE_EQ(*new_home.candidate_share, 1.0);  // alone in its category
  EXPECT_EQ(rows["sneakers/nike"].added_total + rows["sneakers/nike"].removed_total, 0u);
}

TEST_F(ShadowTest, TheCandidateChangesNoLiveSeries) {
  const std::string candidate = R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
    exclude: ["nike missile"]
  - name: reebok
    terms: [reebok, stripes]
)";
  Start(kLive, "");
  FeedMix();
  const std::string without = LiveText();
  Start(kLive, candidate);
  FeedMix();
  EXPECT_EQ(LiveText(), without);
  EXPECT_NE(ShadowText(), "");
  // Nor the operational outcomes.
  EXPECT_EQ(proc_->outcome_count(Outcome::kMatched), 5u);
  EXPECT_EQ(proc_->outcome_count(Outcome::kUnmatched), 1u);
}

TEST_F(ShadowTest, NoShadowConfiguredMeansNoShadowState) {
  config_.shadow.paths.clear();
  Start(kLive, kLive);
  FeedMix();
  EXPECT_FALSE(proc_->has_shadow());
  EXPECT_EQ(ShadowText(), "");
  EXPECT_FALSE(proc_->ShadowJson("").ok());
  EXPECT_EQ(Operational("earshot_shadow_series_overflow_total"), -1);
}

TEST_F(ShadowTest, LateEventsCountInTotalsAndDuplicatesNowhere) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
)");
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "air max", now - 3 * 60 * kMin),  // late: older than 1h
        Ev("2", "twitter", "air max", now - kMin), Ev("2", "twitter", "air max", now - kMin)});
  auto rows = Rows();
  EXPECT_EQ(rows["sneakers/nike"].removed_total, 2u);
  EXPECT_EQ(rows["sneakers/nike"].removed_window, 1u);
  EXPECT_EQ(rows["sneakers/nike"].live_window, 1u);
  EXPECT_EQ(rows["sneakers/adidas"].removed_total, 0u);
}

TEST_F(ShadowTest, RebuildRecordsFeedTheShadowWindowsOnly) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike, "air max"]
  - name: reebok
    terms: [reebok]
)");
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "reebok", now - kMin)}, /*rebuild=*/true);
  auto rows = Rows();
  EXPECT_EQ(rows["sneakers/reebok"].candidate_window, 1u);
  EXPECT_EQ(rows["sneakers/reebok"].added_window, 1u);
  EXPECT_EQ(rows["sneakers/reebok"].candidate_total, 0u);
  EXPECT_EQ(rows["sneakers/reebok"].added_total, 0u);
  auto snap = proc_->TakeShadowSnapshot(true);
  EXPECT_TRUE(snap.samples[rows["sneakers/reebok"].id * kShadowChangeCount + kAdded].empty());
}

TEST_F(ShadowTest, SamplesKeepTheTenNewestAndTheFirst280Characters) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
)");
  const int64_t now = clock_.NowMillis();
  std::vector<std::string> events;
  for (int i = 0; i < 25; ++i) events.push_back(Ev(std::to_string(i), "twitter", "air max", now));
  // 300 two-byte characters after the term: 280 characters, not bytes, are kept.
  std::string long_text = "air max ";
  for (int i = 0; i < 300; ++i) long_text += "\xc3\xa9";  // é
  events.push_back(Ev("long", "twitter", long_text, now));
  Feed(events);
  auto snap = proc_->TakeShadowSnapshot(true);
  const uint32_t id = Rows()["sneakers/nike"].id;
  const auto& samples = snap.samples[id * kShadowChangeCount + kRemoved];
  ASSERT_EQ(samples.size(), kShadowSamplesPerChange);
  EXPECT_EQ(samples[0].id, "long");  // newest first
  EXPECT_EQ(samples[1].id, "24");
  EXPECT_EQ(samples[9].id, "16");
  EXPECT_EQ(samples[0].text.size(), 8 + 272 * 2u);  // "air max " + 272 é = 280 characters
  EXPECT_EQ(samples[0].fired, "term \"air max\"");
}

TEST_F(ShadowTest, ASwapResetsTheChangesAndKeepsTheCandidateWindowsOfBrandsThatStay) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: reebok
    terms: [reebok]
)");
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now), Ev("2", "twitter", "reebok air max", now)});
  auto rows = Rows();
  EXPECT_EQ(rows["sneakers/nike"].candidate_window, 1u);
  EXPECT_EQ(rows["sneakers/nike"].removed_window, 1u);
  EXPECT_EQ(rows["sneakers/reebok"].candidate_window, 1u);
  // The next candidate drops reebok.
  proc_->SetShadowRules(Compile(R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
)"));
  Feed({Ev("3", "twitter", "nike", now)});
  rows = Rows();
  EXPECT_EQ(rows.count("sneakers/reebok"), 0u);
  EXPECT_EQ(rows["sneakers/nike"].candidate_window, 2u);  // kept across the swap
  EXPECT_EQ(rows["sneakers/nike"].removed_window, 0u);    // describes the new pair only
  EXPECT_EQ(rows["sneakers/nike"].removed_total, 1u);     // counters are monotonic
  auto snap = proc_->TakeShadowSnapshot(true);
  EXPECT_TRUE(snap.samples[rows["sneakers/nike"].id * kShadowChangeCount + kRemoved].empty());
  // No candidate at all (the reloader never hands over a broken one, but
  // null is valid): the shadow stops counting; live goes on.
  proc_->SetShadowRules(nullptr);
  Feed({Ev("4", "twitter", "nike", now)});
  snap = proc_->TakeShadowSnapshot(true);
  EXPECT_FALSE(snap.loaded);
  rows = Rows();
  EXPECT_EQ(rows["sneakers/nike"].live_total, 4u);
  EXPECT_EQ(rows["sneakers/nike"].candidate_total, 0u);
}

TEST_F(ShadowTest, ShadowSeriesAreCappedApartFromTheLiveOnes) {
  config_.limits.max_series = 3;
  Start(kLive, R"(category: other
brands:
  - name: a
    terms: [nike]
  - name: b
    terms: [adidas]
  - name: c
    terms: [puma]
)");
  FeedMix();
  // Live: nike on 2 platforms, adidas, puma = 4 series > 3: one dropped as before.
  EXPECT_EQ(Operational("earshot_series_overflow_total"), 1);
  // Shadow: candidate, added and removed series and sample rings, in the
  // order they appear, capped at 3 apart from the live ones.
  EXPECT_GT(Operational("earshot_shadow_series_overflow_total"), 0);
  const std::string text = ShadowText();
  size_t lines = 0;
  for (const char* name : {"earshot_shadow_mentions_total{", "earshot_shadow_changed_total{"}) {
    for (size_t p = text.find(name); p != std::string::npos; p = text.find(name, p + 1)) ++lines;
  }
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 3u);
}

TEST_F(ShadowTest, ExpositionHasTheLiveLabelSets) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: adidas
    terms: [adidas]
)");
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now), Ev("2", "twitter", "adidas air max", now),
        Ev("3", "instagram", "nike", now)});
  const std::string text = ShadowText();
  for (const char* line : {
           "earshot_shadow_mentions_total{category=\"sneakers\",brand=\"nike\",platform=\"twitter\"} 1\n",
           "earshot_shadow_mentions_total{category=\"sneakers\",brand=\"nike\",platform=\"instagram\"} 1\n",
           "earshot_shadow_window_mentions{window=\"5m\",category=\"sneakers\",brand=\"adidas\",platform=\"instagram\"} 0\n",
           "earshot_shadow_window_mentions{window=\"1h\",category=\"sneakers\",brand=\"nike\",platform=\"twitter\"} 1\n",
           "earshot_shadow_share_of_voice_ratio{window=\"5m\",category=\"sneakers\",brand=\"nike\",platform=\"twitter\",basis=\"mentions\"} 0.5\n",
           "earshot_shadow_share_of_voice_ratio{window=\"5m\",category=\"sneakers\",brand=\"nike\",platform=\"all\",basis=\"mentions\"} 0.6666666666666666\n",
           "earshot_shadow_changed_total{category=\"sneakers\",brand=\"nike\",platform=\"twitter\",change=\"removed\"} 1\n",
           "# TYPE earshot_shadow_changed_total counter\n",
           "# TYPE earshot_shadow_window_mentions gauge\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
  // Puma left the candidate and never changed: no shadow series of it.
  EXPECT_EQ(text.find("brand=\"puma\""), std::string::npos);
}

TEST_F(ShadowTest, JsonHasBothSidesAndValidatesTheWindow) {
  Start(kLive, R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: adidas
    terms: [adidas]
)");
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now), Ev("2", "twitter", "air \\\"max\\\"\\n2", now),
        Ev("3", "instagram", "puma", now)});
  EXPECT_FALSE(proc_->ShadowJson("2h").ok());
  auto body = proc_->ShadowJson("1h");
  ASSERT_TRUE(body.ok()) << body.message();
  rapidjson::Document doc;
  doc.Parse(body->c_str());
  ASSERT_FALSE(doc.HasParseError()) << *body;
  EXPECT_STREQ(doc["window"].GetString(), "1h");
  EXPECT_TRUE(doc["loaded"].GetBool());
  const auto& cats = doc["categories"];
  ASSERT_EQ(cats.Size(), 1u);
  EXPECT_EQ(cats[0]["live_total"].GetUint64(), 3u);
  EXPECT_EQ(cats[0]["candidate_total"].GetUint64(), 1u);
  std::map<std::string, const rapidjson::Value*> brands;
  for (const auto& b : cats[0]["brands"].GetArray()) brands[b["brand"].GetString()] = &b;
  ASSERT_EQ(brands.size(), 3u);  // nike, adidas, puma (live only)
  const auto& nike = *brands["nike"];
  EXPECT_EQ(nike["live"].GetUint64(), 2u);
  EXPECT_EQ(nike["candidate"].GetUint64(), 1u);
  EXPECT_DOUBLE_EQ(nike["live_share"].GetDouble(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(nike["candidate_share"].GetDouble(), 1.0);
  EXPECT_EQ(nike["removed"].GetUint64(), 1u);
  const auto& removed = nike["samples"]["removed"];
  ASSERT_EQ(removed.Size(), 1u);
  EXPECT_STREQ(removed[0]["id"].GetString(), "2");
  EXPECT_STREQ(removed[0]["platform"].GetString(), "twitter");
  EXPECT_STREQ(removed[0]["text"].GetString(), "air \"max\"\n2");
  EXPECT_STREQ(removed[0]["time"].GetString(), "2026-01-01T02:00:00.000Z");
  EXPECT_STREQ(removed[0]["fired"].GetString(), "term \"air max\"");
  const auto& puma = *brands["puma"];
  EXPECT_TRUE(puma["in_live"].GetBool());
  EXPECT_FALSE(puma["in_candidate"].GetBool());
  EXPECT_TRUE(puma["candidate_share"].IsNull());
  EXPECT_EQ(puma["removed"].GetUint64(), 1u);
}

TEST(ShadowConfigTest, ParsesAndValidatesTheSection) {
  Config c;
  Diagnostics d;
  ASSERT_TRUE(ParseConfig("shadow: {paths: [cand/, more.yaml], reload: signal}\n",
                          "/etc/earshot/earshot.yaml", &c, &d))
      << d.ToString();
  EXPECT_EQ(c.shadow.paths,
            (std::vector<std::string>{"/etc/earshot/cand/", "/etc/earshot/more.yaml"}));
  EXPECT_EQ(c.shadow.reload, RulesConfig::Reload::kSignal);
  Config none;
  ASSERT_TRUE(ParseConfig("rules: {paths: [r/]}\n", "e.yaml", &none, &d));
  EXPECT_TRUE(none.shadow.paths.empty());  // the default: no candidate

  const std::pair<const char*, const char*> bad[] = {
      {"shadow: {reload: watch}\n", "e.yaml:1:9: shadow.paths: at least one candidate"},
      {"shadow: {paths: [c/], reload: sometimes}\n", "e.yaml:1:31: shadow.reload: unknown mode"},
      {"shadow: {paths: [c/], relaod: off}\n", "e.yaml:1:23: unknown key \"relaod\" (did you mean \"reload\"?)"},
      {"shadow: c/\n", "e.yaml:1:9: shadow: expected a mapping"},
  };
  for (const auto& [yaml, want] : bad) {
    Config cfg;
    Diagnostics diags;
    EXPECT_FALSE(ParseConfig(yaml, "e.yaml", &cfg, &diags)) << yaml;
    EXPECT_NE(diags.ToString().find(want), std::string::npos) << yaml << " -> " << diags.ToString();
  }
}

TEST(ShadowReloaderTest, AFailedCandidateIsReportedAndThePreviousOneStays) {
  fs::path dir = TempDir("reloader");
  std::ofstream(dir / "c.yaml") << "category: c\nbrands:\n  - name: a\n    terms: [a]\n";
  auto registry = std::make_shared<prometheus::Registry>();
  FakeClock clock(kT0);
  std::vector<std::shared_ptr<const rules::RuleSet>> handed;
  std::string log;
  RuleReloader r({dir.string()}, rules::CompileOptions{},
                 [&](std::shared_ptr<const rules::RuleSet> rs) { handed.push_back(rs); },
                 registry, &clock, [&](LogLevel, const std::string& m) { log += m + "\n"; },
                 RuleReloaderNames::Shadow());
  ASSERT_TRUE(r.Reload());
  std::ofstream(dir / "c.yaml") << "category: c\nbrands:\n  - name: a\n    term: [a]\n";
  Diagnostics diags;
  EXPECT_FALSE(r.Reload(&diags));
  EXPECT_EQ(handed.size(), 1u);  // nothing handed over: the previous candidate stays
  EXPECT_NE(diags.ToString().find("c.yaml:4:5: unknown key \"term\""), std::string::npos)
      << diags.ToString();
  EXPECT_NE(log.find("shadow rules: reload failed"), std::string::npos) << log;
  std::map<std::string, double> m = RegistryValues(*registry);
  EXPECT_EQ(m["earshot_shadow_last_reload_successful"], 0);
  EXPECT_EQ(m["earshot_shadow_reload_total|failure"], 1);
  EXPECT_EQ(m["earshot_shadow_rules_loaded|brand"], 1);
  EXPECT_EQ(m.count("earshot_rules_loaded|brand"), 0u);  // the live names stay the live set's
  fs::remove_all(dir);
}

}  // namespace
}  // namespace earshot
