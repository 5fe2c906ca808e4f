// The processor end to end on in-memory records: outcomes, windows, late and
// future events, dedupe, rebuild records, partitions and rule swaps.
#include "pipeline/processor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "rules/loader.h"

namespace earshot {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

std::shared_ptr<const rules::RuleSet> Compile(const std::string& yaml) {
  fs::path dir = fs::temp_directory_path() / ("earshot_proc_" + std::to_string(::getpid()));
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

const char* kRules = R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: adidas
    terms: [adidas]
topics:
  - name: pricing
    terms: [price]
)";

std::string Ev(const std::string& id, const std::string& platform, const std::string& text,
               int64_t created_ms, int followers = 0) {
  return R"({"id":")" + id + R"(","platform":")" + platform + R"(","text":")" + text +
         R"(","created_at":)" + std::to_string(created_ms) + R"(,"author":{"followers":)" +
         std::to_string(followers) + "}}";
}

class ProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.windows = {{"5m", 5 * kMin, kMin}, {"1h", 60 * kMin, 10 * kMin}};
    config_.platforms = {"twitter", "instagram"};
    clock_.Set(kT0 + 120 * kMin);
    Recreate();
  }

  void Feed(const std::vector<std::string>& payloads, bool rebuild = false, int32_t partition = 0) {
    storage_.push_back(payloads);
    std::vector<Record> batch;
    for (const auto& p : storage_.back()) {
      Record r;
      r.payload = p;
      r.partition = partition;
      r.topic = "t";
      r.rebuild = rebuild;
      batch.push_back(r);
    }
    proc_->ProcessBatch("file", batch);
  }

  // A new processor (and registry) for config_, with kRules.
  void Recreate() {
    registry_ = std::make_shared<prometheus::Registry>();
    auto p = Processor::Create(config_, &clock_, registry_, nullptr);
    ASSERT_TRUE(p.ok()) << p.message();
    proc_ = std::move(p).value();
    proc_->SetRules(Compile(kRules));
  }
  // The value of the unlabelled operational metric `name` (-1: none).
  double Operational(const std::string& name) {
    for (const auto& f : registry_->Collect()) {
      if (f.name != name || f.metric.empty()) continue;
      return f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                       : f.metric[0].gauge.value;
    }
    return -1;
  }

  // name{labels} -> value, from CollectResults.
  std::map<std::string, double> Results() {
    std::map<std::string, double> out;
    for (const auto& f : proc_->CollectResults()) {
      for (const auto& m : f.metric) {
        std::string key = f.name + "{";
        for (const auto& l : m.label) key += l.name + "=" + l.value + ",";
        key += "}";
        out[key] = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
      }
    }
    return out;
  }

  Config config_;
  FakeClock clock_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Processor> proc_;
  std::vector<std::vector<std::string>> storage_;
};

TEST_F(ProcessorTest, EveryEventHasExactlyOneOutcome) {
  int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now - kMin), Ev("1", "twitter", "nike again", now - kMin),
        Ev("2", "twitter", "nothing", now - kMin), Ev("3", "twitter", "nike", now - 3 * 60 * kMin),
        "{bad json", Ev("4", "twitter", "nike", now + 10 * kMin),
        Ev("5", "x", "price only", now - kMin)});
  EXPECT_EQ(proc_->outcome_count(Outcome::kMatched), 2u);
  EXPECT_EQ(proc_->outcome_count(Outcome::kDuplicate), 1u);
  EXPECT_EQ(proc_->outcome_count(Outcome::kUnmatched), 1u);
  EXPECT_EQ(proc_->outcome_count(Outcome::kLate), 1u);
  EXPECT_EQ(proc_->outcome_count(Outcome::kInvalid), 2u);  // syntax + future
  auto r = Results();
  // The late event counts in totals but in no window.
  EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=twitter,}"]), 2);
  EXPECT_EQ((r["earshot_window_mentions{window=1h,category=sneakers,brand=nike,platform=twitter,}"]), 1);
  EXPECT_EQ((r["earshot_topic_mentions_total{topic=pricing,category=none,brand=none,platform=twitter,}"]), 1);
}

// Counts may each be up to 2^64-1 (docs/formats.md). A counter saturates
// there instead of wrapping round to a small number, and so does one post's
// engagement (likes + shares + comments).
TEST_F(ProcessorTest, TotalsSaturateInsteadOfWrapping) {
  const std::string now = std::to_string(clock_.NowMillis());
  const std::string max = "18446744073709551615";
  auto ev = [&](const std::string& id, const std::string& fields) {
    return R"({"id":")" + id + R"(","platform":"twitter","text":"nike","created_at":)" + now +
           "," + fields + "}";
  };
  Feed({ev("1", R"("author":{"followers":)" + max + R"(},"engagement":{"likes":)" + max +
                    R"(,"shares":1})"),
        ev("2", R"("author":{"followers":)" + max + "}"),
        ev("3", R"("author":{"followers":5})")});
  EXPECT_EQ(proc_->outcome_count(Outcome::kMatched), 3u);
  auto r = Results();
  const double kMax = 18446744073709551615.0;
  EXPECT_EQ((r["earshot_reach_total{category=sneakers,brand=nike,platform=twitter,}"]), kMax);
  EXPECT_EQ((r["earshot_engagement_total{category=sneakers,brand=nike,platform=twitter,}"]), kMax);
  EXPECT_EQ(
      (r["earshot_window_engagement{window=5m,category=sneakers,brand=nike,platform=twitter,}"]),
      kMax);
  // A window's sum stops there too (it wrapped round to 4), and once the
  // events that passed 2^64 have left the window it is exact again.
  EXPECT_EQ((r["earshot_window_reach{window=5m,category=sneakers,brand=nike,platform=twitter,}"]),
            kMax);
  EXPECT_EQ((r["earshot_window_reach{window=1h,category=sneakers,brand=nike,platform=twitter,}"]),
            kMax);
  clock_.Set(clock_.NowMillis() + 30 * kMin);
  Feed({R"({"id":"4","platform":"twitter","text":"nike","created_at":)" +
        std::to_string(clock_.NowMillis()) + R"(,"author":{"followers":7}})"});
  r = Results();
  EXPECT_EQ((r["earshot_window_reach{window=5m,category=sneakers,brand=nike,platform=twitter,}"]),
            7);
  EXPECT_EQ((r["earshot_window_reach{window=1h,category=sneakers,brand=nike,platform=twitter,}"]),
            kMax);
  clock_.Set(clock_.NowMillis() + 45 * kMin);  // the first three leave the hour
  Feed({R"({"id":"5","platform":"twitter","text":"nike","created_at":)" +
        std::to_string(clock_.NowMillis()) + R"(,"author":{"followers":1}})"});
  r = Results();
  EXPECT_EQ((r["earshot_window_reach{window=1h,category=sneakers,brand=nike,platform=twitter,}"]),
            8);
}

TEST_F(ProcessorTest, ShareOfVoiceIncludesAllAndIsAbsentWithoutData) {
  int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now, 10), Ev("2", "twitter", "nike", now, 30),
        Ev("3", "twitter", "adidas", now, 60), Ev("4", "instagram", "adidas", now, 0)});
  auto r = Results();
  auto ratio = [&](const std::string& w, const std::string& b, const std::string& p,
                   const std::string& basis) {
    std::string k = "earshot_share_of_voice_ratio{window=" + w + ",category=sneakers,brand=" + b +
                    ",platform=" + p + ",basis=" + basis + ",}";
    return r.count(k) ? r[k] : -1.0;
  };
  EXPECT_DOUBLE_EQ(ratio("5m", "nike", "twitter", "mentions"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(ratio("5m", "adidas", "instagram", "mentions"), 1.0);
  EXPECT_DOUBLE_EQ(ratio("5m", "nike", "instagram", "mentions"), 0.0);
  EXPECT_DOUBLE_EQ(ratio("5m", "nike", "all", "mentions"), 0.5);
  EXPECT_DOUBLE_EQ(ratio("5m", "nike", "twitter", "reach"), 0.4);
  EXPECT_DOUBLE_EQ(ratio("5m", "adidas", "all", "reach"), 0.6);
  EXPECT_EQ(ratio("5m", "nike", "all", "views"), -1.0);  // category sum 0: absent
  // Five minutes later the 5m window is empty: ratios absent, 1h still there.
  clock_.Advance(6 * kMin);
  r = Results();
  EXPECT_EQ(ratio("5m", "nike", "all", "mentions"), -1.0);
  EXPECT_DOUBLE_EQ(ratio("1h", "nike", "all", "mentions"), 0.5);
}

TEST_F(ProcessorTest, RebuildRecordsFeedWindowsOnly) {
  int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now - kMin)}, /*rebuild=*/true);
  Feed({Ev("1", "twitter", "nike", now - kMin), Ev("2", "twitter", "nike", now - kMin)});
  auto r = Results();
  EXPECT_EQ(proc_->outcome_count(Outcome::kDuplicate), 1u);
  EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=twitter,}"]), 1);
  EXPECT_EQ((r["earshot_window_mentions{window=5m,category=sneakers,brand=nike,platform=twitter,}"]), 2);
}

TEST_F(ProcessorTest, RevokingAPartitionDropsItsWindowsButNotTotals) {
  int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now)}, false, 0);
  Feed({Ev("2", "twitter", "nike", now)}, false, 1);
  proc_->OnRevoked({PartitionKey{"t", 1}});
  auto r = Results();
  EXPECT_EQ((r["earshot_window_mentions{window=5m,category=sneakers,brand=nike,platform=twitter,}"]), 1);
  EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=twitter,}"]), 2);
}

TEST_F(ProcessorTest, ReloadKeepsWindowsOfBrandsThatStayAndDropsRemovedOnes) {
  int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike adidas", now)});
  proc_->SetRules(Compile(R"(category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: puma
    terms: [puma]
)"));
  Feed({Ev("2", "twitter", "puma", now)});
  auto r = Results();
  EXPECT_EQ((r["earshot_window_mentions{window=5m,category=sneakers,brand=nike,platform=twitter,}"]), 1);
  EXPECT_EQ((r["earshot_window_mentions{window=5m,category=sneakers,brand=puma,platform=twitter,}"]), 1);
  EXPECT_EQ(r.count("earshot_window_mentions{window=5m,category=sneakers,brand=adidas,platform=twitter,}"), 0u);
  EXPECT_DOUBLE_EQ((r["earshot_share_of_voice_ratio{window=5m,category=sneakers,brand=nike,platform=all,basis=mentions,}"]), 0.5);
}

TEST_F(ProcessorTest, UnknownPlatformsBecomeOther) {
  Feed({Ev("1", "mastodon", "nike", clock_.NowMillis())});
  auto r = Results();
  EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=other,}"]), 1);
}

TEST_F(ProcessorTest, ConfiguredPlatformsOfEveryLengthAreTheirOwn) {
  const std::string long_name(40, 'p');  // longer than the by-length index
  config_.platforms = {"x1", "twitter", "tumblr", "tiktok", long_name, long_name + "q"};
  ASSERT_NO_FATAL_FAILURE(Recreate());
  const int64_t now = clock_.NowMillis();
  Feed({Ev("1", "tiktok", "nike", now), Ev("2", long_name + "q", "nike", now),
        Ev("3", long_name, "nike", now), Ev("4", "tumblr", "nike", now), Ev("5", "tiktoc", "nike", now),
        Ev("6", long_name + "r", "nike", now), Ev("7", "x1", "nike", now)});
  auto r = Results();
  for (const std::string& name : {std::string("tiktok"), long_name + "q", long_name,
                                  std::string("tumblr"), std::string("x1")}) {
    EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=" + name + ",}"]), 1)
        << name;
  }
  EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=other,}"]), 2);
}

TEST_F(ProcessorTest, EventClockUsesTheLargestEventTime) {
  config_.clock = ClockMode::kEvent;
  ASSERT_NO_FATAL_FAILURE(Recreate());
  Feed({Ev("1", "twitter", "nike", kT0), Ev("2", "twitter", "nike", kT0 + 30 * kMin),
        Ev("3", "twitter", "nike", kT0 + 2 * kMin)});
  EXPECT_EQ(proc_->NowMillis(), kT0 + 30 * kMin);
  auto r = Results();
  EXPECT_EQ((r["earshot_window_mentions{window=5m,category=sneakers,brand=nike,platform=twitter,}"]), 1);
  EXPECT_EQ((r["earshot_window_mentions{window=1h,category=sneakers,brand=nike,platform=twitter,}"]), 3);
}

// One event in 16 is timed, starting with the first, whatever its outcome:
// _count is the events seen rounded up to a multiple of 16
// (docs/metrics.md). It fell behind when a timed slot was an invalid or
// duplicate event.
TEST_F(ProcessorTest, ProcessingTimeCountKeepsUpWithEveryOutcome) {
  auto count = [&] {
    for (const auto& f : registry_->Collect()) {
      if (f.name == "earshot_event_processing_seconds" && !f.metric.empty()) {
        return static_cast<int64_t>(f.metric[0].histogram.sample_count);
      }
    }
    return int64_t{-1};
  };
  const int64_t now = clock_.NowMillis();
  std::vector<std::string> input = {"junk"};
  for (int i = 0; i < 15; ++i) input.push_back(Ev(std::to_string(i), "twitter", "nike", now));
  Feed(input);
  EXPECT_EQ(count(), 16);
  Feed({"junk"});  // the 17th
  EXPECT_EQ(count(), 32);
  ASSERT_NO_FATAL_FAILURE(Recreate());
  Feed(std::vector<std::string>(100, Ev("same", "twitter", "nike", now)));  // 99 duplicates
  EXPECT_EQ(count(), 112);
  Feed({Ev("r", "twitter", "nike", now)}, /*rebuild=*/true);  // not an event seen
  Feed(std::vector<std::string>(12, Ev("same", "twitter", "nike", now)));  // 112 seen
  EXPECT_EQ(count(), 112);
}

// Two windows of the longest size with different steps start at different
// times: an event is late only when it is older than the earlier start, so
// the outcome does not depend on which one the config lists first.
TEST_F(ProcessorTest, LateCheckDoesNotDependOnTheOrderOfEqualWindows) {
  config_.clock = ClockMode::kEvent;
  const int64_t s = 1000;
  const WindowSpec fine{"a", 60 * s, 10 * s}, coarse{"b", 60 * s, 30 * s};
  for (const bool fine_first : {true, false}) {
    config_.windows = fine_first ? std::vector<WindowSpec>{fine, coarse}
                                 : std::vector<WindowSpec>{coarse, fine};
    ASSERT_NO_FATAL_FAILURE(Recreate());
    SCOPED_TRACE(fine_first ? "a first" : "b first");
    // At T = +95 s, a covers [40 s, 100 s) and b [60 s, 120 s).
    Feed({Ev("1", "twitter", "nike", kT0 + 95 * s), Ev("2", "twitter", "nike", kT0 + 45 * s),
          Ev("3", "twitter", "nike", kT0 + 39 * s)});
    EXPECT_EQ(proc_->outcome_count(Outcome::kMatched), 2u);
    EXPECT_EQ(proc_->outcome_count(Outcome::kLate), 1u);
    auto r = Results();
    EXPECT_EQ(
        (r["earshot_window_mentions{window=a,category=sneakers,brand=nike,platform=twitter,}"]), 2);
    EXPECT_EQ(
        (r["earshot_window_mentions{window=b,category=sneakers,brand=nike,platform=twitter,}"]), 1);
  }
}

// Dedupe follows T event by event, so the outcomes do not depend on how the
// input falls into batches: a copy whose original's bucket has left the
// longest window is a new event, and a late event is remembered in the
// oldest live bucket (docs/windows.md, "Duplicates").
TEST_F(ProcessorTest, DedupeOutcomesDoNotDependOnBatching) {
  config_.clock = ClockMode::kEvent;
  const std::vector<std::string> input = {
      Ev("a", "twitter", "nike", kT0),
      Ev("b", "twitter", "nike", kT0 + 120 * kMin),     // T moves 2 h: a's bucket leaves
      Ev("a", "twitter", "nike", kT0 + 115 * kMin),     // not a copy any more: matched
      Ev("c", "twitter", "nike", kT0 + 10 * kMin),      // late, remembered
      Ev("c", "twitter", "nike", kT0 + 119 * kMin),     // its copy: duplicate
      R"({"id":"d","platform":"twitter","text":"nike"})",  // no created_at: T
  };
  for (const bool one_batch : {true, false}) {
    ASSERT_NO_FATAL_FAILURE(Recreate());
    if (one_batch) {
      Feed(input);
    } else {
      for (const auto& e : input) Feed({e});
    }
    SCOPED_TRACE(one_batch ? "one batch" : "a batch an event");
    EXPECT_EQ(proc_->outcome_count(Outcome::kMatched), 4u);
    EXPECT_EQ(proc_->outcome_count(Outcome::kLate), 1u);
    EXPECT_EQ(proc_->outcome_count(Outcome::kDuplicate), 1u);
    auto r = Results();
    EXPECT_EQ((r["earshot_window_mentions{window=1h,category=sneakers,brand=nike,platform=twitter,}"]), 3);
  }
}

// Under clock: event, an event without created_at takes T, which is 0 before
// any event: the output does not depend on when the replay runs.
TEST_F(ProcessorTest, MissingTimeBeforeAnyEventIsTimeZeroUnderTheEventClock) {
  config_.clock = ClockMode::kEvent;
  ASSERT_NO_FATAL_FAILURE(Recreate());
  Feed({R"({"id":"d","platform":"twitter","text":"nike"})"});
  EXPECT_EQ(proc_->NowMillis(), 0);
  Feed({Ev("e", "twitter", "nike", kT0)});
  auto r = Results();
  EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=twitter,}"]), 2);
  EXPECT_EQ((r["earshot_window_mentions{window=1h,category=sneakers,brand=nike,platform=twitter,}"]), 1);
}

TEST_F(ProcessorTest, ShareOfVoiceJsonValidatesParameters) {
  EXPECT_FALSE(proc_->ShareOfVoiceJson("7m", "", "").ok());
  EXPECT_FALSE(proc_->ShareOfVoiceJson("", "myspace", "").ok());
  EXPECT_FALSE(proc_->ShareOfVoiceJson("", "", "likes").ok());
  Feed({Ev("1", "twitter", "nike", clock_.NowMillis())});
  auto j = proc_->ShareOfVoiceJson("5m", "twitter", "mentions");
  ASSERT_TRUE(j.ok());
  EXPECT_NE(j->find(R"("category":"sneakers","total":1,"leader":"nike")"), std::string::npos) << *j;
  EXPECT_NE(j->find(R"({"brand":"adidas","value":0,"share":0.0})"), std::string::npos) << *j;
  // The parameters echoed are the values used: an alias is its platform.
  auto x = proc_->ShareOfVoiceJson("5m", "X", "");
  ASSERT_TRUE(x.ok());
  EXPECT_NE(x->find(R"("window":"5m","platform":"twitter","basis":"mentions")"), std::string::npos)
      << *x;
  EXPECT_NE(x->find(R"("category":"sneakers","total":1,"leader":"nike")"), std::string::npos) << *x;
}

// The API's values are exact to the unit past 2^53, and stop at 2^64-1 as
// the gauges do (a total past it read 0 beside a leader).
TEST_F(ProcessorTest, ShareOfVoiceJsonValuesAreExactAndStopAtTheMaximum) {
  const int64_t now = clock_.NowMillis();
  auto ev = [&](const char* id, const char* text, const char* followers, const char* views) {
    return std::string(R"({"id":")") + id + R"(","platform":"twitter","text":")" + text +
           R"(","created_at":)" + std::to_string(now) + R"(,"author":{"followers":)" + followers +
           R"(},"engagement":{"views":)" + views + "}}";
  };
  Feed({ev("1", "nike", "9007199254740993", "18446744073709551615"), ev("2", "adidas", "1", "1")});
  auto reach = proc_->ShareOfVoiceJson("5m", "twitter", "reach");
  ASSERT_TRUE(reach.ok());
  EXPECT_NE(reach->find(R"("total":9007199254740994,"leader":"nike")"), std::string::npos)
      << *reach;
  EXPECT_NE(reach->find(R"({"brand":"nike","value":9007199254740993,)"), std::string::npos)
      << *reach;
  auto views = proc_->ShareOfVoiceJson("5m", "twitter", "views");
  ASSERT_TRUE(views.ok());
  EXPECT_NE(views->find(R"("total":18446744073709551615,"leader":"nike","brands":[{"brand":"nike",)"
                        R"("value":18446744073709551615,"share":1.0},{"brand":"adidas","value":1,)"),
            std::string::npos)
      << *views;
}

}  // namespace
}  // namespace earshot

namespace earshot {
namespace {

TEST_F(ProcessorTest, SeriesPastTheCapAreDroppedAndCounted) {
  config_.limits.max_series = 2;
  ASSERT_NO_FATAL_FAILURE(Recreate());
  int64_t now = clock_.NowMillis();
  Feed({Ev("1", "twitter", "nike", now), Ev("2", "instagram", "nike", now),
        Ev("3", "twitter", "adidas", now), Ev("4", "twitter", "nike", now)});
  auto r = Results();
  EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=twitter,}"]), 2);
  EXPECT_EQ((r["earshot_mentions_total{category=sneakers,brand=nike,platform=instagram,}"]), 1);
  EXPECT_EQ(r.count("earshot_mentions_total{category=sneakers,brand=adidas,platform=twitter,}"), 0u);
  EXPECT_EQ(Operational("earshot_series_overflow_total"), 1);
}

}  // namespace
}  // namespace earshot

namespace earshot {
namespace {

TEST_F(ProcessorTest, DedupeEvictionsPastTheCapAreCounted) {
  config_.limits.max_dedupe_entries = 2;
  ASSERT_NO_FATAL_FAILURE(Recreate());
  int64_t now = clock_.NowMillis();
  // Three 15-minute dedupe buckets (the 1h window's step is 10m here).
  Feed({Ev("1", "twitter", "nike", now - 40 * kMin), Ev("2", "twitter", "nike", now - 20 * kMin),
        Ev("3", "twitter", "nike", now)});
  EXPECT_EQ(Operational("earshot_dedupe_evictions_total"), 1);
  EXPECT_EQ(Operational("earshot_dedupe_entries"), 2);
  // The evicted id is no longer a duplicate: the horizon shrank, visibly.
  Feed({Ev("1", "twitter", "nike", now - 40 * kMin)});
  EXPECT_EQ(proc_->outcome_count(Outcome::kDuplicate), 0u);
}

// limits.max_dedupe_entries bounds the process: partitions share it.
TEST_F(ProcessorTest, DedupeCapIsSharedByThePartitions) {
  config_.limits.max_dedupe_entries = 40;
  ASSERT_NO_FATAL_FAILURE(Recreate());
  const int64_t now = clock_.NowMillis();
  auto entries = [&] { return Operational("earshot_dedupe_entries"); };
  // Four partitions, 30 ids each in six buckets (ten-minute steps here).
  for (int32_t part = 0; part < 4; ++part) {
    std::vector<std::string> evs;
    for (int i = 0; i < 30; ++i) {
      evs.push_back(Ev(std::to_string(part) + "-" + std::to_string(i), "twitter", "nike",
                       now - 55 * kMin + i * 2 * kMin));
    }
    Feed(evs, false, part);
  }
  EXPECT_LE(entries(), 40);
  EXPECT_GT(entries(), 20);  // each partition keeps its share
  // Two partitions revoked: the other two may use the whole cap again.
  proc_->OnRevoked({{"t", 2}, {"t", 3}});
  Feed({Ev("0-new", "twitter", "nike", now)}, false, 0);
  EXPECT_LE(entries(), 40);
}

}  // namespace
}  // namespace earshot
