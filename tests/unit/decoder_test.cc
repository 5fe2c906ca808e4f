// Decoder tests: every invalid reason with hostile inputs, every canonical
// field and alias, timestamp forms, the presets on realistic fixtures
// (tests/unit/testdata/decoder/), and mapping validation.
// Over 900 lines on purpose: one table of cases per decoder rule, all
// sharing the helpers above them; its length is the catalogue, not two ideas.

#include "pipeline/decoder.h"

#include "pipeline/decode_json.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>

namespace earshot {
namespace {

using R = std::optional<InvalidReason>;
constexpr R kOk = std::nullopt;

std::string Fixture(const std::string& name) {
  const std::string path =
      std::string(EARSHOT_SOURCE_DIR) + "/tests/unit/testdata/decoder/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Decoder> Make(Format format, size_t max_bytes = 1048576, int max_depth = 64) {
  DecoderOptions o;
  o.format = format;
  o.max_event_bytes = max_bytes;
  o.max_json_depth = max_depth;
  auto d = MakeDecoder(o);
  EXPECT_TRUE(d.ok()) << d.message();
  return std::move(d).value();
}

std::string Name(R r) { return r ? InvalidReasonName(*r) : "ok"; }

class CanonicalTest : public ::testing::Test {
 protected:
  // Decodes and returns the reason name ("ok" on success).
  std::string D(std::string_view payload) { return Name(dec_->Decode(payload, &ev_)); }
  std::unique_ptr<Decoder> dec_ = Make(Format::kCanonical);
  Event ev_;
};

// A valid canonical event with `extra` members appended.
std::string Canon(const std::string& extra = "") {
  return R"({"id":"p1","platform":"twitter","text":"hello")" + extra + "}";
}

TEST_F(CanonicalTest, MinimalEvent) {
  ASSERT_EQ(D(Canon()), "ok");
  EXPECT_EQ(ev_.id, "p1");
  EXPECT_EQ(ev_.platform, "twitter");
  EXPECT_EQ(ev_.text, "hello");
  EXPECT_FALSE(ev_.has_created_at);
  EXPECT_EQ(ev_.type, EventType::kPost);
  EXPECT_TRUE(ev_.lang.empty());
  EXPECT_TRUE(ev_.author_handle.empty());
  EXPECT_EQ(ev_.engagement(), 0u);
}

TEST_F(CanonicalTest, EveryField) {
  const std::string p = R"({
    "id": "1785653421867786240", "platform": "Instagram", "text": "New Nike drop \ud83d\udc5f",
    "created_at": "2024-05-01T12:00:00.250+02:00", "type": "comment", "lang": "EN",
    "url": "https://instagram.com/p/C6abc/", "country": "gb",
    "author": {"id": "17841400008460056", "handle": "sneakerhead", "followers": 12500},
    "engagement": {"likes": 340, "shares": 12, "comments": 41, "views": 99000},
    "unknown": {"nested": [1, 2, {"x": null}]}
  })";
  ASSERT_EQ(D(p), "ok");
  EXPECT_EQ(ev_.id, "1785653421867786240");
  EXPECT_EQ(ev_.platform, "instagram");
  EXPECT_EQ(ev_.text, "New Nike drop \xF0\x9F\x91\x9F");
  EXPECT_TRUE(ev_.has_created_at);
  EXPECT_EQ(ev_.created_at_ms, 1714557600250);
  EXPECT_EQ(ev_.type, EventType::kComment);
  EXPECT_EQ(ev_.lang, "en");
  EXPECT_EQ(ev_.url, "https://instagram.com/p/C6abc/");
  EXPECT_EQ(ev_.country, "GB");
  EXPECT_EQ(ev_.author_id, "17841400008460056");
  EXPECT_EQ(ev_.author_handle, "sneakerhead");
  EXPECT_EQ(ev_.followers, 12500u);
  EXPECT_EQ(ev_.likes, 340u);
  EXPECT_EQ(ev_.shares, 12u);
  EXPECT_EQ(ev_.comments, 41u);
  EXPECT_EQ(ev_.views, 99000u);
  EXPECT_EQ(ev_.engagement(), 393u);
}

TEST_F(CanonicalTest, PlatformAliasesAndCase) {
  const std::pair<const char*, const char*> cases[] = {
      {"x", "twitter"},     {"X", "twitter"},       {"fb", "facebook"}, {"FB", "facebook"},
      {"ig", "instagram"},  {"yt", "youtube"},      {"Yt", "youtube"},  {"TikTok", "tiktok"},
      {"REDDIT", "reddit"}, {"myspace", "myspace"}, {"xx", "xx"},
      // White space around the name is not part of it: the label and the
      // dedupe key (platform, id) both see the trimmed name.
      {"twitter ", "twitter"}, {" X", "twitter"}, {"\\tTwitter\\n", "twitter"},
      {" my space ", "my space"}, {"   ", ""},
  };
  for (const auto& [in, want] : cases) {
    ASSERT_EQ(D(R"({"id":1,"text":"t","platform":")" + std::string(in) + "\"}"), "ok") << in;
    EXPECT_EQ(ev_.platform, want) << in;
  }
}

TEST_F(CanonicalTest, IntegerIds) {
  const std::pair<const char*, const char*> cases[] = {
      {"0", "0"},
      {"42", "42"},
      {"12.0", "12"},
      {"1e3", "1000"},
      {"1.5e1", "15"},
      {"-0", "0"},
      {"18446744073709551615", "18446744073709551615"},
      {"1785653421867786240", "1785653421867786240"},
  };
  for (const auto& [in, want] : cases) {
    ASSERT_EQ(D(R"({"platform":"x","text":"t","id":)" + std::string(in) + "}"), "ok") << in;
    EXPECT_EQ(ev_.id, want) << in;
  }
  ASSERT_EQ(D(R"({"platform":"x","text":"t","author":{"id":17841400008460056}})"), "missing_field");
  ASSERT_EQ(D(R"({"id":"a","platform":"x","text":"t","author":{"id":17841400008460056}})"), "ok");
  EXPECT_EQ(ev_.author_id, "17841400008460056");
  ASSERT_EQ(D(R"({"id":"a","platform":"x","text":"t","author":{"id":""}})"), "ok");
  EXPECT_EQ(ev_.author_id, "");
}

TEST_F(CanonicalTest, LangCountryUrlType) {
  ASSERT_EQ(D(Canon(R"(,"lang":"AR","country":"sa","url":"https://x.com/a/status/1")")), "ok");
  EXPECT_EQ(ev_.lang, "ar");
  EXPECT_EQ(ev_.country, "SA");
  EXPECT_EQ(ev_.url, "https://x.com/a/status/1");
  const std::pair<const char*, EventType> types[] = {
      {"post", EventType::kPost},       {"comment", EventType::kComment},
      {"reply", EventType::kReply},     {"share", EventType::kShare},
      {"mention", EventType::kMention}, {"Reply", EventType::kReply},
  };
  for (const auto& [in, want] : types) {
    ASSERT_EQ(D(Canon(R"(,"type":")" + std::string(in) + "\"")), "ok") << in;
    EXPECT_EQ(ev_.type, want) << in;
  }
  EXPECT_EQ(D(Canon(R"(,"type":"retweet")")), "bad_type");
  EXPECT_EQ(D(Canon(R"(,"type":"")")), "bad_type");
  EXPECT_EQ(D(Canon(R"(,"type":1)")), "bad_type");
  // Near misses: a prefix, an extension, a NUL where the name ends, another
  // name's length.
  for (const char* t : {"pos", "posts", R"(post\u0000)", R"(share\u0000\u0000)", "replies",
                        "mentio", "commentt", "shar", "p", "x", "postpost", "sharE!",
                        R"(\u0000post)", "comment ", " post"}) {
    EXPECT_EQ(D(Canon(R"(,"type":")" + std::string(t) + "\"")), "bad_type") << t;
  }
  ASSERT_EQ(D(Canon(R"(,"type":"MENTION","platform":"YT")")), "ok");
  EXPECT_EQ(ev_.type, EventType::kMention);
  EXPECT_EQ(ev_.platform, "youtube");
}

TEST_F(CanonicalTest, NullOptionalFieldsAreAbsent) {
  ASSERT_EQ(D(Canon(R"(,"created_at":null,"type":null,"lang":null,"url":null,"country":null,)"
                    R"("author":null,"engagement":null)")),
            "ok");
  EXPECT_FALSE(ev_.has_created_at);
  EXPECT_EQ(ev_.type, EventType::kPost);
  ASSERT_EQ(D(Canon(R"(,"author":{"id":null,"handle":null,"followers":null},)"
                    R"("engagement":{"likes":null,"shares":null,"comments":null,"views":null})")),
            "ok");
  EXPECT_EQ(ev_.followers, 0u);
  EXPECT_EQ(D(R"({"id":"1","platform":"x","text":"","extra":null})"), "ok");
  EXPECT_EQ(ev_.text, "");
}

TEST_F(CanonicalTest, CreatedAtForms) {
  const std::pair<const char*, int64_t> ok[] = {
      {R"("2024-05-01T12:00:00Z")", 1714564800000},
      {R"("2024-05-01t12:00:00z")", 1714564800000},
      {R"("2024-05-01 12:00:00Z")", 1714564800000},
      {R"("2024-05-01T12:00:00.5Z")", 1714564800500},
      {R"("2024-05-01T12:00:00.123456789Z")", 1714564800123},
      {R"("2024-05-01T14:00:00+02:00")", 1714564800000},
      {R"("2024-05-01T07:30:00-04:30")", 1714564800000},
      {R"("2024-05-01T12:00:00-00:00")", 1714564800000},
      {R"("1970-01-01T00:00:00Z")", 0},
      {"1714564800000", 1714564800000},
      {"1714564800000.0", 1714564800000},
      {"1.7145648e12", 1714564800000},
      {"0", 0},
  };
  for (const auto& [in, want] : ok) {
    ASSERT_EQ(D(Canon(",\"created_at\":" + std::string(in))), "ok") << in;
    EXPECT_TRUE(ev_.has_created_at);
    EXPECT_EQ(ev_.created_at_ms, want) << in;
  }
  const char* bad[] = {
      R"("2024-05-01")",           R"("yesterday")",
      R"("")",                     R"("2024-05-01T12:00:00")",
      R"("2024-02-30T00:00:00Z")", R"("2023-02-29T00:00:00Z")",
      R"("2024-13-01T00:00:00Z")", R"("2024-05-01T24:00:00Z")",
      R"("2024-05-01T12:60:00Z")", R"("2024-05-01T12:00:00+24:00")",
      R"("2024-05-01T12:00:00.Z")", R"("2024-05-01T12:00:00Z ")",
      R"("1714564800000")",        R"("Wed May 01 12:00:00 +0000 2024")",
      R"("1969-12-31T23:59:59Z")", R"("0000-01-01T00:00:00Z")",
      "-1",                        "1.5",
      "1714564800000.5",           "1e20",
      "18446744073709551616",      "253402300800000",
  };
  for (const char* in : bad) {
    EXPECT_EQ(D(Canon(",\"created_at\":" + std::string(in))), "bad_timestamp") << in;
  }
  EXPECT_EQ(D(Canon(R"(,"created_at":"9999-12-31T23:59:59.999Z")")), "ok");
  EXPECT_EQ(D(Canon(R"(,"created_at":true)")), "bad_type");
  EXPECT_EQ(D(Canon(R"(,"created_at":{"$date":1})")), "bad_type");
  EXPECT_EQ(D(Canon(R"(,"created_at":[1])")), "bad_type");
}

TEST_F(CanonicalTest, MissingField) {
  const char* cases[] = {
      R"({"platform":"x","text":"t"})",
      R"({"id":"1","text":"t"})",
      R"({"id":"1","platform":"x"})",
      R"({"id":null,"platform":"x","text":"t"})",
      R"({"id":"1","platform":null,"text":"t"})",
      R"({"id":"1","platform":"x","text":null})",
      R"({})",
      R"({"data":{"id":"1","platform":"x","text":"t"}})",
      R"({"ID":"1","Platform":"x","Text":"t"})",
  };
  for (const char* in : cases) EXPECT_EQ(D(in), "missing_field") << in;
}

TEST_F(CanonicalTest, BadType) {
  const char* cases[] = {
      R"({"id":"","platform":"x","text":"t"})",
      R"({"id":true,"platform":"x","text":"t"})",
      R"({"id":-1,"platform":"x","text":"t"})",
      R"({"id":1.5,"platform":"x","text":"t"})",
      R"({"id":18446744073709551616,"platform":"x","text":"t"})",
      R"({"id":1e400,"platform":"x","text":"t"})",
      R"({"id":[1],"platform":"x","text":"t"})",
      R"({"id":{"a":1},"platform":"x","text":"t"})",
      R"({"id":"1","platform":7,"text":"t"})",
      R"({"id":"1","platform":"x","text":5})",
      R"({"id":"1","platform":"x","text":["a"]})",
      R"({"id":"1","platform":"x","text":false})",
      R"({"id":"1","platform":"x","text":"t","lang":5})",
      R"({"id":"1","platform":"x","text":"t","url":{}})",
      R"({"id":"1","platform":"x","text":"t","country":1})",
      R"({"id":"1","platform":"x","text":"t","author":"bob"})",
      R"({"id":"1","platform":"x","text":"t","author":[]})",
      R"({"id":"1","platform":"x","text":"t","author":5})",
      R"({"id":"1","platform":"x","text":"t","engagement":[1,2]})",
      R"({"id":"1","platform":"x","text":"t","engagement":"lots"})",
      R"({"id":"1","platform":"x","text":"t","author":{"followers":"12"}})",
      R"({"id":"1","platform":"x","text":"t","author":{"followers":-5}})",
      R"({"id":"1","platform":"x","text":"t","author":{"followers":1.25}})",
      R"({"id":"1","platform":"x","text":"t","author":{"handle":5}})",
      R"({"id":"1","platform":"x","text":"t","author":{"id":true}})",
      R"({"id":"1","platform":"x","text":"t","engagement":{"likes":-1}})",
      R"({"id":"1","platform":"x","text":"t","engagement":{"shares":"3"}})",
      R"({"id":"1","platform":"x","text":"t","engagement":{"comments":2.5}})",
      R"({"id":"1","platform":"x","text":"t","engagement":{"views":18446744073709551616}})",
      R"({"id":"1","platform":"x","text":"t","engagement":{"views":1e20}})",
      R"({"id":"1","platform":"x","text":"t","engagement":{"likes":true}})",
      // RapidJSON cannot represent this number at all, even in an ignored field.
      R"({"id":"1","platform":"x","text":"t","ignored":1e400})",
  };
  for (const char* in : cases) EXPECT_EQ(D(in), "bad_type") << in;
  // Integral floats and big-but-fitting integers are fine.
  ASSERT_EQ(D(Canon(R"(,"engagement":{"likes":12.0,"shares":1e3,"comments":0.0,)"
                    R"("views":18446744073709551615},"author":{"followers":2.5e2})")),
            "ok");
  EXPECT_EQ(ev_.likes, 12u);
  EXPECT_EQ(ev_.shares, 1000u);
  EXPECT_EQ(ev_.views, 18446744073709551615u);
  EXPECT_EQ(ev_.followers, 250u);
  // Overflowing numbers in ignored fields that RapidJSON can hold are ignored.
  EXPECT_EQ(D(Canon(R"(,"big":18446744073709551616,"neg":-1,"frac":0.5)")), "ok");
}

// docs/formats.md, `bad_type` under "Invalid input": RapidJSON 1.1 cannot
// read some notations whatever their value (kParseErrorNumberTooBig, with or
// without kParseFullPrecisionFlag), and the parse cannot go on past one. The
// rule is by notation: an integer part of about 1.8e308 or more, or a
// positive exponent above 308 plus the digits after the point.
TEST_F(CanonicalTest, NumbersTheParserCannotReadAreBadTypeByNotation) {
  const std::string zeros308(308, '0'), zeros400(400, '0');
  for (const std::string& n :
       {std::string("1e400"), std::string("1E+309"), std::string("0e309"), std::string("0e400"),
        std::string("-0e400"), std::string("0.0e310"), std::string("1.5e310"),
        "1" + zeros400 + "e-400", "1" + zeros308 + "0", "18" + std::string(307, '0')}) {
    EXPECT_EQ(D(Canon(R"(,"ignored":)" + n)), "bad_type") << n;
    EXPECT_EQ(D(Canon(R"(,"engagement":{"likes":)" + n + "}")), "bad_type") << n;
  }
  // Within the notation limits, whatever the value: an ignored field is
  // ignored, and a count is checked by its exact value.
  for (const std::string& n :
       {std::string("0e308"), std::string("1e308"), std::string("0.0e309"),
        std::string("0.5e309"), std::string("1e-400"), std::string("0.0e-999999"),
        "1" + zeros308, "17" + std::string(307, '0'), "1" + zeros308 + "e-308"}) {
    EXPECT_EQ(D(Canon(R"(,"ignored":)" + n)), "ok") << n;
  }
  EXPECT_EQ(D(Canon(R"(,"engagement":{"likes":0e308,"shares":0.0e309})")), "ok");
  EXPECT_EQ(ev_.likes, 0u);
  EXPECT_EQ(ev_.shares, 0u);
  EXPECT_EQ(D(Canon(R"(,"engagement":{"likes":)" + std::string("1") + zeros308 + "e-308}")),
            "ok");
  EXPECT_EQ(ev_.likes, 1u);
  EXPECT_EQ(D(Canon(R"(,"engagement":{"likes":0.5e309})")), "bad_type");  // > 2^64-1
}

TEST_F(CanonicalTest, JsonSyntax) {
  const std::string cases[] = {
      "",
      "   ",
      "\r\n",
      "{",
      "}",
      R"({"id":"1","platform":"x","text":"t")",
      R"({"id":"1","platform":"x","text":"t",})",
      R"({"id":"1","platform":"x","text":"t"} x)",
      R"({"id":"1","platform":"x","text":"t"}{})",
      R"({"id":"1","platform":"x","text":"t"},)",
      R"({'id':'1'})",
      R"({id:"1"})",
      R"({"id":"1" "platform":"x"})",
      R"({"id":"1","platform":"x","text":"t","n":NaN})",
      R"({"id":"1","platform":"x","text":"t","n":Infinity})",
      R"({"id":"1","platform":"x","text":"t","n":01})",
      R"({"id":"1","platform":"x","text":"t","n":1.})",
      R"({"id":"1","platform":"x","text":"t","n":+1})",
      R"({"id":"1","platform":"x","text":"t"} // comment)",
      R"({"id":"1","platform":"x","text":"bad \x escape"})",
      R"({"id":"1","platform":"x","text":"bad \u12 escape"})",
      // Raw control characters inside strings.
      "{\"id\":\"1\",\"platform\":\"x\",\"text\":\"a\x01b\"}",
      "{\"id\":\"1\",\"platform\":\"x\",\"text\":\"line\nbreak\"}",
      "{\"id\":\"1\",\"platform\":\"x\",\"text\":\"tab\there\"}",
      "{\"id\":\"1\",\"platform\":\"x\",\"text\":\"del\x1f\"}",
      // NUL bytes, inside a string and after the object.
      std::string("{\"id\":\"1\",\"platform\":\"x\",\"text\":\"a\0b\"}", 37),
      std::string("{\"id\":\"1\",\"platform\":\"x\",\"text\":\"t\"}\0garbage", 43),
      std::string("\0", 1),
      // A BOM that is not at the start, or only a BOM.
      "\xEF\xBB\xBF",
      " \xEF\xBB\xBF{\"id\":\"1\",\"platform\":\"x\",\"text\":\"t\"}",
  };
  for (const std::string& in : cases) EXPECT_EQ(D(in), "json_syntax") << in;
  EXPECT_EQ(D(std::string_view()), "json_syntax");
}

TEST_F(CanonicalTest, NotObject) {
  const char* cases[] = {
      "[]",   R"(["id","platform","text"])", R"([{"id":"1","platform":"x","text":"t"}])",
      "\"s\"", "42",  "-1.5e3", "null", "true", "false", " [1, {\"a\": []}] \n",
  };
  for (const char* in : cases) EXPECT_EQ(D(in), "not_object") << in;
}

TEST_F(CanonicalTest, TooLarge) {
  const std::string big = Canon(",\"pad\":\"" + std::string(2 * 1024 * 1024, 'a') + "\"");
  EXPECT_EQ(D(big), "too_large");
  // Not even JSON: the size check comes first.
  EXPECT_EQ(D(std::string(2 * 1024 * 1024, '[')), "too_large");
  auto small = Make(Format::kCanonical, 64);
  Event ev;
  const std::string p = Canon(",\"u\":\"" + std::string(64 - Canon().size() - 7, 'a') + "\"");
  ASSERT_EQ(p.size(), 64u);
  EXPECT_EQ(Name(small->Decode(p, &ev)), "ok");
  EXPECT_EQ(Name(small->Decode(p + " ", &ev)), "too_large");
}

TEST_F(CanonicalTest, NearlyOneMegabytePost) {
  const std::string text(1048576 - 200, 'n');
  const std::string p = Canon().substr(0, Canon().size() - 1) + ",\"x\":\"" + "\"}";
  const std::string big = R"({"id":"big","platform":"tumblr","text":")" + text + "\"}";
  ASSERT_LT(big.size(), 1048576u);
  ASSERT_EQ(D(big), "ok");
  EXPECT_EQ(ev_.text.size(), text.size());
  EXPECT_EQ(ev_.id, "big");
  (void)p;
}

TEST_F(CanonicalTest, ThousandsOfHashtags) {
  std::string text, tags;
  for (int i = 0; i < 5000; ++i) {
    text += "#tag" + std::to_string(i) + " ";
    tags += (i ? "," : "") + std::string(R"({"text":"tag)") + std::to_string(i) +
            R"(","indices":[)" + std::to_string(i * 8) + "," + std::to_string(i * 8 + 7) + "]}";
  }
  const std::string p = R"({"id":"h","platform":"instagram","text":")" + text +
                        R"(","entities":{"hashtags":[)" + tags + "]}}";
  ASSERT_EQ(D(p), "ok");
  EXPECT_EQ(ev_.text, text);
}

TEST_F(CanonicalTest, BadUtf8) {
  const char* bad_text[] = {
      "\xff",              // never valid
      "\xfe\xff",          //
      "\xc0\x80",          // overlong NUL
      "\xc1\xbf",          // overlong
      "\xe0\x80\x80",      // overlong 3-byte
      "\xf0\x80\x80\x80",  // overlong 4-byte
      "\xed\xa0\x80",      // encoded high surrogate
      "\xed\xbf\xbf",      // encoded low surrogate
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xf5\x80\x80\x80",  //
      "\x80",              // lone continuation byte
      "abc\xe2\x82",       // truncated sequence
      "\xc3",              // truncated at the quote
  };
  for (const char* t : bad_text) {
    EXPECT_EQ(D(R"({"id":"1","platform":"x","text":")" + std::string(t) + "\"}"), "bad_utf8")
        << t;
    // Also in fields nobody reads, and in keys.
    EXPECT_EQ(D(Canon(",\"other\":\"" + std::string(t) + "\"")), "bad_utf8") << t;
    EXPECT_EQ(D(Canon(",\"" + std::string(t) + "\":1")), "bad_utf8") << t;
  }
  const char* bad_escapes[] = {
      R"(\ud800)",          // lone high surrogate
      R"(\uDBFF end)",      //
      R"(\ud800\u0041)",    // high surrogate + non-surrogate
      R"(\ud800\ud800)",    // two highs
      R"(\udc00)",          // unpaired low surrogate
      R"(a \uDFFF b)",      //
      R"(\udc00\ud800)",    // reversed pair
  };
  for (const char* e : bad_escapes) {
    EXPECT_EQ(D(R"({"id":"1","platform":"x","text":")" + std::string(e) + "\"}"), "bad_utf8")
        << e;
    EXPECT_EQ(D(Canon(",\"o\":{\"k\":[\"" + std::string(e) + "\"]}")), "bad_utf8") << e;
  }
  // An escaped backslash followed by "udc00" is text, not an escape.
  ASSERT_EQ(D(R"({"id":"1","platform":"x","text":"\\udc00 \\\ud83d\udc4d"})"), "ok");
  EXPECT_EQ(ev_.text, "\\udc00 \\\xF0\x9F\x91\x8D");
  // Invalid bytes outside strings are syntax errors, which win.
  EXPECT_EQ(D(Canon(" \xff")), "json_syntax");
  EXPECT_EQ(D(Canon() + "\xff"), "json_syntax");
  // So does a syntax error after an invalid byte in a string.
  EXPECT_EQ(D("{\"id\":\"\xff"), "json_syntax");
  // Valid multi-byte text and escapes pass through.
  ASSERT_EQ(D(R"({"id":"1","platform":"x","text":"caf\u00e9 \ud83d\udc4d نايكي 日本 \u0000 \"q\" \\ \/"})"),
            "ok");
  static constexpr char kWant[] =
      "caf\xC3\xA9 \xF0\x9F\x91\x8D \xD9\x86\xD8\xA7\xD9\x8A\xD9\x83\xD9\x8A "
      "\xE6\x97\xA5\xE6\x9C\xAC \0 \"q\" \\ /";
  EXPECT_EQ(ev_.text, std::string_view(kWant, sizeof(kWant) - 1));
  ASSERT_EQ(D("{\"id\":\"1\",\"platform\":\"x\",\"text\":\"\xED\x9F\xBF \xEF\xBF\xBF \xF4\x8F\xBF\xBF\"}"),
            "ok");  // U+D7FF, U+FFFF, U+10FFFF
}

TEST_F(CanonicalTest, TooDeep) {
  EXPECT_EQ(D(std::string(100000, '[')), "too_deep");
  EXPECT_EQ(D(std::string(100000, '[') + std::string(100000, ']')), "too_deep");
  std::string objs;
  for (int i = 0; i < 100000; ++i) objs += "{\"a\":";
  EXPECT_EQ(D(objs), "too_deep");
  EXPECT_EQ(D(Canon(",\"deep\":" + std::string(100000, '['))), "too_deep");
  // Exactly the limit is fine: the event object is depth 1.
  auto nest = [](int n) {
    return Canon(",\"n\":" + std::string(static_cast<size_t>(n), '[') +
                 std::string(static_cast<size_t>(n), ']'));
  };
  EXPECT_EQ(D(nest(63)), "ok");
  EXPECT_EQ(D(nest(64)), "too_deep");
  auto shallow = Make(Format::kCanonical, 1048576, 2);
  Event ev;
  EXPECT_EQ(Name(shallow->Decode(Canon(R"(,"author":{"handle":"a"})"), &ev)), "ok");
  EXPECT_EQ(Name(shallow->Decode(Canon(R"(,"author":{"x":[]})"), &ev)), "too_deep");
}

TEST_F(CanonicalTest, BomCrlfAndWhitespace) {
  ASSERT_EQ(D("\xEF\xBB\xBF" + Canon()), "ok");
  EXPECT_EQ(ev_.id, "p1");
  EXPECT_EQ(D(Canon() + "\r"), "ok");
  EXPECT_EQ(D(Canon() + "\r\n"), "ok");
  EXPECT_EQ(D("\xEF\xBB\xBF" + Canon() + "\r\n"), "ok");
  EXPECT_EQ(D(" \t\n" + Canon() + " \t "), "ok");
  EXPECT_EQ(D("{\r\n\"id\" : \"1\" ,\r\n\"platform\":\"x\",\r\n\"text\":\"t\"\r\n}\r\n"), "ok");
}

TEST_F(CanonicalTest, DuplicateKeysLastWins) {
  ASSERT_EQ(D(R"({"id":"1","platform":"x","text":"first","text":"second"})"), "ok");
  EXPECT_EQ(ev_.text, "second");
  ASSERT_EQ(D(R"({"id":5,"id":"s","platform":"x","text":"t"})"), "ok");
  EXPECT_EQ(ev_.id, "s");
  // An earlier invalid value is overridden by a later valid one...
  EXPECT_EQ(D(R"({"id":true,"id":"s","platform":"x","text":"t"})"), "ok");
  // ...and a later invalid or null one wins too.
  EXPECT_EQ(D(R"({"id":"s","id":true,"platform":"x","text":"t"})"), "bad_type");
  EXPECT_EQ(D(R"({"id":"s","id":null,"platform":"x","text":"t"})"), "missing_field");
  // A whole object replaces the earlier one: nothing stale survives.
  ASSERT_EQ(D(Canon(R"(,"author":{"handle":"a","followers":5},"author":{"id":"9"})")), "ok");
  EXPECT_EQ(ev_.author_id, "9");
  EXPECT_EQ(ev_.author_handle, "");
  EXPECT_EQ(ev_.followers, 0u);
  ASSERT_EQ(D(Canon(R"(,"author":{"handle":"a"},"author":null)")), "ok");
  EXPECT_EQ(ev_.author_handle, "");
  ASSERT_EQ(D(Canon(R"(,"engagement":{"likes":5,"likes":7})")), "ok");
  EXPECT_EQ(ev_.likes, 7u);
}

TEST_F(CanonicalTest, NestedNamesDoNotLeak) {
  // Fields with canonical names at other depths are not the canonical ones.
  ASSERT_EQ(D(R"({"meta":{"id":"no","text":"no"},"id":"yes","platform":"x",)"
              R"("text":"yes","author":{"meta":{"handle":"no"}},"list":[{"likes":1}]})"),
            "ok");
  EXPECT_EQ(ev_.id, "yes");
  EXPECT_EQ(ev_.text, "yes");
  EXPECT_EQ(ev_.author_handle, "");
  EXPECT_EQ(ev_.likes, 0u);
}

TEST_F(CanonicalTest, ReuseAcrossDecodes) {
  ASSERT_EQ(D(Canon(R"(,"lang":"en","engagement":{"likes":3})")), "ok");
  EXPECT_EQ(D("[1]"), "not_object");
  ASSERT_EQ(D(R"({"id":"2","platform":"fb","text":"second"})"), "ok");
  EXPECT_EQ(ev_.id, "2");
  EXPECT_EQ(ev_.platform, "facebook");
  EXPECT_EQ(ev_.text, "second");
  EXPECT_TRUE(ev_.lang.empty());
  EXPECT_EQ(ev_.likes, 0u);
}

TEST_F(CanonicalTest, RandomMutationsNeverCrash) {
  // Byte flips, truncations and splices of a realistic event: whatever the
  // outcome, it is a valid reason or a decoded event, never a crash.
  const std::string base = Canon(
      R"(,"created_at":"2024-05-01T12:00:00Z","type":"reply","lang":"en",)"
      R"("author":{"id":7,"handle":"h","followers":10},"engagement":{"likes":1,"views":2},)"
      R"("entities":{"tags":["a","\u00e9\ud83d\udc4d"],"n":[1.5e3,-2,null,true]}})");
  std::mt19937 rng(12345);
  const char alphabet[] = "{}[]\":,\\u0123456789eE.-+ntfa\xff\xed\xc0\x80\x01";
  for (int i = 0; i < 20000; ++i) {
    std::string p = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !p.empty(); ++e) {
      const size_t at = rng() % p.size();
      switch (rng() % 3) {
        case 0: p[at] = alphabet[rng() % (sizeof(alphabet) - 1)]; break;
        case 1: p.resize(at); break;
        default: p.insert(at, 1, alphabet[rng() % (sizeof(alphabet) - 1)]); break;
      }
    }
    Event ev;
    const R r = dec_->Decode(p, &ev);
    if (!r) {
      EXPECT_FALSE(ev.platform.empty() && ev.id.empty()) << p;
    }
  }
}

// --- timestamps -----------------------------------------------------------

TEST(TimeParse, Rfc3339) {
  EXPECT_EQ(ParseRfc3339Millis("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339Millis("2024-05-01T12:00:00Z"), 1714564800000);
  EXPECT_EQ(ParseRfc3339Millis("2024-05-01T12:00:00.123Z"), 1714564800123);
  EXPECT_EQ(ParseRfc3339Millis("2024-05-01T12:00:00.1+00:00"), 1714564800100);
  EXPECT_EQ(ParseRfc3339Millis("2024-05-01T13:00:00+01:00"), 1714564800000);
  EXPECT_EQ(ParseRfc3339Millis("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(ParseRfc3339Millis("2000-02-29T00:00:00Z"), 951782400000);
  EXPECT_EQ(ParseRfc3339Millis("2016-12-31T23:59:60Z"), 1483228800000);  // leap second
  EXPECT_EQ(ParseRfc3339Millis("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(ParseRfc3339Millis("9999-12-31T23:59:59.999Z"), 253402300799999);
  EXPECT_EQ(ParseRfc3339Millis("2024-05-01T00:00:00+14:00"), 1714471200000);
  EXPECT_FALSE(ParseRfc3339Millis("1900-02-29T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-04-31T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-00-10T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-05-00T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-5-1T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-05-01T00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-05-01T00:00:00+0100"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-05-01T00:00:00+01"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-05-01T00:00:00+01:60"));
  EXPECT_FALSE(ParseRfc3339Millis("2024-05-01X00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("+2024-05-01T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("２０２４-05-01T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis(""));
}

// An independent reading of the forms with a 'Z' and at most 3 fraction
// digits, lengths 20 and 24 (the parser's word-at-a-time path), with
// std::chrono's calendar for the date.
std::optional<int64_t> ReferenceRfc3339(const std::string& s) {
  if (s.size() != 20 && s.size() != 24) return std::nullopt;
  auto digit = [&](size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  auto num = [&](size_t i, size_t n) {
    int v = 0;
    for (size_t k = i; k < i + n; ++k) v = v * 10 + (s[k] - '0');
    return v;
  };
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (!digit(i)) return std::nullopt;
  }
  if (s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':') return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  int millis = 0;
  if (s.size() == 24) {
    if (s[19] != '.' || !digit(20) || !digit(21) || !digit(22)) return std::nullopt;
    millis = num(20, 3);
  }
  const char z = s.back();
  if (z != 'Z' && z != 'z') return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(num(0, 4)),
                                        std::chrono::month(static_cast<unsigned>(num(5, 2))),
                                        std::chrono::day(static_cast<unsigned>(num(8, 2)))};
  const int hour = num(11, 2), minute = num(14, 2), second = num(17, 2);
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return ((days * 24 + hour) * 60 + minute) * 60000 + second * 1000 + millis;
}

// Random timestamps of the common forms, some with a byte or two replaced
// (digits, separators, bytes whose + 6 carries): the parser agrees with
// the reference on every one.
TEST(TimeParse, Rfc3339CommonFormsAgreeWithAReference) {
  std::mt19937_64 rng(7);
  const std::string replacements =
      std::string("0123456789:-.TtZz /+") + '\xFA' + '\xFF' + '\x2F' + '\x3A';
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 200000; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  static_cast<int>(rng() % 10000), static_cast<int>(rng() % 14),
                  static_cast<int>(rng() % 33), static_cast<int>(rng() % 25),
                  static_cast<int>(rng() % 61), static_cast<int>(rng() % 62),
                  static_cast<int>(rng() % 1000));
    std::string s = buf;
    if (rng() % 2 == 0) s = s.substr(0, 19) + "Z";
    for (uint64_t k = rng() % 3; k > 0; --k) {
      s[rng() % s.size()] = replacements[rng() % replacements.size()];
    }
    const auto want = ReferenceRfc3339(s);
    ASSERT_EQ(ParseRfc3339Millis(s), want) << s;
    ++(want ? accepted : rejected);
  }
  EXPECT_GT(accepted, 20000);
  EXPECT_GT(rejected, 20000);
}

TEST(TimeParse, Twitter) {
  EXPECT_EQ(ParseTwitterTimeMillis("Sun Aug 31 00:29:15 +0000 2014"), 1409444955000);
  EXPECT_EQ(ParseTwitterTimeMillis("Wed May 01 12:00:00 +0000 2024"), 1714564800000);
  EXPECT_EQ(ParseTwitterTimeMillis("Wed May 01 14:00:00 +0200 2024"), 1714564800000);
  EXPECT_EQ(ParseTwitterTimeMillis("Thu Feb 29 00:00:00 +0000 2024"), 1709164800000);
  EXPECT_FALSE(ParseTwitterTimeMillis("Thu Feb 30 00:00:00 +0000 2024"));
  EXPECT_FALSE(ParseTwitterTimeMillis("Sun Aug 31 00:29:15 2014"));
  EXPECT_FALSE(ParseTwitterTimeMillis("sun aug 31 00:29:15 +0000 2014"));
  EXPECT_FALSE(ParseTwitterTimeMillis("Xyz Aug 31 00:29:15 +0000 2014"));
  EXPECT_FALSE(ParseTwitterTimeMillis("Sun Aug 31 24:29:15 +0000 2014"));
  EXPECT_FALSE(ParseTwitterTimeMillis("2014-08-31T00:29:15Z"));
  EXPECT_FALSE(ParseTwitterTimeMillis(""));
}

TEST(Formats, ParseFormat) {
  EXPECT_EQ(ParseFormat("canonical"), Format::kCanonical);
  EXPECT_EQ(ParseFormat("twitter_v1"), Format::kTwitterV1);
  EXPECT_EQ(ParseFormat("reddit"), Format::kReddit);
  EXPECT_EQ(ParseFormat("mapping"), Format::kMapping);
  EXPECT_FALSE(ParseFormat("twitter"));
  EXPECT_FALSE(ParseFormat(""));
}

TEST(Formats, OptionValidation) {
  DecoderOptions o;
  o.max_json_depth = 0;
  EXPECT_FALSE(MakeDecoder(o).ok());
  o = DecoderOptions();
  o.max_event_bytes = 0;
  EXPECT_FALSE(MakeDecoder(o).ok());
  o = DecoderOptions();
  o.mapping["id"] = "/id";
  EXPECT_FALSE(MakeDecoder(o).ok());  // a mapping without format: mapping
}

// --- twitter_v1 ----------------------------------------------------------

class TwitterTest : public ::testing::Test {
 protected:
  std::string D(const std::string& fixture) {
    payload_ = Fixture(fixture);
    return Name(dec_->Decode(payload_, &ev_));
  }
  std::unique_ptr<Decoder> dec_ = Make(Format::kTwitterV1);
  std::string payload_;
  Event ev_;
};

TEST_F(TwitterTest, PlainTweet) {
  ASSERT_EQ(D("tweet_plain.json"), "ok");
  EXPECT_EQ(ev_.id, "1785653421867786240");
  EXPECT_EQ(ev_.platform, "twitter");
  EXPECT_EQ(ev_.text,
            "Just bought new Nike Air Max 90! Running & lifting in them tomorrow #nike @Nike");
  EXPECT_TRUE(ev_.has_created_at);
  EXPECT_EQ(ev_.created_at_ms, 1714564800000);
  EXPECT_EQ(ev_.type, EventType::kPost);
  EXPECT_EQ(ev_.lang, "en");
  EXPECT_EQ(ev_.author_id, "2244994945");
  EXPECT_EQ(ev_.author_handle, "samruns");
  EXPECT_EQ(ev_.followers, 1523u);
  EXPECT_EQ(ev_.likes, 48u);
  EXPECT_EQ(ev_.shares, 5u);
  EXPECT_EQ(ev_.comments, 2u);
  EXPECT_TRUE(ev_.country.empty());
  EXPECT_EQ(ev_.url, "https://twitter.com/samruns/status/1785653421867786240");
}

TEST_F(TwitterTest, ExtendedTweetUsesFullText) {
  ASSERT_EQ(D("tweet_extended.json"), "ok");
  EXPECT_EQ(ev_.id, "1785959281090101248");
  EXPECT_TRUE(ev_.text.starts_with("Long thread on why the new Adidas Ultraboost"));
  EXPECT_TRUE(ev_.text.ends_with("#adidas #running")) << ev_.text;
  EXPECT_NE(ev_.text.find("$20"), std::string_view::npos);
  EXPECT_EQ(ev_.created_at_ms, 1714637730000);
  EXPECT_EQ(ev_.followers, 254301u);
  EXPECT_EQ(ev_.likes, 390u);
  EXPECT_EQ(ev_.shares, 41u + 3u);  // retweets + quotes
  EXPECT_EQ(ev_.comments, 17u);
}

TEST_F(TwitterTest, RetweetIsShareWithTopLevelText) {
  ASSERT_EQ(D("tweet_retweet.json"), "ok");
  EXPECT_EQ(ev_.type, EventType::kShare);
  EXPECT_EQ(ev_.id, "1786479358720000001");
  EXPECT_TRUE(ev_.text.starts_with("RT @GearLabReviews: Long thread")) << ev_.text;
  EXPECT_EQ(ev_.author_handle, "lina_kicks");  // the retweeter, not the original author
  EXPECT_EQ(ev_.author_id, "987654321012345678");
  EXPECT_EQ(ev_.followers, 88u);
  EXPECT_EQ(ev_.likes, 0u);
  EXPECT_EQ(ev_.shares, 42u);
}

TEST_F(TwitterTest, Reply) {
  ASSERT_EQ(D("tweet_reply.json"), "ok");
  EXPECT_EQ(ev_.type, EventType::kReply);
  EXPECT_EQ(ev_.created_at_ms, 1714867199000);
  EXPECT_NE(ev_.text.find("Nike > Adidas"), std::string_view::npos) << ev_.text;
  EXPECT_EQ(ev_.author_handle, "tomas_runs_far");
}

TEST_F(TwitterTest, QuoteTweetInArabicWithPlace) {
  ASSERT_EQ(D("tweet_quote_arabic.json"), "ok");
  EXPECT_EQ(ev_.type, EventType::kPost);
  EXPECT_EQ(ev_.text,
            "حذاء نايكي الجديد رائع جداً والسعر مناسب 👟 #نايكي https://t.co/QuOtEd0001");
  EXPECT_EQ(ev_.lang, "ar");
  EXPECT_EQ(ev_.country, "SA");
  EXPECT_EQ(ev_.created_at_ms, 1714894200000);
  EXPECT_EQ(ev_.author_id, "1122334455667788990");
  EXPECT_EQ(ev_.followers, 30412u);
  EXPECT_EQ(ev_.likes, 120u);
  EXPECT_EQ(ev_.shares, 16u);
  EXPECT_EQ(ev_.comments, 9u);
}

TEST_F(TwitterTest, PlaceAndUndeterminedLanguage) {
  ASSERT_EQ(D("tweet_place.json"), "ok");
  EXPECT_EQ(ev_.country, "GB");
  EXPECT_TRUE(ev_.lang.empty());  // "und"
  EXPECT_EQ(ev_.comments, 0u);    // reply_count: null
  EXPECT_EQ(ev_.shares, 0u);
  EXPECT_EQ(ev_.likes, 7u);
  EXPECT_EQ(ev_.text, "Morning run along the Thames \xF0\x9F\x8F\x83 new kicks doing their job");
}

TEST(TwitterDecode, FieldFallbacksAndErrors) {
  auto dec = Make(Format::kTwitterV1);
  Event ev;
  auto d = [&](const std::string& p) { return Name(dec->Decode(p, &ev)); };
  ASSERT_EQ(d(R"({"id":1234567890123456789,"text":"t","user":{"id":42}})"), "ok");
  EXPECT_EQ(ev.id, "1234567890123456789");
  EXPECT_EQ(ev.author_id, "42");
  EXPECT_FALSE(ev.has_created_at);
  ASSERT_EQ(d(R"({"id_str":"9","id":1,"text":"short","extended_tweet":{"full_text":"long"}})"),
            "ok");
  EXPECT_EQ(ev.id, "9");
  EXPECT_EQ(ev.text, "long");
  ASSERT_EQ(d(R"({"id_str":"9","full_text":"full","text":"short","extended_tweet":{"full_text":"long"}})"),
            "ok");
  EXPECT_EQ(ev.text, "full");
  ASSERT_EQ(d(R"({"id_str":"9","text":"t","in_reply_to_status_id":123})"), "ok");
  EXPECT_EQ(ev.type, EventType::kReply);
  ASSERT_EQ(d(R"({"id_str":"9","text":"t","retweeted_status":null,"in_reply_to_status_id_str":null})"),
            "ok");
  EXPECT_EQ(ev.type, EventType::kPost);
  ASSERT_EQ(d(R"({"id_str":"9","text":"t","created_at":"2024-05-01T12:00:00Z"})"), "ok");
  EXPECT_EQ(ev.created_at_ms, 1714564800000);
  EXPECT_EQ(d(R"({"id_str":"9","text":"t","created_at":"yesterday"})"), "bad_timestamp");
  EXPECT_EQ(d(R"({"id_str":"9","text":"t","created_at":1714564800})"), "bad_type");
  EXPECT_EQ(d(R"({"text":"t"})"), "missing_field");
  EXPECT_EQ(d(R"({"id_str":"9"})"), "missing_field");
  EXPECT_EQ(d(R"({"id_str":"9","text":"t","favorite_count":-1})"), "bad_type");
  EXPECT_EQ(d(R"({"id_str":"9","text":"t","user":{"followers_count":"many"}})"), "bad_type");
  EXPECT_EQ(d(R"({"id_str":"","text":"t"})"), "bad_type");
  EXPECT_EQ(d(R"([{"id_str":"9","text":"t"}])"), "not_object");
  EXPECT_EQ(d(std::string(100000, '[')), "too_deep");
  EXPECT_EQ(d(R"({"id_str":"9","text":"\ud800"})"), "bad_utf8");
}

// --- reddit ----------------------------------------------------------------

class RedditTest : public TwitterTest {
 protected:
  RedditTest() { dec_ = Make(Format::kReddit); }
};

TEST_F(RedditTest, SelfPostSubmission) {
  ASSERT_EQ(D("reddit_submission.json"), "ok");
  EXPECT_EQ(ev_.id, "t3_1chv0xz");
  EXPECT_EQ(ev_.platform, "reddit");
  EXPECT_EQ(ev_.type, EventType::kPost);
  EXPECT_EQ(ev_.text,
            "Nike Pegasus 41 vs Adidas Adizero SL2 & a few thoughts\n\nAfter 200 km in each: the "
            "Pegasus 41 is more cushioned, the Adizero SL2 is lighter & cheaper.\n\nWould buy the "
            "Nike again for long runs.");
  EXPECT_EQ(ev_.created_at_ms, 1714564800000);
  EXPECT_EQ(ev_.likes, 312u);
  EXPECT_EQ(ev_.comments, 57u);
  EXPECT_EQ(ev_.subreddit, "RunningShoeGeeks");
  EXPECT_EQ(ev_.author_handle, "trail_mix_42");
  EXPECT_EQ(ev_.author_id, "t2_8xk2q1ab");
  EXPECT_EQ(ev_.url,
            "https://www.reddit.com/r/RunningShoeGeeks/comments/1chv0xz/"
            "nike_pegasus_41_vs_adidas_adizero_sl2/");
}

TEST_F(RedditTest, RemovedSubmissionDeletedAuthorNegativeScore) {
  ASSERT_EQ(D("reddit_submission_removed.json"), "ok");
  EXPECT_EQ(ev_.id, "t3_17xyz12");
  EXPECT_EQ(ev_.text, "Where to buy Jordan 4 under retail?");
  EXPECT_EQ(ev_.created_at_ms, 1700000000500);
  EXPECT_EQ(ev_.likes, 0u);  // score -4
  EXPECT_TRUE(ev_.author_handle.empty());
}

TEST_F(RedditTest, LinkSubmission) {
  ASSERT_EQ(D("reddit_link_submission.json"), "ok");
  EXPECT_EQ(ev_.id, "t3_1ci0abc");
  EXPECT_EQ(ev_.text, "Adidas posts record quarter as Samba demand stays hot");
  EXPECT_EQ(ev_.created_at_ms, 1714600000000);
  EXPECT_EQ(ev_.likes, 1045u);
  EXPECT_EQ(ev_.comments, 233u);
  EXPECT_EQ(ev_.url, "https://www.reuters.com/business/retail-consumer/adidas-q1-2024/");
}

TEST_F(RedditTest, Comment) {
  ASSERT_EQ(D("reddit_comment.json"), "ok");
  EXPECT_EQ(ev_.id, "t1_l2a9b7c");
  EXPECT_EQ(ev_.type, EventType::kComment);
  EXPECT_EQ(ev_.text,
            "Pegasus has been my daily trainer for 5 years. The 41 fixed the tongue issue > worth "
            "the upgrade.");
  EXPECT_EQ(ev_.created_at_ms, 1714568400000);
  EXPECT_EQ(ev_.likes, 48u);
  EXPECT_EQ(ev_.comments, 0u);
  EXPECT_EQ(ev_.subreddit, "RunningShoeGeeks");
}

TEST_F(RedditTest, OldPushshiftCommentDeletedAuthor) {
  ASSERT_EQ(D("reddit_comment_deleted.json"), "ok");
  EXPECT_EQ(ev_.id, "t1_ds2k1aa");
  EXPECT_EQ(ev_.type, EventType::kComment);
  EXPECT_EQ(ev_.created_at_ms, 1514764800000);  // created_utc as a string
  EXPECT_EQ(ev_.likes, 0u);                     // score -12
  EXPECT_TRUE(ev_.author_handle.empty());       // [deleted]
}

TEST(RedditDecode, Errors) {
  auto dec = Make(Format::kReddit);
  Event ev;
  auto d = [&](const std::string& p) { return Name(dec->Decode(p, &ev)); };
  EXPECT_EQ(d(R"({"id":"a","subreddit":"x"})"), "missing_field");
  EXPECT_EQ(d(R"({"title":"t"})"), "missing_field");
  EXPECT_EQ(d(R"({"id":"a","title":5})"), "bad_type");
  EXPECT_EQ(d(R"({"id":"a","body":"b","score":"high"})"), "bad_type");
  EXPECT_EQ(d(R"({"id":"a","body":"b","created_utc":-5})"), "bad_timestamp");
  EXPECT_EQ(d(R"({"id":"a","body":"b","created_utc":"soon"})"), "bad_timestamp");
  EXPECT_EQ(d(R"({"id":"a","body":"b","created_utc":true})"), "bad_type");
  ASSERT_EQ(d(R"({"id":"a","title":"T","selftext":"[deleted]","score":3.0})"), "ok");
  EXPECT_EQ(ev.text, "T");
  EXPECT_EQ(ev.likes, 3u);
  // A comment's num_comments is not its own: ignored, whatever its type.
  ev = Event{};
  ASSERT_EQ(d(R"({"id":"c","body":"b","num_comments":5})"), "ok");
  EXPECT_EQ(ev.comments, 0u);
  ASSERT_EQ(d(R"({"id":"c","body":"b","num_comments":"many"})"), "ok");
  EXPECT_EQ(d(R"({"id":"s","title":"t","num_comments":"many"})"), "bad_type");
  ASSERT_EQ(d(R"({"id":"s","title":"t","num_comments":5})"), "ok");
  EXPECT_EQ(ev.comments, 5u);
}

TEST(PresetDecode, RandomMutationsOfFixturesNeverCrash) {
  const std::pair<Format, const char*> cases[] = {
      {Format::kTwitterV1, "tweet_quote_arabic.json"},
      {Format::kTwitterV1, "tweet_extended.json"},
      {Format::kReddit, "reddit_submission.json"},
      {Format::kReddit, "reddit_comment_deleted.json"},
  };
  std::mt19937 rng(777);
  const char alphabet[] = "{}[]\":,\\u0123456789eE.-+ntfa&\xff\xed\xc0\x80\x01";
  for (const auto& [format, fixture] : cases) {
    auto dec = Make(format);
    const std::string base = Fixture(fixture);
    Event ev;
    ASSERT_FALSE(dec->Decode(base, &ev)) << fixture;
    for (int i = 0; i < 3000; ++i) {
      std::string p = base;
      for (int e = 0; e < 3; ++e) {
        const size_t at = rng() % p.size();
        switch (rng() % 3) {
          case 0: p[at] = alphabet[rng() % (sizeof(alphabet) - 1)]; break;
          case 1: p.erase(at, 1 + rng() % 8); break;
          default: p.insert(at, 1, alphabet[rng() % (sizeof(alphabet) - 1)]); break;
        }
        if (p.empty()) p = "{";
      }
      (void)dec->Decode(p, &ev);
    }
  }
}

// --- mapping -----------------------------------------------------------

StatusOr<std::unique_ptr<Decoder>> MakeMapping(std::map<std::string, std::string> m) {
  DecoderOptions o;
  o.format = Format::kMapping;
  o.mapping = std::move(m);
  return MakeDecoder(o);
}

TEST(Mapping, DecodesByPointer) {
  auto dec = MakeMapping({
      {"id", "/data/post_id"},
      {"platform", "/source"},
      {"text", "/data/content/0/value"},
      {"created_at", "/data/ts"},
      {"type", "/kind"},
      {"lang", "/meta/language"},
      {"url", "/data/links/permalink"},
      {"country", "/geo/cc"},
      {"author.id", "/data/by/uid"},
      {"author.handle", "/data/by/name"},
      {"author.followers", "/data/by/stats/fans"},
      {"engagement.likes", "/data/m~1likes"},
      {"engagement.shares", "/data/m~0shares"},
      {"engagement.comments", "/data/comments/count"},
      {"engagement.views", "/data/views"},
  });
  ASSERT_TRUE(dec.ok()) << dec.message();
  const std::string p = R"({
    "source": "YT", "kind": "comment", "meta": {"language": "DE"}, "geo": {"cc": "de"},
    "data": {"post_id": 991, "ts": "2024-05-01T12:00:00Z",
             "content": [{"value": "Adidas Samba review"}, {"value": "second"}],
             "links": {"permalink": "https://youtu.be/abc"},
             "by": {"uid": "UC123", "name": "kicks", "stats": {"fans": 1200}},
             "m/likes": 10, "m~shares": 2, "comments": {"count": 3}, "views": 4000}})";
  Event ev;
  ASSERT_EQ(Name((*dec)->Decode(p, &ev)), "ok");
  EXPECT_EQ(ev.id, "991");
  EXPECT_EQ(ev.platform, "youtube");
  EXPECT_EQ(ev.text, "Adidas Samba review");
  EXPECT_EQ(ev.created_at_ms, 1714564800000);
  EXPECT_EQ(ev.type, EventType::kComment);
  EXPECT_EQ(ev.lang, "de");
  EXPECT_EQ(ev.country, "DE");
  EXPECT_EQ(ev.url, "https://youtu.be/abc");
  EXPECT_EQ(ev.author_id, "UC123");
  EXPECT_EQ(ev.author_handle, "kicks");
  EXPECT_EQ(ev.followers, 1200u);
  EXPECT_EQ(ev.likes, 10u);
  EXPECT_EQ(ev.shares, 2u);
  EXPECT_EQ(ev.comments, 3u);
  EXPECT_EQ(ev.views, 4000u);
}

TEST(Mapping, ValuesAreValidatedLikeCanonical) {
  auto dec = MakeMapping({{"id", "/i"}, {"platform", "/p"}, {"text", "/t"},
                          {"engagement.likes", "/l"}, {"created_at", "/c"}});
  ASSERT_TRUE(dec.ok());
  Event ev;
  auto d = [&](const std::string& p) { return Name((*dec)->Decode(p, &ev)); };
  EXPECT_EQ(d(R"({"i":"1","p":"x","t":"hi"})"), "ok");
  EXPECT_EQ(d(R"({"i":"1","p":"x"})"), "missing_field");
  EXPECT_EQ(d(R"({"i":"1","p":"x","t":"hi","l":-3})"), "bad_type");
  EXPECT_EQ(d(R"({"i":"1","p":"x","t":"hi","c":"noon"})"), "bad_timestamp");
  EXPECT_EQ(d(R"({"i":"","p":"x","t":"hi"})"), "bad_type");
  EXPECT_EQ(d("[]"), "not_object");
  EXPECT_EQ(d("{"), "json_syntax");
  EXPECT_EQ(d(std::string(100000, '[')), "too_deep");
  // The canonical names mean nothing to a mapping.
  EXPECT_EQ(d(R"({"id":"1","platform":"x","text":"hi"})"), "missing_field");
  // Array index pointers follow the element, not a key.
  auto arr = MakeMapping({{"id", "/a/1"}, {"platform", "/a/0"}, {"text", "/a/2/t"}});
  ASSERT_TRUE(arr.ok());
  ASSERT_EQ(Name((*arr)->Decode(R"({"a":["fb",77,{"t":"x"}]})", &ev)), "ok");
  EXPECT_EQ(ev.platform, "facebook");
  EXPECT_EQ(ev.id, "77");
  EXPECT_EQ(ev.text, "x");
}

TEST(Mapping, ValidationErrors) {
  auto no_id = MakeMapping({{"platform", "/p"}, {"text", "/t"}});
  ASSERT_FALSE(no_id.ok());
  EXPECT_NE(no_id.message().find("\"id\""), std::string::npos) << no_id.message();
  auto no_text = MakeMapping({{"platform", "/p"}, {"id", "/i"}});
  ASSERT_FALSE(no_text.ok());
  EXPECT_NE(no_text.message().find("\"text\""), std::string::npos) << no_text.message();
  auto no_platform = MakeMapping({{"text", "/t"}, {"id", "/i"}});
  ASSERT_FALSE(no_platform.ok());
  EXPECT_NE(no_platform.message().find("\"platform\""), std::string::npos);
  auto unknown = MakeMapping({{"id", "/i"}, {"platform", "/p"}, {"text", "/t"},
                              {"author.name", "/n"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("unknown field \"author.name\""), std::string::npos)
      << unknown.message();
  auto bad_ptr = MakeMapping({{"id", "data/id"}, {"platform", "/p"}, {"text", "/t"}});
  ASSERT_FALSE(bad_ptr.ok());
  EXPECT_NE(bad_ptr.message().find("\"id\""), std::string::npos) << bad_ptr.message();
  EXPECT_NE(bad_ptr.message().find("data/id"), std::string::npos) << bad_ptr.message();
  auto bad_tilde = MakeMapping({{"id", "/i"}, {"platform", "/p~2"}, {"text", "/t~"}});
  ASSERT_FALSE(bad_tilde.ok());
  EXPECT_NE(bad_tilde.message().find("\"platform\""), std::string::npos);
  EXPECT_NE(bad_tilde.message().find("\"text\""), std::string::npos);
  EXPECT_FALSE(MakeMapping({}).ok());
  EXPECT_TRUE(MakeMapping({{"id", ""}, {"platform", "/"}, {"text", "/t"}}).ok());
}

}  // namespace

// --- internals -------------------------------------------------------------

namespace internal_tests {

using decode_internal::NumStatus;

// Reference: decode one code point the slow, obvious way.
bool RefValid(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n;
    uint32_t cp;
    if (c < 0x80) { n = 0; cp = c; }
    else if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + static_cast<size_t>(n) >= s.size() + (n == 0 ? 1 : 0) && n > 0) return false;
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

TEST(Internals, Utf8ValidatorMatchesReferenceExhaustively) {
  std::string s;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      s.assign({static_cast<char>(a), static_cast<char>(b)});
      ASSERT_EQ(decode_internal::IsValidUtf8(s), RefValid(s)) << a << " " << b;
      if (a >= 0xE0) {
        for (int c = 0x70; c < 0xD0; ++c) {
          s.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
          ASSERT_EQ(decode_internal::IsValidUtf8(s), RefValid(s)) << a << " " << b << " " << c;
          // Also after an 8-byte ASCII run (the word-at-a-time path).
          const std::string t = "abcdefgh" + s + "ijklmnop";
          ASSERT_EQ(decode_internal::IsValidUtf8(t), RefValid(t));
        }
      }
    }
  }
  EXPECT_TRUE(decode_internal::IsValidUtf8("\xF0\x9F\x91\x8D\xF4\x8F\xBF\xBF"));
  EXPECT_FALSE(decode_internal::IsValidUtf8("\xF0\x9F\x91"));
  EXPECT_FALSE(decode_internal::IsValidUtf8("\xF0\x8F\xBF\xBF"));
}

TEST(Internals, LoneLowSurrogateEscapes) {
  using decode_internal::HasLoneLowSurrogateEscape;
  EXPECT_FALSE(HasLoneLowSurrogateEscape(R"({"a":"plain"})"));
  EXPECT_FALSE(HasLoneLowSurrogateEscape(R"("\ud83d\udc4d \uD800\uDC00 \u00e9")"));
  EXPECT_FALSE(HasLoneLowSurrogateEscape(R"("\\udc00")"));
  EXPECT_TRUE(HasLoneLowSurrogateEscape(R"("\udc00")"));
  EXPECT_TRUE(HasLoneLowSurrogateEscape(R"("\\\udc00")"));
  EXPECT_TRUE(HasLoneLowSurrogateEscape(R"("\u00e9\uDFFF")"));
  EXPECT_TRUE(HasLoneLowSurrogateEscape(R"("\ud83d x\udc4d")"));
  EXPECT_FALSE(HasLoneLowSurrogateEscape(R"("\u")"));
}

TEST(Internals, ParseDecimal) {
  auto p = [](std::string_view s, int scale = 0, bool trunc = false) {
    uint64_t v = 999;
    const NumStatus st = decode_internal::ParseDecimal(s, scale, trunc, &v);
    return st == NumStatus::kOk ? std::to_string(v) : "err" + std::to_string(int(st));
  };
  EXPECT_EQ(p("0"), "0");
  EXPECT_EQ(p("123"), "123");
  EXPECT_EQ(p("1.0"), "1");
  EXPECT_EQ(p("1.50e1"), "15");
  EXPECT_EQ(p("12300e-2"), "123");
  EXPECT_EQ(p("0.000e5"), "0");
  EXPECT_EQ(p("-0.0"), "0");
  EXPECT_EQ(p("1844674407370955161.5e1"), "18446744073709551615");
  EXPECT_EQ(p("1.8446744073709551615E19"), "18446744073709551615");
  EXPECT_EQ(p("18446744073709551616"), "err4");
  EXPECT_EQ(p("1e20"), "err4");
  EXPECT_EQ(p("1e99999999999999999999"), "err4");
  EXPECT_EQ(p("1e-99999999999999999999"), "err3");
  EXPECT_EQ(p("0.5"), "err3");
  EXPECT_EQ(p("-1"), "err2");
  EXPECT_EQ(p("-1.5"), "err2");
  EXPECT_EQ(p(""), "err1");
  EXPECT_EQ(p("01"), "err1");
  EXPECT_EQ(p("1."), "err1");
  EXPECT_EQ(p("1e"), "err1");
  EXPECT_EQ(p(" 1"), "err1");
  EXPECT_EQ(p("0x10"), "err1");
  EXPECT_EQ(p("1700000000.123456", 3, true), "1700000000123");
  EXPECT_EQ(p("1700000000", 3, true), "1700000000000");
  EXPECT_EQ(p("0.0004", 3, true), "0");
  EXPECT_EQ(p("1.5", 0, true), "1");
}

}  // namespace internal_tests
}  // namespace earshot
