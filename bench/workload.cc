#include "bench/workload.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>

namespace earshot::bench {
namespace {

// Brand words are built from these syllables (base-N digits of the brand
// index), so they are unique and never collide with the filler vocabulary.
const char* const kLatinSyl[] = {"ka", "zo", "ri", "ne", "mu", "ta", "lo", "vi", "se", "do", "bex", "qu"};
const char* const kArabicSyl[] = {"نا", "يك", "سو", "مر", "بي", "تو", "كا", "لي"};
// Japanese filler has no katakana, so these literals match only where placed.
const char* const kKanaSyl[] = {"ナ", "イ", "キ", "ア", "デ", "ス", "マ", "ロ", "カ", "ン"};
const char* const kPhraseTail[] = {"pro", "max", "ultra", "lite", "air", "one"};

// The single-script workloads' second words use other syllables, so a
// brand's two words never collide with another brand's.
const char* const kLatinSyl2[] = {"fu", "pa", "gy", "wo", "hi", "jr", "ce", "ox", "ul", "am", "yp", "ez"};
const char* const kArabicSyl2[] = {"ري", "دو", "فا", "جو", "حي", "زا", "طو", "شي"};
const char* const kArabicTail[] = {"برو", "ماكس", "الترا", "لايت", "بلس", "ون"};
const char* const kKanaSyl2[] = {"ゴ", "ザ", "ピ", "ボ", "ル", "ヨ", "ケ", "ホ", "ム", "ワ"};
const char* const kKanjiSyl[] = {"山", "川", "田", "本", "光", "電", "星", "堂", "屋", "工"};
const char* const kKanaTail[] = {"ストア", "ジャパン", "プロ", "ワン", "エアー", "マックス"};
// Realistic Japanese filler: katakana loanwords among the kanji and kana,
// so the no-space literal index is probed all through the text.
const char* const kJapaneseFiller[] = {
    "新しいスニーカーを買いました", "デザインがとても良くて", "サイズもぴったりです",
    "値段は少し高いけど", "コーヒーを飲みながら", "マラソンの練習に使っています",
    "配送も早かったです", "ショップの店員さんが親切でした", "カラーがとても綺麗です",
    "また買いたいと思います", "スマホで注文しました", "キャンペーン中でした",
    "週末に公園で走りました", "クオリティは最高です", "期待していたより良かった",
    "レビューを書きます"};
// Arabic filler with hamza variants; a few carry tashkeel.
const char* const kArabicFiller[] = {
    "اشتريت", "حذاء",  "جديد",  "اليوم", "وهو",  "مريح",   "جدًا",   "السعر", "كان",   "مرتفع",
    "قليلًا",  "لكنَّ",   "الجودة", "ممتازة", "أنصح", "به",     "لكل",   "من",    "يحب",   "الجري",
    "في",     "الصباح", "التوصيل", "سريع", "والتغليف", "جيد", "شكرًا", "للمتجر", "على",  "الخدمة",
    "الرائعة", "إنه",  "هاتف",  "رائع",  "سيء",  "تحديث",  "متجر",  "عرض",   "خصم",   "مع",
    "أفضل", "آخر", "إصدار", "بالتأكيد", "ولكن", "فالجودة"};
// Prefixes joined to Arabic brand mentions (docs/matching.md).
const char* const kProclitics[] = {"و", "ال", "وال", "بال", "كال", "فال", "لل"};
const char* const kAlForms[] = {"ال", "وال", "بال", "كال", "فال", "لل"};

const char* const kEnglish[] = {
    "just",    "bought", "the",      "new",     "and",    "honestly", "they",   "are",    "most",
    "comfortable", "shoes", "I",     "have",    "ever",   "owned",    "price",  "was",    "a",
    "bit",     "high",   "but",      "quality", "is",     "there",    "compared", "to",   "my",
    "old",     "pair",   "these",    "feel",    "lighter", "grip",    "better", "colours", "pop",
    "shipping", "took",  "three",    "days",    "would",  "recommend", "anyone", "training", "for",
    "marathon", "this",  "spring",   "worth",   "it",     "love",     "hate",   "waiting", "store",
    "today",   "really", "great",    "terrible", "service", "support", "update", "launch", "review",
    "friends", "family", "weekend",  "morning", "coffee", "city",     "team",   "game",   "win",
    "#running", "#deal", "@someone", "@support", "so",    "much",     "very",   "not",    "sure",
    "expensive", "cheap", "discount", "again",  "why",    "how",      "what",   "when",   "finally"};
const char* const kArabic[] = {
    "اشتريت", "حذاء",  "جديد",  "اليوم", "وهو",  "مريح",   "جدا",   "السعر", "كان",   "مرتفع",
    "قليلا",  "لكن",   "الجودة", "ممتازة", "أنصح", "به",     "لكل",   "من",    "يحب",   "الجري",
    "في",     "الصباح", "التوصيل", "سريع", "والتغليف", "جيد", "شكرا", "للمتجر", "على",  "الخدمة",
    "الرائعة", "سعر",  "هاتف",  "رائع",  "سيء",  "تحديث",  "متجر",  "عرض",   "خصم",   "مع"};
const char* const kJapanese[] = {
    "新しい靴を買いました", "とても履き心地が良くて", "値段は少し高いけど", "品質は最高です",
    "春のマラソンに向けて", "毎日練習しています", "配送も早かったです", "友達にもおすすめしたい",
    "今日は雨でした", "店員さんが親切でした", "また買いたいと思います", "色がとても綺麗です",
    "少し重いかもしれない", "週末に公園で走りました", "期待していたより良かった", "安いのに丈夫です"};
const char* const kPlatforms[] = {"twitter", "facebook", "instagram", "reddit",   "youtube", "tiktok",
                                  "linkedin", "tumblr",  "news",      "blogs",    "forums"};
const char* const kCountries[] = {"US", "GB", "SA", "AE", "EG", "JP", "DE", "FR", "IN", "BR"};

template <size_t N>
std::string Digits(int value, const char* const (&syl)[N], int width) {
  std::string s;
  for (int i = 0; i < width; ++i) {
    s.insert(0, syl[value % static_cast<int>(N)]);
    value /= static_cast<int>(N);
  }
  return s;
}

void AppendInt(uint64_t v, std::string* out) {
  char buf[24];
  int n = std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(v));
  out->append(buf, static_cast<size_t>(n));
}

void AppendTime(int64_t ms, std::string* out) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(ms % 1000));
  out->append(buf, static_cast<size_t>(n));
}

}  // namespace

bool ParseScript(const std::string& name, Script* out) {
  for (Script s : {Script::kMixed, Script::kLatin, Script::kArabic, Script::kJapanese}) {
    if (name == ScriptName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

const char* ScriptName(Script s) {
  switch (s) {
    case Script::kMixed: return "mixed";
    case Script::kLatin: return "latin";
    case Script::kArabic: return "arabic";
    case Script::kJapanese: return "japanese";
  }
  return "mixed";
}

Workload::Workload(const WorkloadSpec& spec) : spec_(spec), rng_(spec.seed) {
  brands_.reserve(static_cast<size_t>(spec.brands));
  if (spec.script != Script::kMixed) {
    for (int i = 0; i < spec.brands; ++i) {
      BrandTerms b;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "cat%04d", i / 10);
      b.category = buf;
      std::snprintf(buf, sizeof(buf), "brand%05d", i);
      b.name = buf;
      std::string word, second, tail;
      switch (spec.script) {
        case Script::kLatin:
          word = Digits(i, kLatinSyl, 4);
          second = Digits(i, kLatinSyl2, 4);
          tail = kPhraseTail[(i / 2) % 6];
          break;
        case Script::kArabic:
          word = Digits(i, kArabicSyl, 5);
          if (i % 4 == 3) word = "ال" + word;  // a club: the name carries the article
          second = Digits(i, kArabicSyl2, 5);
          tail = kArabicTail[(i / 2) % 6];
          break;
        default:
          word = Digits(i, kKanaSyl, 4);
          second = Digits(i, kKanjiSyl, 4);
          tail = kKanaTail[(i / 2) % 6];
          break;
      }
      b.terms.push_back(word);
      b.terms.push_back(i % 2 == 0 ? word + " " + tail : "#" + word);
      b.terms.push_back(second);
      brands_.push_back(std::move(b));
    }
    return;
  }
  for (int i = 0; i < spec.brands; ++i) {
    BrandTerms b;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "cat%04d", i / 10);
    b.category = buf;
    std::snprintf(buf, sizeof(buf), "brand%05d", i);
    b.name = buf;
    std::string word = Digits(i, kLatinSyl, 4);
    b.terms.push_back(word);
    switch (i % 3) {
      case 0: b.terms.push_back(word + " " + kPhraseTail[(i / 3) % 6]); break;
      case 1: b.terms.push_back("#" + word + "fans"); break;
      default: b.terms.push_back("@" + word + "hq"); break;
    }
    if (i % 2 == 0) b.terms.push_back(Digits(i, kArabicSyl, 5));
    else b.terms.push_back(Digits(i, kKanaSyl, 4));
    brands_.push_back(std::move(b));
  }
}

std::vector<std::pair<std::string, std::string>> Workload::RuleFiles() const {
  std::vector<std::pair<std::string, std::string>> files;
  // YAML allows one category per document file: one file per category.
  for (size_t i = 0; i < brands_.size(); i += 10) {
    std::string y = "category: " + brands_[i].category + "\nbrands:\n";
    for (size_t j = i; j < i + 10 && j < brands_.size(); ++j) {
      y += "  - name: " + brands_[j].name + "\n    terms: [";
      for (size_t t = 0; t < brands_[j].terms.size(); ++t) {
        if (t) y += ", ";
        y += "\"" + brands_[j].terms[t] + "\"";
      }
      y += "]\n";
    }
    files.emplace_back(brands_[i].category + ".yaml", std::move(y));
  }
  files.emplace_back("topics.yaml",
                     "topics:\n"
                     "  - {name: pricing, terms: [price, expensive, cheap, discount, سعر, 値段]}\n"
                     "  - {name: quality, terms: [quality, الجودة, 品質]}\n"
                     "  - {name: shipping, terms: [shipping, التوصيل, 配送]}\n");
  return files;
}

bool Workload::WriteRules(const std::string& dir) const {
  ::mkdir(dir.c_str(), 0755);
  for (const auto& [name, content] : RuleFiles()) {
    std::ofstream f(dir + "/" + name, std::ios::binary | std::ios::trunc);
    f << content;
    if (!f) return false;
  }
  return true;
}

void Workload::AppendText(int lang, std::string* out) {
  // 0-2 brand mentions: 40% none, 40% one, 20% two.
  int r = static_cast<int>(rng_() % 10);
  int mentions = r < 4 ? 0 : (r < 8 ? 1 : 2);
  int words = lang == 0 ? 42 : (lang == 1 ? 26 : 7);  // events of ~500 bytes
  int slot[2] = {-1, -1};
  for (int m = 0; m < mentions; ++m) slot[m] = static_cast<int>(rng_() % words);
  std::string& t = text_;
  t.clear();
  auto sep = [&] {
    if (t.empty()) return;
    if (lang == 2) t.append("、");
    else t.push_back(' ');
  };
  for (int w = 0; w < words; ++w) {
    for (int m = 0; m < mentions; ++m) {
      if (slot[m] != w) continue;
      const BrandTerms& b = brands_[rng_() % brands_.size()];
      const std::string* term = &b.terms[0];
      if (lang == 0) {
        if (rng_() % 3 == 1) term = &b.terms[1];
      } else {
        // The literal of the event's script when the brand has one.
        bool arabic_literal = static_cast<unsigned char>(b.terms[2][0]) < 0xE0;
        if ((lang == 1) == arabic_literal) term = &b.terms[2];
      }
      sep();
      if (lang == 0 && rng_() % 4 == 0 && (*term)[0] >= 'a' && (*term)[0] <= 'z') {
        t.push_back(static_cast<char>((*term)[0] - 32));  // "Kazo..." (case folding)
        t.append(*term, 1);
      } else {
        t.append(*term);
      }
    }
    sep();
    if (lang == 0) t.append(kEnglish[rng_() % std::size(kEnglish)]);
    else if (lang == 1) t.append(kArabic[rng_() % std::size(kArabic)]);
    else t.append(kJapanese[rng_() % std::size(kJapanese)]);
  }
  t.append(lang == 2 ? "。" : (rng_() % 2 ? "!" : "."));
  out->append(t);
}

void Workload::AppendMention(const std::string& term, std::string* out) {
  std::string m = term;
  if (spec_.script == Script::kLatin) {
    if (rng_() % 4 == 0 && m[0] >= 'a' && m[0] <= 'z') m[0] = static_cast<char>(m[0] - 32);
    out->append(m);
    return;
  }
  if (spec_.script == Script::kJapanese) {
    out->append(m);
    return;
  }
  // Arabic, as written: often with a proclitic, sometimes with tashkeel,
  // tatweel or a hamza on the alef; the rules name the bare form.
  if (m[0] == '#') {
    out->append(m);
    return;
  }
  const bool al = m.compare(0, 4, "ال") == 0;
  const uint64_t r = rng_();
  if (r % 2 == 0) {
    if (al) {
      m.replace(0, 4, kAlForms[(r >> 8) % std::size(kAlForms)]);
    } else {
      m.insert(0, kProclitics[(r >> 8) % std::size(kProclitics)]);
    }
  }
  switch ((r >> 16) % 6) {
    case 0: {  // a fatha after the last letter of the first word
      const size_t end = m.find(' ');
      m.insert(end == std::string::npos ? m.size() : end, "\u064e");
      break;
    }
    case 1:  // a tatweel inside the word (every letter is two bytes)
      if (m.size() >= 6 && m.find(' ') == std::string::npos) m.insert(m.size() / 2 & ~size_t{1}, "ـ");
      break;
    case 2: {  // hamza above the first bare alef after the start
      const size_t a = m.find("ا", 2);
      if (a != std::string::npos) m.replace(a, 2, "أ");
      break;
    }
    default:
      break;
  }
  out->append(m);
}

void Workload::AppendScriptText(std::string* out) {
  // 0-2 brand mentions: 40% none, 40% one, 20% two.
  int r = static_cast<int>(rng_() % 10);
  int mentions = r < 4 ? 0 : (r < 8 ? 1 : 2);
  // Filler words a text, so that an event (JSON line and newline) averages
  // ~500 bytes, the issue's size: 501 (Latin), 504 (Arabic) and 491
  // (Japanese, whose filler are phrases of ~36 bytes) at seed 1. Until
  // 2026-12-06 these were 42, 26 and 6: events of 567, 583 and 525 bytes.
  const int words = spec_.script == Script::kLatin ? 31 : (spec_.script == Script::kArabic ? 18 : 5);
  int slot[2] = {-1, -1};
  for (int m = 0; m < mentions; ++m) slot[m] = static_cast<int>(rng_() % words);
  std::string& t = text_;
  t.clear();
  const bool ja = spec_.script == Script::kJapanese;
  // Japanese: half of the separators are none at all, the rest "、" or a space.
  auto sep = [&] {
    if (t.empty()) return;
    if (!ja) {
      t.push_back(' ');
      return;
    }
    const uint64_t k = rng_() % 4;
    if (k == 0) t.append("、");
    else if (k == 1) t.push_back(' ');
  };
  for (int w = 0; w < words; ++w) {
    for (int m = 0; m < mentions; ++m) {
      if (slot[m] != w) continue;
      const BrandTerms& b = brands_[rng_() % brands_.size()];
      const uint64_t which = rng_() % 3;
      sep();
      AppendMention(b.terms[which], &t);
      if (ja && rng_() % 2 == 0) t.append("の");  // "ナイキの靴": joined to the text
    }
    sep();
    if (spec_.script == Script::kLatin) t.append(kEnglish[rng_() % std::size(kEnglish)]);
    else if (spec_.script == Script::kArabic) t.append(kArabicFiller[rng_() % std::size(kArabicFiller)]);
    else t.append(kJapaneseFiller[rng_() % std::size(kJapaneseFiller)]);
  }
  t.append(ja ? "。" : (rng_() % 2 ? "!" : "."));
  out->append(t);
}

int64_t Workload::NextEventMillis() const {
  return spec_.start_ms +
         static_cast<int64_t>(static_cast<double>(event_index_) * 1000.0 / spec_.events_per_second);
}

void Workload::SetRate(double events_per_second) {
  spec_.start_ms = NextEventMillis();
  spec_.events_per_second = events_per_second;
  event_index_ = 0;
}

void Workload::NextEvent(std::string* out) {
  const int64_t ms = NextEventMillis();
  ++event_index_;
  uint64_t id;
  int platform;
  if (next_id_ > 64 && static_cast<double>(rng_() % 1000000) < spec_.duplicate_rate * 1e6) {
    id = next_id_ - 1 - rng_() % 64;  // a recent event again (same platform: see below)
  } else {
    id = next_id_++;
  }
  platform = static_cast<int>((id * 2654435761u >> 7) % std::size(kPlatforms));
  const uint64_t h = id * 0x9E3779B97F4A7C15ULL;
  int r = static_cast<int>(rng_() % 10);
  int lang = r < 6 ? 0 : (r < 8 ? 1 : 2);
  if (spec_.script == Script::kLatin) lang = 0;
  else if (spec_.script == Script::kArabic) lang = 1;
  else if (spec_.script == Script::kJapanese) lang = 2;
  static const char* const kLang[] = {"en", "ar", "ja"};
  static const char* const kType[] = {"post", "comment", "reply", "share", "mention"};

  out->append(R"({"id":")");
  AppendInt(1785653421867786240ULL + id, out);
  out->append(R"(","platform":")");
  out->append(kPlatforms[platform]);
  out->append(R"(","created_at":")");
  AppendTime(ms, out);
  out->append(R"(","type":")");
  out->append(kType[h % 5]);
  out->append(R"(","lang":")");
  out->append(kLang[lang]);
  out->append(R"(","country":")");
  out->append(kCountries[(h >> 8) % std::size(kCountries)]);
  out->append(R"(","url":"https://example.com/p/)");
  AppendInt(id, out);
  out->append(R"(","text":")");
  if (spec_.script == Script::kMixed) AppendText(lang, out);
  else AppendScriptText(out);
  out->append(R"(","author":{"id":")");
  uint64_t author = (h >> 16) % static_cast<uint64_t>(spec_.authors > 0 ? spec_.authors : 1000000);
  AppendInt(author, out);
  out->append(R"(","handle":"user)");
  AppendInt(author, out);
  out->append(R"(","followers":)");
  AppendInt((h >> 24) % 5000 * ((h >> 40) % 8 == 0 ? 100 : 1), out);
  out->append(R"(},"engagement":{"likes":)");
  AppendInt((h >> 20) % 200, out);
  out->append(R"(,"shares":)");
  AppendInt((h >> 28) % 30, out);
  out->append(R"(,"comments":)");
  AppendInt((h >> 36) % 20, out);
  out->append(R"(,"views":)");
  AppendInt((h >> 44) % 10000, out);
  out->append("}}");
}

std::string Workload::Events(size_t n) {
  std::string out;
  out.reserve(n * 520);
  for (size_t i = 0; i < n; ++i) {
    NextEvent(&out);
    out.push_back('\n');
  }
  return out;
}

bool Workload::WriteEvents(const std::string& path, size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  std::string buf;
  for (size_t i = 0; i < n; ++i) {
    NextEvent(&buf);
    buf.push_back('\n');
    if (buf.size() > (1 << 20) || i + 1 == n) {
      if (std::fwrite(buf.data(), 1, buf.size(), f) != buf.size()) {
        std::fclose(f);
        return false;
      }
      buf.clear();
    }
  }
  return std::fclose(f) == 0;
}

}  // namespace earshot::bench
