// The synthesizer (connectors/synth.h) and the generator source
// (connectors/generator_source.h).
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "connectors/generator_source.h"
#include "connectors/synth.h"

namespace earshot {
namespace {

constexpr int64_t kT0 = 1714567890000;  // 2024-05-01T12:51:30Z

std::vector<std::string> Generate(uint64_t seed, int n, int64_t t0 = kT0) {
  auto synth = MakeEventSynthesizer(seed);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    synth->Next(t0 + i, &s);
    out.push_back(std::move(s));
  }
  return out;
}

// Case-insensitive containment for ASCII spellings, exact for the others.
bool Mentions(std::string text, const std::vector<std::string>& terms) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return c < 0x80 ? std::tolower(c) : c; });
  for (const auto& t : terms) {
    if (text.find(t) != std::string::npos) return true;
  }
  return false;
}

const std::map<std::string, std::vector<std::string>>& BrandTerms() {
  static const std::map<std::string, std::vector<std::string>> kTerms = {
      {"nike", {"nike", "just do it", "air max", "نايكي", "ナイキ"}},
      {"adidas", {"adidas", "three stripes", "أديداس", "اديداس", "アディダス"}},
      {"puma", {"puma", "بوما", "プーマ"}},
      {"new_balance", {"new balance", "ニューバランス"}},
      {"apple", {"iphone", "apple watch", "ايفون", "آيفون", "アイフォン"}},
      {"samsung", {"samsung", "galaxy s24", "سامسونج", "サムスン"}},
      {"google", {"pixel 9", "google pixel"}},
      {"xiaomi", {"xiaomi", "شاومي", "小米"}},
      {"coca_cola", {"coca-cola", "coke", "كوكا كولا", "コカ・コーラ"}},
      {"pepsi", {"pepsi", "بيبسي", "ペプシ"}},
      {"netflix", {"netflix", "نتفليكس", "ネットフリックス"}},
      {"disney_plus", {"disney plus", "ديزني بلس"}},
      {"prime_video", {"prime video", "amazon prime"}},
  };
  return kTerms;
}

TEST(SynthTest, DeterministicForASeed) {
  EXPECT_EQ(Generate(7, 500), Generate(7, 500));
  EXPECT_NE(Generate(7, 50), Generate(8, 50));
}

TEST(SynthTest, EventsFollowTheCanonicalSchema) {
  auto events = Generate(1, 5000);
  std::set<std::string> ids;
  const std::set<std::string> platforms = {"twitter", "facebook", "instagram", "reddit",
                                           "youtube", "tiktok",   "linkedin",  "tumblr",
                                           "news",    "blogs",    "forums"};
  const std::set<std::string> types = {"post", "comment", "reply", "share"};
  for (const auto& e : events) {
    ASSERT_EQ(e.find('\n'), std::string::npos);
    EXPECT_GE(e.size(), 150u) << e;
    EXPECT_LE(e.size(), 800u) << e;
    rapidjson::Document d;
    d.Parse(e.data(), e.size());
    ASSERT_FALSE(d.HasParseError()) << e;
    ASSERT_TRUE(d.IsObject());
    ASSERT_TRUE(d["id"].IsString());
    ASSERT_TRUE(d["platform"].IsString());
    ASSERT_TRUE(d["text"].IsString());
    EXPECT_TRUE(platforms.count(d["platform"].GetString())) << e;
    EXPECT_TRUE(types.count(d["type"].GetString())) << e;
    EXPECT_TRUE(ids.insert(std::string(d["platform"].GetString()) + "/" + d["id"].GetString())
                    .second)
        << "duplicate " << e;
    EXPECT_EQ(std::strlen(d["created_at"].GetString()), 24u) << e;  // 2024-05-01T12:51:30.123Z
    std::string lang = d["lang"].GetString();
    EXPECT_TRUE(lang == "en" || lang == "ar" || lang == "ja") << e;
    ASSERT_TRUE(d["author"].IsObject());
    EXPECT_TRUE(d["author"]["handle"].IsString());
    EXPECT_TRUE(d["author"]["followers"].IsUint64());
    ASSERT_TRUE(d["engagement"].IsObject());
    for (const char* k : {"likes", "shares", "comments"}) {
      EXPECT_TRUE(d["engagement"][k].IsUint64()) << k << " in " << e;
    }
    std::string platform = d["platform"].GetString();
    if (platform == "youtube" || platform == "tiktok") {
      EXPECT_TRUE(d["engagement"].HasMember("views")) << e;
    }
    EXPECT_EQ(std::string(d["url"].GetString()).rfind("https://", 0), 0u);
    if (d.HasMember("country")) {
      EXPECT_EQ(std::strlen(d["country"].GetString()), 2u);
    }
  }
}

TEST(SynthTest, CreatedAtIsTheGivenTimeInRfc3339) {
  auto synth = MakeEventSynthesizer(1);
  std::string s;
  synth->Next(kT0 + 123, &s);
  rapidjson::Document d;
  d.Parse(s.c_str());
  EXPECT_STREQ(d["created_at"].GetString(), "2024-05-01T12:51:30.123Z");
  s.clear();
  synth->Next(0, &s);
  d.Parse(s.c_str());
  EXPECT_STREQ(d["created_at"].GetString(), "1970-01-01T00:00:00.000Z");
}

TEST(SynthTest, RealisticMix) {
  const int n = 40000;
  auto events = Generate(3, n);
  std::map<std::string, int> platform, lang;
  std::map<std::string, std::map<std::string, int>> brand_by_platform, brand_by_lang;
  int no_brand = 0, two_brands = 0, topical = 0, big = 0;
  std::vector<uint64_t> followers;
  for (const auto& e : events) {
    rapidjson::Document d;
    d.Parse(e.c_str());
    std::string p = d["platform"].GetString(), l = d["lang"].GetString();
    std::string text = d["text"].GetString();
    ++platform[p];
    ++lang[l];
    int brands = 0;
    for (const auto& [name, terms] : BrandTerms()) {
      if (Mentions(text, terms)) {
        ++brands;
        ++brand_by_platform[p][name];
        ++brand_by_lang[l][name];
      }
    }
    if (brands == 0) ++no_brand;
    if (brands >= 2) ++two_brands;
    if (Mentions(text, {"price", "expensive", "cheap", "discount", "سعر", "値段", "launch",
                        "release", "إطلاق", "発売", "customer service", "refund", "quality",
                        "broken", "جودة"})) {
      ++topical;
    }
    uint64_t f = d["author"]["followers"].GetUint64();
    followers.push_back(f);
    if (f >= 1000000) ++big;
  }
  // Platforms: twitter leads, then instagram; every platform appears.
  EXPECT_EQ(platform.size(), 11u);
  for (const auto& [p, c] : platform) {
    if (p != "twitter") {
      EXPECT_GT(platform["twitter"], c) << p;
    }
    if (p != "twitter" && p != "instagram") {
      EXPECT_GT(platform["instagram"], c) << p;
    }
  }
  // Languages about 60/25/15.
  EXPECT_NEAR(lang["en"] / double(n), 0.60, 0.03);
  EXPECT_NEAR(lang["ar"] / double(n), 0.25, 0.03);
  EXPECT_NEAR(lang["ja"] / double(n), 0.15, 0.03);
  // About 5% name no brand; some compare two; about 30% touch a topic.
  EXPECT_NEAR(no_brand / double(n), 0.05, 0.02);
  EXPECT_GT(two_brands, n / 50);
  EXPECT_NEAR(topical / double(n), 0.30, 0.08);
  // Loudness differs by platform and language.
  EXPECT_GT(brand_by_platform["instagram"]["nike"], brand_by_platform["instagram"]["adidas"]);
  EXPECT_GT(brand_by_platform["twitter"]["adidas"], brand_by_platform["twitter"]["nike"]);
  double xiaomi_ar = brand_by_lang["ar"]["xiaomi"] / double(lang["ar"]);
  double xiaomi_en = brand_by_lang["en"]["xiaomi"] / double(lang["en"]);
  EXPECT_GT(xiaomi_ar, 2 * xiaomi_en);
  // Followers: most small, a few celebrities.
  std::sort(followers.begin(), followers.end());
  EXPECT_LT(followers[n / 2], 2000u);
  EXPECT_GT(followers.back(), 1000000u);
  EXPECT_GT(big, 0);
  EXPECT_LT(big, n / 100);
}

// The brands each synthetic event mentions, counted over `events`.
std::map<std::string, int> CountBrands(const std::vector<std::string>& events) {
  std::map<std::string, int> c;
  for (const auto& e : events) {
    rapidjson::Document d;
    d.Parse(e.c_str());
    for (const auto& [name, terms] : BrandTerms()) {
      if (Mentions(d["text"].GetString(), terms)) ++c[name];
    }
  }
  return c;
}

TEST(SynthTest, ShareOfVoiceDriftsOverTime) {
  // One stream: its first 20,000 events and 20,000 events 25 minutes later
  // have a visibly different brand mix.
  auto synth = MakeEventSynthesizer(5);
  std::vector<std::string> first(20000), later(20000);
  for (int i = 0; i < 20000; ++i) synth->Next(kT0 + i, &first[i]);
  for (int i = 0; i < 20000; ++i) synth->Next(kT0 + 25 * 60 * 1000 + i, &later[i]);
  auto a = CountBrands(first), b = CountBrands(later);
  int max_change = 0;
  for (const auto& [name, n] : a) max_change = std::max(max_change, std::abs(n - b[name]));
  EXPECT_GT(max_change, 200);
}

TEST(SynthTest, ASeedGivesTheSameEventsWhateverTheStartTime) {
  // A seed and the events' times relative to the first give the same events,
  // apart from their timestamps, whenever the stream starts: two runs of
  // `earshot generate --count N --seed S` (every event stamped with the start
  // time) seconds or days apart agree. (The drift once followed the clock's
  // absolute time, and two runs that straddled a second could pick
  // different brands.)
  auto strip_time = [](std::vector<std::string> events) {
    for (auto& e : events) {
      rapidjson::Document d;
      d.Parse(e.c_str());
      d.RemoveMember("created_at");
      rapidjson::StringBuffer out;
      rapidjson::Writer<rapidjson::StringBuffer> w(out);
      d.Accept(w);
      e = out.GetString();
    }
    return events;
  };
  const auto a = strip_time(Generate(7, 3000, kT0));
  for (int64_t offset : {int64_t{999}, int64_t{1000}, int64_t{7} * 60 * 1000 + 500,
                         int64_t{86400} * 1000 * 3 + 1}) {
    EXPECT_EQ(strip_time(Generate(7, 3000, kT0 + offset)), a)
        << "start time kT0 + " << offset << " ms";
  }
}

// ---------------------------------------------------------------- source

std::unique_ptr<Source> MakeGen(GeneratorConfig config, const Clock* clock) {
  auto s = MakeGeneratorSource(config, clock);
  EXPECT_TRUE(s.ok()) << s.message();
  auto src = std::move(s.value());
  EXPECT_TRUE(src->Start(nullptr).ok());
  return src;
}

TEST(GeneratorSourceTest, RateFollowsTheInjectedClock) {
  FakeClock clock(kT0);
  GeneratorConfig config;
  config.rate = 100;
  auto src = MakeGen(config, &clock);
  EXPECT_EQ(src->name(), "generator");
  EXPECT_TRUE(src->Ready());
  std::vector<Record> batch;
  EXPECT_EQ(src->Poll(&batch, 1000, 0), PollStatus::kOk);
  EXPECT_TRUE(batch.empty());

  clock.Advance(500);
  EXPECT_EQ(src->Poll(&batch, 1000, 0), PollStatus::kOk);
  EXPECT_EQ(batch.size(), 50u);

  batch.clear();
  clock.Advance(5);  // half a token
  EXPECT_EQ(src->Poll(&batch, 1000, 0), PollStatus::kOk);
  EXPECT_TRUE(batch.empty());
  clock.Advance(5);
  EXPECT_EQ(src->Poll(&batch, 1000, 0), PollStatus::kOk);
  EXPECT_EQ(batch.size(), 1u);

  // max_records bounds a batch; the rest stays banked.
  batch.clear();
  clock.Advance(200);
  EXPECT_EQ(src->Poll(&batch, 15, 0), PollStatus::kOk);
  EXPECT_EQ(batch.size(), 15u);
  batch.clear();
  EXPECT_EQ(src->Poll(&batch, 1000, 0), PollStatus::kOk);
  EXPECT_EQ(batch.size(), 5u);

  // At most one second's worth is banked after a stall.
  batch.clear();
  clock.Advance(60000);
  EXPECT_EQ(src->Poll(&batch, 100000, 0), PollStatus::kOk);
  EXPECT_EQ(batch.size(), 100u);
}

TEST(GeneratorSourceTest, RecordsCarryOffsetsClockTimeAndValidPayloads) {
  FakeClock clock(kT0);
  GeneratorConfig config;
  config.rate = 10;
  auto src = MakeGen(config, &clock);
  std::vector<Record> batch;
  clock.Advance(1000);
  ASSERT_EQ(src->Poll(&batch, 100, 0), PollStatus::kOk);
  ASSERT_EQ(batch.size(), 10u);
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(batch[i].partition, 0);
    EXPECT_EQ(batch[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(batch[i].timestamp_ms, kT0 + 1000);
    rapidjson::Document d;
    d.Parse(batch[i].payload.data(), batch[i].payload.size());
    ASSERT_FALSE(d.HasParseError()) << batch[i].payload;
    EXPECT_STREQ(d["created_at"].GetString(), "2024-05-01T12:51:31.000Z");
  }
  batch.clear();
  clock.Advance(100);
  ASSERT_EQ(src->Poll(&batch, 100, 0), PollStatus::kOk);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].offset, 10);
}

TEST(GeneratorSourceTest, SameSeedSameEventsAsTheSynthesizer) {
  FakeClock clock(kT0);
  GeneratorConfig config;
  config.rate = 0;
  config.seed = 42;
  config.count = 3;
  auto src = MakeGen(config, &clock);
  std::vector<Record> batch;
  ASSERT_EQ(src->Poll(&batch, 100, 0), PollStatus::kOk);
  ASSERT_EQ(batch.size(), 3u);
  auto synth = MakeEventSynthesizer(42);
  for (const auto& r : batch) {
    std::string want;
    synth->Next(kT0, &want);
    EXPECT_EQ(r.payload, want);
  }
}

TEST(GeneratorSourceTest, CountLimitThenEndOfInput) {
  FakeClock clock(kT0);
  GeneratorConfig config;
  config.rate = 0;  // as fast as possible
  config.count = 25;
  auto src = MakeGen(config, &clock);
  std::vector<Record> batch;
  size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    batch.clear();
    ASSERT_EQ(src->Poll(&batch, 10, 0), PollStatus::kOk);
    total += batch.size();
  }
  EXPECT_EQ(total, 25u);
  batch.clear();
  EXPECT_EQ(src->Poll(&batch, 10, 1000), PollStatus::kEndOfInput);
  EXPECT_TRUE(batch.empty());
}

TEST(GeneratorSourceTest, UnlimitedFastModeFillsBatches) {
  FakeClock clock(kT0);
  GeneratorConfig config;
  config.rate = 0;
  auto src = MakeGen(config, &clock);
  std::vector<Record> batch;
  for (int i = 0; i < 5; ++i) {
    batch.clear();
    ASSERT_EQ(src->Poll(&batch, 500, 0), PollStatus::kOk);
    EXPECT_EQ(batch.size(), 500u);
  }
}

TEST(GeneratorSourceTest, RequestStopEndsAWaitingPoll) {
  FakeClock clock(kT0);  // never advances: Poll would wait its whole timeout
  GeneratorConfig config;
  config.rate = 1;
  auto src = MakeGen(config, &clock);
  std::vector<Record> batch;
  std::thread stopper([&] { src->RequestStop(); });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(src->Poll(&batch, 10, 60000), PollStatus::kOk);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  stopper.join();
  EXPECT_TRUE(batch.empty());
}

TEST(GeneratorSourceTest, RealClockWaitsForTokens) {
  GeneratorConfig config;
  config.rate = 1000;
  auto src = MakeGen(config, WallClock::Get());
  std::vector<Record> batch;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (batch.size() < 50 && std::chrono::steady_clock::now() < deadline) {
    std::vector<Record> b;
    ASSERT_EQ(src->Poll(&b, 10, 100), PollStatus::kOk);
    batch.insert(batch.end(), b.begin(), b.end());
  }
  EXPECT_GE(batch.size(), 50u);
}

TEST(GeneratorSourceTest, BadConfigIsAnError) {
  FakeClock clock;
  GeneratorConfig config;
  config.rate = -1;
  EXPECT_FALSE(MakeGeneratorSource(config, &clock).ok());
  config.rate = 1;
  config.count = -5;
  EXPECT_FALSE(MakeGeneratorSource(config, &clock).ok());
  EXPECT_FALSE(MakeGeneratorSource(GeneratorConfig{}, nullptr).ok());
}

}  // namespace
}  // namespace earshot
