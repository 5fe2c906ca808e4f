// RuleReloader (pipeline/rule_reloader.h): a good load is handed over
// whole, a broken one keeps the previous set and is counted, and concurrent
// reloads never hand a reader a null or half-made set.
#include "pipeline/rule_reloader.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/registry_values.h"

namespace earshot {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1767268800000;  // 2026-01-01T12:00:00Z

const char* const kRulesV1 = "category: sneakers\nbrands:\n  - name: nike\n    terms: [nike]\n"
                             "  - name: adidas\n    terms: [adidas]\n";
const char* const kRulesV2 = "category: sneakers\nbrands:\n  - name: nike\n    terms: [nike]\n"
                             "  - name: puma\n    terms: [puma, \"puma suede\"]\n"
                             "  - name: reebok\n    terms: [reebok]\n";
const char* const kBroken = "category: sneakers\nbrands:\n  - name: nike\n    term: [nike]\n";

class RuleReloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("earshot_rule_reloader_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "rules");
    registry_ = std::make_shared<prometheus::Registry>();
  }
  void TearDown() override { fs::remove_all(root_); }

  // Replaces the rule file in one rename, as an editor or a ConfigMap does,
  // so that a concurrent load sees the old or the new content, never a part.
  void Write(const std::string& text) {
    fs::path tmp = root_ / ("tmp" + std::to_string(writes_++));
    std::ofstream(tmp) << text;
    fs::rename(tmp, root_ / "rules" / "sneakers.yaml");
  }

  std::unique_ptr<RuleReloader> Make(RuleReloader::Sink sink) {
    return std::make_unique<RuleReloader>(
        std::vector<std::string>{(root_ / "rules").string()}, rules::CompileOptions{},
        std::move(sink), registry_, &clock_,
        [this](LogLevel level, const std::string& m) {
          std::lock_guard<std::mutex> lock(log_mu_);
          const char* name = level == LogLevel::kWarn   ? "warn "
                             : level == LogLevel::kInfo ? "info "
                                                        : "? ";
          log_ += name + m + "\n";
        });
  }

  std::map<std::string, double> Metrics() { return RegistryValues(*registry_); }

  static std::set<std::string> Brands(const rules::RuleSet& rs) {
    std::set<std::string> out;
    for (const auto& b : rs.brands()) out.insert(b.category + "/" + b.name);
    return out;
  }

  fs::path root_;
  int writes_ = 0;
  FakeClock clock_{kT0};
  std::shared_ptr<prometheus::Registry> registry_;
  std::mutex log_mu_;
  std::string log_;
};

TEST_F(RuleReloaderTest, AGoodLoadIsHandedOverAndCounted) {
  Write(kRulesV1);
  std::vector<std::shared_ptr<const rules::RuleSet>> handed;
  auto r = Make([&](std::shared_ptr<const rules::RuleSet> rs) { handed.push_back(rs); });
  EXPECT_FALSE(r->loaded());
  ASSERT_TRUE(r->Reload());
  EXPECT_TRUE(r->loaded());
  ASSERT_EQ(handed.size(), 1u);
  ASSERT_NE(handed[0], nullptr);
  EXPECT_EQ(Brands(*handed[0]), (std::set<std::string>{"sneakers/nike", "sneakers/adidas"}));
  auto m = Metrics();
  EXPECT_EQ(m["earshot_rules_reload_total|success"], 1);
  EXPECT_EQ(m["earshot_rules_reload_total|failure"], 0);
  EXPECT_EQ(m["earshot_rules_last_reload_successful"], 1);
  EXPECT_EQ(m["earshot_rules_last_reload_success_timestamp_seconds"], kT0 / 1000.0);
  EXPECT_EQ(m["earshot_rules_loaded|brand"], 2);
  EXPECT_EQ(m["earshot_rules_loaded|category"], 1);
  EXPECT_EQ(m["earshot_rules_loaded|term"], 2);
  EXPECT_NE(log_.find("info rules: loaded 1 categories, 2 brands, 0 topics from 1 files"),
            std::string::npos) << log_;

  // A new file content is a new set, handed over whole; the old one is untouched.
  Write(kRulesV2);
  clock_.Advance(90000);
  ASSERT_TRUE(r->Reload());
  ASSERT_EQ(handed.size(), 2u);
  EXPECT_EQ(Brands(*handed[1]),
            (std::set<std::string>{"sneakers/nike", "sneakers/puma", "sneakers/reebok"}));
  EXPECT_EQ(Brands(*handed[0]), (std::set<std::string>{"sneakers/nike", "sneakers/adidas"}));
  m = Metrics();
  EXPECT_EQ(m["earshot_rules_reload_total|success"], 2);
  EXPECT_EQ(m["earshot_rules_last_reload_success_timestamp_seconds"], (kT0 + 90000) / 1000.0);
  EXPECT_EQ(m["earshot_rules_loaded|brand"], 3);
  EXPECT_EQ(m["earshot_rules_loaded|term"], 4);
}

TEST_F(RuleReloaderTest, ABrokenFileKeepsThePreviousSetAndIsCounted) {
  Write(kRulesV1);
  std::vector<std::shared_ptr<const rules::RuleSet>> handed;
  auto r = Make([&](std::shared_ptr<const rules::RuleSet> rs) { handed.push_back(rs); });
  ASSERT_TRUE(r->Reload());

  Write(kBroken);
  clock_.Advance(1000);
  Diagnostics diags;
  EXPECT_FALSE(r->Reload(&diags));
  EXPECT_EQ(handed.size(), 1u) << "a broken set must never reach the sink";
  EXPECT_TRUE(r->loaded()) << "the previous rules are still loaded";
  EXPECT_NE(diags.ToString().find("sneakers.yaml:4:5: unknown key \"term\""), std::string::npos)
      << diags.ToString();
  // At warn, where log alerts look.
  EXPECT_NE(log_.find("warn rules: reload failed, keeping the previous rules:"), std::string::npos)
      << log_;
  auto m = Metrics();
  EXPECT_EQ(m["earshot_rules_reload_total|success"], 1);
  EXPECT_EQ(m["earshot_rules_reload_total|failure"], 1);
  EXPECT_EQ(m["earshot_rules_last_reload_successful"], 0);
  // The timestamp and the loaded gauges still describe the active (first) set.
  EXPECT_EQ(m["earshot_rules_last_reload_success_timestamp_seconds"], kT0 / 1000.0);
  EXPECT_EQ(m["earshot_rules_loaded|brand"], 2);

  // A regex that does not compile and a missing directory fail the same way.
  Write("category: c\nbrands:\n  - name: b\n    regex: [\"(unclosed\"]\n");
  EXPECT_FALSE(r->Reload());
  fs::remove_all(root_ / "rules");
  Diagnostics missing;
  EXPECT_FALSE(r->Reload(&missing));
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(handed.size(), 1u);
  EXPECT_EQ(Metrics()["earshot_rules_reload_total|failure"], 3);

  // Fixed again: handed over, and the gauge is back to 1.
  fs::create_directories(root_ / "rules");
  Write(kRulesV2);
  ASSERT_TRUE(r->Reload());
  ASSERT_EQ(handed.size(), 2u);
  EXPECT_EQ(Brands(*handed[1]).count("sneakers/puma"), 1u);
  m = Metrics();
  EXPECT_EQ(m["earshot_rules_last_reload_successful"], 1);
  EXPECT_EQ(m["earshot_rules_reload_total|success"], 2);
  EXPECT_EQ(m["earshot_rules_reload_total|failure"], 3);
}

TEST_F(RuleReloaderTest, AFirstLoadThatFailsLeavesNothingLoaded) {
  Write(kBroken);
  int calls = 0;
  auto r = Make([&](std::shared_ptr<const rules::RuleSet>) { ++calls; });
  EXPECT_FALSE(r->Reload());
  EXPECT_FALSE(r->loaded());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Metrics()["earshot_rules_last_reload_successful"], 0);
}

// Two threads reload while a third rewrites the file (good, other good,
// broken) and a reader keeps taking the current set: the reader never sees
// null, every set it sees is exactly one of the two good ones, hand-overs
// never overlap, and every call is counted once.
TEST_F(RuleReloaderTest, ConcurrentReloadsNeverShowATornOrNullSet) {
  const std::set<std::string> v1 = {"sneakers/nike", "sneakers/adidas"};
  const std::set<std::string> v2 = {"sneakers/nike", "sneakers/puma", "sneakers/reebok"};
  Write(kRulesV1);
  std::atomic<std::shared_ptr<const rules::RuleSet>> current;
  std::atomic<int> in_sink{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> handed{0};
  auto r = Make([&](std::shared_ptr<const rules::RuleSet> rs) {
    if (in_sink.fetch_add(1) != 0) overlaps.fetch_add(1);
    if (rs == nullptr) overlaps.fetch_add(1000);  // a null hand-over is a failure too
    current.store(std::move(rs));
    handed.fetch_add(1);
    in_sink.fetch_sub(1);
  });
  ASSERT_TRUE(r->Reload());

  constexpr int kReloadsPerThread = 60;
  std::atomic<int> reloaders_done{0};
  std::atomic<int> ok{0}, failed{0};
  auto reload = [&] {
    for (int i = 0; i < kReloadsPerThread; ++i) (r->Reload() ? ok : failed).fetch_add(1);
    reloaders_done.fetch_add(1);
  };
  std::atomic<int> seen_null{0}, seen_other{0}, seen_v1{0}, seen_v2{0};
  std::thread reader([&] {
    while (reloaders_done.load() < 2) {
      std::shared_ptr<const rules::RuleSet> rs = current.load();
      if (rs == nullptr) {
        seen_null.fetch_add(1);
        continue;
      }
      auto brands = Brands(*rs);
      auto st = rs->stats();
      if (brands == v1 && st.brands == 2 && st.terms == 2) seen_v1.fetch_add(1);
      else if (brands == v2 && st.brands == 3 && st.terms == 4) seen_v2.fetch_add(1);
      else seen_other.fetch_add(1);
    }
  });
  std::thread writer([&] {
    const char* const texts[] = {kRulesV2, kBroken, kRulesV1, kRulesV2, kRulesV1, kBroken};
    for (int i = 0; reloaders_done.load() < 2; ++i) Write(texts[i % 6]);
  });
  std::thread a(reload), b(reload);
  a.join();
  b.join();
  reader.join();
  writer.join();

  EXPECT_EQ(seen_null.load(), 0);
  EXPECT_EQ(seen_other.load(), 0);
  EXPECT_GT(seen_v1.load() + seen_v2.load(), 0);
  EXPECT_EQ(overlaps.load(), 0) << "Reload() must serialize the hand-overs";
  EXPECT_EQ(ok.load() + failed.load(), 2 * kReloadsPerThread);
  EXPECT_EQ(handed.load(), 1 + ok.load());
  auto m = Metrics();
  EXPECT_EQ(m["earshot_rules_reload_total|success"], 1 + ok.load());
  EXPECT_EQ(m["earshot_rules_reload_total|failure"], failed.load());
  ASSERT_NE(current.load(), nullptr);
}

}  // namespace
}  // namespace earshot
