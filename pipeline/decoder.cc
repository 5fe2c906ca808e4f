// Decoders for the canonical schema and the presets (docs/formats.md; the
// rules are written out in docs/formats.md).
//
// Every format runs the same single pass: the payload is copied once into a
// buffer the decoder owns, parsed in situ (strings are unescaped in place,
// numbers arrive as raw text), and an Extractor records only the values at
// the format's JSON Pointers. The Event's string_views point into that buffer
// (or into small owned buffers for rendered ids and composed texts) until the
// next Decode().
//
// The parse is the fast reader (pipeline/json_reader.h) first; what it
// declines -- every invalid payload, and a few odd valid ones -- is parsed
// again, from a fresh copy, by RapidJSON's iterative SAX reader, whose
// verdict (and reason) is final. Both paths give the same results.

#include "pipeline/decoder.h"

#include <rapidjson/error/error.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "base/platform.h"
#include "pipeline/decode_json.h"
#include "pipeline/json_reader.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace earshot {

using decode_internal::Extractor;
using decode_internal::Kind;
using decode_internal::NumStatus;
using decode_internal::ParseCount;
using decode_internal::ParseDecimal;
using decode_internal::PathTrie;
using decode_internal::Slot;

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "canonical") return Format::kCanonical;
  if (name == "twitter_v1") return Format::kTwitterV1;
  if (name == "reddit") return Format::kReddit;
  if (name == "mapping") return Format::kMapping;
  return std::nullopt;
}

namespace {

using Result = std::optional<InvalidReason>;

// For the documents the fast reader (pipeline/json_reader.h) declines. No
// kParseValidateEncodingFlag: RapidJSON would validate string bytes one at a
// time (~20 instructions a byte); decode_internal::IsValidUtf8 checks the
// whole payload with the same rules, 16 bytes a step. kParseIterativeFlag:
// no recursion, so nesting depth cannot overflow the stack.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseNumbersAsStringsFlag;

// 9999-12-31T23:59:59.999Z: the last instant RFC 3339 can write.
constexpr int64_t kMaxMillis = 253402300799999;

// The canonical fields, in the order they are validated (the first failing
// field decides the reason).
enum Field {
  kId,
  kPlatform,
  kText,
  kCreatedAt,
  kType,
  kLang,
  kUrl,
  kCountry,
  kAuthorId,
  kAuthorHandle,
  kAuthorFollowers,
  kLikes,
  kShares,
  kComments,
  kViews,
  kFieldCount
};
constexpr std::array<const char*, kFieldCount> kFieldNames = {
    "id",        "platform",         "text",
    "created_at", "type",             "lang",
    "url",       "country",          "author.id",
    "author.handle", "author.followers", "engagement.likes",
    "engagement.shares", "engagement.comments", "engagement.views"};
constexpr std::array<const char*, kFieldCount> kCanonicalPointers = {
    "/id",        "/platform",         "/text",
    "/created_at", "/type",             "/lang",
    "/url",       "/country",          "/author/id",
    "/author/handle", "/author/followers", "/engagement/likes",
    "/engagement/shares", "/engagement/comments", "/engagement/views"};

char* Mutable(std::string_view s) { return const_cast<char*>(s.data()); }

// Adds `delta` to the ASCII letters first..first+25 of `s`, in place. Every
// non-empty `s` here is a value in the decoder's buffer, whose padding makes the 16
// bytes at s.data() readable and writable: a short value (they all are:
// platforms, types, languages, countries) takes one 16-byte step, writing
// the bytes past its end back unchanged. A byte loop's exit, at a length
// that varies from event to event, was a mispredicted branch each time.
void ShiftLetters(std::string_view s, char first, char delta) {
  char* p = Mutable(s);
  size_t n = s.size();
  if (n == 0) return;  // an absent field: data() is null
#if defined(__SSE2__)
  for (;; p += 16, n -= 16) {
    const size_t k = n < 16 ? n : 16;
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i offset = _mm_sub_epi8(v, _mm_set1_epi8(first));  // a letter: 0..25
    const __m128i letter =
        _mm_cmpeq_epi8(_mm_max_epu8(offset, _mm_set1_epi8(25)), _mm_set1_epi8(25));
    const __m128i in_s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(decode_internal::kPrefixMask + 16 - k));
    const __m128i add = _mm_and_si128(_mm_and_si128(letter, in_s), _mm_set1_epi8(delta));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm_add_epi8(v, add));
    if (n <= 16) return;
  }
#else
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<unsigned char>(p[i] - first) < 26) p[i] = static_cast<char>(p[i] + delta);
  }
#endif
}

void LowerAscii(std::string_view s) { ShiftLetters(s, 'A', 'a' - 'A'); }
void UpperAscii(std::string_view s) { ShiftLetters(s, 'a', 'A' - 'a'); }

// s == lit with the literal's size known at compile time, so the memcmp is
// a word comparison, not a call.
template <size_t N>
bool Is(std::string_view s, const char (&lit)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}

// Trims ASCII white space, lower-cases `s` in place and resolves the
// documented aliases: CanonicalPlatformName (base/platform.h) without a
// copy. The result is both the label's source and the dedupe key's, so
// "twitter " and " X" are one platform for both.
std::string_view NormalizePlatform(std::string_view s) {
  s = TrimAsciiSpace(s);
  LowerAscii(s);
  return ResolvePlatformAlias(s);
}

constexpr uint64_t Pack(std::string_view name) {
  uint64_t w = 0;
  for (size_t i = name.size(); i-- > 0;) w = (w << 8) | static_cast<unsigned char>(name[i]);
  return w;
}

// One probe of a table instead of a chain of comparisons: the type varies
// from event to event, so each test of a chain was a branch to mispredict.
// The probe is the length plus the second letter, distinct for the five
// names. `s` is in the decoder's buffer (padded): its first 8 bytes are
// read as a word.
std::optional<EventType> ParseEventType(std::string_view s) {
  LowerAscii(s);
  if (s.size() < 4 || s.size() > 7) return std::nullopt;
  struct Name {
    size_t size;  // 0 where unused
    uint64_t word;
    EventType type;
  };
  static constexpr Name kNames[8] = {{0, 0, EventType::kPost},
                                     {0, 0, EventType::kPost},
                                     {5, Pack("reply"), EventType::kReply},
                                     {4, Pack("post"), EventType::kPost},
                                     {7, Pack("mention"), EventType::kMention},
                                     {5, Pack("share"), EventType::kShare},
                                     {7, Pack("comment"), EventType::kComment},
                                     {0, 0, EventType::kPost}};
  const Name& name = kNames[(s.size() + static_cast<unsigned char>(s[1])) & 7];
  const uint64_t word = decode_internal::LoadLe64(s.data()) & (~0ull >> (8 * (8 - s.size())));
  if (s.size() != name.size || word != name.word) return std::nullopt;
  return name.type;
}

// Twitter and Reddit escape &, < and > in texts as HTML entities; undo that
// in place (the text only shrinks).
std::string_view UnescapeHtml(std::string_view s) {
  if (s.empty() || std::memchr(s.data(), '&', s.size()) == nullptr) return s;
  char* p = Mutable(s);
  size_t w = 0;
  for (size_t r = 0; r < s.size();) {
    if (s[r] == '&') {
      const std::string_view rest = s.substr(r);
      if (rest.starts_with("&amp;")) {
        p[w++] = '&';
        r += 5;
        continue;
      }
      if (rest.starts_with("&lt;")) {
        p[w++] = '<';
        r += 4;
        continue;
      }
      if (rest.starts_with("&gt;")) {
        p[w++] = '>';
        r += 4;
        continue;
      }
    }
    p[w++] = s[r++];
  }
  return std::string_view(s.data(), w);
}

bool Present(const Slot& s) { return s.kind != Kind::kAbsent && s.kind != Kind::kNull; }

// An optional string: absent or null leaves `out` empty.
Result GetString(const Slot& s, std::string_view* out) {
  if (!Present(s)) return std::nullopt;
  if (s.kind != Kind::kString) return InvalidReason::kBadType;
  *out = s.str;
  return std::nullopt;
}

// A required string (may be empty).
Result GetRequiredString(const Slot& s, std::string_view* out) {
  if (!Present(s)) return InvalidReason::kMissingField;
  return GetString(s, out);
}

// A non-negative integer; absent or null leaves `out` at 0.
inline Result GetCount(const Slot& s, uint64_t* out) {
  if (!Present(s)) return std::nullopt;
  if (s.kind != Kind::kNumber) return InvalidReason::kBadType;
  if (ParseCount(s.str, out) != NumStatus::kOk) return InvalidReason::kBadType;
  return std::nullopt;
}

// An identifier: a string, or a non-negative integer rendered in decimal
// into `buf`. Absent or null: missing_field when `required`. An empty string
// is bad_type when `required` (it cannot identify anything), else absent.
Result GetId(const Slot& s, bool required, std::string* buf, std::string_view* out) {
  if (!Present(s)) return required ? Result(InvalidReason::kMissingField) : std::nullopt;
  if (s.kind == Kind::kString) {
    if (s.str.empty() && required) return InvalidReason::kBadType;
    *out = s.str;
    return std::nullopt;
  }
  if (s.kind != Kind::kNumber) return InvalidReason::kBadType;
  uint64_t v;
  if (ParseDecimal(s.str, 0, false, &v) != NumStatus::kOk) return InvalidReason::kBadType;
  buf->assign(std::to_string(v));
  *out = *buf;
  return std::nullopt;
}

Result SetTime(std::optional<int64_t> ms, Event* ev) {
  if (!ms || *ms < 0 || *ms > kMaxMillis) return InvalidReason::kBadTimestamp;
  ev->has_created_at = true;
  ev->created_at_ms = *ms;
  return std::nullopt;
}

// Canonical `created_at`: an RFC 3339 string or integer epoch milliseconds.
Result GetCanonicalTime(const Slot& s, Event* ev) {
  if (!Present(s)) return std::nullopt;
  if (s.kind == Kind::kString) return SetTime(ParseRfc3339Millis(s.str), ev);
  if (s.kind != Kind::kNumber) return InvalidReason::kBadType;
  uint64_t v;
  if (ParseDecimal(s.str, 0, false, &v) != NumStatus::kOk || v > uint64_t{kMaxMillis}) {
    return InvalidReason::kBadTimestamp;
  }
  return SetTime(static_cast<int64_t>(v), ev);
}

#define EARSHOT_TRY(expr)                  \
  do {                                     \
    if (Result r_ = (expr)) return r_;     \
  } while (0)

// The shared machinery: owns the trie, the buffer and the reader.
class JsonDecoder : public Decoder {
 protected:
  explicit JsonDecoder(const DecoderOptions& o)
      : max_event_bytes_(o.max_event_bytes),
        max_depth_(o.max_json_depth),
        use_fast_reader_(o.fast_reader) {}

  int AddPointer(std::string_view pointer) {
    auto tokens = decode_internal::ParseJsonPointer(pointer);
    return tokens.ok() ? trie_.Add(*tokens) : -1;  // pointers are validated by MakeDecoder
  }
  // Call after the last AddPointer().
  void Finish() { extractor_ = std::make_unique<Extractor>(&trie_, max_depth_); }

  // Parses `payload` into the slots; a reason when it is not a JSON object.
  Result Parse(std::string_view payload) {
    if (payload.size() > max_event_bytes_) return InvalidReason::kTooLarge;
    // BOM policy: a UTF-8 byte order mark at the start is accepted and dropped.
    if (payload.size() >= 3 && std::memcmp(payload.data(), "\xEF\xBB\xBF", 3) == 0) {
      payload.remove_prefix(3);
    }
    if (payload.empty()) return InvalidReason::kJsonSyntax;  // also: data() may be null
    if (use_fast_reader_) {
      Copy(payload);
      extractor_->Reset();
      char* const begin = buffer_.data();
      // Accepted implies a JSON object that passes every check below.
      if (decode_internal::ReadJsonObject(begin, begin + payload.size(), extractor_.get())) {
        return std::nullopt;
      }
    }
    // RapidJSON decides (again from the payload: the fast reader may have
    // unescaped part of the buffer).
    Copy(payload);
    extractor_->Reset();
    rapidjson::InsituStringStream is(buffer_.data());
    const rapidjson::ParseResult res = reader_.Parse<kParseFlags>(is, *extractor_);
    if (res.IsError()) {
      switch (res.Code()) {
        case rapidjson::kParseErrorTermination:  // the only abort is the depth limit
          return InvalidReason::kTooDeep;
        case rapidjson::kParseErrorStringUnicodeSurrogateInvalid:  // lone \ud800
          return InvalidReason::kBadUtf8;
        case rapidjson::kParseErrorNumberTooBig:  // e.g. 1e400: valid JSON, no uint64
          return InvalidReason::kBadType;
        default:
          return InvalidReason::kJsonSyntax;
      }
    }
    // The in-situ stream stops at a NUL byte; anything after one is garbage.
    if (is.Tell() != payload.size()) return InvalidReason::kJsonSyntax;
    // Encoding checks run after the parse, so syntax errors win. Lone low
    // surrogates are checked on the text rather than per string: one memchr
    // for the common payload without backslashes.
    if (!decode_internal::IsValidUtf8(payload) ||
        decode_internal::HasLoneLowSurrogateEscape(payload)) {
      return InvalidReason::kBadUtf8;
    }
    if (slot(0).kind != Kind::kObject) return InvalidReason::kNotObject;
    return std::nullopt;
  }

  const Slot& slot(int node) const {
    static const Slot kAbsent;
    return node >= 0 ? extractor_->slot(node) : kAbsent;
  }

  // Decode() starts from a copy of this rather than from Event(): GCC
  // zeroes that (or any constant it can see) with `rep stos`, whose start-up
  // alone cost ~10 ns a decode. Never changed.
  Event blank_;
  std::string id_buf_;         // rendered integer ids, composed ids
  std::string author_id_buf_;  // rendered integer author ids
  std::string text_buf_;       // composed texts
  std::string url_buf_;        // composed urls

 private:
  // buffer_ starts with payload + kReaderPadding NULs: the terminator
  // RapidJSON's in-situ stream stops at, room for its aligned 16-byte loads,
  // and the fast reader's padding. It only grows: resizing it to every
  // payload zero-filled the difference and cost ~10 ns an event. The heap
  // block is 16-byte aligned, which matters: RapidJSON's verdict on a control
  // byte in a string depends on where it falls relative to 16-byte
  // boundaries (pipeline/json_reader.h).
  void Copy(std::string_view payload) {
    const size_t n = payload.size() + decode_internal::kReaderPadding;
    if (buffer_.size() < n) buffer_.resize(n);
    std::memcpy(buffer_.data(), payload.data(), payload.size());
    std::memset(buffer_.data() + payload.size(), 0, decode_internal::kReaderPadding);
  }

  size_t max_event_bytes_;
  int max_depth_;
  bool use_fast_reader_;
  PathTrie trie_;
  std::unique_ptr<Extractor> extractor_;
  std::string buffer_;
  rapidjson::Reader reader_;
};

// canonical and mapping: the canonical fields at configurable pointers.
class FieldsDecoder final : public JsonDecoder {
 public:
  // `pointers[f]` is the pointer of field f, or nullptr when unmapped.
  // `check_containers`: canonical's `author`/`engagement` must be objects.
  FieldsDecoder(const DecoderOptions& o, const std::array<const char*, kFieldCount>& pointers,
                bool check_containers)
      : JsonDecoder(o) {
    for (int f = 0; f < kFieldCount; ++f) {
      nodes_[f] = pointers[f] != nullptr ? AddPointer(pointers[f]) : -1;
    }
    author_node_ = check_containers ? AddPointer("/author") : -1;
    engagement_node_ = check_containers ? AddPointer("/engagement") : -1;
    Finish();
  }

  Result Decode(std::string_view payload, Event* ev) override {
    *ev = blank_;
    EARSHOT_TRY(Parse(payload));
    EARSHOT_TRY(GetId(slot(nodes_[kId]), true, &id_buf_, &ev->id));
    EARSHOT_TRY(GetRequiredString(slot(nodes_[kPlatform]), &ev->platform));
    ev->platform = NormalizePlatform(ev->platform);
    EARSHOT_TRY(GetRequiredString(slot(nodes_[kText]), &ev->text));
    EARSHOT_TRY(GetCanonicalTime(slot(nodes_[kCreatedAt]), ev));
    std::string_view type;
    EARSHOT_TRY(GetString(slot(nodes_[kType]), &type));
    if (Present(slot(nodes_[kType]))) {
      const std::optional<EventType> t = ParseEventType(type);
      if (!t) return InvalidReason::kBadType;
      ev->type = *t;
    }
    EARSHOT_TRY(GetString(slot(nodes_[kLang]), &ev->lang));
    LowerAscii(ev->lang);
    EARSHOT_TRY(GetString(slot(nodes_[kUrl]), &ev->url));
    EARSHOT_TRY(GetString(slot(nodes_[kCountry]), &ev->country));
    UpperAscii(ev->country);
    EARSHOT_TRY(CheckContainer(author_node_));
    EARSHOT_TRY(GetId(slot(nodes_[kAuthorId]), false, &author_id_buf_, &ev->author_id));
    EARSHOT_TRY(GetString(slot(nodes_[kAuthorHandle]), &ev->author_handle));
    EARSHOT_TRY(GetCount(slot(nodes_[kAuthorFollowers]), &ev->followers));
    EARSHOT_TRY(CheckContainer(engagement_node_));
    EARSHOT_TRY(GetCount(slot(nodes_[kLikes]), &ev->likes));
    EARSHOT_TRY(GetCount(slot(nodes_[kShares]), &ev->shares));
    EARSHOT_TRY(GetCount(slot(nodes_[kComments]), &ev->comments));
    EARSHOT_TRY(GetCount(slot(nodes_[kViews]), &ev->views));
    return std::nullopt;
  }

 private:
  Result CheckContainer(int node) const {
    const Slot& s = slot(node);
    return Present(s) && s.kind != Kind::kObject ? Result(InvalidReason::kBadType) : std::nullopt;
  }

  std::array<int, kFieldCount> nodes_;
  int author_node_;
  int engagement_node_;
};

// twitter_v1: classic Twitter API (v1.1) status objects.
class TwitterDecoder final : public JsonDecoder {
 public:
  explicit TwitterDecoder(const DecoderOptions& o) : JsonDecoder(o) {
    id_str_ = AddPointer("/id_str");
    id_ = AddPointer("/id");
    created_at_ = AddPointer("/created_at");
    full_text_ = AddPointer("/full_text");
    extended_full_text_ = AddPointer("/extended_tweet/full_text");
    text_ = AddPointer("/text");
    user_id_str_ = AddPointer("/user/id_str");
    user_id_ = AddPointer("/user/id");
    screen_name_ = AddPointer("/user/screen_name");
    followers_ = AddPointer("/user/followers_count");
    favorite_count_ = AddPointer("/favorite_count");
    retweet_count_ = AddPointer("/retweet_count");
    reply_count_ = AddPointer("/reply_count");
    quote_count_ = AddPointer("/quote_count");
    lang_ = AddPointer("/lang");
    country_ = AddPointer("/place/country_code");
    retweeted_status_ = AddPointer("/retweeted_status");
    reply_to_str_ = AddPointer("/in_reply_to_status_id_str");
    reply_to_ = AddPointer("/in_reply_to_status_id");
    Finish();
  }

  Result Decode(std::string_view payload, Event* ev) override {
    *ev = blank_;
    EARSHOT_TRY(Parse(payload));
    const int id_node = Present(slot(id_str_)) ? id_str_ : id_;
    EARSHOT_TRY(GetId(slot(id_node), true, &id_buf_, &ev->id));
    ev->platform = "twitter";
    // the documented order (docs/formats.md): full_text, extended_tweet.full_text, text.
    const int text_node = Present(slot(full_text_))            ? full_text_
                          : Present(slot(extended_full_text_)) ? extended_full_text_
                                                               : text_;
    EARSHOT_TRY(GetRequiredString(slot(text_node), &ev->text));
    ev->text = UnescapeHtml(ev->text);
    const Slot& created = slot(created_at_);
    if (Present(created)) {
      if (created.kind != Kind::kString) return InvalidReason::kBadType;
      std::optional<int64_t> ms = ParseTwitterTimeMillis(created.str);
      if (!ms) ms = ParseRfc3339Millis(created.str);  // v2-style exports
      EARSHOT_TRY(SetTime(ms, ev));
    }
    if (Present(slot(retweeted_status_))) {
      ev->type = EventType::kShare;
    } else if (Present(slot(reply_to_str_)) || Present(slot(reply_to_))) {
      ev->type = EventType::kReply;
    }
    const int user_id_node = Present(slot(user_id_str_)) ? user_id_str_ : user_id_;
    EARSHOT_TRY(GetId(slot(user_id_node), false, &author_id_buf_, &ev->author_id));
    EARSHOT_TRY(GetString(slot(screen_name_), &ev->author_handle));
    EARSHOT_TRY(GetCount(slot(followers_), &ev->followers));
    EARSHOT_TRY(GetCount(slot(favorite_count_), &ev->likes));
    uint64_t retweets = 0, quotes = 0;
    EARSHOT_TRY(GetCount(slot(retweet_count_), &retweets));
    EARSHOT_TRY(GetCount(slot(quote_count_), &quotes));
    // Quote tweets are shares with a comment: they count as shares.
    if (__builtin_add_overflow(retweets, quotes, &ev->shares)) return InvalidReason::kBadType;
    EARSHOT_TRY(GetCount(slot(reply_count_), &ev->comments));
    EARSHOT_TRY(GetString(slot(lang_), &ev->lang));
    LowerAscii(ev->lang);
    if (ev->lang == "und") ev->lang = {};  // Twitter's "undetermined"
    EARSHOT_TRY(GetString(slot(country_), &ev->country));
    UpperAscii(ev->country);
    if (!ev->author_handle.empty()) {
      url_buf_.assign("https://twitter.com/");
      url_buf_.append(ev->author_handle).append("/status/").append(ev->id);
      ev->url = url_buf_;
    }
    return std::nullopt;
  }

 private:
  int id_str_, id_, created_at_, full_text_, extended_full_text_, text_, user_id_str_, user_id_,
      screen_name_, followers_, favorite_count_, retweet_count_, reply_count_, quote_count_,
      lang_, country_, retweeted_status_, reply_to_str_, reply_to_;
};

// reddit: Reddit API / Pushshift submissions (type post) and comments.
class RedditDecoder final : public JsonDecoder {
 public:
  explicit RedditDecoder(const DecoderOptions& o) : JsonDecoder(o) {
    id_ = AddPointer("/id");
    name_ = AddPointer("/name");
    title_ = AddPointer("/title");
    selftext_ = AddPointer("/selftext");
    body_ = AddPointer("/body");
    created_utc_ = AddPointer("/created_utc");
    score_ = AddPointer("/score");
    num_comments_ = AddPointer("/num_comments");
    subreddit_ = AddPointer("/subreddit");
    author_ = AddPointer("/author");
    author_fullname_ = AddPointer("/author_fullname");
    permalink_ = AddPointer("/permalink");
    url_ = AddPointer("/url");
    Finish();
  }

  Result Decode(std::string_view payload, Event* ev) override {
    *ev = blank_;
    EARSHOT_TRY(Parse(payload));
    const bool comment = Present(slot(body_));
    ev->type = comment ? EventType::kComment : EventType::kPost;
    // The id is the fullname (t3_ submissions, t1_ comments): base36 ids of
    // the two kinds may collide.
    std::string_view name;
    EARSHOT_TRY(GetString(slot(name_), &name));
    if (!name.empty()) {
      ev->id = name;
    } else {
      std::string_view id;
      EARSHOT_TRY(GetId(slot(id_), true, &id_buf_, &id));
      text_buf_.assign(comment ? "t1_" : "t3_").append(id);  // id may live in id_buf_
      id_buf_.swap(text_buf_);
      ev->id = id_buf_;
    }
    ev->platform = "reddit";
    if (comment) {
      EARSHOT_TRY(GetRequiredString(slot(body_), &ev->text));
      ev->text = UnescapeHtml(ev->text);
    } else {
      std::string_view title, selftext;
      EARSHOT_TRY(GetRequiredString(slot(title_), &title));
      EARSHOT_TRY(GetString(slot(selftext_), &selftext));
      title = UnescapeHtml(title);
      selftext = UnescapeHtml(selftext);
      if (selftext.empty() || selftext == "[removed]" || selftext == "[deleted]") {
        ev->text = title;
      } else {
        text_buf_.assign(title).append("\n\n").append(selftext);
        ev->text = text_buf_;
      }
    }
    EARSHOT_TRY(GetRedditTime(slot(created_utc_), ev));
    const Slot& score = slot(score_);
    if (Present(score)) {
      if (score.kind != Kind::kNumber) return InvalidReason::kBadType;
      const NumStatus st = ParseDecimal(score.str, 0, false, &ev->likes);
      if (st == NumStatus::kNegative) {
        ev->likes = 0;  // likes = max(score, 0)
      } else if (st != NumStatus::kOk) {
        return InvalidReason::kBadType;
      }
    }
    // A comment's num_comments is not its own (formats.md: "—"): ignored.
    if (!comment) EARSHOT_TRY(GetCount(slot(num_comments_), &ev->comments));
    EARSHOT_TRY(GetString(slot(subreddit_), &ev->subreddit));
    EARSHOT_TRY(GetString(slot(author_), &ev->author_handle));
    if (ev->author_handle == "[deleted]") ev->author_handle = {};
    EARSHOT_TRY(GetString(slot(author_fullname_), &ev->author_id));
    std::string_view permalink;
    EARSHOT_TRY(GetString(slot(permalink_), &permalink));
    if (permalink.starts_with("/")) {
      url_buf_.assign("https://www.reddit.com").append(permalink);
      ev->url = url_buf_;
    } else if (!permalink.empty()) {
      ev->url = permalink;
    } else {
      EARSHOT_TRY(GetString(slot(url_), &ev->url));
    }
    return std::nullopt;
  }

 private:
  // created_utc: epoch seconds, an integer or a float (1700000000.0), or the
  // same as a string (older Pushshift dumps). Sub-millisecond digits drop.
  static Result GetRedditTime(const Slot& s, Event* ev) {
    if (!Present(s)) return std::nullopt;
    if (s.kind != Kind::kNumber && s.kind != Kind::kString) return InvalidReason::kBadType;
    uint64_t ms;
    if (ParseDecimal(s.str, 3, true, &ms) != NumStatus::kOk || ms > uint64_t{kMaxMillis}) {
      return InvalidReason::kBadTimestamp;
    }
    return SetTime(static_cast<int64_t>(ms), ev);
  }

  int id_, name_, title_, selftext_, body_, created_utc_, score_, num_comments_, subreddit_,
      author_, author_fullname_, permalink_, url_;
};

static_assert(std::string_view(kRequiredMappingFields[0]) == kFieldNames[kId] &&
              std::string_view(kRequiredMappingFields[1]) == kFieldNames[kPlatform] &&
              std::string_view(kRequiredMappingFields[2]) == kFieldNames[kText]);

Status ValidateMapping(const std::map<std::string, std::string>& mapping,
                       std::array<const char*, kFieldCount>* pointers) {
  std::string errors;
  auto add_error = [&errors](std::string e) {
    if (!errors.empty()) errors += "; ";
    errors += e;
  };
  pointers->fill(nullptr);
  for (const auto& [field, pointer] : mapping) {
    if (Status s = CheckMappingField(field); !s.ok()) {
      add_error("mapping: " + s.message());
      continue;
    }
    if (Status s = CheckMappingPointer(pointer); !s.ok()) {
      add_error("mapping: field \"" + field + "\": " + s.message());
      continue;
    }
    const auto it = std::find(kFieldNames.begin(), kFieldNames.end(), field);
    (*pointers)[static_cast<size_t>(it - kFieldNames.begin())] = pointer.c_str();
  }
  for (const char* f : kRequiredMappingFields) {
    if (Status s = CheckMappingHas(mapping, f); !s.ok()) add_error("mapping: " + s.message());
  }
  return errors.empty() ? Status::Ok() : Status::Error(errors);
}

}  // namespace

Status CheckMappingField(std::string_view field) {
  if (std::find(kFieldNames.begin(), kFieldNames.end(), field) != kFieldNames.end()) {
    return Status::Ok();
  }
  std::string known;
  for (const char* n : kFieldNames) known += (known.empty() ? "" : ", ") + std::string(n);
  return Status::Error("unknown field \"" + std::string(field) + "\" (known fields: " + known +
                       ")");
}

Status CheckMappingHas(const std::map<std::string, std::string>& mapping, const char* field) {
  if (mapping.count(field) != 0) return Status::Ok();
  return Status::Error(std::string("required field \"") + field +
                       "\" is not mapped (give it a JSON Pointer, e.g. \"/" + field + "\")");
}

Status CheckMappingPointer(std::string_view pointer) {
  auto tokens = decode_internal::ParseJsonPointer(pointer);
  return tokens.ok() ? Status::Ok() : tokens.status();
}

StatusOr<std::unique_ptr<Decoder>> MakeDecoder(const DecoderOptions& options) {
  if (options.max_event_bytes == 0) return Status::Error("max_event_bytes must be at least 1");
  if (options.max_json_depth < 1) return Status::Error("max_json_depth must be at least 1");
  if (options.format != Format::kMapping && !options.mapping.empty()) {
    return Status::Error("mapping is only used with format: mapping");
  }
  std::unique_ptr<Decoder> d;
  switch (options.format) {
    case Format::kCanonical:
      d = std::make_unique<FieldsDecoder>(options, kCanonicalPointers, true);
      break;
    case Format::kTwitterV1:
      d = std::make_unique<TwitterDecoder>(options);
      break;
    case Format::kReddit:
      d = std::make_unique<RedditDecoder>(options);
      break;
    case Format::kMapping: {
      std::array<const char*, kFieldCount> pointers;
      Status s = ValidateMapping(options.mapping, &pointers);
      if (!s.ok()) return s;
      d = std::make_unique<FieldsDecoder>(options, pointers, false);
      break;
    }
  }
  return d;
}

}  // namespace earshot
