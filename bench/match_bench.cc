// Matcher micro-benchmarks: ~400-byte English, Arabic and Japanese texts
// against 1,000 brands / 3,000 terms (words, phrases, hashtags, prefixes,
// Arabic and Japanese literals) plus a few topics; and the compile time of
// 10,000 brands; and NEAR over a post that repeats its operands.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "rules/normalizer.h"
#include "rules/rule_set.h"

namespace earshot::rules {
namespace {

std::string Syllables(std::mt19937& rng, const std::vector<std::string>& syl, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += syl[rng() % syl.size()];
  return s;
}

RuleSetDef MakeRules(int brands) {
  std::mt19937 rng(42);
  const std::vector<std::string> latin = {"ka", "zo", "ri", "ne", "mu", "ta", "lo", "vi", "sen", "dor"};
  const std::vector<std::string> arabic = {"نا", "يك", "سو", "مر", "ال", "بي", "تو", "كا"};
  const std::vector<std::string> kana = {"ナ", "イ", "キ", "ア", "デ", "ス", "マ", "ロ", "カ", "ン"};
  RuleSetDef def;
  SourceLoc loc{"bench.yaml", 1, 1};
  for (int c = 0; c < brands / 10; ++c) {
    CategoryDef cat;
    cat.name = "cat" + std::to_string(c);
    for (int b = 0; b < 10; ++b) {
      RuleDef r;
      std::string name = Syllables(rng, latin, 3);
      r.name = name + std::to_string(b);
      r.terms.push_back({name, loc});
      switch (rng() % 4) {
        case 0:
          r.terms.push_back({"#" + name + "fans", loc});
          break;
        case 1:
          r.terms.push_back({name + " " + Syllables(rng, latin, 2), loc});
          break;
        case 2:
          r.terms.push_back({Syllables(rng, latin, 2) + "*", loc});
          break;
        default:
          r.terms.push_back({"@" + name, loc});
      }
      r.terms.push_back({rng() % 2 ? Syllables(rng, arabic, 3) : Syllables(rng, kana, 3), loc});
      if (rng() % 5 == 0) r.exclude.push_back({name + " jobs", loc});
      cat.brands.push_back(std::move(r));
    }
    def.categories.push_back(std::move(cat));
  }
  for (const char* t : {"price", "expensive", "cheap", "discount", "سعر", "値段", "quality"}) {
    RuleDef topic;
    topic.name = t;
    topic.terms.push_back({t, loc});
    def.topics.push_back(std::move(topic));
  }
  return def;
}

const char* kEnglish =
    "Just bought the new kazori runners and honestly they are the most comfortable shoes "
    "I have ever owned. The price was a bit high but the quality is there. Compared to my "
    "old pair these feel lighter, the grip is better and the colours pop. Shipping took "
    "three days. Would recommend to anyone training for a marathon this spring! #running "
    "@someone check this out, totally worth it.";
const char* kArabic =
    "اشتريت حذاء جديد اليوم وهو مريح جدا، السعر كان مرتفع قليلا لكن الجودة ممتازة. "
    "أنصح به لكل من يحب الجري في الصباح. التوصيل كان سريع والتغليف جيد جدا. "
    "شكرا للمتجر على الخدمة الرائعة";
const char* kJapanese =
    "新しいランニングシューズを買いました。とても履き心地が良くて、値段は少し高いけど"
    "品質は最高です。春のマラソンに向けて毎日練習しています。配送も早かったです。"
    "友達にもおすすめしたい。";

void BM_Match(benchmark::State& state, const char* text) {
  Diagnostics d;
  auto rs = RuleSet::Compile(MakeRules(1000), CompileOptions{}, &d);
  if (!rs) {
    state.SkipWithError(d.ToString().c_str());
    return;
  }
  MatchScratch scratch;
  MatchOutput out;
  MatchInput in{text, "twitter", "en", "someone", "us"};
  for (auto _ : state) {
    rs->Match(in, &scratch, &out);
    benchmark::DoNotOptimize(out.brands.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(std::string_view(text).size()));
}
BENCHMARK_CAPTURE(BM_Match, english, kEnglish);
BENCHMARK_CAPTURE(BM_Match, arabic, kArabic);
BENCHMARK_CAPTURE(BM_Match, japanese, kJapanese);

// Compiles `def` and times matching `text` against it.
void MatchOne(benchmark::State& state, const RuleSetDef& def, std::string_view text) {
  Diagnostics d;
  auto rs = RuleSet::Compile(def, CompileOptions{}, &d);
  if (!rs) {
    state.SkipWithError(d.ToString().c_str());
    return;
  }
  MatchScratch scratch;
  MatchOutput out;
  MatchInput in{text, "twitter"};
  for (auto _ : state) {
    rs->Match(in, &scratch, &out);
    benchmark::DoNotOptimize(out.brands.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}

// A post that repeats a NEAR query's operands: range(0) of each, 1,001
// other words between them (so the query does not hold and every pair is
// a candidate). The time should grow with the text, not its square.
void BM_NearLongText(benchmark::State& state) {
  SourceLoc loc{"bench.yaml", 1, 1};
  auto term = [&](const char* t) {
    Expr e;
    e.text = t;
    e.loc = loc;
    return e;
  };
  Expr near;
  near.kind = ExprKind::kNear;
  near.near_distance = 5;
  near.children = {term("a"), term("b")};
  near.loc = loc;
  RuleSetDef def;
  CategoryDef cat;
  cat.name = "c";
  RuleDef r;
  r.name = "n";
  r.loc = loc;
  r.query = near;
  cat.brands.push_back(std::move(r));
  def.categories.push_back(std::move(cat));
  std::string text;
  for (int64_t i = 0; i < state.range(0); ++i) text += "b ";
  for (int i = 0; i < 1001; ++i) text += "x ";
  for (int64_t i = 0; i < state.range(0); ++i) text += "a ";
  MatchOne(state, def, text);
}
BENCHMARK(BM_NearLongText)->Arg(1000)->Arg(10000)->Arg(50000)->Unit(benchmark::kMicrosecond);

// range(0) brands whose one term is a phrase "the <word>" (no two alike),
// over kEnglish and its "the"s: the phrases share the index's entry for
// "the", and each is turned away by its second word's first bytes.
void BM_PhrasesSharingAFirstWord(benchmark::State& state) {
  RuleSetDef def;
  CategoryDef cat;
  cat.name = "c";
  std::mt19937 rng(3);
  for (int64_t i = 0; i < state.range(0); ++i) {
    RuleDef r;
    r.name = "b" + std::to_string(i);
    r.loc = SourceLoc{"bench.yaml", static_cast<int>(i) + 1, 1};
    std::string w;
    for (int k = 0; k < 7; ++k) w += static_cast<char>('a' + rng() % 26);
    r.terms.push_back({"the " + w, r.loc});
    cat.brands.push_back(std::move(r));
  }
  def.categories.push_back(std::move(cat));
  MatchOne(state, def, kEnglish);
}
BENCHMARK(BM_PhrasesSharingAFirstWord)->Arg(0)->Arg(100)->Arg(10000);

void BM_Normalize(benchmark::State& state, const char* text) {
  std::string out;
  for (auto _ : state) {
    Normalize(text, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(std::string_view(text).size()));
}
BENCHMARK_CAPTURE(BM_Normalize, english, kEnglish);
BENCHMARK_CAPTURE(BM_Normalize, arabic, kArabic);
BENCHMARK_CAPTURE(BM_Normalize, japanese, kJapanese);

void BM_Compile10k(benchmark::State& state) {
  RuleSetDef def = MakeRules(10000);
  for (auto _ : state) {
    Diagnostics d;
    auto rs = RuleSet::Compile(def, CompileOptions{}, &d);
    benchmark::DoNotOptimize(rs.get());
  }
}
BENCHMARK(BM_Compile10k)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace earshot::rules

BENCHMARK_MAIN();
