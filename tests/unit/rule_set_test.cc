// RuleSet: compiling, every kind of term, queries, explain, and the
// differential test against a straight reading of docs/matching.md. Over 900
// lines on purpose: one catalogue of matching cases behind one interface.
#include "rules/rule_set.h"
#include "rules/query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <set>
#include <string>
#include <vector>

// Counts heap allocations on this thread while enabled, to check that Match
// allocates nothing in the steady state.
namespace {
thread_local bool g_count_allocs = false;
thread_local size_t g_allocs = 0;
}  // namespace

void* operator new(size_t n) {
  if (g_count_allocs) ++g_allocs;
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  if (g_count_allocs) ++g_allocs;
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace earshot::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

SourceLoc Loc(int line, int col = 9) { return SourceLoc{"rules/x.yaml", line, col}; }

TermSpec T(std::string text, int line = 1) { return TermSpec{std::move(text), Loc(line)}; }

Expr Leaf(ExprKind kind, std::string text) {
  Expr e;
  e.kind = kind;
  e.text = std::move(text);
  e.loc = Loc(1, 5);
  return e;
}
Expr Term(std::string t) { return Leaf(ExprKind::kTerm, std::move(t)); }
Expr Regex(std::string t) { return Leaf(ExprKind::kRegex, std::move(t)); }
Expr Raw(std::string t) { return Leaf(ExprKind::kRaw, std::move(t)); }
Expr Field(FieldKind f, std::string v) {
  Expr e = Leaf(ExprKind::kField, std::move(v));
  e.field = f;
  return e;
}
Expr Node(ExprKind kind, std::vector<Expr> children) {
  Expr e;
  e.kind = kind;
  e.children = std::move(children);
  e.loc = Loc(1, 5);
  return e;
}
Expr And(std::vector<Expr> c) { return Node(ExprKind::kAnd, std::move(c)); }
Expr Or(std::vector<Expr> c) { return Node(ExprKind::kOr, std::move(c)); }
Expr Not(Expr c) { return Node(ExprKind::kNot, {std::move(c)}); }
Expr Near(Expr a, Expr b, int n, bool ordered = false) {
  Expr e = Node(ExprKind::kNear, {std::move(a), std::move(b)});
  e.near_distance = n;
  e.near_ordered = ordered;
  return e;
}

RuleDef Rule(std::string name, std::vector<std::string> terms = {}) {
  RuleDef r;
  r.name = std::move(name);
  r.loc = Loc(2, 5);
  for (auto& t : terms) r.terms.push_back(T(t));
  return r;
}

RuleSetDef OneCategory(std::vector<RuleDef> brands, std::vector<RuleDef> topics = {}) {
  RuleSetDef def;
  CategoryDef c;
  c.name = "sneakers";
  c.brands = std::move(brands);
  def.categories.push_back(std::move(c));
  def.topics = std::move(topics);
  return def;
}

std::shared_ptr<const RuleSet> MustCompile(const RuleSetDef& def, CompileOptions opt = {}) {
  Diagnostics d;
  auto rs = RuleSet::Compile(def, opt, &d);
  EXPECT_TRUE(rs) << d.ToString();
  EXPECT_TRUE(d.ok()) << d.ToString();
  return rs;
}

struct Event {
  std::string text;
  std::string platform = "twitter";
  std::string lang = "en";
  std::string author;
  std::string country;
};

// Names of everything that fires: "cat/brand" and "topic:name".
std::vector<std::string> Fired(const RuleSet& rs, const Event& ev) {
  MatchScratch scratch;
  MatchOutput out;
  static const PlatformTable platforms({"twitter", "facebook", "instagram", "reddit", "youtube",
                                        "tiktok", "linkedin", "tumblr", "news", "blogs", "forums"});
  rs.Match(ToMatchInput({ev.text, ev.platform, ev.lang, ev.author, ev.country}, platforms),
           &scratch, &out);
  std::vector<std::string> names;
  for (uint32_t b : out.brands) {
    names.push_back(rs.brands()[b].category + "/" + rs.brands()[b].name);
  }
  for (uint32_t t : out.topics) names.push_back("topic:" + rs.topics()[t]);
  return names;
}

// Whether a brand with the single term `term` fires on `text`.
bool TermMatches(const std::string& term, const std::string& text) {
  auto rs = MustCompile(OneCategory({Rule("b", {term})}));
  if (!rs) return false;
  return !Fired(*rs, Event{text}).empty();
}

bool QueryMatches(Expr query, const Event& ev) {
  RuleDef r = Rule("q");
  r.query = std::move(query);
  auto rs = MustCompile(OneCategory({r}));
  if (!rs) return false;
  return !Fired(*rs, ev).empty();
}
bool QueryMatches(Expr query, const std::string& text) {
  return QueryMatches(std::move(query), Event{text});
}

// ---------------------------------------------------------------------------
// docs/matching.md term table.

TEST(TermTest, Word) {
  EXPECT_TRUE(TermMatches("nike", "I love Nike"));
  EXPECT_TRUE(TermMatches("nike", "nike"));
  EXPECT_TRUE(TermMatches("nike", "NIKE!"));
  EXPECT_TRUE(TermMatches("nike", "(nike)"));
  EXPECT_TRUE(TermMatches("nike", "love #nike"));
  EXPECT_TRUE(TermMatches("nike", "thanks @nike"));
  EXPECT_TRUE(TermMatches("Nike", "nike shoes"));
  EXPECT_FALSE(TermMatches("nike", "nikelab"));
  EXPECT_FALSE(TermMatches("nike", "#nikelab"));
  EXPECT_FALSE(TermMatches("nike", "snike"));
  EXPECT_FALSE(TermMatches("nike", "nike_store"));  // '_' is a word char
  EXPECT_FALSE(TermMatches("nike", "nike2"));
  EXPECT_FALSE(TermMatches("nike", "adidas"));
}

TEST(TermTest, Phrase) {
  for (const char* term : {"just do it", "\"just do it\""}) {
    EXPECT_TRUE(TermMatches(term, "Just do it!")) << term;
    EXPECT_TRUE(TermMatches(term, "they say: just, do... it")) << term;
    EXPECT_TRUE(TermMatches(term, "#just-do-it")) << term;
    EXPECT_TRUE(TermMatches(term, "just   do\n\tit")) << term;
    EXPECT_FALSE(TermMatches(term, "just do itself")) << term;
    EXPECT_FALSE(TermMatches(term, "just do")) << term;
    EXPECT_FALSE(TermMatches(term, "just doit")) << term;
    EXPECT_FALSE(TermMatches(term, "do it just")) << term;
    EXPECT_FALSE(TermMatches(term, "just it do")) << term;
  }
  EXPECT_TRUE(TermMatches("coca-cola", "coca cola"));
  EXPECT_TRUE(TermMatches("coca-cola", "I drink Coca-Cola"));
  EXPECT_TRUE(TermMatches("coca-cola", "coca\u2014cola"));
  EXPECT_FALSE(TermMatches("coca-cola", "cocacola"));
  // A phrase whose first word repeats.
  EXPECT_TRUE(TermMatches("new new york", "the new new york times"));
}

TEST(TermTest, Hashtag) {
  EXPECT_TRUE(TermMatches("#nike", "#nike"));
  EXPECT_TRUE(TermMatches("#nike", "go #Nike go"));
  EXPECT_TRUE(TermMatches("#nike", "#NIKE!"));
  EXPECT_FALSE(TermMatches("#nike", "#nikelab"));
  EXPECT_FALSE(TermMatches("#nike", "nike"));
  EXPECT_FALSE(TermMatches("#nike", "@nike"));
  EXPECT_FALSE(TermMatches("#nike", "# nike"));
}

// A '#' or '@' is the term's first character, or ends the gap before a
// later word of a phrase: the boundary rule holds before it, except next
// to a no-space-script character.
TEST(TermTest, TagsKeepTheBoundaryRule) {
  struct Case {
    const char* term;
    const char* text;
    bool match;
  };
  const Case cases[] = {
      {"#nike", "x#nike", false},
      {"#nike", "love_#nike", false},
      {"#nike", "\u00e9#nike", false},
      {"#nike", "\u0627#nike", false},
      {"#nike", "!#nike", true},
      {"#nike", "##nike", true},
      {"#nike", "\u6771\u4eac#nike", true},
      {"#nike", "x #nike", true},
      {"#runn*", "x#running", false},
      {"#runn*", "(#running)", true},
      {"#\u30ca\u30a4\u30ad", "x#\u30ca\u30a4\u30ad", false},
      {"#\u30ca\u30a4\u30ad", "\u6771#\u30ca\u30a4\u30ad", true},
      {"#big deal", "x#big deal", false},
      {"#big deal", "a #big deal", true},
      // A later word of a phrase may be a hashtag or mention too.
      {"big #deal", "a big #deal!", true},
      {"big #deal", "big, #deal", true},
      {"big #deal", "big deal", false},
      {"big #deal", "big @deal", false},
      {"big #deal", "big#deal", false},
      {"big #deal", "big #dealer", false},
      {"love @nike", "love @Nike", true},
      {"love @nike", "love nike", false},
      {"\u6771\u4eac #\u30ca\u30a4\u30ad", "\u6771\u4eac#\u30ca\u30a4\u30ad", true},
      {"big #deal*", "big #dealers", true},
      // Without a separator before it, a '#' in a term only separates words.
      {"big#deal", "big deal", true},
      {"big deal", "big #deal", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(TermMatches(c.term, c.text), c.match) << c.term << " in " << c.text;
  }
}

TEST(TermTest, TaggedAndPlainPhrasesAreDifferentTerms) {
  auto rs = MustCompile(OneCategory({Rule("tagged", {"big #deal"}), Rule("mention", {"big @deal"}),
                                     Rule("plain", {"big deal"})}));
  ASSERT_TRUE(rs);
  EXPECT_THAT(Fired(*rs, Event{"a big #deal"}), ElementsAre("sneakers/tagged", "sneakers/plain"));
  EXPECT_THAT(Fired(*rs, Event{"a big @deal"}), ElementsAre("sneakers/mention", "sneakers/plain"));
  EXPECT_THAT(Fired(*rs, Event{"a big deal"}), ElementsAre("sneakers/plain"));
}

TEST(TermTest, Mention) {
  EXPECT_TRUE(TermMatches("@nike", "thanks @nike!"));
  EXPECT_TRUE(TermMatches("@nike", "@Nike"));
  EXPECT_FALSE(TermMatches("@nike", "nike"));
  EXPECT_FALSE(TermMatches("@nike", "#nike"));
  EXPECT_FALSE(TermMatches("@nike", "@nikestore"));
  // An e-mail address holds no mention.
  EXPECT_FALSE(TermMatches("@nike", "info@nike.com"));
  EXPECT_FALSE(TermMatches("@nike", "1@nike"));
  EXPECT_TRUE(TermMatches("@nike", "<@nike>"));
}

TEST(TermTest, Prefix) {
  EXPECT_TRUE(TermMatches("runn*", "I was running"));
  EXPECT_TRUE(TermMatches("runn*", "Runners unite"));
  EXPECT_TRUE(TermMatches("runn*", "runn"));
  EXPECT_TRUE(TermMatches("runn*", "#running"));
  EXPECT_FALSE(TermMatches("runn*", "rerunning"));
  EXPECT_FALSE(TermMatches("runn*", "run"));
  EXPECT_TRUE(TermMatches("air max*", "air maxed out"));
  EXPECT_FALSE(TermMatches("air max*", "air mix"));
  // Prefixes of several lengths at once.
  auto rs = MustCompile(OneCategory({Rule("a", {"ru*"}), Rule("b", {"runn*"}), Rule("c", {"x"})}));
  EXPECT_THAT(Fired(*rs, Event{"running"}), ElementsAre("sneakers/a", "sneakers/b"));
  EXPECT_THAT(Fired(*rs, Event{"rug"}), ElementsAre("sneakers/a"));
  // A multi-byte prefix cut at a character boundary.
  EXPECT_TRUE(TermMatches("café*", "cafés"));
  EXPECT_TRUE(TermMatches("نايك*", "نايكي"));
}

TEST(TermTest, ArabicVariants) {
  EXPECT_TRUE(TermMatches("نايكي", "نَايْكِي"));
  EXPECT_TRUE(TermMatches("نايكي", "نايـــكي"));
  EXPECT_TRUE(TermMatches("نايكي", "أنا أحب نايكي جدا"));
  EXPECT_TRUE(TermMatches("نَايْكِي", "نايكي"));
  EXPECT_TRUE(TermMatches("أديداس", "اديداس"));
  EXPECT_TRUE(TermMatches("اديداس", "أديداس"));
  EXPECT_TRUE(TermMatches("إديداس", "آديداس"));
  EXPECT_TRUE(TermMatches("مدرسة", "مدرسه"));
  EXPECT_TRUE(TermMatches("على", "علي"));
  EXPECT_FALSE(TermMatches("نايكي", "نايكيات"));
  EXPECT_TRUE(TermMatches("#نايكي", "#نايكي"));
}

TEST(TermTest, NoSpaceScripts) {
  EXPECT_TRUE(TermMatches("ナイキ", "ナイキの新作"));
  EXPECT_TRUE(TermMatches("ナイキ", "新しいナイキ"));
  EXPECT_TRUE(TermMatches("ナイキ", "ﾅｲｷ"));  // halfwidth, NFKC
  EXPECT_FALSE(TermMatches("ナイキ", "アディダス"));
  EXPECT_TRUE(TermMatches("耐克", "我喜欢耐克鞋"));
  EXPECT_TRUE(TermMatches("耐克", "耐克"));
  EXPECT_FALSE(TermMatches("耐克", "阿迪达斯"));
  EXPECT_TRUE(TermMatches("ไนกี้", "ฉันชอบไนกี้มาก"));
  // Latin words next to no-space-script characters.
  EXPECT_TRUE(TermMatches("nike", "我爱nike鞋"));
  EXPECT_TRUE(TermMatches("nike", "ナイキnike"));
  EXPECT_FALSE(TermMatches("nike", "我爱nikelab"));
  EXPECT_FALSE(TermMatches("nike", "我爱xnike"));
  // Mixed literals: the edge rule per edge.
  EXPECT_TRUE(TermMatches("nike東京", "nike東京店"));
  EXPECT_TRUE(TermMatches("nike東京", "新nike東京"));
  EXPECT_TRUE(TermMatches("nike東京", "at nike東京!"));
  EXPECT_FALSE(TermMatches("nike東京", "xnike東京"));
  EXPECT_TRUE(TermMatches("東京nike", "東京nike"));
  EXPECT_FALSE(TermMatches("東京nike", "東京nikes"));
  // Phrases with no-space words; hashtags.
  EXPECT_TRUE(TermMatches("ナイキ エア", "ナイキ・エアマックス"));
  EXPECT_TRUE(TermMatches("#ナイキ", "大好き#ナイキ"));
  EXPECT_FALSE(TermMatches("#ナイキ", "大好きナイキ"));
  // Single code point literal.
  EXPECT_TRUE(TermMatches("鞋", "我喜欢耐克鞋"));
}

TEST(TermTest, CompatibilityAndFolding) {
  EXPECT_TRUE(TermMatches("nike", "ＮＩＫＥ"));
  EXPECT_TRUE(TermMatches("ＮＩＫＥ", "Nike"));
  EXPECT_TRUE(TermMatches("strasse", "Straße"));
  EXPECT_TRUE(TermMatches("straße", "STRASSE"));
  EXPECT_TRUE(TermMatches("fine", "ﬁne"));
  EXPECT_TRUE(TermMatches("école", "E\u0301COLE"));
}

TEST(TermTest, EmojiAndPunctuation) {
  EXPECT_TRUE(TermMatches("nike", "🔥nike🔥"));
  EXPECT_TRUE(TermMatches("nike", "“Nike”"));
  EXPECT_TRUE(TermMatches("just do it", "🔥just🔥do🔥it🔥"));
}

// ---------------------------------------------------------------------------
// Rule model (docs/rules.md).

TEST(RuleTest, Exclude) {
  RuleDef r = Rule("nike", {"nike"});
  r.exclude = {T("nike missile")};
  auto rs = MustCompile(OneCategory({r}));
  EXPECT_THAT(Fired(*rs, Event{"new nike shoes"}), ElementsAre("sneakers/nike"));
  EXPECT_TRUE(Fired(*rs, Event{"the Nike missile program"}).empty());
  // An exclude-only rule fires unless excluded.
  RuleDef ex = Rule("ex");
  ex.exclude = {T("spam")};
  auto rs2 = MustCompile(OneCategory({ex}));
  EXPECT_EQ(Fired(*rs2, Event{"hello"}).size(), 1u);
  EXPECT_TRUE(Fired(*rs2, Event{"spam spam"}).empty());
}

TEST(RuleTest, PlatformFilter) {
  RuleDef r = Rule("nike", {"nike"});
  r.platforms = {"twitter", "ig"};
  auto rs = MustCompile(OneCategory({r}));
  EXPECT_EQ(Fired(*rs, Event{"nike", "twitter"}).size(), 1u);
  EXPECT_EQ(Fired(*rs, Event{"nike", "instagram"}).size(), 1u);
  EXPECT_EQ(Fired(*rs, Event{"nike", "x"}).size(), 1u);
  EXPECT_TRUE(Fired(*rs, Event{"nike", "facebook"}).empty());
  EXPECT_TRUE(Fired(*rs, Event{"nike", ""}).empty());
}

TEST(RuleTest, LanguageFilter) {
  RuleDef r = Rule("nike", {"nike", "نايكي"});
  r.languages = {"en", "ar"};
  auto rs = MustCompile(OneCategory({r}));
  EXPECT_EQ(Fired(*rs, Event{"nike", "twitter", "en"}).size(), 1u);
  EXPECT_EQ(Fired(*rs, Event{"نايكي", "twitter", "AR"}).size(), 1u);
  EXPECT_TRUE(Fired(*rs, Event{"nike", "twitter", "fr"}).empty());
  EXPECT_TRUE(Fired(*rs, Event{"nike", "twitter", ""}).empty());
}

TEST(RuleTest, Regex) {
  RuleDef r = Rule("nike");
  r.regex = {T("air\\s?max\\s?\\d+")};
  auto rs = MustCompile(OneCategory({r}));
  EXPECT_EQ(Fired(*rs, Event{"Just bought new Nike AIR MAX 90!"}).size(), 1u);
  EXPECT_EQ(Fired(*rs, Event{"airmax97"}).size(), 1u);
  EXPECT_TRUE(Fired(*rs, Event{"air max"}).empty());
  // Terms and regexes are alternatives.
  RuleDef both = Rule("nike", {"nike"});
  both.regex = {T("air\\s?max")};
  auto rs2 = MustCompile(OneCategory({both}));
  EXPECT_EQ(Fired(*rs2, Event{"nike"}).size(), 1u);
  EXPECT_EQ(Fired(*rs2, Event{"AirMax"}).size(), 1u);
  EXPECT_TRUE(QueryMatches(And({Term("nike"), Regex("max\\s*\\d+")}), "Nike Max 90"));
  EXPECT_FALSE(QueryMatches(And({Term("nike"), Regex("max\\s*\\d+")}), "Nike Max"));
}

TEST(RuleTest, TermsAndQueryMustBothHold) {
  RuleDef r = Rule("adidas", {"adidas"});
  r.query = Not(Or({Term("job"), Term("hiring")}));
  auto rs = MustCompile(OneCategory({r}));
  EXPECT_EQ(Fired(*rs, Event{"adidas shoes"}).size(), 1u);
  EXPECT_TRUE(Fired(*rs, Event{"adidas is hiring"}).empty());
  EXPECT_TRUE(Fired(*rs, Event{"hello"}).empty());
}

TEST(QueryTest, Boolean) {
  Expr q = And({Or({Term("adidas"), Term("three stripes"), Term("أديداس")}),
                Not(Or({Term("job"), Term("hiring")}))});
  EXPECT_TRUE(QueryMatches(q, "love my adidas"));
  EXPECT_TRUE(QueryMatches(q, "the Three Stripes brand"));
  EXPECT_TRUE(QueryMatches(q, "احب اديداس"));
  EXPECT_FALSE(QueryMatches(q, "adidas job opening"));
  EXPECT_FALSE(QueryMatches(q, "nothing here"));
}

TEST(QueryTest, Raw) {
  EXPECT_TRUE(QueryMatches(Raw("Apple"), "I love Apple products"));
  EXPECT_FALSE(QueryMatches(Raw("Apple"), "I love apple pie"));
  EXPECT_FALSE(QueryMatches(Raw("Apple"), "Applebee's"));
  EXPECT_FALSE(QueryMatches(Raw("Apple"), "SnapApple"));
  EXPECT_TRUE(QueryMatches(Raw("Exact Case"), "an Exact Case."));
  EXPECT_FALSE(QueryMatches(Raw("Exact Case"), "an exact case."));
  EXPECT_TRUE(QueryMatches(Raw("ナイキ"), "新ナイキ靴"));
  // The boundary rule at an edge that is not a word character too.
  EXPECT_TRUE(QueryMatches(Raw("#Nike"), "go #Nike"));
  EXPECT_FALSE(QueryMatches(Raw("#Nike"), "go x#Nike"));
  EXPECT_TRUE(QueryMatches(Raw("Nike!"), "Nike! now"));
  EXPECT_FALSE(QueryMatches(Raw("Nike!"), "Nike!x"));
  EXPECT_TRUE(QueryMatches(Raw("Nike!"), "Nike!\u9774"));
}

TEST(QueryTest, Fields) {
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kLang, "EN"), Event{"x", "twitter", "en"}));
  EXPECT_FALSE(QueryMatches(Field(FieldKind::kLang, "en"), Event{"x", "twitter", "ar"}));
  EXPECT_FALSE(QueryMatches(Field(FieldKind::kLang, "en"), Event{"x", "twitter", ""}));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kPlatform, "x"), Event{"x", "twitter"}));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kPlatform, "Twitter"), Event{"x", "twitter"}));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kPlatform, "fb"), Event{"x", "facebook"}));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kPlatform, "ig"), Event{"x", "instagram"}));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kPlatform, "yt"), Event{"x", "youtube"}));
  EXPECT_FALSE(QueryMatches(Field(FieldKind::kPlatform, "x"), Event{"x", "facebook"}));
  Event by_nike{"x", "twitter", "en", "Nike"};
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kAuthor, "@nike"), by_nike));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kAuthor, "NIKE"), Event{"x", "twitter", "en", "@nike"}));
  EXPECT_FALSE(QueryMatches(Field(FieldKind::kAuthor, "nike"), Event{"x", "twitter", "en", "adidas"}));
  // Case-insensitive beyond ASCII: full Unicode case folding on both sides.
  auto by = [](std::string author) { return Event{"x", "twitter", "en", std::move(author)}; };
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kAuthor, "ÉLAN"), by("élan")));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kAuthor, "élan"), by("@ÉLAN")));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kAuthor, "straße"), by("STRASSE")));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kAuthor, "STRASSE"), by("Straße")));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kAuthor, "ΣΟΦΙΑ"), by("σοφια")));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kAuthor, "نايكي"), by("نايكي")));
  EXPECT_FALSE(QueryMatches(Field(FieldKind::kAuthor, "élan"), by("elan")));  // no accent folding
  EXPECT_FALSE(QueryMatches(Field(FieldKind::kAuthor, "straße"), by("strase")));
  Event us{"x", "twitter", "en", "", "US"};
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kCountry, "us"), us));
  EXPECT_FALSE(QueryMatches(Field(FieldKind::kCountry, "gb"), us));
  EXPECT_TRUE(QueryMatches(And({Term("nike"), Field(FieldKind::kCountry, "us")}),
                           Event{"nike", "twitter", "en", "", "us"}));
}

TEST(QueryTest, NearExactDistances) {
  Expr q = Near(Term("nike"), Term("adidas"), 2);
  EXPECT_TRUE(QueryMatches(q, "nike adidas"));
  EXPECT_TRUE(QueryMatches(q, "nike a b adidas"));       // 2 between
  EXPECT_FALSE(QueryMatches(q, "nike a b c adidas"));    // 3 between
  EXPECT_TRUE(QueryMatches(q, "adidas, a; b! nike"));    // either order
  EXPECT_FALSE(QueryMatches(q, "adidas a b c nike"));
  EXPECT_FALSE(QueryMatches(q, "nike only"));
  // The closest pair counts.
  EXPECT_TRUE(QueryMatches(q, "nike a b c d adidas x nike"));
  Expr f = Near(Term("nike"), Term("adidas"), 2, true);
  EXPECT_TRUE(QueryMatches(f, "nike a b adidas"));
  EXPECT_FALSE(QueryMatches(f, "nike a b c adidas"));
  EXPECT_FALSE(QueryMatches(f, "adidas a nike"));
  EXPECT_TRUE(QueryMatches(f, "adidas a nike b adidas"));
  Expr zero = Near(Term("nike"), Term("adidas"), 0);
  EXPECT_TRUE(QueryMatches(zero, "nike-adidas"));
  EXPECT_FALSE(QueryMatches(zero, "nike vs adidas"));
  // A tag term starts at its '#' or '@', before the word both match.
  EXPECT_TRUE(QueryMatches(Near(Term("#nike"), Term("nike"), 0, true), "#nike"));
  EXPECT_FALSE(QueryMatches(Near(Term("nike"), Term("#nike"), 0, true), "#nike"));
  EXPECT_TRUE(QueryMatches(Near(Term("@nike"), Term("nike"), 5, true), "@nike"));
  EXPECT_FALSE(QueryMatches(Near(Term("nike"), Term("@nike"), 5, true), "@nike"));
  EXPECT_TRUE(QueryMatches(Near(Term("nike"), Term("#nike"), 0), "#nike"));
}

TEST(QueryTest, NearPhrasesAndOrs) {
  Expr q = Near(Term("air max"), Term("nike"), 1);
  EXPECT_TRUE(QueryMatches(q, "air max x nike"));
  EXPECT_FALSE(QueryMatches(q, "air max x y nike"));
  EXPECT_TRUE(QueryMatches(q, "nike x air max"));
  EXPECT_FALSE(QueryMatches(q, "nike x y air max"));
  Expr o = Near(Or({Term("nike"), Term("adidas")}), Or({Term("price"), Term("cost")}), 1);
  EXPECT_TRUE(QueryMatches(o, "adidas high cost"));
  EXPECT_TRUE(QueryMatches(o, "price of nike"));
  EXPECT_FALSE(QueryMatches(o, "price of the nike"));
  // Words inside no-space runs: 东京 and nike share one word run.
  EXPECT_TRUE(QueryMatches(Near(Term("nike"), Term("東京"), 0), "nike東京"));
  // The same term on both sides needs two occurrences.
  Expr same = Near(Term("nike"), Term("nike"), 1);
  EXPECT_FALSE(QueryMatches(same, "nike"));
  EXPECT_TRUE(QueryMatches(same, "nike and nike"));
  // Two terms that match the same text are two occurrences, 0 words apart.
  EXPECT_TRUE(QueryMatches(Near(Term("nike"), Term("#nike"), 0), "#nike"));
  EXPECT_TRUE(QueryMatches(Near(Term("\u0647\u0644\u0627\u0644"), Term("@\u0627\u0644\u0647\u0644\u0627\u0644"), 0),
                           "@\u0627\u0644\u0647\u0644\u0627\u0644"));
  EXPECT_FALSE(QueryMatches(Near(Term("nike"), Term("NIKE"), 0), "#nike"));  // one term
  EXPECT_FALSE(QueryMatches(Near(Term("nike"), Term("#nike"), 0, true), "#nike"));  // not before
}

TEST(QueryTest, RulesWithoutPositiveAtoms) {
  EXPECT_TRUE(QueryMatches(Not(Term("job")), "hello world"));
  EXPECT_TRUE(QueryMatches(Not(Term("job")), ""));
  EXPECT_FALSE(QueryMatches(Not(Term("job")), "job offer"));
  EXPECT_TRUE(QueryMatches(Field(FieldKind::kLang, "ar"), Event{"anything", "twitter", "ar"}));
  EXPECT_TRUE(QueryMatches(Or({Term("nike"), Field(FieldKind::kLang, "ar")}),
                           Event{"x", "twitter", "ar"}));
  EXPECT_TRUE(QueryMatches(Or({Term("nike"), Field(FieldKind::kLang, "ar")}),
                           Event{"nike", "twitter", "en"}));
  EXPECT_FALSE(QueryMatches(Or({Term("nike"), Field(FieldKind::kLang, "ar")}),
                            Event{"x", "twitter", "en"}));
  EXPECT_TRUE(QueryMatches(Not(Near(Term("a"), Term("b"), 0)), "a x b"));
}

TEST(RuleSetTest, OrderIndexesTopicsAndStats) {
  RuleSetDef def;
  CategoryDef sneakers;
  sneakers.name = "sneakers";
  sneakers.brands = {Rule("nike", {"nike", "#nike"}), Rule("adidas", {"adidas"})};
  CategoryDef drinks;
  drinks.name = "drinks";
  drinks.brands = {Rule("cola", {"coca-cola", "nike"})};
  def.categories = {sneakers, drinks};
  RuleDef pricing = Rule("pricing", {"price", "expensive", "سعر"});
  RuleDef q = Rule("hiring");
  q.query = Term("hiring");
  RuleDef rx = Rule("models");
  rx.regex = {T("air\\s?max\\s?\\d+")};
  def.topics = {pricing, q, rx};
  auto rs = MustCompile(def);
  ASSERT_TRUE(rs);
  EXPECT_THAT(rs->categories(), ElementsAre("sneakers", "drinks"));
  ASSERT_EQ(rs->brands().size(), 3u);
  EXPECT_EQ(rs->brands()[2].category, "drinks");
  EXPECT_EQ(rs->brands()[2].name, "cola");
  EXPECT_EQ(rs->brands()[2].category_index, 1u);
  EXPECT_THAT(rs->topics(), ElementsAre("pricing", "hiring", "models"));
  RuleSet::Stats s = rs->stats();
  EXPECT_EQ(s.categories, 2u);
  EXPECT_EQ(s.brands, 3u);
  EXPECT_EQ(s.topics, 3u);
  EXPECT_EQ(s.terms, 8u);  // nike, #nike, adidas, coca-cola, price, expensive, سعر, hiring
  EXPECT_EQ(s.regexes, 1u);
  EXPECT_EQ(s.queries, 1u);

  MatchScratch scratch;
  MatchOutput out;
  rs->Match(MatchInput{"Nike vs Adidas: the price of AirMax 90", "twitter", "en", "", ""}, &scratch,
            &out);
  EXPECT_THAT(out.brands, ElementsAre(0u, 1u, 2u));
  EXPECT_THAT(out.topics, ElementsAre(0u, 2u));
  // The scratch keeps the normalized text and its words.
  EXPECT_EQ(scratch.normalized, "nike vs adidas: the price of airmax 90");
  ASSERT_EQ(scratch.words.size(), 8u);
  EXPECT_EQ(scratch.words[2].begin, 8u);
  EXPECT_EQ(scratch.words[2].end, 14u);
  rs->Match(MatchInput{"nothing", "twitter", "en", "", ""}, &scratch, &out);
  EXPECT_TRUE(out.brands.empty());
  EXPECT_TRUE(out.topics.empty());
}

TEST(RuleSetTest, ScratchMovesBetweenRuleSets) {
  auto a = MustCompile(OneCategory({Rule("a", {"alpha"})}));
  auto b = MustCompile(OneCategory({Rule("x", {"beta"}), Rule("y", {"alpha"})}));
  MatchScratch scratch;
  MatchOutput out;
  for (int i = 0; i < 3; ++i) {
    a->Match(MatchInput{"alpha beta"}, &scratch, &out);
    EXPECT_THAT(out.brands, ElementsAre(0u));
    b->Match(MatchInput{"alpha beta"}, &scratch, &out);
    EXPECT_THAT(out.brands, ElementsAre(0u, 1u));
  }
}

TEST(RuleSetTest, MatchDoesNotAllocateInSteadyState) {
  std::vector<RuleDef> brands;
  for (int i = 0; i < 50; ++i) {
    brands.push_back(Rule("b" + std::to_string(i),
                          {"brand" + std::to_string(i), "#tag" + std::to_string(i), "ナイキ" + std::to_string(i), "نايكي"}));
  }
  brands[0].query = Near(Term("brand0"), Term("shoes"), 3);
  brands[1].exclude = {T("spam")};
  auto rs = MustCompile(OneCategory(brands));
  const char* texts[] = {"brand0 new shoes #tag3 brand7 @x",
                         "ナイキ1の新作 نَايْكِي brand0 shoes",
                         "Straße ﬁne brand1 spam brand2"};
  MatchScratch scratch;
  MatchOutput out;
  for (int round = 0; round < 3; ++round) {
    for (const char* t : texts) rs->Match(MatchInput{t, "twitter", "en"}, &scratch, &out);
  }
  g_allocs = 0;
  g_count_allocs = true;
  for (int round = 0; round < 10; ++round) {
    for (const char* t : texts) rs->Match(MatchInput{t, "twitter", "en"}, &scratch, &out);
  }
  g_count_allocs = false;
  EXPECT_EQ(g_allocs, 0u);
  EXPECT_FALSE(out.brands.empty());
}

// ---------------------------------------------------------------------------
// Compile errors.

TEST(CompileTest, ReportsAllErrorsWithPositions) {
  RuleDef a = Rule("a", {"nike"});
  a.terms.push_back(TermSpec{"#", Loc(12, 9)});
  a.regex.push_back(TermSpec{"a(b", Loc(13, 11)});
  RuleDef b = Rule("b");
  b.platforms = {"twiter", "other"};
  b.loc = Loc(20, 5);
  RuleDef c = Rule("c");
  c.query = Near(And({Term("x"), Term("y")}), Term("z"), 3);
  CompileOptions opt;
  opt.platforms = {"twitter", "facebook"};
  Diagnostics d;
  auto rs = RuleSet::Compile(OneCategory({a, b, c}), opt, &d);
  EXPECT_FALSE(rs);
  ASSERT_EQ(d.errors().size(), 4u) << d.ToString();
  EXPECT_EQ(d.errors()[0].ToString(), "rules/x.yaml:12:9: term \"#\" is empty after normalization");
  EXPECT_THAT(d.errors()[1].ToString(),
              HasSubstr("rules/x.yaml:13:11: invalid regex \"a(b\": missing ): a(b"));
  EXPECT_EQ(d.errors()[2].loc.line, 20);
  EXPECT_THAT(d.errors()[2].message, HasSubstr("unknown platform \"twiter\""));
  EXPECT_THAT(d.errors()[2].hint, HasSubstr("did you mean \"twitter\"?"));
  EXPECT_THAT(d.errors()[3].message, HasSubstr("NEAR operands"));
}

TEST(CompileTest, RegexTooLarge) {
  RuleDef a = Rule("a");
  a.regex = {TermSpec{"\\pL{200}", Loc(7, 3)}};
  CompileOptions opt;
  opt.regex_max_mem = 64 << 10;
  Diagnostics d;
  EXPECT_FALSE(RuleSet::Compile(OneCategory({a}), opt, &d));
  ASSERT_EQ(d.errors().size(), 1u) << d.ToString();
  EXPECT_EQ(d.errors()[0].loc.line, 7);
  EXPECT_THAT(d.errors()[0].message, HasSubstr("too large"));
}

TEST(CompileTest, Limits) {
  CompileOptions opt;
  opt.max_rules = 2;
  Diagnostics d;
  EXPECT_FALSE(RuleSet::Compile(OneCategory({Rule("a", {"a"}), Rule("b", {"b"}), Rule("c", {"c"})}),
                                opt, &d));
  EXPECT_THAT(d.ToString(), HasSubstr("max_rules"));

  Expr deep = Term("x");
  for (int i = 0; i < 10; ++i) deep = Not(std::move(deep));
  RuleDef r = Rule("deep");
  r.query = deep;
  CompileOptions opt2;
  opt2.max_query_depth = 5;
  Diagnostics d2;
  EXPECT_FALSE(RuleSet::Compile(OneCategory({r}), opt2, &d2));
  EXPECT_THAT(d2.ToString(), HasSubstr("nested too deeply"));
  CompileOptions opt3;
  opt3.max_query_depth = 64;
  EXPECT_TRUE(MustCompile(OneCategory({r}), opt3));
}

// Every query the parser accepts (up to 64 levels of parentheses and NOT)
// compiles: the compiler's own depth guard lies above what they can reach.
TEST(CompileTest, EveryParsedQueryDepthCompiles) {
  std::string nots;
  for (int i = 0; i < 64; ++i) nots += "NOT ";
  std::string and_nots = "z AND " + nots.substr(4) + "a";  // 63 NOTs under an AND
  // 64 parentheses, each level an OR of an AND.
  std::string parens;
  for (int i = 0; i < 64; ++i) parens += "p" + std::to_string(i) + " OR q AND (";
  parens += "a NEAR/3 b" + std::string(64, ')');
  for (const std::string& q : {nots + "a", and_nots, parens}) {
    Diagnostics d;
    const SourceLoc origin{"rules/x.yaml", 1, 1};
    auto e = ParseQuery(q, origin, &d);
    ASSERT_TRUE(e.has_value()) << d.ToString();
    RuleDef r = Rule("deep");
    r.query = std::move(*e);
    EXPECT_TRUE(RuleSet::Compile(OneCategory({r}), CompileOptions{}, &d)) << d.ToString();
  }
}

TEST(CompileTest, EmptyQueryTermAndUnknownPlatformField) {
  RuleDef r = Rule("q");
  r.query = And({Term("@"), Field(FieldKind::kPlatform, "facebok")});
  CompileOptions opt;
  opt.platforms = {"twitter", "facebook"};
  Diagnostics d;
  EXPECT_FALSE(RuleSet::Compile(OneCategory({r}), opt, &d));
  EXPECT_THAT(d.ToString(), HasSubstr("term \"@\" is empty after normalization"));
  EXPECT_THAT(d.ToString(), HasSubstr("did you mean \"facebook\"?"));
  // Without a platform list any name is accepted.
  r.query = Field(FieldKind::kPlatform, "facebok");
  EXPECT_TRUE(MustCompile(OneCategory({r})));
}

// ---------------------------------------------------------------------------
// Explain.

// A tag term's span includes its '#' or '@' (fullwidth too), as a phrase's
// inner tag is inside the phrase's span; a plain term in a hashtag is the
// word alone.
TEST(ExplainTest, TagSpansIncludeTheirSign) {
  auto rs = MustCompile(OneCategory({Rule("tags", {"#nike", "@adidas", "big #deal", "#puma*"}),
                                     Rule("word", {"reebok"})}));
  const std::string report = rs->Explain(MatchInput{
      "I love #Nike and @Adidas, big #Deal ＃pumas #Reebok", "twitter", "en", "", ""});
  for (const char* line : {"term \"#nike\" at bytes 7-12 (\"#Nike\")",
                           "term \"@adidas\" at bytes 17-24 (\"@Adidas\")",
                           "term \"big #deal\" at bytes 26-35 (\"big #Deal\")",
                           "term \"#puma*\" at bytes 36-44 (\"＃pumas\")",
                           "term \"reebok\" at bytes 46-52 (\"Reebok\")"}) {
    EXPECT_THAT(report, HasSubstr("  " + std::string(line) + "\n"));
  }
}

TEST(ExplainTest, Report) {
  RuleDef nike = Rule("nike", {"nike", "just do it"});
  nike.exclude = {T("nike missile")};
  RuleDef adidas = Rule("adidas");
  adidas.query = And({Term("adidas"), Not(Or({Term("job"), Term("hiring")}))});
  RuleDef puma = Rule("puma", {"puma"});
  puma.platforms = {"instagram"};
  RuleDef near = Rule("near");
  near.query = Near(Term("nike"), Term("price"), 3);
  RuleDef pricing = Rule("pricing", {"price"});
  auto rs = MustCompile(OneCategory({nike, adidas, puma, near}, {pricing}));
  std::string report = rs->Explain(MatchInput{
      "ＮＩＫＥ: Just do it. Adidas hiring, Puma too, a b c d e price", "twitter", "en", "", ""});
  EXPECT_THAT(report, HasSubstr("normalized: nike: just do it. adidas hiring, puma too, a b c d e price\n"));
  EXPECT_THAT(report, HasSubstr("  term \"nike\" at bytes 0-12 (\"ＮＩＫＥ\")\n"));
  EXPECT_THAT(report, HasSubstr("  term \"just do it\" at bytes 14-24 (\"Just do it\")\n"));
  EXPECT_THAT(report, HasSubstr("fired: brand sneakers/nike (term \"nike\", term \"just do it\")\n"));
  EXPECT_THAT(report, HasSubstr("fired: topic pricing (term \"price\")\n"));
  EXPECT_THAT(report, HasSubstr("not fired: brand sneakers/adidas: NOT (job OR hiring) failed\n"));
  EXPECT_THAT(report, HasSubstr(
                          "not fired: brand sneakers/puma: platform filter [instagram] does not "
                          "include twitter\n"));
  EXPECT_THAT(report, HasSubstr("not fired: brand sneakers/near: NEAR/3: closest distance 12 words\n"));

  std::string ex = rs->Explain(MatchInput{"The Nike missile", "twitter", "en", "", ""});
  EXPECT_THAT(ex, HasSubstr("not fired: brand sneakers/nike: excluded by \"nike missile\"\n"));
  EXPECT_THAT(ex, HasSubstr("no rule fired\n"));
  // Deterministic.
  EXPECT_EQ(ex, rs->Explain(MatchInput{"The Nike missile", "twitter", "en", "", ""}));
}

// "fired (...)" names the hits that made the rule fire: not the terms of a
// NEAR or an OR branch that did not hold. The shadow samples say the same.
TEST(ExplainTest, FiredNamesOnlyTheHitsThatHold) {
  RuleDef r = Rule("b");
  r.query = Or({Near(Term("alpha"), Term("beta"), 0), Term("gamma")});
  auto rs = MustCompile(OneCategory({r}));
  ASSERT_TRUE(rs);
  auto explain = [&](const char* text) {
    return rs->Explain(MatchInput{text, "twitter", "", "", ""});
  };
  EXPECT_THAT(explain("alpha x beta gamma"),
              HasSubstr("fired: brand sneakers/b (term \"gamma\")\n"));
  EXPECT_THAT(explain("alpha beta gamma"),
              HasSubstr("fired: brand sneakers/b (term \"alpha\", term \"beta\", "
                        "term \"gamma\")\n"));
  EXPECT_THAT(explain("alpha beta"),
              HasSubstr("fired: brand sneakers/b (term \"alpha\", term \"beta\")\n"));
  static const PlatformTable platforms({"twitter"});
  EXPECT_EQ(rs->FiredBy(ToMatchInput({"alpha x beta gamma", "twitter"}, platforms), 0),
            "query \"alpha NEAR/0 beta OR gamma\", term \"gamma\"");
}

TEST(ExplainTest, ArabicOffsetsAndRegex) {
  RuleDef r = Rule("nike", {"نايكي"});
  r.regex = {T("air\\s?max\\s?\\d+")};
  auto rs = MustCompile(OneCategory({r}));
  std::string text = "أحب نَايْكِي Air Max 90";
  std::string report = rs->Explain(MatchInput{text, "twitter", "ar", "", ""});
  size_t b = text.find("نَ");
  size_t e = text.find(" Air");
  EXPECT_THAT(report, HasSubstr("  term \"نايكي\" at bytes " + std::to_string(b) + "-" +
                                std::to_string(e) + " (\"نَايْكِي\")\n"));
  EXPECT_THAT(report, HasSubstr("  regex \"air\\s?max\\s?\\d+\" at bytes " +
                                std::to_string(e + 1) + "-" + std::to_string(text.size()) +
                                " (\"Air Max 90\")\n"));
  EXPECT_THAT(report, HasSubstr("fired: brand sneakers/nike ("));
}

// A hit that ends inside what the normalizer takes as one chunk: a
// character with a mark after it that normalizing keeps as written (the
// span ends at the hit), or an expansion (the span is the whole character).
TEST(ExplainTest, HitsEndingInsideANormalizedChunk) {
  RuleDef thai = Rule("thai", {"ไนกี"});
  RuleDef kana = Rule("kana", {"ナイキ", "株式", "الله"});
  RuleDef latin = Rule("latin", {"nike"});
  latin.regex = {T("ike")};
  auto rs = MustCompile(OneCategory({thai, kana, latin}));
  ASSERT_TRUE(rs);
  auto report = [&](const std::string& text) {
    return rs->Explain(MatchInput{text, "twitter", "", "", ""});
  };
  EXPECT_THAT(report("ไนกี้"), HasSubstr("term \"ไนกี\" at bytes 0-12 (\"ไนกี\")\n"));
  EXPECT_THAT(report("ナイキ\u0301"), HasSubstr("term \"ナイキ\" at bytes 0-9 (\"ナイキ\")\n"));
  const std::string nike = report("nike\u3099");
  EXPECT_THAT(nike, HasSubstr("term \"nike\" at bytes 0-4 (\"nike\")\n"));
  EXPECT_THAT(nike, HasSubstr("regex \"ike\" at bytes 1-4 (\"ike\")\n"));
  EXPECT_THAT(report("㍿"), HasSubstr("term \"株式\" at bytes 0-3 (\"㍿\")\n"));
  EXPECT_THAT(report("x \ufdfa y"), HasSubstr("term \"الله\" at bytes 2-5 (\"\ufdfa\")\n"));
}

// ---------------------------------------------------------------------------
// With the real loader and query parser: docs/rules.md's example file.

}  // namespace
}  // namespace earshot::rules

#include <cstdio>
#include <fstream>

#include "rules/loader.h"

namespace earshot::rules {
namespace {

TEST(LoadedRulesTest, DesignExample) {
  std::string dir = ::testing::TempDir() + "rule_set_test_rules";
  std::string mkdir = "mkdir -p '" + dir + "'";
  ASSERT_EQ(std::system(mkdir.c_str()), 0);
  std::string path = dir + "/sneakers.yaml";
  {
    std::ofstream f(path);
    f << R"(category: sneakers
brands:
  - name: nike
    terms: [nike, "just do it", "#nike", "@nike", نايكي]
    exclude: ["nike missile"]
    regex: ['air\s?max\s?\d+']
    platforms: [twitter, instagram]
    languages: [en, ar]
  - name: adidas
    query: '(adidas OR "three stripes" OR أديداس) AND NOT (job OR hiring)'
topics:
  - name: pricing
    terms: [price, expensive, cheap, discount, سعر]
)";
  }
  RuleSetDef def;
  Diagnostics d;
  ASSERT_TRUE(LoadRuleFiles({path}, &def, &d)) << d.ToString();
  CompileOptions opt;
  opt.platforms = {"twitter", "facebook", "instagram"};
  auto rs = MustCompile(def, opt);
  ASSERT_TRUE(rs);
  EXPECT_THAT(Fired(*rs, Event{"Just bought new Nike Air Max 90!"}), ElementsAre("sneakers/nike"));
  EXPECT_THAT(Fired(*rs, Event{"Air Max 95 restock", "instagram", "en"}),
              ElementsAre("sneakers/nike"));
  EXPECT_TRUE(Fired(*rs, Event{"Just do it", "facebook", "en"}).empty());
  EXPECT_TRUE(Fired(*rs, Event{"Just do it", "twitter", "fr"}).empty());
  EXPECT_TRUE(Fired(*rs, Event{"the nike missile", "twitter", "en"}).empty());
  EXPECT_THAT(Fired(*rs, Event{"نايكي أو أديداس؟ سعر مهم", "twitter", "ar"}),
              ElementsAre("sneakers/nike", "sneakers/adidas", "topic:pricing"));
  EXPECT_THAT(Fired(*rs, Event{"Three-Stripes discount", "reddit", ""}),
              ElementsAre("sneakers/adidas", "topic:pricing"));
  EXPECT_TRUE(Fired(*rs, Event{"adidas is hiring", "twitter", "en"}).empty());
  std::string report = rs->Explain(MatchInput{"adidas is Hiring", "twitter", "en", "", ""});
  EXPECT_THAT(report, HasSubstr("not fired: brand sneakers/adidas: NOT (job OR hiring) failed\n"));
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------
// Differential check: the indexed one-pass matcher against a direct,
// position-by-position reading of the matching rule, on random texts.

}  // namespace
}  // namespace earshot::rules

#include <random>

#include "rules/normalizer.h"
#include "tests/fuzz/match_reference.h"

namespace earshot::rules {
namespace {

using reference::ReferenceMatch;

// The words of the last match are the maximal runs of word characters of
// the normalized text, in order.
void WordsLikeReference(const MatchScratch& scratch, const std::string& text) {
  const std::vector<std::pair<uint32_t, uint32_t>> want = reference::WordRuns(scratch.normalized);
  ASSERT_EQ(scratch.words.size(), want.size()) << text;
  for (size_t w = 0; w < want.size(); ++w) {
    ASSERT_EQ(scratch.words[w].begin, want[w].first) << text;
    ASSERT_EQ(scratch.words[w].end, want[w].second) << text;
  }
}

// Brand i of `rs` is the one-term rule terms[i]: it fires on `text` exactly
// when the reference reading matches. Counts the fired brands.
void MatchLikeReference(const RuleSet& rs, const std::vector<std::string>& terms,
                        const std::string& text, MatchScratch* scratch, size_t* positives) {
  MatchOutput out;
  rs.Match(MatchInput{text, "twitter", "en", "", ""}, scratch, &out);
  for (size_t i = 0; i < terms.size(); ++i) {
    const bool got = std::find(out.brands.begin(), out.brands.end(), i) != out.brands.end();
    *positives += got;
    ASSERT_EQ(got, ReferenceMatch(terms[i], text))
        << "term \"" << terms[i] << "\" text \"" << text << "\"";
  }
}

TEST(DifferentialTest, RandomTextsAgreeWithReference) {
  const std::vector<std::string> terms = {
      "nike",    "#nike",  "@nike",   "run*",   "just do it", "ナイキ", "東京",  "nike東京",
      "耐克 nike", "x",      "ss",      "نايكي",  "do it*",     "_",      "é",     "#ナイキ",
      "ナ*",      "ru*",    "nike nike", "東京 ناي*", "الاهلي",   "@x",     "it", "نايكي ستور",
      "just #do it", "nike @x", "ナイキ #東京", "do#it"};
  std::vector<RuleDef> brands;
  for (size_t i = 0; i < terms.size(); ++i) brands.push_back(Rule("b" + std::to_string(i), {terms[i]}));
  auto rs = MustCompile(OneCategory(brands));
  ASSERT_TRUE(rs);
  const std::vector<std::string> pieces = {
      "nike", "Nike", "nikelab", "ナイキ", "東京", "耐克", "run", "running", "just", "do",
      "it",   "#",    "@",       " ",      "  ",   "-",    "🔥",  "é",       "É",    "_",
      "x",    "ß",    "ss",      "نايكي",  "ال",   "ナ",   "\u0301", "ﬁ",   "。",   "ＮＩＫＥ",
      "و",    "بال",  "لل",      "اهلي",   "ستور", "أ",    "\u064E", "ـ"};
  std::mt19937 rng(7);
  MatchScratch scratch;
  size_t positives = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string text;
    int n = 1 + rng() % 10;
    for (int k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    ASSERT_NO_FATAL_FAILURE(MatchLikeReference(*rs, terms, text, &scratch, &positives));
  }
  EXPECT_GT(positives, 4000u);  // the texts do exercise the terms
}

// Phrases that share their first word are turned away by their second
// word's first bytes before they are verified: second words that share 8
// bytes and differ later, that are shorter than 8 bytes, prefixes, tagged,
// touching a no-space word, or at the text's very end must all still match
// exactly as the reference reads them.
TEST(DifferentialTest, PhrasesSharingAFirstWordAgreeWithReference) {
  const std::vector<std::string> terms = {
      "the north",        "the northface",     "the northfaces", "the northfacex",
      "the n",            "the no*",           "the northf*",    "the #north",
      "the @n",           "the 東京",          "the north face", "the north fac*",
      "the the",          "the the the",       "north face",     "the north-face",
      "الاهلي الجديد",    "الاهلي الجديدة",   "الاهلي ال*",     "x y"};
  std::vector<RuleDef> brands;
  for (size_t i = 0; i < terms.size(); ++i) {
    brands.push_back(Rule("b" + std::to_string(i), {terms[i]}));
  }
  auto rs = MustCompile(OneCategory(brands));
  ASSERT_TRUE(rs);
  const std::vector<std::string> words = {
      "the", "The", "north", "northface", "northfaces", "northfacex", "n", "no", "face",
      "fac", "東京", "الاهلي", "والاهلي", "بالاهلي", "الجديد", "الجديدة", "ال", "x", "y",
      "و"};
  const std::vector<std::string> gaps = {" ", " ", " ", "  ", "-", ", ", " #", " @", "#", "",
                                         "\u0301 ", "\n"};
  std::mt19937 rng(11);
  MatchScratch scratch;
  size_t positives = 0;
  for (int iter = 0; iter < 6000; ++iter) {
    std::string text;
    int n = 1 + rng() % 8;
    for (int k = 0; k < n; ++k) {
      if (k > 0) text += gaps[rng() % gaps.size()];
      text += words[rng() % words.size()];
    }
    ASSERT_NO_FATAL_FAILURE(MatchLikeReference(*rs, terms, text, &scratch, &positives));
  }
  EXPECT_GT(positives, 1500u);  // the texts do exercise the terms
}

// NEAR (and NEAR/nf) against the reference reading: operands that are
// terms or ORs of them, over words, phrases, prefixes, proclitics and
// no-space literals, with the rule file's `arabic_proclitics` on and off.
TEST(DifferentialTest, NearQueriesAgreeWithReference) {
  struct NearCase {
    std::vector<std::string> a, b;
    int n;
    bool ordered;
  };
  const std::vector<NearCase> nears = {
      {{"nike"}, {"run*", "x"}, 0, false},
      {{"just do it", "nike"}, {"nike", "ss"}, 2, false},
      {{"نايكي"}, {"اديداس", "الاهلي"}, 1, true},
      {{"ナイキ", "東京"}, {"スニーカー", "nike"}, 0, false},
      {{"nike"}, {"nike"}, 1, false},
      {{"الهلا*", "وطن"}, {"x", "air max"}, 3, true},
      {{"#nike"}, {"nike", "@x"}, 0, true},  // a tag term starts at its tag
      {{"nike"}, {"#nike"}, 1, true},
  };
  auto operand = [](const std::vector<std::string>& terms) {
    if (terms.size() == 1) return Term(terms[0]);
    std::vector<Expr> c;
    for (const auto& t : terms) c.push_back(Term(t));
    return Or(std::move(c));
  };
  std::vector<RuleDef> brands;
  for (bool proclitics : {true, false}) {
    for (const NearCase& q : nears) {
      RuleDef r = Rule("n" + std::to_string(brands.size()));
      r.query = Near(operand(q.a), operand(q.b), q.n, q.ordered);
      r.arabic_proclitics = proclitics;
      brands.push_back(std::move(r));
    }
  }
  auto rs = MustCompile(OneCategory(brands));
  ASSERT_TRUE(rs);
  const std::vector<std::string> pieces = {
      "nike", "Nike", "run", "running", "x", "ss", "just do it", "just", "do", "it", " ", " ",
      " ", "-", "#", "@", "#nike", "نايكي", "واديداس", "اديداس", "للاهلي", "الاهلي", "الهلال",
      "وطن", "ووطن",
      "ナイキ", "東京", "スニーカー", "の", "air max", "air", "max", "🔥", "z",
      // More of the operands every query needs.
      "nike", " nike", "نايكي ", "واديداس ", "ناي", " #nike", "#nike ", "الهلال ",
      "air max "};
  std::mt19937 rng(23);
  MatchScratch scratch;
  MatchOutput out;
  std::vector<size_t> fired(brands.size());
  for (int iter = 0; iter < 6000; ++iter) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 14);
    for (int k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    rs->Match(MatchInput{text, "twitter", "en", "", ""}, &scratch, &out);
    for (size_t i = 0; i < brands.size(); ++i) {
      const NearCase& q = nears[i % nears.size()];
      const bool want = reference::ReferenceNear(q.a, q.b, q.n, q.ordered, text,
                                                       brands[i].arabic_proclitics);
      const bool got = std::find(out.brands.begin(), out.brands.end(), i) != out.brands.end();
      ASSERT_EQ(got, want) << "brand " << i << " text \"" << text << "\"";
      fired[i] += got;
    }
  }
  for (size_t i = 0; i < brands.size(); ++i) {
    EXPECT_GE(fired[i], 20u) << "brand " << i;  // the texts do exercise every query
  }
}

// A post that repeats NEAR's operands thousands of times: the sweep finds
// the closest pair (between the last "b" and the first "a") and honours
// NEAR/nf's order. Comparing every pair took seconds for such a post
// (bench/match_bench.cc, BM_NearLongText, times it).
TEST(QueryTest, NearOverManyOccurrences) {
  RuleDef unordered = Rule("unordered");
  unordered.query = Near(Term("a"), Term("b"), 1000);
  RuleDef a_first = Rule("a_first");
  a_first.query = Near(Term("a"), Term("b"), 1000, true);
  RuleDef b_first = Rule("b_first");
  b_first.query = Near(Term("b"), Term("a"), 1000, true);
  RuleDef self = Rule("self");
  self.query = Near(Term("a"), Term("a"), 0);
  auto rs = MustCompile(OneCategory({unordered, a_first, b_first, self}));
  ASSERT_TRUE(rs);
  auto text = [](int gap) {
    std::string t;
    for (int i = 0; i < 20000; ++i) t += "b ";
    for (int i = 0; i < gap; ++i) t += "x ";
    for (int i = 0; i < 20000; ++i) t += "a ";
    return t;
  };
  MatchScratch scratch;
  MatchOutput out;
  rs->Match(MatchInput{text(1000), "twitter"}, &scratch, &out);
  EXPECT_EQ(out.brands, (std::vector<uint32_t>{0, 2, 3}));
  rs->Match(MatchInput{text(1001), "twitter"}, &scratch, &out);
  EXPECT_EQ(out.brands, (std::vector<uint32_t>{3}));  // two a's side by side: distance 0
  const std::string report = rs->Explain(MatchInput{text(1001), "twitter"});
  EXPECT_THAT(report, HasSubstr("not fired: brand sneakers/unordered: NEAR/1000: closest distance "
                                "1001 words\n"));
  EXPECT_THAT(report, HasSubstr("not fired: brand sneakers/a_first: NEAR/1000f: operands not found "
                                "together\n"));
}

// MatchInput::normalized: a rule set that takes the normalized text of
// another set's match (shadow rules do) matches exactly as if it had
// normalized the text itself, whichever scripts, raw literals and regexes
// the text and the sets hold.
TEST(RuleSetTest, ReusedNormalizationMatchesLikeItsOwn) {
  RuleDef q = Rule("q");
  q.query = Or({Raw("Nike!"), Term("東京")});
  RuleDef re = Rule("re");
  re.regex = {T("ni+ke\\b")};
  auto live = MustCompile(OneCategory({Rule("a", {"nike"}), Rule("b", {"اديداس"}), q}));
  auto cand = MustCompile(OneCategory({Rule("c", {"nike", "ナイキ"}), Rule("d", {"الهلال"}), re}));
  ASSERT_TRUE(live && cand);
  const std::vector<std::string> pieces = {"Nike", "nike!", "NIKE", " ", "ナイキ", "東京", "واديداس",
                                           "بالهلال", "\xff", "\u0301", "ﬁ", "🔥", "ＮＩＫＥ", "niiike",
                                           "\u064E", "ـ", "#", "-"};
  std::mt19937 rng(11);
  MatchScratch live_scratch, own, reusing;
  MatchOutput live_out, own_out, reused_out;
  size_t fired = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string text;
    for (int k = 1 + rng() % 12; k > 0; --k) text += pieces[rng() % pieces.size()];
    MatchInput in{text, "twitter"};
    live->Match(in, &live_scratch, &live_out);
    cand->Match(in, &own, &own_out);
    MatchInput reused = in;
    reused.normalized = &live_scratch;
    cand->Match(reused, &reusing, &reused_out);
    ASSERT_EQ(reused_out.brands, own_out.brands) << text;
    ASSERT_EQ(reusing.normalized, own.normalized) << text;
    ASSERT_EQ(reusing.words.size(), own.words.size()) << text;
    ASSERT_EQ(reusing.has_nospace_script, own.has_nospace_script) << text;
    ASSERT_EQ(reusing.ascii, own.ascii) << text;
    // A scratch may also be handed its own normalized text back.
    reused.normalized = &reusing;
    cand->Match(reused, &reusing, &reused_out);
    ASSERT_EQ(reused_out.brands, own_out.brands) << text;
    fired += own_out.brands.size();
  }
  EXPECT_GT(fired, 1000u);  // the texts do exercise the rules
}

// A text without no-space-script characters is probed by its words (each
// is one spaced token). Should a caller's scratch say so of a text that has
// one after all, the matcher still finds the spaced token that a no-space
// run splits off a word: it tokenizes again, collecting the tokens.
TEST(RuleSetTest, WordsStandInForTokensOnlyWhenNoRunSplitsAWord) {
  auto rs = MustCompile(OneCategory({Rule("a", {"nike"}), Rule("b", {"adidas"})}));
  ASSERT_TRUE(rs);
  for (const std::string text : {"ナイキnike adidas", "adidas nike", "adidas東京nike"}) {
    MatchScratch given;
    given.normalized = text;
    given.has_nospace_script = false;  // wrong for two of the three
    MatchInput in{text, "twitter"};
    in.normalized = &given;
    MatchScratch scratch;
    MatchOutput out;
    rs->Match(in, &scratch, &out);
    EXPECT_EQ(out.brands, (std::vector<uint32_t>{0, 1})) << text;
  }
}

// Longer texts: the tokenizer classifies 64-byte blocks of pure ASCII with
// SIMD and everything else code point by code point, so words and tokens
// that straddle block edges, and blocks that switch between the two, must
// give exactly what the reference reading gives.
TEST(DifferentialTest, LongMixedTextsAgreeWithReference) {
  const std::vector<std::string> terms = {
      "nike", "#nike", "@nike", "run*", "just do it", "ナイキ", "東京", "nike東京", "نايكي",
      "air max", "_x", "a1", "الاهلي", "東京 ナイキ", "zz", "اديداس", "الهلا*"};
  std::vector<RuleDef> brands;
  for (size_t i = 0; i < terms.size(); ++i) brands.push_back(Rule("b" + std::to_string(i), {terms[i]}));
  auto rs = MustCompile(OneCategory(brands));
  ASSERT_TRUE(rs);
  const std::vector<std::string> pieces = {
      "nike", "Nike", "nikelab", "ナイキ", "東京", "run", "running", "just", "do", "it", "air",
      "max", " ", " ", " ", "  ", "#", "@", "-", ".", "_x", "a1", "zz", "zzz", "نايكي", "ال",
      "والنايكي", "🔥", "é", "ー", "、", "0123456789", "abcdefghijklmnopqrstuvwxyz",
      "AIR MAX", "\n", "و", "ال", "بال", "لل", "اهلي", "الأهلي", "اديداس", "هلال", "،",
      "مرحبا بكم في المتجر", "كالهلال", "فالاهلي", "وَ", "ئ"};
  std::mt19937 rng(13);
  MatchScratch scratch;
  size_t positives = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    const int n = 10 + static_cast<int>(rng() % 70);
    for (int k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    ASSERT_NO_FATAL_FAILURE(MatchLikeReference(*rs, terms, text, &scratch, &positives));
    ASSERT_NO_FATAL_FAILURE(WordsLikeReference(scratch, text));
  }
  EXPECT_GT(positives, 3000u);
}

// Long runs of kana and Han, which the tokenizer steps over 22 code points
// at a time (IdentityKanaHanLeads), broken by the characters it must stop
// at (punctuation, iteration and sound marks, digraphs, spaces, Latin),
// ending anywhere near the text's end: the words and the matches agree with
// the reference reading.
TEST(DifferentialTest, LongKanaHanRunsAgreeWithReference) {
  const std::vector<std::string> terms = {"ナイキ", "東京", "スニーカー", "nike東京", "新作",
                                          "ナイキ ジャパン", "ー"};
  std::vector<RuleDef> brands;
  for (size_t i = 0; i < terms.size(); ++i) {
    brands.push_back(Rule("b" + std::to_string(i), {terms[i]}));
  }
  auto rs = MustCompile(OneCategory(brands));
  ASSERT_TRUE(rs);
  const std::vector<std::string> pieces = {
      "ナイキ", "東京", "スニーカー", "を買いました", "新作", "ジャパン", "のかっこいい", "一",
      "龥", "ぁ", "ゖ", "ァ", "ヺ", "ー", "々", "〇", "ゝ", "ゟ", "ヿ", "゛", "・", "、", "。",
      "ｶ", "ﾞ", "\u3000", " ", "nike", "Nike", "1", "#", "\u4DC0", "豈", "ㇰ", "㐀"};
  std::mt19937 rng(17);
  MatchScratch scratch;
  size_t positives = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 80);
    for (int k = 0; k < n; ++k) {
      // Mostly kana and Han: long no-space runs.
      text += pieces[rng() % (rng() % 4 == 0 ? pieces.size() : 13)];
    }
    ASSERT_NO_FATAL_FAILURE(MatchLikeReference(*rs, terms, text, &scratch, &positives));
    ASSERT_NO_FATAL_FAILURE(WordsLikeReference(scratch, text));
  }
  EXPECT_GT(positives, 3000u);
}

}  // namespace
}  // namespace earshot::rules

namespace earshot::rules {
namespace {

TEST(RuleSetTest, FiredByNamesWhatFired) {
  RuleDef nike = Rule("nike", {"nike", "just do it"});
  RuleDef adidas = Rule("adidas");
  adidas.query = Expr{ExprKind::kAnd,
                      "",
                      FieldKind::kLang,
                      0,
                      false,
                      {Expr{ExprKind::kTerm, "adidas"}, Expr{ExprKind::kTerm, "shoes"}}};
  RuleDef puma = Rule("puma");  // a query that is a NEAR: named whole, not "NEAR/1"
  puma.query = Near(Term("puma"), Term("cheap"), 1);
  auto rs = MustCompile(OneCategory({nike, adidas, puma}));
  static const PlatformTable platforms({"twitter"});
  auto in = [&](const char* text) { return ToMatchInput({text, "twitter"}, platforms); };
  EXPECT_EQ(rs->FiredBy(in("puma is cheap"), 2),
            "query \"puma NEAR/1 cheap\", term \"puma\", term \"cheap\"");
  EXPECT_EQ(rs->FiredBy(in("Just do it, Nike"), 0), "term \"nike\", term \"just do it\"");
  EXPECT_EQ(rs->FiredBy(in("adidas shoes"), 1), "query \"adidas AND shoes\", term \"adidas\", term \"shoes\"");
  EXPECT_EQ(rs->FiredBy(in("adidas only"), 1), "");
  EXPECT_EQ(rs->FiredBy(in("nothing"), 0), "");
  EXPECT_EQ(rs->FiredBy(in("nike"), 7), "");
}

}  // namespace
}  // namespace earshot::rules

// The no-space literals' automaton against the code-point index it
// replaced (CompileOptions::literal_automaton = false), on random texts of
// kana, Han, Thai and their neighbours: the same brands fire, and explain
// reports the same occurrences.
namespace earshot::rules {
namespace {

// The same brands compiled with the automaton and with the code-point
// index it replaced.
std::pair<std::shared_ptr<const RuleSet>, std::shared_ptr<const RuleSet>>
CompileWithAndWithoutAutomaton(const std::vector<RuleDef>& brands) {
  CompileOptions automaton, index;
  index.literal_automaton = false;
  return {MustCompile(OneCategory(brands), automaton), MustCompile(OneCategory(brands), index)};
}

TEST(DifferentialTest, LiteralAutomatonAgreesWithTheCodePointIndex) {
  const std::vector<std::string> terms = {
      "ナイキ", "ナイキア", "イキ", "キ", "ナ", "東京", "京", "東京タワー", "ナイキ 東京", "#ナイキ",
      "@東京", "ナイ*", "ไนกี้", "กี้", "耐克", "耐克 nike", "nike東京", "ナイキ2", "ーー", "の",
      "スニーカー", "カー", "ア イ"};
  std::vector<RuleDef> brands;
  for (size_t i = 0; i < terms.size(); ++i) brands.push_back(Rule("b" + std::to_string(i), {terms[i]}));
  auto [a, b] = CompileWithAndWithoutAutomaton(brands);
  ASSERT_TRUE(a && b);
  const std::vector<std::string> pieces = {
      "ナ", "イ", "キ", "ア", "ナイキ", "東", "京", "タワー", "ー", "の", "、", " ", "#", "@", "2",
      "nike", "ไ", "น", "กี้", "耐", "克", "ス", "ニ", "カ", "！", "ｶ", "ﾅｲｷ", "\n", "é", "あ"};
  std::mt19937 rng(29);
  static const PlatformTable platforms({"twitter"});
  MatchScratch sa, sb;
  MatchOutput oa, ob;
  size_t fired = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    const MatchInput in = ToMatchInput({text, "twitter"}, platforms);
    a->Match(in, &sa, &oa);
    b->Match(in, &sb, &ob);
    ASSERT_EQ(oa.brands, ob.brands) << text;
    ASSERT_EQ(a->Explain(in), b->Explain(in)) << text;
    fired += oa.brands.size();
  }
  EXPECT_GT(fired, 10000u);
}

// Many keys over a five-letter alphabet: deep failure chains, states that
// inherit most of their transitions, and a double array packed tight enough
// that some states go past its end. Every brand the code-point index finds,
// the automaton finds, with the same occurrences.
TEST(DifferentialTest, LiteralAutomatonAgreesOnManyKeysSharingPrefixes) {
  const std::vector<std::string> alphabet = {"ナ", "イ", "キ", "ア", "ー"};
  std::mt19937 rng(31);
  std::vector<RuleDef> brands;
  std::set<std::string> seen;
  while (brands.size() < 400) {
    std::string term;
    const int len = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < len; ++k) term += alphabet[rng() % alphabet.size()];
    if (term.rfind("ー", 0) == 0 && term.size() == 3) continue;  // some single marks stay out
    if (seen.insert(term).second) brands.push_back(Rule("b" + std::to_string(brands.size()), {term}));
  }
  auto [a, b] = CompileWithAndWithoutAutomaton(brands);
  ASSERT_TRUE(a && b);
  static const PlatformTable platforms({"twitter"});
  MatchScratch sa, sb;
  MatchOutput oa, ob;
  size_t fired = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 30);
    for (int k = 0; k < n; ++k) {
      const unsigned r = rng() % 12;
      text += r < 10 ? alphabet[r % alphabet.size()] : r == 10 ? " " : "東";
    }
    const MatchInput in = ToMatchInput({text, "twitter"}, platforms);
    a->Match(in, &sa, &oa);
    b->Match(in, &sb, &ob);
    ASSERT_EQ(oa.brands, ob.brands) << text;
    if (iter < 300) ASSERT_EQ(a->Explain(in), b->Explain(in)) << text;
    fired += oa.brands.size();
  }
  EXPECT_GT(fired, 20000u);
}

}  // namespace
}  // namespace earshot::rules
