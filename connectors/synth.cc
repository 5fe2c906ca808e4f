// Synthetic social events (see synth.h).
//
// What it models, so the demo dashboards show something worth looking at:
//   - platform mix: twitter heavy, then instagram, facebook, reddit, tiktok,
//     youtube, news, blogs, forums, linkedin, tumblr;
//   - language mix: about 60% English, 25% Arabic, 15% Japanese, each with
//     its own templates, brand spellings, topic phrases and countries;
//   - brands of the example rule files (deploy/rules/*.yaml) whose loudness
//     differs by platform and language (nike leads on instagram, adidas on
//     twitter, xiaomi is strong in Arabic, ...) and drifts slowly with the
//     event time, so share of voice changes while one watches;
//   - ~5% of events name no brand, ~8% compare two brands of one category,
//     ~30% carry a topic phrase (pricing, launch, customer service, quality);
//   - a per-brand tone mix (positive / neutral / negative templates);
//   - a fixed author population: the same handle always has the same
//     follower count, log-normal with a Pareto tail of celebrities;
//     engagement scales with followers; views on video platforms.
//
// Speed: everything is table-driven and written straight into the caller's
// string; no allocation per event once `out` has grown (> 1M events/s).
#include "connectors/synth.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

namespace earshot {
namespace {

// xoshiro256** seeded by splitmix64: fast, good enough, deterministic.
uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Mix(uint64_t x) { return SplitMix(&x); }

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) w = SplitMix(&seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>((static_cast<unsigned __int128>(Next() >> 32) * n) >> 32);
  }
  bool Chance(double p) { return Uniform() < p; }
  double Normal() {  // Box-Muller, one value per call (simple, fast enough)
    double u1 = Uniform(), u2 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(static_cast<uint32_t>(v.size()))];
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

double UnitFromHash(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// Picks an index by weight from a cumulative table.
size_t PickCumulative(const double* cum, size_t n, double u) {
  double x = u * cum[n - 1];
  for (size_t i = 0; i < n; ++i) {
    if (x < cum[i]) return i;
  }
  return n - 1;
}

enum Lang { kEn = 0, kAr = 1, kJa = 2, kLangs = 3 };
const char* const kLangCode[kLangs] = {"en", "ar", "ja"};
constexpr double kLangWeight[kLangs] = {0.60, 0.25, 0.15};

enum Tone { kPos = 0, kNeu = 1, kNeg = 2, kTones = 3 };

// ---------------------------------------------------------------- platforms

struct PlatformDef {
  const char* name;
  double weight;
  bool video;        // always has views
  double views_p;    // otherwise: chance of a video post with views
  double engagement; // engagement rate factor
  double followers;  // follower factor (news outlets are big accounts)
  const char* url_prefix;  // url = prefix + handle/id per `url_style`
  int url_style;     // 0: prefix+handle+"/status/"+id, 1: prefix+id, 2: prefix+"@"+handle+"/video/"+id
  bool posts_only;   // news and blogs publish posts; elsewhere conversations happen
};

const std::array<PlatformDef, 11> kPlatforms = {{
    {"twitter", 30, false, 0.05, 1.0, 1.0, "https://x.com/", 0, false},
    {"instagram", 16, false, 0.40, 1.6, 1.0, "https://www.instagram.com/p/", 1, false},
    {"facebook", 12, false, 0.15, 0.8, 1.0, "https://www.facebook.com/permalink/", 1, false},
    {"reddit", 9, false, 0.0, 0.7, 0.3, "https://www.reddit.com/comments/", 1, false},
    {"tiktok", 9, true, 1.0, 2.2, 1.0, "https://www.tiktok.com/", 2, false},
    {"youtube", 7, true, 1.0, 1.2, 1.2, "https://www.youtube.com/watch?v=", 1, false},
    {"news", 5, false, 0.0, 0.3, 25.0, "https://news.example.com/articles/", 1, true},
    {"blogs", 4, false, 0.0, 0.4, 0.5, "https://blogs.example.com/posts/", 1, true},
    {"forums", 4, false, 0.0, 0.5, 0.1, "https://forums.example.com/t/", 1, false},
    {"linkedin", 2, false, 0.1, 0.5, 1.5, "https://www.linkedin.com/feed/update/", 1, false},
    {"tumblr", 2, false, 0.0, 1.1, 0.6, "https://www.tumblr.com/posts/", 1, false},
}};
constexpr size_t kNumPlatforms = 11;

// ---------------------------------------------------------------- brands

struct CategoryDef {
  const char* name;
  double weight;
  std::array<std::vector<const char*>, kLangs> nouns;  // "{X}"
  std::vector<const char*> hashtags;
};

struct BrandDef {
  const char* name;
  int category;
  double base;                      // overall loudness
  std::array<double, kLangs> lang;  // multiplier per language
  std::vector<std::pair<const char*, double>> platform;  // multipliers, default 1
  double positivity;                // shifts the tone mix
  // Spellings per language; the first is the most common. A language
  // without its own spelling uses the Latin one.
  std::array<std::vector<const char*>, kLangs> forms;
  std::vector<const char*> extras;  // hashtags, mentions, slogans appended now and then
};

const std::vector<CategoryDef>& Categories() {
  static const std::vector<CategoryDef> kCategories = {
      {"sneakers",
       0.32,
       {{{"sneakers", "kicks", "running shoes", "trainers", "shoes"},
         {"حذاء", "الحذاء الرياضي", "جزمة"},
         {"スニーカー", "シューズ", "ランニングシューズ"}}},
       {"#sneakerhead", "#kicks", "#ootd", "#running"}},
      {"smartphones",
       0.33,
       {{{"camera", "battery life", "screen", "update", "charger"},
         {"جوال", "الكاميرا", "البطارية", "الشاشة"},
         {"スマホ", "カメラ", "バッテリー", "画面"}}},
       {"#tech", "#unboxing", "#android", "#smartphone"}},
      {"soft_drinks",
       0.15,
       {{{"drink", "can", "soda", "bottle", "new flavor"},
         {"مشروب", "علبة", "النكهة الجديدة"},
         {"ドリンク", "炭酸", "新しい味"}}},
       {"#refreshing", "#summer", "#foodie"}},
      {"streaming",
       0.20,
       {{{"show", "series", "subscription", "app", "new season"},
         {"مسلسل", "الاشتراك", "التطبيق", "الموسم الجديد"},
         {"ドラマ", "サブスク", "アプリ", "新シーズン"}}},
       {"#bingewatching", "#tvshow", "#nowwatching"}},
  };
  return kCategories;
}

const std::vector<BrandDef>& Brands() {
  static const std::vector<BrandDef> kBrands = {
      // sneakers
      {"nike", 0, 1.0, {1.0, 1.0, 0.9},
       {{"instagram", 2.3}, {"tiktok", 1.6}, {"twitter", 0.8}, {"youtube", 1.3}}, 0.05,
       {{{"Nike", "nike", "NIKE", "Air Max", "Nike Air Max"}, {"نايكي"}, {"ナイキ"}}},
       {"#nike", "@nike", "just do it"}},
      {"adidas", 0, 0.85, {1.0, 1.1, 0.9},
       {{"twitter", 2.0}, {"reddit", 1.3}, {"instagram", 0.8}, {"forums", 1.4}}, 0.0,
       {{{"Adidas", "adidas", "ADIDAS"}, {"أديداس", "اديداس"}, {"アディダス"}}},
       {"#adidas", "three stripes"}},
      {"puma", 0, 0.40, {1.0, 1.2, 1.0},
       {{"forums", 1.8}, {"facebook", 1.4}, {"news", 1.3}}, -0.02,
       {{{"Puma", "PUMA", "puma"}, {"بوما"}, {"プーマ"}}},
       {"#puma"}},
      {"new_balance", 0, 0.35, {1.0, 0.5, 1.4},
       {{"reddit", 2.0}, {"blogs", 1.7}, {"instagram", 1.2}}, 0.08,
       {{{"New Balance", "new balance"}, {}, {"ニューバランス"}}},
       {"#newbalance"}},
      // smartphones
      {"apple", 1, 1.0, {1.0, 1.1, 1.6},
       {{"twitter", 1.3}, {"youtube", 1.6}, {"news", 1.6}, {"tiktok", 1.2}}, 0.02,
       {{{"iPhone", "iPhone 16", "Apple Watch", "iphone"}, {"ايفون", "آيفون"}, {"アイフォン", "iPhone"}}},
       {"#iphone", "#apple"}},
      {"samsung", 1, 0.9, {1.0, 1.4, 0.7},
       {{"youtube", 1.4}, {"reddit", 1.4}, {"facebook", 1.5}}, -0.03,
       {{{"Samsung", "Galaxy S24", "Samsung Galaxy S24"}, {"سامسونج", "Galaxy S24"}, {"サムスン", "Galaxy S24"}}},
       {"#samsung", "#galaxys24"}},
      {"google", 1, 0.45, {1.0, 0.6, 1.1},
       {{"reddit", 2.0}, {"linkedin", 1.8}, {"blogs", 1.5}, {"tiktok", 0.6}}, 0.06,
       {{{"Pixel 9", "Google Pixel", "Google Pixel 9"}, {}, {}}},
       {"#teampixel"}},
      {"xiaomi", 1, 0.35, {1.0, 3.6, 1.2},
       {{"forums", 1.6}, {"tiktok", 1.3}, {"news", 0.7}}, 0.0,
       {{{"Xiaomi", "xiaomi"}, {"شاومي"}, {"小米", "Xiaomi"}}},
       {"#xiaomi"}},
      // soft drinks
      {"coca_cola", 2, 1.0, {1.0, 1.0, 1.1},
       {{"instagram", 1.4}, {"facebook", 1.6}, {"news", 1.2}}, 0.04,
       {{{"Coca-Cola", "Coke", "coke", "Coca-Cola Zero"}, {"كوكا كولا"}, {"コカ・コーラ"}}},
       {"#cocacola", "#coke"}},
      {"pepsi", 2, 0.8, {1.0, 1.8, 0.8},
       {{"twitter", 1.3}, {"tiktok", 1.6}, {"youtube", 1.2}}, 0.0,
       {{{"Pepsi", "pepsi", "Pepsi Max"}, {"بيبسي"}, {"ペプシ"}}},
       {"#pepsi"}},
      // streaming
      {"netflix", 3, 1.0, {1.0, 1.1, 1.3},
       {{"twitter", 1.5}, {"tumblr", 2.2}, {"reddit", 1.2}}, 0.0,
       {{{"Netflix", "netflix"}, {"نتفليكس"}, {"ネットフリックス", "Netflix"}}},
       {"#netflix", "#nowwatching"}},
      {"disney_plus", 3, 0.6, {1.0, 0.8, 1.2},
       {{"tiktok", 1.6}, {"instagram", 1.4}, {"tumblr", 1.3}}, 0.05,
       {{{"Disney Plus", "Disney plus"}, {"ديزني بلس"}, {}}},
       {"#disneyplus"}},
      {"prime_video", 3, 0.55, {1.0, 0.9, 0.8},
       {{"reddit", 1.4}, {"news", 1.4}, {"linkedin", 1.3}}, -0.02,
       {{{"Prime Video", "Amazon Prime", "prime video"}, {}, {}}},
       {"#primevideo"}},
  };
  return kBrands;
}

// ---------------------------------------------------------------- text
//
// Template slots: {B} brand, {C} second brand, {X} category noun.

struct LangText {
  std::array<std::vector<const char*>, kTones> one;  // one brand
  std::vector<const char*> two;                      // two brands
  std::vector<const char*> none;                     // no brand
  // Topic phrases; topics: pricing, launch, customer_service, quality.
  std::array<std::vector<const char*>, 4> topics;
  std::array<std::vector<const char*>, kTones> emoji;
  std::vector<const char*> hashtags;
  std::vector<std::pair<const char*, double>> countries;
  const char* sep;  // between the sentence and a topic phrase
};

const std::array<LangText, kLangs>& Texts() {
  static const std::array<LangText, kLangs> kTexts = {{
      // English
      {{{
           // positive
           {"Just got the new {B} {X} and honestly it is amazing",
            "{B} never disappoints, love the new {X}",
            "Obsessed with my {B} {X} right now",
            "The {B} {X} is fire, best purchase this year",
            "Shoutout to {B}, the {X} is so good",
            "{B} really nailed it this time, the {X} looks great",
            "10/10 would recommend the {B} {X}",
            "Happy with the {B} {X} so far, no complaints",
            "Not gonna lie, the {B} {X} is awesome",
            "the {B} {X} is lit",
            "Loving the {B} {X}, super comfortable and stylish"},
           // neutral
           {"Thinking about getting the {B} {X}, any opinions?",
            "Does anyone know when the new {B} {X} comes out?",
            "Saw a {B} ad on the way to work today",
            "{B} {X} or something else? Need to decide by Friday",
            "Watching a review of the {B} {X} right now",
            "Is the {B} {X} available here yet?",
            "New {B} store opened downtown",
            "My brother just bought the {B} {X}",
            "Reading up on the {B} {X} before I order"},
           // negative
           {"My {B} {X} is already falling apart, so disappointed",
            "Worst {X} I have ever had, never buying {B} again",
            "{B} is trash now, the {X} feels flimsy",
            "Not impressed with the new {B} {X} at all",
            "Honestly the {B} {X} is mid",
            "Why is the {B} {X} so bad? Total waste of money",
            "I hate how {B} keeps ruining the {X}",
            "{B} {X} stopped working after two weeks, terrible",
            "The {B} {X} is not good, really annoying"},
       }},
       {"{B} or {C}? Cannot decide which {X} to get",
        "Switched from {C} to {B} and the {X} is way better",
        "{B} vs {C}: honestly {C} wins this round",
        "Ditched {B} for {C}, the {X} was just bad",
        "Hot take: {B} and {C} make the same {X}"},
       {"What a game last night, still cannot believe it",
        "Monday again, need coffee",
        "Anyone have recommendations for a good podcast?",
        "Traffic downtown is a nightmare today",
        "Beautiful sunset at the beach this evening",
        "Just finished a 10k run, feeling great"},
       {{{"the price is way too high", "way too expensive for what it is",
          "got it cheap during the sale", "there is a 20% discount this weekend",
          "worth the price"},
         {"the launch event was today", "new release drops next Friday",
          "cannot wait for the launch"},
         {"customer service was super helpful", "customer service never answered my emails",
          "still waiting for my refund", "got a refund without any hassle"},
         {"the quality is top notch", "build quality could be better", "mine arrived broken",
          "quality went down this year"}}},
       {{{"😍", "🔥", "❤️", "👍", "🙌", "😊"}, {"🤔", "👀", "😅"}, {"😡", "👎", "😤", "💔"}}},
       {"#mood", "#weekend", "#review", "#giveaway"},
       {{"US", 45}, {"GB", 15}, {"IN", 14}, {"CA", 8}, {"AU", 6}, {"NG", 5}, {"ZA", 4}, {"IE", 3}},
       ". "},
      // Arabic
      {{{
           {"اشتريت {X} {B} الجديد وهو رائع جدا",
            "{B} دائما ممتاز، أحب {X} الجديد",
            "صراحة {X} {B} جميل جدا",
            "أفضل {X} جربته من {B}",
            "شكرا {B} على هذا {X} الرائع",
            "تجربتي مع {B} ممتازة والله"},
           {"هل أحد جرب {X} {B} الجديد؟",
            "متى ينزل {X} {B} في السعودية؟",
            "شفت إعلان {B} اليوم",
            "أفكر أشتري {X} من {B}",
            "فتح محل {B} جديد في المول"},
           {"{X} {B} سيء جدا ولا أنصح به",
            "خيبة أمل كبيرة من {B}",
            "لا أحب {X} {B} الجديد",
            "{B} فاشل، {X} توقف بعد أسبوع",
            "أسوأ تجربة مع {B}",
            "{X} {B} ليس جيدا أبدا"},
       }},
       {"{B} ولا {C}؟ محتار أي {X} أشتري",
        "تركت {C} ورحت {B}، {X} أفضل بكثير",
        "{B} أو {C}؟ رأيكم"},
       {"صباح الخير يا جماعة",
        "الجو حار جدا اليوم",
        "مين يتابع المباراة الليلة؟",
        "جمعة مباركة"},
       {{{"سعر مرتفع جدا بصراحة", "سعر ممتاز مقارنة بغيره", "سعر معقول"},
         {"موعد إطلاق النسخة الجديدة قريب", "حفل إطلاق رائع"},
         {},
         {"جودة ممتازة", "جودة سيئة للأسف"}}},
       {{{"😍", "🔥", "❤️", "👍"}, {"🤔", "👀"}, {"😡", "👎", "💔"}}},
       {"#السعودية", "#الرياض", "#دبي", "#عروض"},
       {{"SA", 35}, {"AE", 20}, {"EG", 20}, {"KW", 8}, {"QA", 6}, {"MA", 6}, {"JO", 5}},
       "، "},
      // Japanese
      {{{
           {"{B}の新しい{X}最高！",
            "{B}の{X}買った、めっちゃいい",
            "やっぱり{B}の{X}が好き",
            "{B}の{X}、想像以上に良かった"},
           {"{B}の{X}ってどうなの？",
            "{B}の新作{X}気になる",
            "今日{B}の広告見た",
            "{B}の{X}を検討中"},
           {"{B}の{X}、すぐ壊れた…最悪",
            "{B}の{X}はがっかりだった",
            "{B}の{X}、正直微妙"},
       }},
       {"{B}と{C}、どっちの{X}がいい？", "{C}から{B}に乗り換えた、{X}がいい"},
       {"今日は雨で寒い", "週末どこ行こうかな", "ラーメン食べたい"},
       {{{"値段が高すぎる", "値段の割にいい"},
         {"来週発売らしい", "発売日が楽しみ"},
         {},
         {}}},
       {{{"😍", "🔥", "✨"}, {"🤔", "👀"}, {"😢", "👎"}}},
       {"#新作", "#レビュー"},
       {{"JP", 100}},
       "。"},
  }};
  return kTexts;
}

constexpr int kNumTopics = 4;

// ---------------------------------------------------------------- authors

const char* const kHandleA[] = {"sneaker", "tech", "daily", "its", "the", "real", "urban",
                                "coffee", "night", "city", "pixel", "run", "game", "film",
                                "just", "big", "tiny", "lazy", "happy", "wild", "retro", "neo"};
const char* const kHandleB[] = {"head", "fan", "guru", "life", "vibes", "lover", "nerd",
                                "queen", "king", "jo", "sam", "alex", "lina", "omar", "yuki",
                                "sara", "ken", "noor", "maya", "leo", "fox", "owl"};
constexpr uint32_t kAuthors = 500000;

const char* const kTypes[] = {"post", "comment", "reply", "share"};

// ---------------------------------------------------------------- output helpers

void AppendInt(uint64_t v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

void AppendBase36(uint64_t v, std::string* out) {
  char buf[16];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
    v /= 36;
  } while (v != 0 && n < 16);
  while (n > 0) out->push_back(buf[--n]);
}

// Appends `s` as JSON string content (templates hold no quotes, but
// spellings and handles might some day).
void AppendEscaped(std::string_view s, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      out->append(s.data() + start, i - start);
      if (static_cast<unsigned char>(c) < 0x20) {
        out->push_back(' ');
      } else {
        out->push_back('\\');
        out->push_back(c);
      }
      start = i + 1;
    }
  }
  out->append(s.data() + start, s.size() - start);
}

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

bool IsAsciiEdge(const char* s) {
  size_t n = std::strlen(s);
  return n > 0 && static_cast<unsigned char>(s[0]) < 0x80 &&
         static_cast<unsigned char>(s[n - 1]) < 0x80;
}

// ---------------------------------------------------------------- synthesizer

class Synthesizer : public EventSynthesizer {
 public:
  explicit Synthesizer(uint64_t seed)
      : rng_(seed), seed_mix_(Mix(seed ^ 0x5EEDULL)) {
    id_base_ = 1000000000000000000ULL + (seed_mix_ % 100000000000000000ULL) * 10;
    const auto& brands = Brands();
    const auto& cats = Categories();
    for (size_t b = 0; b < brands.size(); ++b) {
      const BrandDef& def = brands[b];
      by_category_[def.category].push_back(static_cast<int>(b));
      for (size_t p = 0; p < kNumPlatforms; ++p) {
        double w = def.base;
        for (const auto& [name, mult] : def.platform) {
          if (std::strcmp(name, kPlatforms[p].name) == 0) w *= mult;
        }
        platform_weight_[b][p] = w;
      }
      // Each brand drifts on its own two periods (minutes and hours).
      uint64_t h = Mix(seed_mix_ + b);
      drift_period_fast_[b] = (15 + static_cast<double>(h % 45)) * 60000.0;
      drift_period_slow_[b] = (4 + static_cast<double>((h >> 16) % 8)) * 3600000.0;
      drift_phase_[b] = UnitFromHash(Mix(h)) * 6.283185307179586;
    }
    double acc = 0;
    for (size_t c = 0; c < cats.size(); ++c) category_cum_[c] = acc += cats[c].weight;
    acc = 0;
    for (size_t p = 0; p < kNumPlatforms; ++p) platform_cum_[p] = acc += kPlatforms[p].weight;
    acc = 0;
    for (int l = 0; l < kLangs; ++l) lang_cum_[l] = acc += kLangWeight[l];
    for (int l = 0; l < kLangs; ++l) {
      acc = 0;
      for (const auto& [code, w] : Texts()[l].countries) country_cum_[l].push_back(acc += w);
    }
    text_.reserve(1024);
  }

  void Next(int64_t now_ms, std::string* out) override {
    const auto& cats = Categories();
    const auto& brands = Brands();
    // The drift counts from the first event, so a seed gives the same
    // events whenever it runs (`earshot generate --count`, whose events all
    // carry its start time, is reproducible).
    if (start_ms_ == INT64_MIN) start_ms_ = now_ms;
    UpdateDrift(now_ms - start_ms_);

    const size_t platform = PickCumulative(platform_cum_, kNumPlatforms, rng_.Uniform());
    const PlatformDef& pdef = kPlatforms[platform];
    const int lang = static_cast<int>(PickCumulative(lang_cum_, kLangs, rng_.Uniform()));
    const LangText& lt = Texts()[lang];

    int type = 0;
    if (!pdef.posts_only) {
      double u = rng_.Uniform();
      type = u < 0.50 ? 0 : u < 0.72 ? 1 : u < 0.88 ? 2 : 3;
    }

    // Author: a fixed population, active users posting more often.
    double ua = rng_.Uniform();
    uint32_t author = static_cast<uint32_t>(ua * ua * ua * kAuthors);
    uint64_t ah = Mix(seed_mix_ ^ (author * 0x100000001B3ULL));

    // Brands.
    const size_t cat = PickCumulative(category_cum_, cats.size(), rng_.Uniform());
    const CategoryDef& cdef = cats[cat];
    int brand = -1, brand2 = -1;
    double r = rng_.Uniform();
    if (r >= 0.05) {
      brand = PickBrand(cat, platform, lang, -1);
      if (r < 0.13) brand2 = PickBrand(cat, platform, lang, brand);
    }

    // Text.
    text_.clear();
    if (type == 2) {  // reply: addressed to someone
      text_ += '@';
      AppendHandle(Mix(ah + rng_.Below(kAuthors)) , &text_);
      text_ += ' ';
    } else if (type == 3 && platform == 0) {  // a retweet
      text_ += "RT @";
      AppendHandle(Mix(ah ^ rng_.Next()), &text_);
      text_ += ": ";
    }
    Tone tone = kNeu;
    if (brand < 0) {
      Expand(rng_.Pick(lt.none), lang, cdef, -1, -1);
    } else if (brand2 >= 0) {
      Expand(rng_.Pick(lt.two), lang, cdef, brand, brand2);
    } else {
      double pos = 0.40 + brands[brand].positivity + 0.08 * drift_[brand];
      double neg = 0.22 - brands[brand].positivity;
      double u = rng_.Uniform();
      tone = u < pos ? kPos : u < pos + neg ? kNeg : kNeu;
      Expand(rng_.Pick(lt.one[tone]), lang, cdef, brand, -1);
    }
    if (rng_.Chance(0.30)) {
      int topic = static_cast<int>(rng_.Below(kNumTopics));
      if (!lt.topics[topic].empty()) AppendSentence(rng_.Pick(lt.topics[topic]), lang);
    }
    if (rng_.Chance(0.25)) {
      text_ += ' ';
      text_ += rng_.Pick(lt.emoji[tone]);
    }
    if (brand >= 0 && rng_.Chance(0.15) && !brands[brand].extras.empty()) {
      text_ += ' ';
      text_ += rng_.Pick(brands[brand].extras);
    }
    if (rng_.Chance(0.15)) {
      text_ += ' ';
      text_ += rng_.Chance(0.5) ? rng_.Pick(cdef.hashtags) : rng_.Pick(lt.hashtags);
    }
    if (rng_.Chance(0.05)) {
      text_ += " @";
      AppendHandle(Mix(rng_.Next()), &text_);
    }

    // Numbers.
    uint64_t followers = Followers(ah, pdef);
    double rate = std::exp(std::log(0.02) + 0.9 * rng_.Normal()) * pdef.engagement;
    if (rate > 0.5) rate = 0.5;
    if (type != 0) rate *= 0.3;
    double expected = static_cast<double>(followers) * rate;
    uint64_t likes = static_cast<uint64_t>(expected * (0.5 + rng_.Uniform()) + rng_.Uniform() * 3);
    uint64_t shares = static_cast<uint64_t>(likes * (0.02 + 0.15 * rng_.Uniform()));
    uint64_t comments = static_cast<uint64_t>(likes * (0.01 + 0.08 * rng_.Uniform()) + rng_.Uniform() * 2);
    bool has_views = pdef.video || rng_.Chance(pdef.views_p);
    uint64_t views = 0;
    if (has_views) {
      views = static_cast<uint64_t>(static_cast<double>(followers) *
                                        std::exp(std::log(0.8) + 1.1 * rng_.Normal()) +
                                    likes * 12 + rng_.Below(50));
    }

    // JSON.
    const uint64_t id = id_base_ + seq_++;
    out->append("{\"id\":\"");
    AppendInt(id, out);
    out->append("\",\"platform\":\"");
    out->append(pdef.name);
    out->append("\",\"type\":\"");
    out->append(kTypes[type]);
    out->append("\",\"created_at\":\"");
    AppendTime(now_ms, out);
    out->append("\",\"lang\":\"");
    out->append(kLangCode[lang]);
    out->append("\",\"text\":\"");
    AppendEscaped(text_, out);
    out->append("\",\"author\":{\"id\":\"u");
    AppendInt(author, out);
    out->append("\",\"handle\":\"");
    AppendHandle(ah, out);
    out->append("\",\"followers\":");
    AppendInt(followers, out);
    out->append("},\"engagement\":{\"likes\":");
    AppendInt(likes, out);
    out->append(",\"shares\":");
    AppendInt(shares, out);
    out->append(",\"comments\":");
    AppendInt(comments, out);
    if (has_views) {
      out->append(",\"views\":");
      AppendInt(views, out);
    }
    out->append("},\"url\":\"");
    out->append(pdef.url_prefix);
    switch (pdef.url_style) {
      case 0:
        AppendHandle(ah, out);
        out->append("/status/");
        AppendInt(id, out);
        break;
      case 2:
        out->push_back('@');
        AppendHandle(ah, out);
        out->append("/video/");
        AppendInt(id, out);
        break;
      default:
        AppendBase36(id, out);
        break;
    }
    out->push_back('"');
    if (rng_.Chance(0.9)) {
      out->append(",\"country\":\"");
      size_t c = PickCumulative(country_cum_[lang].data(), country_cum_[lang].size(),
                                rng_.Uniform());
      out->append(lt.countries[c].first);
      out->push_back('"');
    }
    out->push_back('}');
  }

 private:
  static constexpr size_t kMaxBrands = 16;

  // Recomputes each brand's drift factor once per second of event time,
  // `elapsed_ms` after the first event.
  void UpdateDrift(int64_t elapsed_ms) {
    int64_t sec = elapsed_ms / 1000;
    if (sec == drift_second_) return;
    drift_second_ = sec;
    const double t = static_cast<double>(elapsed_ms);
    for (size_t b = 0; b < Brands().size(); ++b) {
      double fast = std::sin(6.283185307179586 * t / drift_period_fast_[b] + drift_phase_[b]);
      double slow = std::sin(6.283185307179586 * t / drift_period_slow_[b] + 2 * drift_phase_[b]);
      drift_[b] = 0.7 * fast + 0.3 * slow;  // in [-1, 1]
    }
  }

  int PickBrand(size_t cat, size_t platform, int lang, int exclude) {
    const auto& members = by_category_[cat];
    const auto& brands = Brands();
    double cum[kMaxBrands];
    double acc = 0;
    for (size_t i = 0; i < members.size(); ++i) {
      int b = members[i];
      double w = 0;
      if (b != exclude) {
        w = platform_weight_[b][platform] * brands[b].lang[lang] * (1.0 + 0.45 * drift_[b]);
      }
      cum[i] = acc += w;
    }
    return members[PickCumulative(cum, members.size(), rng_.Uniform())];
  }

  // Appends a second sentence: after the first one's own end mark (?!.),
  // just a space (none in Japanese); else the language's separator. English
  // sentences start with a capital.
  void AppendSentence(const char* sentence, int lang) {
    static constexpr std::string_view kEnds[] = {"?", "!", ".", "？", "！", "。", "…", "؟"};
    bool ended = false;
    for (std::string_view e : kEnds) {
      if (text_.size() >= e.size() && text_.compare(text_.size() - e.size(), e.size(), e) == 0) {
        ended = true;
      }
    }
    if (!ended) {
      text_ += Texts()[lang].sep;
    } else if (lang != kJa) {
      text_ += ' ';
    }
    size_t at = text_.size();
    text_ += sentence;
    if (lang == kEn && text_[at] >= 'a' && text_[at] <= 'z') text_[at] = text_[at] - 'a' + 'A';
  }

  void AppendBrand(int b, int lang) {
    const BrandDef& def = Brands()[b];
    const auto& forms = def.forms[lang].empty() ? def.forms[kEn] : def.forms[lang];
    // The first spelling is the most common one.
    const char* form = rng_.Chance(0.6) ? forms[0] : rng_.Pick(forms);
    // In Japanese a Latin spelling is set off by spaces, as the word
    // boundary rule of docs/matching.md needs (and many writers do).
    bool pad = lang == kJa && IsAsciiEdge(form);
    if (pad && !text_.empty() && text_.back() != ' ') text_ += ' ';
    text_ += form;
    if (pad) text_ += ' ';
  }

  void Expand(const char* tmpl, int lang, const CategoryDef& cdef, int b1, int b2) {
    const char* p = tmpl;
    while (true) {
      const char* brace = std::strchr(p, '{');
      if (brace == nullptr) {
        text_.append(p);
        return;
      }
      text_.append(p, brace - p);
      switch (brace[1]) {
        case 'B':
          AppendBrand(b1, lang);
          break;
        case 'C':
          AppendBrand(b2, lang);
          break;
        case 'X':
          text_ += rng_.Pick(cdef.nouns[lang]);
          break;
      }
      p = brace + 3;  // every slot is "{?}"
    }
  }

  static void AppendHandle(uint64_t h, std::string* out) {
    out->append(kHandleA[h % std::size(kHandleA)]);
    if ((h >> 20) % 3 == 0) out->push_back('_');
    out->append(kHandleB[(h >> 8) % std::size(kHandleB)]);
    if ((h >> 24) % 4 != 0) AppendInt((h >> 32) % 1000, out);
  }

  // The author's follower count: log-normal (median ~250) with a Pareto
  // tail of celebrities (1 in 1500 authors, 1M to ~100M followers).
  static uint64_t Followers(uint64_t ah, const PlatformDef& pdef) {
    uint64_t h = Mix(ah);
    double u1 = UnitFromHash(h), u2 = UnitFromHash(Mix(h));
    if (u1 < 1e-300) u1 = 1e-300;
    double n = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    double f = std::exp(std::log(250.0) + 1.6 * n) * pdef.followers;
    if ((h >> 40) % 1500 == 0) {
      double u = UnitFromHash(Mix(h + 1));
      f = 1e6 * std::pow(1.0 - u, -1.0 / 1.3);
      if (f > 1.2e8) f = 1.2e8;
    }
    return static_cast<uint64_t>(f);
  }

  void AppendTime(int64_t ms, std::string* out) {
    int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    if (sec != time_second_) {
      time_second_ = sec;
      int64_t days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
      int64_t rem = sec - days * 86400;
      int y;
      unsigned m, d;
      CivilFromDays(days, &y, &m, &d);
      std::snprintf(time_prefix_, sizeof time_prefix_, "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d,
                    static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                    static_cast<int>(rem % 60));
    }
    out->append(time_prefix_);
    int milli = static_cast<int>(ms - sec * 1000);
    char frac[6] = {'.', static_cast<char>('0' + milli / 100),
                    static_cast<char>('0' + milli / 10 % 10), static_cast<char>('0' + milli % 10),
                    'Z', '\0'};
    out->append(frac, 5);
  }

  Rng rng_;
  uint64_t seed_mix_;
  uint64_t id_base_ = 0;
  uint64_t seq_ = 0;
  std::string text_;
  std::array<std::vector<int>, 8> by_category_;
  double platform_weight_[kMaxBrands][kNumPlatforms] = {};
  double drift_period_fast_[kMaxBrands] = {};
  double drift_period_slow_[kMaxBrands] = {};
  double drift_phase_[kMaxBrands] = {};
  double drift_[kMaxBrands] = {};
  int64_t drift_second_ = INT64_MIN;
  int64_t start_ms_ = INT64_MIN;  // the first event's time
  double category_cum_[8] = {};
  double platform_cum_[kNumPlatforms] = {};
  double lang_cum_[kLangs] = {};
  std::array<std::vector<double>, kLangs> country_cum_;
  int64_t time_second_ = INT64_MIN;
  char time_prefix_[40] = {};
};

}  // namespace

std::unique_ptr<EventSynthesizer> MakeEventSynthesizer(uint64_t seed) {
  return std::make_unique<Synthesizer>(seed);
}

}  // namespace earshot
