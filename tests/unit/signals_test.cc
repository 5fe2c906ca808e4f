// Signals (pipeline/signals.h, docs/signals.md): the formulas against
// hand-computed values (first pane, empty panes, hysteresis, min_history,
// min_count, stragglers after their pane closed, panes closing together),
// trending hashtags, Space-Saving's guarantees, hashtag extraction, and the
// processor end to end (metrics and /api/v1/signals).
#include "pipeline/signals.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <rapidjson/document.h>

#include "pipeline/processor.h"
#include "rules/loader.h"

namespace earshot {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSec = 1000;
constexpr int64_t kPane = 60 * kSec;

// ASCII word spans (runs of [0-9A-Za-z_]), as the matcher reports them.
rules::WordList AsciiWords(const std::string& t) {
  rules::WordList out;
  for (size_t i = 0; i < t.size();) {
    // Bytes of non-ASCII characters count as word bytes (letters, here).
    auto word = [&](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
             static_cast<unsigned char>(c) >= 0x80;
    };
    if (!word(t[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && word(t[j])) ++j;
    out.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(j)});
    i = j;
  }
  return out;
}

std::vector<std::string> Hashtags(const std::string& text) {
  std::vector<std::string> out;
  ForEachHashtag(text, AsciiWords(text), [&](std::string_view h) { out.emplace_back(h); });
  return out;
}

// ---------------------------------------------------------------------------
// Config

TEST(SignalsConfig, AbsentMeansTheDefaults) {
  Config c;
  Diagnostics d;
  ASSERT_TRUE(ParseConfig("clock: event\n", "earshot.yaml", &c, &d)) << d.ToString();
  const SignalsConfig& s = c.signals;
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.pane_ms, 5 * 60 * kSec);
  EXPECT_EQ(s.delay_ms, 60 * kSec);
  EXPECT_EQ(s.half_life_ms, 6 * 3600 * kSec);
  EXPECT_EQ(s.threshold, 4);
  EXPECT_EQ(s.min_count, 20);
  EXPECT_EQ(s.min_history, 12);
  EXPECT_EQ(s.trending_top, 10);
  EXPECT_EQ(s.trending_capacity, 1000);
  EXPECT_EQ(s.trending_min_count, 5);
}

TEST(SignalsConfig, EveryKey) {
  Config c;
  Diagnostics d;
  ASSERT_TRUE(ParseConfig(R"(signals:
  enabled: true
  pane: 1m
  delay: 30s
  half_life: 2h
  threshold: 3.5
  min_count: 7
  min_history: 4
  trending: {top: 3, capacity: 50, min_count: 2}
)",
                          "earshot.yaml", &c, &d))
      << d.ToString();
  EXPECT_EQ(c.signals.pane_ms, 60 * kSec);
  EXPECT_EQ(c.signals.delay_ms, 30 * kSec);
  EXPECT_EQ(c.signals.half_life_ms, 2 * 3600 * kSec);
  EXPECT_EQ(c.signals.threshold, 3.5);
  EXPECT_EQ(c.signals.min_count, 7);
  EXPECT_EQ(c.signals.min_history, 4);
  EXPECT_EQ(c.signals.trending_top, 3);
  EXPECT_EQ(c.signals.trending_capacity, 50);
  EXPECT_EQ(c.signals.trending_min_count, 2);
  Config off;
  ASSERT_TRUE(ParseConfig("signals: {enabled: false}\n", "earshot.yaml", &off, &d));
  EXPECT_FALSE(off.signals.enabled);
  EXPECT_EQ(off.signals.pane_ms, 5 * 60 * kSec);
}

TEST(SignalsConfig, ErrorsPointAtTheValue) {
  auto errors = [](const std::string& yaml) {
    Config c;
    Diagnostics d;
    EXPECT_FALSE(ParseConfig(yaml, "e.yaml", &c, &d)) << yaml;
    return d.ToString();
  };
  std::string e = errors("signals:\n  pane: 0s\n  delay: -1m\n  half_life: 0m\n");
  EXPECT_NE(e.find("e.yaml:2:9: signals.pane: must be a positive duration"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("e.yaml:3:10:"), std::string::npos) << e;
  EXPECT_NE(e.find("e.yaml:4:14: signals.half_life: must be a positive duration"),
            std::string::npos)
      << e;
  e = errors("signals: {threshold: 0}\n");
  EXPECT_NE(e.find("e.yaml:1:22: signals.threshold: must be a number above 0"),
            std::string::npos)
      << e;
  EXPECT_NE(errors("signals: {threshold: -2}\n").find("signals.threshold"), std::string::npos);
  EXPECT_NE(errors("signals: {threshold: high}\n").find("expected a number"), std::string::npos);
  e = errors("signals:\n  trending: {top: 10, capacity: 5}\n");
  EXPECT_NE(e.find("e.yaml:2:33: signals.trending.capacity: must be at least trending.top"),
            std::string::npos)
      << e;
  e = errors("signals:\n  min_count: -1\n  min_history: x\n  trending: {top: 0}\n");
  EXPECT_NE(e.find("e.yaml:2:14: signals.min_count: must be between 0"), std::string::npos) << e;
  EXPECT_NE(e.find("e.yaml:3:16: signals.min_history: expected an integer"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("signals.trending.top: must be between 1"), std::string::npos) << e;
  e = errors("signals:\n  panes: 5m\n  trending: {capacty: 5}\n");
  EXPECT_NE(e.find("e.yaml:2:3: unknown key \"panes\""), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key \"capacty\""), std::string::npos) << e;
  EXPECT_NE(errors("signals: {enabled: maybe}\n").find("signals.enabled"), std::string::npos);
  EXPECT_NE(errors("signals: [1]\n").find("e.yaml:1:10:"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Formulas

TEST(SignalsFormulas, AlphaFromHalfLife) {
  EXPECT_DOUBLE_EQ(SignalsAlpha(60, 60), 0.5);
  EXPECT_DOUBLE_EQ(SignalsAlpha(5 * 60, 6 * 3600), 1 - std::pow(2.0, -1.0 / 72));
  EXPECT_DOUBLE_EQ(SignalsAlpha(120, 60), 0.75);
}

TEST(SignalsFormulas, ScoreThenUpdate) {
  // a = 1/2. First pane (m = v = 0): z = x / sqrt(1).
  EwStats s;
  EXPECT_DOUBLE_EQ(s.ScoreAndUpdate(4, 0.5), 4.0);
  // d = 4, m = 0 + 2, v = 0.5 * (0 + 0.5 * 16) = 4.
  EXPECT_DOUBLE_EQ(s.m, 2.0);
  EXPECT_DOUBLE_EQ(s.v, 4.0);
  // x = 1: z = (1 - 2) / sqrt(4 + 2 + 1); d = -1, m = 1.5, v = 0.5 * (4 + 0.5) = 2.25.
  EXPECT_DOUBLE_EQ(s.ScoreAndUpdate(1, 0.5), -1 / std::sqrt(7.0));
  EXPECT_DOUBLE_EQ(s.m, 1.5);
  EXPECT_DOUBLE_EQ(s.v, 2.25);
}

TEST(SignalsFormulas, ZeroPanesExactThenClosedForm) {
  const double a = SignalsAlpha(5, 360);  // 5m panes, 6h half-life
  for (int64_t n : {int64_t{1}, int64_t{7}, EwStats::kExactPanes, EwStats::kExactPanes + 1,
                    int64_t{3} * EwStats::kExactPanes}) {
    EwStats fast{40, 90}, slow{40, 90};
    double z = 0, m = 0, slow_z = 0, slow_m = 0;
    fast.ZeroPanes(n, a, &z, &m);
    for (int64_t i = 0; i < n; ++i) {
      slow_m = slow.m;
      slow_z = slow.ScoreAndUpdate(0, a);
    }
    if (n <= EwStats::kExactPanes) {  // pane by pane: the same arithmetic
      EXPECT_EQ(fast.m, slow.m) << n;
      EXPECT_EQ(fast.v, slow.v) << n;
      EXPECT_EQ(z, slow_z) << n;
      EXPECT_EQ(m, slow_m) << n;
    } else {
      EXPECT_NEAR(fast.m, slow.m, 1e-12 * 40) << n;
      EXPECT_NEAR(fast.v, slow.v, 1e-12 * 90) << n;
      EXPECT_NEAR(z, slow_z, 1e-12) << n;
    }
  }
}

// ---------------------------------------------------------------------------
// Hashtags

TEST(SignalsHashtags, DefinitionOnAsciiText) {
  EXPECT_EQ(Hashtags("#nike and #just_do_it2"),
            (std::vector<std::string>{"#nike", "#just_do_it2"}));
  EXPECT_EQ(Hashtags("a#b c"), std::vector<std::string>{});        // after a word character
  EXPECT_EQ(Hashtags("##x (#y)"), (std::vector<std::string>{"#x", "#y"}));
  EXPECT_EQ(Hashtags("# x #"), std::vector<std::string>{});         // no word after '#'
  EXPECT_EQ(Hashtags("#a-b #a#b"), (std::vector<std::string>{"#a", "#a"}));  // maximal runs
  EXPECT_EQ(Hashtags("no tags here"), std::vector<std::string>{});
}

std::shared_ptr<const rules::RuleSet> CompileRules(const std::string& yaml) {
  fs::path dir = fs::temp_directory_path() / ("earshot_signals_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path file = dir / "rules.yaml";
  std::ofstream(file) << yaml;
  rules::RuleSetDef def;
  Diagnostics d;
  EXPECT_TRUE(rules::LoadRuleFiles({file.string()}, &def, &d)) << d.ToString();
  auto rs = rules::RuleSet::Compile(def, rules::CompileOptions{}, &d);
  EXPECT_NE(rs, nullptr) << d.ToString();
  fs::remove_all(dir);
  return rs;
}

TEST(SignalsHashtags, FromTheMatchersNormalizedTextAndWords) {
  auto rs = CompileRules("category: c\nbrands:\n  - {name: b, terms: [x]}\n");
  rules::MatchScratch scratch;
  rules::MatchOutput out;
  auto tags = [&](const std::string& text) {
    rs->Match({text, "twitter", "", "", ""}, &scratch, &out);
    std::vector<std::string> got;
    ForEachHashtag(scratch.normalized, scratch.words,
                   [&](std::string_view h) { got.emplace_back(h); });
    return got;
  };
  // Case folded and NFKC (the fullwidth ＃ and letters become ASCII).
  EXPECT_EQ(tags("Go #NIKE ＃ＡｉｒＭａｘ"), (std::vector<std::string>{"#nike", "#airmax"}));
  // Word characters are Unicode letters, marks, digits and _.
  EXPECT_EQ(tags("#ナイキ、#café_1 #نايكي!"),
            (std::vector<std::string>{"#ナイキ", "#café_1", "#نايكي"}));
  EXPECT_EQ(tags("e#mail #"), std::vector<std::string>{});
}

TEST(SignalsHashtags, CutAtACharacterBoundary) {
  EXPECT_EQ(CutUtf8("#short", 64), "#short");
  const std::string e100 = "#" + std::string(99, 'e');
  EXPECT_EQ(CutUtf8(e100, 64).size(), 64u);
  std::string accents = "#";
  for (int i = 0; i < 40; ++i) accents += "é";  // 2 bytes each: 81 bytes
  EXPECT_EQ(CutUtf8(accents, 64).size(), 63u);  // not into the middle of the 32nd é
  EXPECT_EQ(CutUtf8(accents, 64), accents.substr(0, 63));
}

// ---------------------------------------------------------------------------
// Space-Saving

TEST(SpaceSaving, ExactUnderCapacity) {
  SpaceSaving ss(50);
  std::map<uint64_t, uint64_t> truth;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t key = rng() % 50;  // never more distinct keys than the capacity
    ss.Add(key, "#k" + std::to_string(key));
    ++truth[key];
  }
  EXPECT_EQ(ss.size(), truth.size());
  for (const auto& [key, n] : truth) {
    const auto e = ss.Find(key);
    ASSERT_TRUE(e.has_value()) << key;
    EXPECT_EQ(e->count, n);
    EXPECT_EQ(e->error, 0u);
    EXPECT_EQ(e->label, "#k" + std::to_string(key));
  }
}

TEST(SpaceSaving, ErrorBoundsAboveCapacity) {
  const size_t k = 64;
  SpaceSaving ss(k);
  std::map<uint64_t, uint64_t> truth;
  std::mt19937_64 rng(11);
  // Zipf-like: a few heavy keys over a long tail of 5,000.
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    const uint64_t key = static_cast<uint64_t>(std::pow(5000.0, u * u * u));
    ss.Add(key, "#k");
    ++truth[key];
  }
  ASSERT_GT(truth.size(), k);
  EXPECT_EQ(ss.size(), k);
  EXPECT_EQ(ss.total(), static_cast<uint64_t>(n));
  uint64_t sum = 0;
  ss.ForEach([&](const SpaceSaving::Item& e) {
    sum += e.count;
    const uint64_t t = truth[e.key];
    EXPECT_LE(t, e.count) << e.key;                // never under
    EXPECT_LE(e.count - e.error, t) << e.key;      // count - error is a lower bound
    EXPECT_LE(e.error, static_cast<uint64_t>(n) / k) << e.key;
  });
  EXPECT_EQ(sum, static_cast<uint64_t>(n));  // the counts always sum to N
  for (const auto& [key, t] : truth) {
    if (t > static_cast<uint64_t>(n) / k) {
      EXPECT_TRUE(ss.Find(key).has_value()) << key << " " << t;
    }
  }
}

TEST(SpaceSaving, ResetKeepsWorking) {
  SpaceSaving ss(3);
  for (uint64_t key : {1, 2, 3, 4, 4, 5, 1}) ss.Add(key, "x");
  ss.Reset(3);
  EXPECT_TRUE(ss.empty());
  EXPECT_FALSE(ss.Find(4).has_value());
  for (uint64_t key : {9, 9, 8}) ss.Add(key, "y");
  EXPECT_EQ(ss.Find(9)->count, 2u);
  EXPECT_EQ(ss.Find(8)->count, 1u);
  EXPECT_EQ(ss.size(), 2u);
}

// ---------------------------------------------------------------------------
// Signals: panes, series, hysteresis

// Platforms twitter (0), instagram (1), other (2); "all" is 3. Brands:
// 0 sneakers/nike, 1 sneakers/adidas, 2 cola/coke.
class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 1-minute panes closed 10 s after their end; a = 1/2.
    config_.pane_ms = kPane;
    config_.delay_ms = 10 * kSec;
    config_.half_life_ms = kPane;
    config_.threshold = 2;
    config_.min_count = 3;
    config_.min_history = 2;
    config_.trending_top = 3;
    config_.trending_capacity = 100;
    config_.trending_min_count = 2;
    Make();
  }
  void Make() {
    part_.reset();
    part2_.reset();
    sig_ = std::make_unique<Signals>(config_,
                                     std::vector<std::string>{"twitter", "instagram", "other"});
    sig_->SetBrands({0, 1, 2}, names_);
    part_ = sig_->NewPartition();
  }
  // An event at `at` seconds with T at `now` seconds (T advanced first, as
  // the processor does).
  void Event(double now, double at, std::vector<uint32_t> brands, uint32_t platform = 0,
             const std::string& text = "", const std::string& id = "id",
             Signals::Partition* part = nullptr) {
    const int64_t t = static_cast<int64_t>(now * kSec);
    if (sig_->Due(t)) sig_->Advance(t);
    scratch_.normalized = text;
    scratch_.words = AsciiWords(text);
    sig_->Add(part != nullptr ? part : part_.get(), t, static_cast<int64_t>(at * kSec), platform,
              brands.data(), brands.size(), id, scratch_);
  }
  // n events of nike on twitter at `at` seconds (T = at, the event clock).
  void Nike(int n, double at, uint32_t platform = 0) {
    for (int i = 0; i < n; ++i) Event(at, at, {0}, platform);
  }
  void AdvanceTo(double now) {
    const int64_t t = static_cast<int64_t>(now * kSec);
    if (sig_->Due(t)) sig_->Advance(t);
  }
  const SpikeGauge* Gauge(uint32_t brand, uint32_t platform) const {
    for (const auto& g : *sig_->gauges())
      if (g.brand == brand && g.platform == platform) return &g;
    return nullptr;
  }

  SignalsConfig config_;
  std::vector<std::pair<std::string, std::string>> names_ = {
      {"sneakers", "nike"}, {"sneakers", "adidas"}, {"cola", "coke"}};
  std::unique_ptr<Signals> sig_;  // before the partitions: it outlives them
  Signals::PartitionPtr part_, part2_;
  rules::MatchScratch scratch_;
};

TEST_F(SignalsTest, NothingBeforeTheFirstPaneCloses) {
  Nike(4, 1);
  AdvanceTo(69.999);
  EXPECT_TRUE(sig_->gauges()->empty());
  EXPECT_FALSE(sig_->view()->closed);
  EXPECT_EQ(SignalsViewJson(*sig_->view()),
            R"({"pane_start":null,"spikes":[],"trending":[{"category":"cola","hashtags":[]},)"
            R"({"category":"sneakers","hashtags":[]}]})");
}

TEST_F(SignalsTest, FirstPaneEmptyPanesBurstAndHysteresis) {
  // Pane 0 [0, 60 s): nike 4 on twitter. It closes at T = 70 s.
  for (int i = 1; i <= 4; ++i) Nike(1, i);
  Nike(1, 75);  // T = 75 s: pane 0 closes first; this event is pane 1's
  // First pane: m = v = 0, z = 4 / sqrt(1) = 4 >= threshold 2 and x >= 3,
  // but no history yet (min_history 2): no spike.
  const SpikeGauge* g = Gauge(0, 0);
  ASSERT_NE(g, nullptr);
  EXPECT_DOUBLE_EQ(g->score, 4.0);
  EXPECT_DOUBLE_EQ(g->baseline, 0.0);
  EXPECT_FALSE(g->active);
  EXPECT_EQ(g->spikes, 0u);
  // "all" is the sum over platforms; instagram and adidas were never seen.
  ASSERT_NE(Gauge(0, 3), nullptr);
  EXPECT_DOUBLE_EQ(Gauge(0, 3)->score, 4.0);
  EXPECT_EQ(Gauge(0, 1), nullptr);
  EXPECT_EQ(Gauge(1, 0), nullptr);
  EXPECT_EQ(sig_->view()->pane_start_ms, 0);

  // T jumps to 250 s: panes 1 (x = 1), 2 and 3 (empty, x = 0) close in order.
  //   pane 1: z = (1 - 2) / sqrt(4 + 2 + 1);         m = 1.5,   v = 2.25
  //   pane 2: z = (0 - 1.5) / sqrt(2.25 + 1.5 + 1);  m = 0.75,  v = 1.6875
  //   pane 3: z = (0 - 0.75) / sqrt(1.6875 + 0.75 + 1); m = 0.375, v = 0.984375
  Nike(1, 250);  // pane 4's first event
  g = Gauge(0, 0);
  EXPECT_DOUBLE_EQ(g->score, -0.75 / std::sqrt(3.4375));
  EXPECT_DOUBLE_EQ(g->baseline, 0.75);
  EXPECT_EQ(sig_->view()->pane_start_ms, 3 * kPane);
  EXPECT_EQ(sig_->next_pane(), 4);

  // Pane 4: a burst of 10. Closed at T = 310 s (by pane 5's first event):
  // z = (10 - 0.375) / sqrt(0.984375 + 0.375 + 1) = 6.27 >= 2, x >= 3, and
  // 4 panes of history >= 2: raised. m = 5.1875, v = 23.65234375.
  Nike(9, 255);
  Nike(1, 310);
  g = Gauge(0, 0);
  EXPECT_DOUBLE_EQ(g->score, 9.625 / std::sqrt(2.359375));
  EXPECT_DOUBLE_EQ(g->baseline, 0.375);
  EXPECT_TRUE(g->active);
  EXPECT_EQ(g->spikes, 1u);
  EXPECT_TRUE(Gauge(0, 3)->active);

  // Pane 5: 12. z = (12 - 5.1875) / sqrt(23.65234375 + 5.1875 + 1) = 1.247:
  // below the threshold but not below half of it, so the spike stays (and
  // is not raised again). m = 8.59375, v = 23.4287109375.
  Nike(11, 315);
  Nike(1, 370);
  g = Gauge(0, 0);
  EXPECT_DOUBLE_EQ(g->score, 6.8125 / std::sqrt(29.83984375));
  EXPECT_TRUE(g->active);
  EXPECT_EQ(g->spikes, 1u);

  // Pane 6: 1 (the event at 370 s). z = (1 - 8.59375) / sqrt(33.0224609375)
  // < 1: cleared.
  AdvanceTo(430);
  g = Gauge(0, 0);
  EXPECT_DOUBLE_EQ(g->score, -7.59375 / std::sqrt(33.0224609375));
  EXPECT_DOUBLE_EQ(g->baseline, 8.59375);
  EXPECT_FALSE(g->active);
  EXPECT_EQ(g->spikes, 1u);
}

TEST_F(SignalsTest, MinHistoryAndMinCountGateTheRaise) {
  config_.min_history = 3;
  config_.min_count = 20;
  Make();
  // History 0, 1, 2 (x = 1, 0, 0), then pane 3: x = 10, z = 10 - m over a
  // small baseline, far above 2 with 3 panes of history, but 10 < min_count.
  Nike(1, 1);
  AdvanceTo(130);  // panes 0 and 1 close
  AdvanceTo(190);  // pane 2
  Nike(10, 190);   // pane 3
  AdvanceTo(250);
  const SpikeGauge* g = Gauge(0, 0);
  EXPECT_GT(g->score, 2.0);
  EXPECT_FALSE(g->active);
  // The same with min_count 10: raised.
  config_.min_count = 10;
  Make();
  Nike(1, 1);
  AdvanceTo(190);
  Nike(10, 190);
  AdvanceTo(250);
  EXPECT_TRUE(Gauge(0, 0)->active);
  // And with only 2 panes of history (min_history 3): not raised.
  Make();
  Nike(1, 61);  // first seen in pane 1
  AdvanceTo(190);
  Nike(10, 190);
  AdvanceTo(250);
  EXPECT_GT(Gauge(0, 0)->score, 2.0);
  EXPECT_FALSE(Gauge(0, 0)->active);
}

TEST_F(SignalsTest, StragglersAfterTheirPaneClosedAreInNoPane) {
  Nike(2, 50);   // pane 0
  Nike(1, 65);   // pane 1, T = 65 s: pane 0 still open until 70 s
  Event(66, 59, {0});  // 7 s late but before the close: counts in pane 0
  Nike(1, 70);   // T = 70 s: pane 0 closes with x = 3
  EXPECT_DOUBLE_EQ(Gauge(0, 0)->score, 3.0);
  Event(71, 59, {0});  // pane 0 is closed: a straggler, in no pane
  Event(71, 10, {0});
  AdvanceTo(130);  // pane 1 closes: x = 2 (65 s and 70 s)
  // z = (2 - 1.5) / sqrt(v + m + 1) with m = 1.5, v = 0.5 * (0 + 0.5 * 9) = 2.25.
  EXPECT_DOUBLE_EQ(Gauge(0, 0)->score, 0.5 / std::sqrt(4.75));
}

TEST_F(SignalsTest, SeriesStartWithTheirFirstPaneAndAllSumsPlatforms) {
  Nike(2, 10, 0);  // twitter
  Nike(3, 20, 1);  // instagram
  Event(65, 65, {1}, 2);  // adidas on "other", pane 1, before pane 0 closes
  AdvanceTo(70);
  EXPECT_DOUBLE_EQ(Gauge(0, 0)->score, 2.0);
  EXPECT_DOUBLE_EQ(Gauge(0, 1)->score, 3.0);
  EXPECT_DOUBLE_EQ(Gauge(0, 3)->score, 5.0);
  // adidas has no counted event in pane 0: not a series yet.
  EXPECT_EQ(Gauge(1, 2), nullptr);
  AdvanceTo(130);
  EXPECT_DOUBLE_EQ(Gauge(1, 2)->score, 1.0);
  EXPECT_DOUBLE_EQ(Gauge(1, 3)->score, 1.0);
  // Gauges: by brand id, then platform, "all" last.
  std::vector<std::pair<uint32_t, uint32_t>> order;
  for (const auto& g : *sig_->gauges()) order.emplace_back(g.brand, g.platform);
  EXPECT_EQ(order, (std::vector<std::pair<uint32_t, uint32_t>>{
                       {0, 0}, {0, 1}, {0, 3}, {1, 2}, {1, 3}}));
}

TEST_F(SignalsTest, LongGapsCloseInBoundedTime) {
  Nike(5, 10);
  // A year later: ~525,000 empty panes, closed in one step.
  const double year = 365.0 * 24 * 3600;
  Nike(1, year);
  const SpikeGauge* g = Gauge(0, 0);
  EXPECT_NEAR(g->baseline, 0.0, 1e-300);
  EXPECT_LE(g->score, 0.0);
  EXPECT_EQ(sig_->next_pane(), static_cast<int64_t>((year * kSec - 10 * kSec) / kPane));
}

TEST_F(SignalsTest, DroppedPartitionTakesItsCountsAlong) {
  part2_ = sig_->NewPartition();
  Nike(2, 10);
  Event(20, 20, {0}, 0, "", "p2", part2_.get());
  Event(21, 21, {0}, 0, "", "p2", part2_.get());
  part2_.reset();  // revoked before pane 0 closed
  // A partition assigned next gets a recycled pane: empty.
  part2_ = sig_->NewPartition();
  Event(22, 22, {0}, 0, "", "p3", part2_.get());
  AdvanceTo(70);
  EXPECT_DOUBLE_EQ(Gauge(0, 0)->score, 3.0);
  part2_.reset();
  // With both partitions the pane is their sum.
  Make();
  part2_ = sig_->NewPartition();
  Nike(2, 10);
  Event(20, 20, {0}, 0, "", "p2", part2_.get());
  AdvanceTo(70);
  EXPECT_DOUBLE_EQ(Gauge(0, 0)->score, 3.0);
}

TEST_F(SignalsTest, RemovedBrandsAreForgotten) {
  Nike(2, 10);
  Event(10, 10, {1});
  AdvanceTo(70);
  ASSERT_NE(Gauge(1, 0), nullptr);
  sig_->SetBrands({0, 2}, names_);  // adidas removed
  EXPECT_EQ(Gauge(1, 0), nullptr);
  EXPECT_NE(Gauge(0, 0), nullptr);
  sig_->SetBrands({0, 1, 2}, names_);  // back: starts over
  EXPECT_EQ(Gauge(1, 0), nullptr);
  Event(75, 75, {1});
  AdvanceTo(130);
  EXPECT_DOUBLE_EQ(Gauge(1, 0)->score, 1.0);
}

TEST_F(SignalsTest, SpikeCauseHashtagsAndSamples) {
  config_.min_history = 0;
  Make();
  // Pane 0: nike 6 on twitter, 2 on instagram; adidas 1 (same category).
  const char* texts[] = {"#airmax drop", "#airmax #nike", "#airmax #sale", "#nike #airmax #airmax",
                         "#sale #zoom", "#airmax", "#zoom #nike", "#airmax"};
  for (int i = 0; i < 8; ++i)
    Event(i + 1, i + 1, {0}, i < 6 ? 0 : 1, texts[i], "e" + std::to_string(i));
  Event(9, 9, {1}, 0, "#other #other", "a0");
  Event(9, 9, {0, 1}, 0, "#both", "both");  // both brands (once for the category)
  AdvanceTo(70);
  const auto view = sig_->view();
  ASSERT_TRUE(view->closed);
  // nike/twitter 7 (z = 7), nike/all 9, adidas/twitter 2 (< min_count 3).
  ASSERT_EQ(view->spikes.size(), 2u);
  const auto& all = view->spikes[0];  // z descending
  EXPECT_EQ(all.platform, "all");
  EXPECT_EQ(all.count, 9u);
  EXPECT_DOUBLE_EQ(all.score, 9.0);
  EXPECT_DOUBLE_EQ(all.baseline, 0.0);
  // nike's events: #airmax 6 (once per event), #nike 3, #sale 2, #zoom 2, #both 1.
  EXPECT_EQ(all.hashtags,
            (std::vector<std::string>{"#airmax", "#nike", "#sale", "#zoom", "#both"}));
  EXPECT_EQ(all.samples, (std::vector<std::string>{"e0", "e1", "e2"}));
  const auto& tw = view->spikes[1];
  EXPECT_EQ(tw.platform, "twitter");
  EXPECT_EQ(tw.count, 7u);
  EXPECT_EQ(tw.samples, (std::vector<std::string>{"e0", "e1", "e2"}));
  // The cause is the brand's hashtags in the pane, on every platform.
  EXPECT_EQ(tw.hashtags, all.hashtags);

  // Trending in sneakers (min_count 2, top 3): x = #airmax 6, #nike 3,
  // #sale 2, #zoom 2, #other 1 (below), #both 1; first pane: z = x.
  ASSERT_EQ(view->trending.size(), 2u);
  EXPECT_EQ(view->trending[0].category, "cola");
  EXPECT_TRUE(view->trending[0].hashtags.empty());
  const auto& tags = view->trending[1].hashtags;
  ASSERT_EQ(tags.size(), 3u);
  EXPECT_EQ(tags[0].hashtag, "#airmax");
  EXPECT_EQ(tags[0].count, 6u);
  EXPECT_DOUBLE_EQ(tags[0].score, 6.0);
  EXPECT_EQ(tags[1].hashtag, "#nike");
  EXPECT_EQ(tags[2].hashtag, "#sale");  // ties with #zoom by z: by hashtag
}

// A post with many hashtags, each written twice: past the first few they
// are told apart by a set instead of a list, and each still counts once per
// event.
TEST_F(SignalsTest, ManyHashtagsInOnePostCountOnceEach) {
  config_.min_history = 0;
  Make();
  std::string text;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 60; ++i) text += "#t" + std::to_string(i) + " ";
    text += "#hot ";
  }
  Event(1, 1, {0}, 0, text, "a");
  Event(2, 2, {0}, 0, text, "b");
  AdvanceTo(70);
  const auto& tags = sig_->view()->trending[1].hashtags;  // sneakers
  ASSERT_EQ(tags.size(), 3u);
  for (const auto& t : tags) EXPECT_EQ(t.count, 2u) << t.hashtag;
  EXPECT_EQ(tags[0].hashtag, "#hot");  // all tie at 2: by hashtag
  EXPECT_EQ(tags[1].hashtag, "#t0");
  EXPECT_EQ(tags[2].hashtag, "#t1");
}

TEST_F(SignalsTest, TrendingScoresAgainstTheirBaselineAndForgetTheSmallest) {
  config_.trending_capacity = 2;
  config_.trending_top = 2;
  config_.trending_min_count = 1;
  Make();
  auto tagged = [&](double at, const std::string& text, int n) {
    for (int i = 0; i < n; ++i) Event(at, at, {0}, 0, text);
  };
  // Pane 0: #a 3, #b 2. z = x; m_a = 1.5, v_a = 2.25; m_b = 1, v_b = 1.
  tagged(1, "#a", 3);
  tagged(2, "#b", 2);
  // Pane 1: #a 3 again, #c 4. #a: z = (3 - 1.5) / sqrt(2.25 + 1.5 + 1);
  // #c new: z = 4; #b (x = 0): m_b = 0.5. Three kept, capacity 2: #b, the
  // smallest m, is forgotten.
  tagged(61, "#a", 3);
  tagged(62, "#c", 4);
  AdvanceTo(130);
  auto tags = sig_->view()->trending[1].hashtags;
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].hashtag, "#c");
  EXPECT_DOUBLE_EQ(tags[0].score, 4.0);
  EXPECT_EQ(tags[1].hashtag, "#a");
  EXPECT_DOUBLE_EQ(tags[1].score, 1.5 / std::sqrt(4.75));
  // Pane 2: #b 2: it starts over from m = v = 0 (z = 2, not (2 - 0.5) / ...).
  tagged(121, "#b", 2);
  AdvanceTo(190);
  tags = sig_->view()->trending[1].hashtags;
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].hashtag, "#b");
  EXPECT_DOUBLE_EQ(tags[0].score, 2.0);
}

// An empty pane is one x = 0 update for every kept hashtag, exactly as for
// a brand's series, whether the empty panes close one at a time or in one
// jump of T: a hashtag that rides along with every nike event scores as
// nike/twitter does.
TEST_F(SignalsTest, EmptyPanesDecayHashtagsOnceAPaneLikeSeries) {
  config_.trending_min_count = 1;
  for (const bool one_at_a_time : {true, false}) {
    Make();
    auto nike_a = [&](double at) { Event(at, at, {0}, 0, "#a"); };
    nike_a(5);  // pane 0: 1
    if (one_at_a_time) {
      AdvanceTo(70);   // pane 0 closes
      AdvanceTo(130);  // pane 1 (empty) closes alone
      AdvanceTo(190);  // and pane 2
    }
    nike_a(245);  // pane 4: 1. With a jump, panes 0 to 3 close here.
    AdvanceTo(310);  // pane 4 closes
    const SpikeGauge* g = Gauge(0, 0);
    ASSERT_NE(g, nullptr);
    // Panes 0..4 with x = 1, 0, 0, 0, 1 and a = 1/2: m = 1/2, 1/4, 1/8,
    // 1/16 before pane 4, v = 1/4, 3/16, 7/64, 15/256.
    const double want = (1 - 0.0625) / std::sqrt(15.0 / 256 + 0.0625 + 1);
    EXPECT_DOUBLE_EQ(g->score, want) << "one at a time: " << one_at_a_time;
    const auto& tags = sig_->view()->trending[1].hashtags;
    ASSERT_EQ(tags.size(), 1u);
    EXPECT_EQ(tags[0].hashtag, "#a");
    EXPECT_DOUBLE_EQ(tags[0].score, want) << "one at a time: " << one_at_a_time;
  }
}

TEST_F(SignalsTest, ApiJson) {
  config_.min_history = 0;
  Make();
  const std::string long_tag = "#" + std::string(70, 'x');
  std::string accents = "#";
  for (int i = 0; i < 40; ++i) accents += "é";  // 81 bytes
  for (int i = 0; i < 4; ++i)
    Event(1, 1, {0}, 0, long_tag + " " + accents, "id\"" + std::to_string(i));
  AdvanceTo(70);
  rapidjson::Document d;
  const std::string json = SignalsViewJson(*sig_->view());
  // Pointer and length: with a NUL-terminated string RapidJSON's SSE2 scan
  // reads aligned blocks past its end (AddressSanitizer reports it).
  ASSERT_FALSE(d.Parse(json.data(), json.size()).HasParseError()) << json;
  EXPECT_EQ(d["pane_start"].GetInt64(), 0);
  ASSERT_EQ(d["spikes"].Size(), 2u);
  const auto& s = d["spikes"][0];
  EXPECT_STREQ(s["category"].GetString(), "sneakers");
  EXPECT_STREQ(s["brand"].GetString(), "nike");
  EXPECT_EQ(s["count"].GetUint64(), 4u);
  EXPECT_EQ(s["baseline"].GetDouble(), 0.0);
  EXPECT_EQ(s["score"].GetDouble(), 4.0);
  // Ties by hashtag (bytewise: 'x' before the lead byte of 'é'); the long
  // one is cut to 64 bytes.
  ASSERT_EQ(s["hashtags"].Size(), 2u);
  EXPECT_EQ(std::string(s["hashtags"][0].GetString()), long_tag.substr(0, 64));
  EXPECT_EQ(std::string(s["hashtags"][1].GetString()), accents.substr(0, 63));
  ASSERT_EQ(s["samples"].Size(), 3u);
  EXPECT_STREQ(s["samples"][0].GetString(), "id\"0");
  const auto& trending = d["trending"];
  ASSERT_EQ(trending.Size(), 2u);
  const auto& tags = trending[1]["hashtags"];
  ASSERT_EQ(tags.Size(), 2u);
  for (const auto& t : tags.GetArray()) {
    EXPECT_LE(std::string(t["hashtag"].GetString()).size(), 64u);
    EXPECT_EQ(t["count"].GetUint64(), 4u);
  }
}

// ---------------------------------------------------------------------------
// The processor end to end: metrics (replay's exposition) and the API.

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

std::string Ev(const std::string& id, const std::string& text, int64_t ms,
               const std::string& platform = "twitter") {
  return R"({"id":")" + id + R"(","platform":")" + platform + R"(","text":")" + text +
         R"(","created_at":)" + std::to_string(ms) + "}";
}

class SignalsProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.windows = {{"1h", 3600 * kSec, 60 * kSec}};
    config_.platforms = {"twitter"};
    config_.clock = ClockMode::kEvent;
    config_.signals.pane_ms = kPane;
    config_.signals.delay_ms = 10 * kSec;
    config_.signals.half_life_ms = kPane;
    config_.signals.threshold = 2;
    config_.signals.min_count = 3;
    config_.signals.min_history = 1;
    clock_.Set(kT0 + 48 * 3600 * kSec);
  }
  void Create() {
    auto p = Processor::Create(config_, &clock_, std::make_shared<prometheus::Registry>(), nullptr);
    ASSERT_TRUE(p.ok()) << p.message();
    proc_ = std::move(p).value();
    proc_->SetRules(CompileRules("category: sneakers\nbrands:\n  - {name: nike, terms: [nike]}\n"));
  }
  void Feed(const std::vector<std::string>& payloads, bool rebuild = false, int32_t partition = 0) {
    storage_.push_back(payloads);
    std::vector<Record> batch;
    for (const auto& p : storage_.back()) {
      Record r;
      r.payload = p;
      r.topic = "t";
      r.partition = partition;
      r.rebuild = rebuild;
      batch.push_back(r);
    }
    proc_->ProcessBatch("file", batch);
  }
  std::map<std::string, double> Spikes() {
    std::map<std::string, double> out;
    for (const auto& f : proc_->CollectResults()) {
      if (f.name.rfind("earshot_spike", 0) != 0) continue;
      for (const auto& m : f.metric) {
        std::string key = f.name + "{";
        for (const auto& l : m.label) key += l.name + "=" + l.value + ",";
        out[key + "}"] =
            f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
      }
    }
    return out;
  }

  Config config_;
  FakeClock clock_;
  std::unique_ptr<Processor> proc_;
  std::vector<std::vector<std::string>> storage_;
};

TEST_F(SignalsProcessorTest, CountsAsTheWindowsDoAndExports) {
  Create();
  // Pane 0: 1 nike (+ a duplicate and an unmatched event, neither counted).
  Feed({Ev("1", "nike", kT0 + 1000), Ev("1", "nike again", kT0 + 2000),
        Ev("2", "nothing", kT0 + 3000)});
  // Pane 1: 5 nike with #nike; T = 65 s closes nothing yet, 70 s closes pane 0.
  std::vector<std::string> burst;
  for (int i = 0; i < 5; ++i)
    burst.push_back(Ev("b" + std::to_string(i), "#nike wow", kT0 + 65000 + i * 1000));
  Feed(burst);
  // A late event (older than the 1h window): in no window, in no pane.
  Feed({Ev("late", "nike", kT0 - 2 * 3600 * kSec)});
  // T = 130 s closes pane 1: x = 5, z = (5 - 0.5) / sqrt(0.25 + 0.5 + 1),
  // history 1: raised.
  Feed({Ev("3", "nike", kT0 + 130000)});
  auto m = Spikes();
  const std::string tw = "{category=sneakers,brand=nike,platform=twitter,}";
  const std::string all = "{category=sneakers,brand=nike,platform=all,}";
  EXPECT_DOUBLE_EQ(m["earshot_spike_score" + tw], 4.5 / std::sqrt(1.75));
  EXPECT_DOUBLE_EQ(m["earshot_spike_baseline" + tw], 0.5);
  EXPECT_EQ(m["earshot_spike_active" + tw], 1);
  EXPECT_EQ(m["earshot_spikes_total" + tw], 1);
  EXPECT_EQ(m["earshot_spike_active" + all], 1);
  EXPECT_EQ(m.count("earshot_spike_score{category=sneakers,brand=nike,platform=other,}"), 0u);

  rapidjson::Document d;
  auto json = proc_->SignalsJson();
  ASSERT_TRUE(json.ok());
  ASSERT_FALSE(d.Parse(json->data(), json->size()).HasParseError());
  EXPECT_EQ(d["pane_start"].GetInt64(), kT0 + kPane);
  ASSERT_EQ(d["spikes"].Size(), 2u);
  EXPECT_EQ(d["spikes"][0]["count"].GetUint64(), 5u);
  EXPECT_STREQ(d["spikes"][0]["hashtags"][0].GetString(), "#nike");
  EXPECT_STREQ(d["spikes"][0]["samples"][0].GetString(), "b0");
  EXPECT_STREQ(d["trending"][0]["hashtags"][0]["hashtag"].GetString(), "#nike");
  EXPECT_EQ(d["trending"][0]["hashtags"][0]["count"].GetUint64(), 5u);

  // The text exposition has the same series, "all" included.
  std::string text;
  StringExpositionSink sink(&text);
  proc_->WriteResultsText(&sink);
  EXPECT_NE(text.find("# TYPE earshot_spikes_total counter\n"), std::string::npos);
  EXPECT_NE(
      text.find("earshot_spike_active{category=\"sneakers\",brand=\"nike\",platform=\"all\"} 1\n"),
      std::string::npos)
      << text;
}

TEST_F(SignalsProcessorTest, RevokedPartitionsTakeTheirOpenPanesAlongAndRebuildsRecount) {
  Create();
  // Pane 0: 2 nike on partition 0, 1 on partition 1.
  const std::vector<std::string> p0 = {Ev("a", "nike", kT0 + 1000), Ev("b", "nike", kT0 + 2000)};
  Feed(p0, false, 0);
  Feed({Ev("c", "nike", kT0 + 3000)}, false, 1);
  // Partition 0 moves away and comes back: its state is rebuilt from the
  // source (rebuild records: windows only, and the open pane).
  proc_->OnRevoked({PartitionKey{"t", 0}});
  proc_->OnAssigned({PartitionKey{"t", 0}});
  Feed(p0, /*rebuild=*/true, 0);
  Feed({Ev("d", "nike", kT0 + 70000)}, false, 1);  // T = 70 s: pane 0 closes with x = 3
  const std::string tw = "{category=sneakers,brand=nike,platform=twitter,}";
  EXPECT_DOUBLE_EQ(Spikes()["earshot_spike_score" + tw], 3.0);
  // Revoked and not rebuilt: partition 1's open pane (1 event) goes with it.
  proc_->OnRevoked({PartitionKey{"t", 1}});
  Feed({Ev("e", "nike", kT0 + 71000), Ev("f", "nike", kT0 + 130000)}, false, 0);
  // Pane 1 had d (partition 1, revoked) and e: x = 1. z = (1 - 1.5) / sqrt(2.25 + 1.5 + 1).
  EXPECT_DOUBLE_EQ(Spikes()["earshot_spike_score" + tw], -0.5 / std::sqrt(4.75));
}

TEST_F(SignalsProcessorTest, OffMeansNoSeriesAndNoApi) {
  config_.signals.enabled = false;
  Create();
  Feed({Ev("1", "nike", kT0 + 1000), Ev("2", "nike", kT0 + 200000)});
  EXPECT_TRUE(Spikes().empty());
  EXPECT_FALSE(proc_->SignalsJson().ok());
}

}  // namespace
}  // namespace earshot
