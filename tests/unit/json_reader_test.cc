// The decoders' fast reader (pipeline/json_reader.h) against RapidJSON, the
// authority: each input is decoded by every format both ways
// (tests/fuzz/decoder_pair.h) and must give the same reason or the same
// event. Each RapidJSON rule has its cases. Since a reader that declined
// everything would pass that comparison, the cases also say whether the fast
// reader itself accepts (FastAccepts): it must take the valid documents it
// was built for, and must decline whatever RapidJSON rejects.

#include "pipeline/json_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "pipeline/decode_json.h"
#include "pipeline/decoder.h"
#include "tests/fuzz/decoder_pair.h"

namespace earshot {
namespace {

using decode_internal::Extractor;
using decode_internal::Kind;
using decode_internal::PathTrie;

// Control bytes and bytes >= 0x80 as \xNN, for failure messages.
std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 400)) {
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return s.size() > 400 ? out + "..." : out;
}

class JsonReaderTest : public ::testing::Test {
 protected:
  // Decodes `p` both ways with every format; any difference fails.
  void Same(std::string_view p) {
    for (fuzz::DecoderPair& pair : pairs_) {
      const std::string diff = pair.Compare(p);
      EXPECT_EQ(diff, "") << Printable(p);
    }
  }
  // Whether the fast reader itself accepts `p` (canonical paths, depth 64),
  // after checking that the decoders agree on it.
  bool FastAccepts(std::string_view p, int max_depth = 64) {
    Same(p);
    Extractor ex(&trie_, max_depth);
    std::string buf(p);
    buf.append(decode_internal::kReaderPadding, '\0');
    return decode_internal::ReadJsonObject(buf.data(), buf.data() + p.size(), &ex);
  }
  // A JSON text the reader must take, and one it must decline (because
  // RapidJSON or the decoder's checks reject it).
  void Accepted(std::string_view p) { EXPECT_TRUE(FastAccepts(p)) << Printable(p); }
  void Declined(std::string_view p) { EXPECT_FALSE(FastAccepts(p)) << Printable(p); }

  static PathTrie CanonicalTrie() {
    PathTrie t;
    for (const char* p : {"/id", "/platform", "/text", "/created_at", "/type", "/lang", "/url",
                          "/country", "/author/id", "/author/handle", "/author/followers",
                          "/engagement/likes", "/engagement/shares", "/engagement/comments",
                          "/engagement/views", "/author", "/engagement", "/list/1"}) {
      t.Add(*decode_internal::ParseJsonPointer(p));
    }
    return t;
  }

  std::vector<fuzz::DecoderPair> pairs_ = [] {
    std::vector<fuzz::DecoderPair> v;
    for (const DecoderOptions& o : fuzz::DifferentialOptions()) v.emplace_back(o);
    return v;
  }();
  PathTrie trie_ = CanonicalTrie();
};

// A canonical event with `extra` members appended.
std::string Canon(const std::string& extra = "") {
  return R"({"id":"p1","platform":"twitter","text":"hello")" + extra + "}";
}

const char kRichEvent[] =
    R"({"id":"1785653421867786240","platform":"Twitter","created_at":"2024-05-01T12:00:00.250Z",)"
    R"("type":"Reply","lang":"EN","country":"us","url":"https://twitter.com/s/status/1",)"
    R"("text":"Nike \u0026 Adidas \"quoted\" \\ \/ caf\u00e9 \ud83d\udc5f نايكي ナイキ",)"
    R"("author":{"id":2244994945,"handle":"samruns","followers":1523},)"
    R"("engagement":{"likes":48,"shares":5,"comments":2,"views":3120},)"
    R"("list":[0,{"x":1},[]],"tags":["a","b"],"null":null,"t":true,"f":false,)"
    R"("data":{"id":"m1","source":"ig","body":["mapped",{"u":"http://x"}],"~lang":"PT"},)"
    R"("ts":1714564800000,"u":{"n":7},"m":{"a/b":9},"id_str":"17","full_text":"tw &amp; x",)"
    R"("user":{"id_str":"5","screen_name":"sam","followers_count":10},"favorite_count":3,)"
    R"("retweet_count":1,"quote_count":2,"reply_count":4,"place":{"country_code":"fr"},)"
    R"("title":"T","selftext":"S","created_utc":1700000000.5,"score":-3,"num_comments":8,)"
    R"("subreddit":"running","author_fullname":"t2_x","permalink":"/r/x/1"})";

TEST_F(JsonReaderTest, ValidDocumentsTakeTheFastPath) {
  Accepted(Canon());
  Accepted(kRichEvent);
  Accepted("{}");
  Accepted(R"({"a":{},"b":[],"c":[[]],"d":[{}],"e":"","f":{"g":{"h":[1,[2,[3]]]}}})");
  Accepted(Canon(R"(,"":"empty key","e":"")"));
}

TEST_F(JsonReaderTest, Whitespace) {
  // Space, tab, CR and LF anywhere between tokens; nothing else.
  Accepted(" \t\r\n{ \t\r\n\"id\" \t\r\n: \t\r\n\"1\" \t\r\n, \"platform\":\"x\",\"text\":\"t\","
           "\"a\" : [ 1 , { } , [ ] ] , \"b\":{ \"c\" : null } } \t\r\n");
  Accepted(Canon() + "\r\n");
  for (const char* ws : {"\v", "\f", "\x1f", "\xc2\xa0", "\xe3\x80\x80"}) {
    Declined(std::string("{") + ws + R"("id":"1"})");
    Declined(Canon() + ws);
    Declined(std::string(R"({"id":)") + ws + R"("1"})");
  }
  Same("\xEF\xBB\xBF" + Canon());  // the BOM is the decoder's business
  Same("\xEF\xBB\xBF\xEF\xBB\xBF" + Canon());
  Same(" \xEF\xBB\xBF" + Canon());
}

TEST_F(JsonReaderTest, Syntax) {
  const char* const cases[] = {
      "", " ", "{", "}", "[", "[]", "[1]", "\"s\"", "1", "null", "true",
      R"({"id":"1")", R"({"id":"1",})", R"({"id":"1"} x)", R"({"id":"1"}{})",
      R"({"id":"1"},)", R"({'id':'1'})", R"({id:"1"})", R"({"id" "1"})", R"({"id":"1" "t":1})",
      R"({"id"::"1"})", R"({"id":,"1"})", R"({,"id":"1"})", R"({"a":[1,]})", R"({"a":[,1]})",
      R"({"a":[1 2]})", R"({"a":[1}})", R"({"a":{]})", R"({"a":tru})", R"({"a":truex})",
      R"({"a":nul})", R"({"a":False})", R"({"a":NaN})", R"({"a":Infinity})", R"({"a":-Infinity})",
      R"({"a":undefined})", R"({"a":1} // c)", R"({"a":/* c */1})", R"({"a":"b"}])",
      R"({"a":"b"]})", R"({"a":"b"})" "\xff",
  };
  for (const char* c : cases) Declined(c);
  Declined(std::string(R"({"a":"b"})") + std::string(1, '\0'));
  Declined(std::string(R"({"a":"b"})") + std::string(1, '\0') + "garbage");
  Declined(std::string("{\"a\"\0:1}", 8));
}

TEST_F(JsonReaderTest, Numbers) {
  for (const char* ok : {"0", "-0", "7", "-7", "10", "1.5", "-1.5", "0.0", "1e5", "1E5", "1e+5",
                         "1e-5", "-1.5e-3", "0e0", "1.0e0", "12.500", "1e308", "1e0000000308",
                         "18446744073709551615", "18446744073709551616", "-9223372036854775809",
                         "0.000000000000000000000000000001", "1e-99999999999999"}) {
    Accepted(Canon(std::string(R"(,"n":)") + ok + R"(,"engagement":{"likes":)" + ok + "}"));
    Accepted(Canon(std::string(R"(,"n":[)") + ok + "," + ok + "]"));
  }
  for (const char* bad : {"01", "-01", "00", "1.", ".5", "-", "+1", "--1", "1e", "1e+", "1e-",
                          "1.e5", "0x10", "1_000", "1,5", "- 1", "1 .5", "\xd9\xa1"}) {
    Declined(Canon(std::string(R"(,"n":)") + bad));
    Declined(Canon(std::string(R"(,"engagement":{"likes":)") + bad + "}"));
  }
  // RapidJSON's kParseErrorNumberTooBig (bad_type): the reader declines the
  // ranges it could hit, RapidJSON decides.
  const std::string digits300(300, '9'), digits301(301, '9'), digits400(400, '9');
  Accepted(Canon(R"(,"n":)" + digits300));
  for (const std::string& n :
       {digits301, digits400, "-" + digits400, digits400 + ".5", std::string("1e309"),
        std::string("1e400"), std::string("0.1e309"), std::string("1e0309"),
        std::string("1.0000e310")}) {
    Declined(Canon(R"(,"n":)" + n));
    Declined(Canon(R"(,"engagement":{"views":)" + n + "}"));
  }
  Same(Canon(R"(,"n":)" + std::string(320, '1') + "e-400"));
}

TEST_F(JsonReaderTest, Strings) {
  // Every escape, in values and keys, at every offset around 16-byte and
  // 64-byte boundaries.
  const char* const escapes[] = {R"(\")", R"(\\)", R"(\/)", R"(\b)", R"(\f)", R"(\n)", R"(\r)",
                                 R"(\t)", R"(\u0041)", R"(\u00e9)", R"(\u00E9)", R"(\u20ac)",
                                 R"(\uFFFF)", R"(\u0000)", R"(\ud83d\ude00)", R"(\uD83D\uDE00)",
                                 R"(\udbff\udfff)", R"(\\\")", R"(\\\\)", R"(\"\")"};
  for (const char* e : escapes) {
    for (size_t pad = 0; pad < 70; ++pad) {
      const std::string text = std::string(pad, 'a') + e + std::string(70 - pad, 'b');
      Accepted(R"({"id":"1","platform":"x","text":")" + text + "\"}");
      if (pad % 7 == 0) Accepted(Canon(",\"" + text + "\":1"));
    }
  }
  Accepted(R"({"te\u0078t":"escaped key","id":"1","platform":"x"})");
  Accepted(R"({"id":"1","platform":"x","text":""})");
  Accepted(R"({"id":"1","platform":"x","text":")" + std::string(100000, 'x') + "\"}");
  for (const char* bad : {R"(\x)", R"(\u12)", R"(\u12G4)", R"(\U0041)", R"(\)", R"(\')",
                          R"(\a)", R"(\0)", R"(\u)", R"(\ud800)", R"(\uDBFF end)",
                          R"(\ud800\u0041)", R"(\ud800\ud800)", R"(\udc00)", R"(a \uDFFF)",
                          R"(\udc00\ud800)", R"(\ud800\)", R"(\ud800\u)", R"(\ud800\udc0)"}) {
    Declined(R"({"id":"1","platform":"x","text":")" + std::string(bad) + "\"}");
    Declined(Canon(",\"k" + std::string(bad) + "\":1"));
  }
  Declined(R"({"id":"1","platform":"x","text":"unterminated)");
  Declined(R"({"id":"1","platform":"x","text":"unterminated\")");
}

TEST_F(JsonReaderTest, ControlBytesInStrings) {
  // RapidJSON 1.1's SSE2 scan lets 0x1A..0x1F through in 16-byte-aligned
  // blocks (its constant is 0x19), so whether it rejects one depends on
  // where it falls; the reader declines them all and RapidJSON decides.
  for (int c = 0; c < 0x20; ++c) {
    for (size_t pad = 0; pad < 40; ++pad) {
      std::string text(50, 'a');
      text[pad] = static_cast<char>(c);
      Declined(R"({"id":"1","platform":"x","text":")" + text + "\"}");
    }
  }
  Accepted(std::string(R"({"id":"1","platform":"x","text":"del)") + "\x7f" + "\"}");
}

TEST_F(JsonReaderTest, Utf8) {
  for (const char* ok : {"caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x91\x9f", "\xed\x9f\xbf",
                         "\xee\x80\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xd9\x86\xd8\xa7"}) {
    Accepted(R"({"id":"1","platform":"x","text":")" + std::string(ok) + "\"}");
    Accepted(Canon(",\"" + std::string(ok) + "\":\"" + ok + "\""));
  }
  for (const char* bad : {"\xff", "\xfe", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
                          "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
                          "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\x80", "\xbf", "abc\xe2\x82",
                          "\xc3", "\xe2\x82", "\xf0\x9f\x91", "\xc3\x28", "\xe2\x28\xa1"}) {
    for (size_t pad : {0, 1, 13, 14, 15, 16, 30, 31, 63, 64, 100}) {
      const std::string text = std::string(pad, 'a') + bad + "z";
      Declined(R"({"id":"1","platform":"x","text":")" + text + "\"}");
      Declined(R"({"id":"1","platform":"x","text":")" + std::string(pad, 'a') + bad + "\"}");
    }
    Declined(Canon(",\"" + std::string(bad) + "\":1"));
    Declined(Canon(std::string(",") + bad + "\"k\":1"));
    // Escapes around an invalid sequence change nothing.
    Declined(R"({"id":"1","platform":"x","text":"\u00e9)" + std::string(bad) + R"(\n"})");
  }
  // A sequence that an escape would "complete" is still invalid.
  Declined(R"({"id":"1","platform":"x","text":")" "\xe2\x82" R"(\u00ac"})");
}

TEST_F(JsonReaderTest, DuplicateKeysLastWins) {
  for (const char* extra :
       {R"(,"text":"second")", R"(,"id":5)", R"(,"id":null)", R"(,"id":{"x":1})",
        R"(,"author":{"handle":"a","followers":5},"author":{"id":"9"})",
        R"(,"author":{"handle":"a"},"author":null)", R"(,"author":{"handle":"a"},"author":"x")",
        R"(,"author":"x","author":{"handle":"b"})", R"(,"author":[1],"author":{"id":"2"})",
        R"(,"engagement":{"likes":5,"likes":7})", R"(,"engagement":{"likes":5,"likes":"x"})",
        R"(,"list":[0,1],"list":{"1":2})", R"(,"list":[0,{"a":1}],"list":[0])",
        R"(,"author":{"id":"1","id":"2","handle":"h"},"author":{"handle":"i"})"}) {
    Accepted(Canon(extra));
  }
}

TEST_F(JsonReaderTest, Depth) {
  // n containers around `inner`.
  auto nest = [](int n, const char* open, const char* close, const char* inner = "") {
    std::string s;
    for (int i = 0; i < n; ++i) s += open;
    s += inner;
    for (int i = 0; i < n; ++i) s += close;
    return s;
  };
  // The event object is depth 1; the limit is 64 containers.
  Accepted(Canon(",\"n\":" + nest(63, "[", "]")));
  Declined(Canon(",\"n\":" + nest(64, "[", "]")));
  Accepted(Canon(",\"n\":" + nest(63, "{\"a\":", "}", "1")));
  Declined(Canon(",\"n\":" + std::string(100000, '[')));
  Declined(std::string(100000, '{'));
  EXPECT_TRUE(FastAccepts(Canon(R"(,"author":{"handle":"a"})"), 2));
  EXPECT_FALSE(FastAccepts(Canon(R"(,"author":{"x":[]})"), 2));
  // Deeper than the reader's own 256: declined, and a decoder allowing more
  // still gets RapidJSON's verdict.
  DecoderOptions o;
  o.max_json_depth = 1000;
  fuzz::DecoderPair deep(o);
  EXPECT_EQ(deep.Compare(Canon(",\"n\":" + nest(500, "[", "]"))), "");
  EXPECT_EQ(deep.Compare(Canon(",\"n\":" + nest(999, "[", "]"))), "");
  EXPECT_EQ(deep.Compare(Canon(",\"n\":" + nest(1000, "[", "]"))), "");
}

TEST_F(JsonReaderTest, EveryCanonicalFieldWithEveryType) {
  const char* const fields[] = {"id", "platform", "text", "created_at", "type", "lang", "url",
                                "country", "author", "engagement"};
  const char* const values[] = {"\"\"", "\"s\"", "\"POST\"", "\"2024-05-01T12:00:00Z\"", "0",
                                "-1", "1.5", "12.0", "1e3", "1714564800000", "true", "false",
                                "null", "{}", "[]", "{\"id\":1}", "[\"x\"]",
                                "99999999999999999999999"};
  for (const char* f : fields) {
    for (const char* v : values) {
      Accepted(Canon(std::string(",\"") + f + "\":" + v));
      Accepted(std::string("{\"") + f + "\":" + v + "}");
    }
  }
  for (const char* f : {"id", "handle", "followers"}) {
    for (const char* v : values) Accepted(Canon(std::string(",\"author\":{\"") + f + "\":" + v + "}"));
  }
  for (const char* f : {"likes", "shares", "comments", "views"}) {
    for (const char* v : values) {
      Accepted(Canon(std::string(",\"engagement\":{\"") + f + "\":" + v + "}"));
    }
  }
}

TEST_F(JsonReaderTest, EveryPrefixAndMutationOfARichEvent) {
  const std::string base = kRichEvent;
  for (size_t n = 0; n <= base.size(); ++n) Same(base.substr(0, n));
  std::mt19937 rng(20240501);
  const char alphabet[] = "{}[]\":,\\/u0123456789abcdefABCDEF.-+eEntrfals \t\r\n\xff\xed\xc3\x80\x01\x1f";
  for (int i = 0; i < 20000; ++i) {
    std::string p = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % p.size();
      const char c = alphabet[rng() % (sizeof(alphabet) - 1)];
      switch (rng() % 3) {
        case 0: p[at] = c; break;
        case 1: p.erase(at, 1 + rng() % 4); break;
        default: p.insert(at, 1, c); break;
      }
      if (p.empty()) p.push_back('{');
    }
    Same(p);
  }
}

// --- the pieces the reader relies on ----------------------------------------

TEST(ReaderInternals, SimdUtf8ValidatorMatchesScalarOne) {
  std::mt19937 rng(7);
  const unsigned char pieces[][4] = {{'a'}, {0xc3, 0xa9}, {0xe2, 0x82, 0xac},
                                     {0xf0, 0x9f, 0x91, 0x9f}, {0x80}, {0xc3}, {0xe2, 0x82},
                                     {0xf0, 0x9f}, {0xed, 0xa0, 0x80}, {0xff}, {0xf4, 0x90}};
  const size_t sizes[] = {1, 2, 3, 4, 1, 1, 2, 2, 3, 1, 2};
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    const size_t len = rng() % 80;
    while (s.size() < len) {
      const size_t k = rng() % 100 < 85 ? rng() % 4 : rng() % 11;
      s.append(reinterpret_cast<const char*>(pieces[k]), sizes[k]);
    }
    ASSERT_EQ(decode_internal::IsValidUtf8(s), decode_internal::IsValidUtf8Scalar(s))
        << Printable(s);
  }
}

TEST(ReaderInternals, ScanValidUtf8MatchesAScanThenTheScalarCheck) {
  std::mt19937 rng(9);
  const char* const pieces[] = {"a", "\xc3\xa9", "\xe3\x81\x82", "\xf0\x9f\x91\x9f", "\x80",
                                "\xe3\x81", "\xf0\x9f", "\xed\xa0\x80", "\xff", "\"", "\\",
                                "\x01", "\x1f"};
  for (int i = 0; i < 100000; ++i) {
    std::string s;
    const size_t len = rng() % 90;
    while (s.size() < len) s += pieces[rng() % 100 < 90 ? rng() % 4 : rng() % 13];
    s.append(32, '\0');  // the padding (and a stop)
    bool valid = false;
    const char* stop = decode_internal::ScanValidUtf8(s.data(), &valid);
    const size_t want = s.find_first_of(std::string("\"\\") + std::string(1, '\0') +
                                        "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"
                                        "\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c"
                                        "\x1d\x1e\x1f");
    ASSERT_EQ(static_cast<size_t>(stop - s.data()), want) << Printable(s);
    ASSERT_EQ(valid, decode_internal::IsValidUtf8Scalar(std::string_view(s.data(), want)))
        << Printable(s);
  }
}

TEST(ReaderInternals, ParseCountMatchesParseDecimal) {
  std::mt19937 rng(11);
  const char alphabet[] = "0123456789.-eE+ x";
  for (int i = 0; i < 300000; ++i) {
    std::string s;
    const size_t n = rng() % 12;
    for (size_t k = 0; k < n; ++k) {
      s += rng() % 4 != 0 ? static_cast<char>('0' + rng() % 10)
                          : alphabet[rng() % (sizeof(alphabet) - 1)];
    }
    std::string padded = s + std::string(8, static_cast<char>(rng()));
    const std::string_view v(padded.data(), s.size());
    uint64_t a = 1, b = 2;
    const auto sa = decode_internal::ParseCount(v, &a);
    const auto sb = decode_internal::ParseDecimal(v, 0, false, &b);
    ASSERT_EQ(sa, sb) << s;
    if (sa == decode_internal::NumStatus::kOk) {
      ASSERT_EQ(a, b) << s;
    }
  }
}

TEST(ReaderInternals, ChildByKeyComparesOnlyTheKeysBytes) {
  PathTrie t;
  std::vector<std::string> keys = {"", "a", "ab", "id", "abcdefghijklmnop", "abcdefghijklmnopq",
                                   "platform", "text", "tex", "texts"};
  std::vector<int> nodes;
  for (const std::string& k : keys) nodes.push_back(t.Add({k}));
  for (size_t i = 0; i < keys.size(); ++i) {
    // The key followed by every kind of byte: the padding must not count.
    for (char after : {'\0', 'x', '"', static_cast<char>(0xff)}) {
      std::string buf = keys[i] + std::string(16, after);
      EXPECT_EQ(t.ChildByKey(0, std::string_view(buf.data(), keys[i].size())), nodes[i])
          << keys[i];
    }
  }
  std::string buf = "zz" + std::string(16, '\0');
  EXPECT_EQ(t.ChildByKey(0, std::string_view(buf.data(), 2)), -1);
  buf = "abc" + std::string(16, '\0');
  EXPECT_EQ(t.ChildByKey(0, std::string_view(buf.data(), 3)), -1);
}

}  // namespace
}  // namespace earshot
