// WriteResultsText on hand-made snapshots: label escaping, exact integers
// past 2^53, ratios as %.16g, chunking of a large exposition, and nothing at
// all for an empty state. results_text_test.cc covers a real processor.
#include "pipeline/exposition.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include <prometheus/text_serializer.h>

namespace earshot {
namespace {

// `brands` brands in categories of `per_category`, on two platforms, one
// window; every series present with non-zero values.
ResultsSnapshot MakeSnapshot(uint32_t brands, uint32_t per_category) {
  ResultsSnapshot s;
  s.window_names = {"5m"};
  s.platform_names = {"twitter", "other"};
  const uint32_t P = 2;
  for (uint32_t b = 0; b < brands; ++b) {
    const uint32_t c = b / per_category;
    if (b % per_category == 0) s.categories.push_back({"cat" + std::to_string(c), {}});
    s.categories.back().brand_ids.push_back(b);
    s.brand_names.emplace_back("cat" + std::to_string(c), "brand" + std::to_string(b));
  }
  s.topic_names = {"pricing"};
  s.totals.resize(brands * P);
  s.windows.assign(1, std::vector<Values>(brands * P));
  for (uint32_t b = 0; b < brands; ++b) {
    for (uint32_t p = 0; p < P; ++p) {
      auto& t = s.totals[b * P + p];
      t.present = true;
      for (int k = 0; k < kBasisCount; ++k) t.v.v[k] = 1000 * b + 10 * p + k + 1;
      t.sentiment[0] = b;
      t.sentiment[1] = p;
      t.sentiment[2] = 7;
      for (int k = 0; k < kBasisCount; ++k) s.windows[0][b * P + p].v[k] = b % 3 + p + k;
    }
    s.topics.push_back({0, b + 1, 0, b + 5u});
  }
  s.topics.insert(s.topics.begin(), {0, 0, 1, 42});
  return s;
}

std::string Text(const ResultsSnapshot& s) {
  std::string out;
  StringExpositionSink sink(&out);
  WriteResultsText(s, &sink);
  return out;
}

std::string Serialized(const ResultsSnapshot& s) {
  std::vector<prometheus::MetricFamily> nonempty;
  for (auto& f : ResultFamilies(s))
    if (!f.metric.empty()) nonempty.push_back(std::move(f));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, nonempty);
  return out.str();
}

// The text without the values, and the values (as written).
void Split(const std::string& text, std::string* series, std::vector<std::string>* values) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line[0] == '#') {
      *series += line + "\n";
      continue;
    }
    size_t sp = line.rfind(' ');
    *series += line.substr(0, sp) + "\n";
    values->push_back(line.substr(sp + 1));
  }
}

// Every value as prometheus::TextSerializer writes it: the %.16g of the
// double of ResultFamilies(), in order.
std::vector<std::string> SerializerValues(const ResultsSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& f : ResultFamilies(s)) {
    for (const auto& m : f.metric) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.16g",
                    f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value);
      out.push_back(buf);
    }
  }
  return out;
}

TEST(ExpositionTest, EmptyStateWritesNothing) {
  ResultsSnapshot s;
  s.window_names = {"5m", "1h"};
  s.platform_names = {"twitter", "other"};
  s.windows.resize(2);
  EXPECT_EQ(Text(s), "");
  EXPECT_EQ(ResultFamilies(s).size(), 11u + 4);  // every family (+ 4 of signals), all empty
}

TEST(ExpositionTest, EscapesLabelValuesAsTextSerializer) {
  ResultsSnapshot s = MakeSnapshot(3, 3);
  s.brand_names[0] = {"cat0", "say \"hi\""};
  s.brand_names[1] = {"cat0", "back\\slash"};
  s.brand_names[2] = {"cat0", "new\nline"};
  s.categories[0].name = "cat0";
  s.topic_names = {"a\"b"};
  s.window_names = {"5\\m"};
  std::string got_series, want_series;
  std::vector<std::string> got_values, want_values;
  Split(Text(s), &got_series, &got_values);
  Split(Serialized(s), &want_series, &want_values);
  EXPECT_EQ(got_series, want_series);
  EXPECT_EQ(got_values, want_values);
  EXPECT_NE(got_series.find(R"(brand="say \"hi\"")"), std::string::npos);
  EXPECT_NE(got_series.find(R"(brand="back\\slash")"), std::string::npos);
  EXPECT_NE(got_series.find(R"(brand="new\nline")"), std::string::npos);
}

TEST(ExpositionTest, IntegersAreExactAndRatiosAsTextSerializer) {
  ResultsSnapshot s = MakeSnapshot(3, 3);
  s.totals[0].v.v[kReach] = (1ULL << 60) + 1;  // not a double: TextSerializer rounds it
  s.totals[2].v.v[kReach] = 0;
  for (uint32_t b = 0; b < 3; ++b) s.windows[0][b * 2].v[kMentions] = 1;  // thirds on twitter
  const std::string text = Text(s);
  auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has(R"(earshot_reach_total{category="cat0",brand="brand0",platform="twitter"} )"
                  "1152921504606846977"));
  EXPECT_TRUE(has(R"(earshot_reach_total{category="cat0",brand="brand1",platform="twitter"} 0)"));
  EXPECT_TRUE(has(R"(earshot_share_of_voice_ratio{window="5m",category="cat0",brand="brand0",)"
                  R"(platform="twitter",basis="mentions"} 0.3333333333333333)"));
  // Every other value is the %.16g of the double of ResultFamilies(), as
  // prometheus::TextSerializer writes it.
  std::string series;
  std::vector<std::string> values;
  Split(text, &series, &values);
  const std::vector<std::string> want = SerializerValues(s);
  ASSERT_EQ(values.size(), want.size());
  size_t big = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == "1152921504606846977") {
      ++big;
      continue;
    }
    EXPECT_EQ(values[i], want[i]) << i;
  }
  EXPECT_EQ(big, 1u);
}

// Ratios are formatted once per distinct value and then copied (a memo):
// tens of thousands of distinct ratios, most appearing several times,
// through the memo's growth and past its capacity (32,768 values), all
// still the %.16g of the double.
TEST(ExpositionTest, RepeatedRatiosAreWrittenAsTextSerializer) {
  constexpr uint32_t kBrands = 12000;
  ResultsSnapshot s = MakeSnapshot(kBrands, 10);
  for (uint32_t b = 0; b < kBrands; ++b) {
    for (uint32_t p = 0; p < 2; ++p) {
      for (int k = 0; k < kBasisCount; ++k) {
        s.windows[0][b * 2 + p].v[k] =
            (b * 7919u + p * 31u + static_cast<unsigned>(k)) % (b < 6000 ? 700 : 60000) + 1;
      }
    }
  }
  const std::string text = Text(s);
  std::string series;
  std::vector<std::string> values;
  Split(text, &series, &values);
  ASSERT_EQ(values, SerializerValues(s));
  size_t ratios = 0;
  for (const auto& f : ResultFamilies(s))
    if (f.name == "earshot_share_of_voice_ratio") ratios += f.metric.size();
  std::set<std::string> distinct;
  for (const auto& v : values)
    if (v.find('.') != std::string::npos) distinct.insert(v);
  EXPECT_GT(distinct.size(), 40000u);  // past the memo's capacity
  EXPECT_GT(ratios, distinct.size() + 40000);
}

TEST(ExpositionTest, LargeStateStreamsInChunksOfAboutOneMiB) {
  ResultsSnapshot s = MakeSnapshot(4000, 10);  // 140k series, ~14 MB
  struct Chunks : ExpositionSink {
    std::vector<size_t> sizes;
    std::string all;
    void Write(std::string_view c) override {
      sizes.push_back(c.size());
      all.append(c);
    }
  } sink;
  WriteResultsText(s, &sink);
  ASSERT_GT(sink.sizes.size(), 10u);
  for (size_t i = 0; i < sink.sizes.size(); ++i) {
    EXPECT_LE(sink.sizes[i], size_t{1} << 20);
    if (i + 1 < sink.sizes.size()) {
      EXPECT_GT(sink.sizes[i], (size_t{1} << 20) - 256);
    }
  }
  std::string got_series, want_series;
  std::vector<std::string> got_values, want_values;
  Split(sink.all, &got_series, &got_values);
  Split(Serialized(s), &want_series, &want_values);
  EXPECT_EQ(got_series, want_series);
  EXPECT_EQ(got_values, want_values);
}

}  // namespace
}  // namespace earshot
