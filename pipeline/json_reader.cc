#include "pipeline/json_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "rules/normalizer.h"

namespace earshot::decode_internal {
namespace {

// Deeper documents are declined (the extractor's own limit is usually 64).
constexpr int kMaxDepth = 256;
// RapidJSON 1.1 reports kParseErrorNumberTooBig once an integer's value
// passes ~1.8e307 while it accumulates digits, or a positive exponent passes
// 308 minus the fraction digits it kept: below these bounds it never does.
constexpr ptrdiff_t kMaxIntegerDigits = 300;
constexpr unsigned kMaxExponent = 308;

bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// JSON whitespace is space, tab, LF and CR only.
char* SkipWhitespace(char* p) {
  constexpr uint64_t kWhitespace = (1ull << ' ') | (1ull << '\t') | (1ull << '\n') | (1ull << '\r');
  while (static_cast<unsigned char>(*p) <= ' ' && ((kWhitespace >> *p) & 1) != 0) ++p;
  return p;
}

// Stops (decode_json.h) end a string's literal runs; the first look at a
// string also stops at bytes >= 0x80, and those strings take ReadStringSlow.
#if defined(__SSE2__)
__m128i Load16(const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
#endif

// Moves the literal bytes (>= 0x80 too) from `p` up to the next stop down to
// `*out`, which is behind `p`: escapes only shrink. Returns the stop.
char* MovePlain(char* p, char** out) {
  char* o = *out;
#if defined(__SSE2__)
  for (;;) {
    const __m128i s = Load16(p);
    const unsigned mask = StopMask<false>(s);
    if (mask == 0) {
      // All 16 bytes are taken, so writing over their old place is safe.
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), s);
      p += 16;
      o += 16;
      continue;
    }
    const int n = __builtin_ctz(mask);
    std::memmove(o, p, static_cast<size_t>(n));
    p += n;
    o += n;
    break;
  }
#else
  while (!IsStop<false>(*p)) *o++ = *p++;
#endif
  *out = o;
  return p;
}

// Classifies the text 64 bytes at a time, each block when a string first
// reaches it: bit i of `stops_` is set when byte base_[i] is a stop or
// >= 0x80. Finding the end of a string is then a shift and a trailing-zero
// count on a register. Why: a scan from where the previous token ended
// (load, compare, movemask, count) makes a ~14-cycle dependency chain, two
// per object member, which was most of the reader's time; classifying a
// block is off that chain. The walk only moves forward, and unescaping in
// place only rewrites bytes behind it.
class Blocks {
 public:
  explicit Blocks(char* begin) : begin_(begin) { Classify(begin); }

  // The first stop or byte >= 0x80 at or after `p`, which is at most the
  // end of the text.
  char* Next(char* p) {
    for (;;) {
      if (static_cast<size_t>(p - base_) >= 64) {
        Classify(begin_ + (static_cast<size_t>(p - begin_) & ~size_t{63}));
      }
      const uint64_t m = stops_ >> (p - base_);
      if (m != 0) return p + __builtin_ctzll(m);
      p = base_ + 64;
    }
  }

 private:
  // Reads [base, base + 64): within the padding for any base at most the
  // end of the text.
  void Classify(char* base) {
    base_ = base;
    stops_ = 0;
#if defined(__SSE2__)
    for (int i = 0; i < 4; ++i) {
      stops_ |= static_cast<uint64_t>(StopMask<true>(Load16(base + 16 * i))) << (16 * i);
    }
#else
    for (int i = 0; i < 64; ++i) stops_ |= static_cast<uint64_t>(IsStop<true>(base[i])) << i;
#endif
  }

  char* const begin_;
  char* base_;
  uint64_t stops_;
};

// The first byte at or after `p` that is not a digit, eight at a time: no
// loop exit to mispredict for the usual short number. Reads up to 7 bytes
// past that byte (the NUL padding stops it).
char* SkipDigits(char* p) {
  for (;; p += 8) {
    const uint64_t other = NonDigitBytes(LoadLe64(p));
    if (other != 0) return p + __builtin_ctzll(other) / 8;
  }
}

// Four hex digits (either case) at `p`.
bool Hex4(const char* p, unsigned* out) {
  unsigned v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    v = v * 16 + d;
  }
  *out = v;
  return true;
}

// Decodes the escape at `p` (a backslash) to `*out`; returns the byte after
// it, or nullptr to decline.
char* Unescape(char* p, char** out) {
  char c;
  switch (p[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
      unsigned cp;
      if (!Hex4(p + 2, &cp)) return nullptr;
      p += 6;
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        // Only a high surrogate directly followed by a low one is a
        // character. RapidJSON rejects a lone high one; a lone low one it
        // encodes as invalid UTF-8, which the decoder rejects.
        unsigned low;
        if (cp >= 0xDC00 || p[0] != '\\' || p[1] != 'u' || !Hex4(p + 2, &low) || low < 0xDC00 ||
            low > 0xDFFF) {
          return nullptr;
        }
        p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      *out = rules::EncodeUtf8(cp, *out);  // U+0000 too, as RapidJSON
      return p;
    }
    default:
      return nullptr;
  }
  *(*out)++ = c;
  return p + 2;
}

// ReadString's rest, from its first stop `p` that is not the closing quote:
// an escape, a byte >= 0x80 or a control byte (declined).
[[gnu::noinline]] char* ReadStringSlow(char* s, char* p, unsigned* len) {
  if (static_cast<unsigned char>(*p) >= 0x80) {
    // Text with bytes >= 0x80 (the usual reason to be here): one pass finds
    // its end and checks its UTF-8; [s, p) is ASCII.
    bool valid;
    p = const_cast<char*>(ScanValidUtf8(p, &valid));
    if (!valid) return nullptr;
    if (*p == '"') {
      *len = static_cast<unsigned>(p - s);
      return p + 1;
    }
    // An escape (or a control byte) follows: the loop below.
  }
  // [s, p) is ASCII or was checked, ending on a whole character.
  char* const unchecked = p;
  char* out = p;  // the contents end here
  while (*p == '\\') {
    p = Unescape(p, &out);
    if (p == nullptr) return nullptr;
    p = MovePlain(p, &out);
  }
  if (*p != '"') return nullptr;  // a control byte
  // Strings are the only place for bytes >= 0x80 (elsewhere the grammar
  // wants ASCII), so checking these checks the document. The unescaped
  // string is valid UTF-8 exactly when its source text is: escapes become
  // whole characters (lone surrogates were declined), which can neither
  // complete nor break a sequence around them. So is [unchecked, out).
  if (!IsValidUtf8(std::string_view(unchecked, static_cast<size_t>(out - unchecked)))) return nullptr;
  *len = static_cast<unsigned>(out - s);
  return p + 1;
}

// Reads the string whose contents start at `s` (after the opening quote),
// unescaping it in place. Returns the byte after the closing quote and sets
// `*len`, or nullptr to decline. Inline for the common ASCII string without
// escapes (one call per key and string value: a call costs more than that).
[[gnu::always_inline]] inline char* ReadString(Blocks& blocks, char* s, unsigned* len) {
  char* const p = blocks.Next(s);
  if (*p != '"') return ReadStringSlow(s, p, len);
  *len = static_cast<unsigned>(p - s);
  return p + 1;
}

// Returns the end of the number at `p`, or nullptr to decline. Grammar:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?; what follows is
// checked by the caller (so "01" and "1x" fail there).
char* ReadNumber(char* p) {
  if (*p == '-') ++p;
  if (*p == '0') {
    ++p;
  } else if (IsDigit(*p)) {
    char* const digits = p;
    p = SkipDigits(p);
    if (p - digits > kMaxIntegerDigits) return nullptr;
  } else {
    return nullptr;
  }
  if (*p == '.') {
    ++p;
    if (!IsDigit(*p)) return nullptr;
    p = SkipDigits(p);
  }
  if (*p == 'e' || *p == 'E') {
    ++p;
    bool negative = false;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    if (!IsDigit(*p)) return nullptr;
    unsigned exponent = 0;
    for (; IsDigit(*p); ++p) {
      if (exponent <= kMaxExponent) exponent = exponent * 10 + static_cast<unsigned>(*p - '0');
    }
    if (!negative && exponent > kMaxExponent) return nullptr;
  }
  return p;
}

}  // namespace

bool ReadJsonObject(char* begin, char* end, Extractor* ex) {
  // The path is tracked here, as Extractor's SAX methods track it for
  // RapidJSON: the innermost open container in registers (`top`), the outer
  // ones in `outer`.
  using Container = Extractor::Frame;
  Container outer[kMaxDepth];
  Container top{-1, false, 0};
  const PathTrie& trie = ex->trie();
  const size_t max_depth = std::min<size_t>(ex->max_depth(), kMaxDepth);
  size_t depth = 0;  // open containers
  int node = 0;      // the trie node of the value being read, -1 for none
  unsigned len;
  Blocks blocks(begin);
  char* p = SkipWhitespace(begin);
  if (*p != '{') return false;  // RapidJSON tells not_object from json_syntax

value:  // at a value whose trie node is `node`
  switch (*p) {
    case '{':
    case '[': {
      if (depth == max_depth) return false;  // RapidJSON reports too_deep, or an earlier error
      const bool is_array = *p == '[';
      if (node >= 0) ex->Set(node, is_array ? Kind::kArray : Kind::kObject, {});
      if (depth > 0) outer[depth - 1] = top;
      ++depth;
      top = Container{ex->ContainerNode(node), is_array, 0};
      p = SkipWhitespace(p + 1);
      if (*p == (is_array ? ']' : '}')) goto close;
      if (is_array) goto element;
      goto member;
    }
    case '"': {
      char* const s = p + 1;
      if ((p = ReadString(blocks, s, &len)) == nullptr) return false;
      if (node >= 0) ex->Set(node, Kind::kString, std::string_view(s, len));
      goto after_value;
    }
    case 't':
      if (std::memcmp(p, "true", 4) != 0) return false;  // the padding keeps this in bounds
      if (node >= 0) ex->Set(node, Kind::kTrue, {});
      p += 4;
      goto after_value;
    case 'f':
      if (std::memcmp(p, "false", 5) != 0) return false;
      if (node >= 0) ex->Set(node, Kind::kFalse, {});
      p += 5;
      goto after_value;
    case 'n':
      if (std::memcmp(p, "null", 4) != 0) return false;
      if (node >= 0) ex->Set(node, Kind::kNull, {});
      p += 4;
      goto after_value;
    default: {
      if (static_cast<unsigned char>(*p) <= ' ') {  // whitespace before the value, if any
        char* const q = SkipWhitespace(p);
        if (q == p) return false;
        p = q;
        goto value;
      }
      char* const s = p;
      if ((p = ReadNumber(s)) == nullptr) return false;
      if (node >= 0) ex->Set(node, Kind::kNumber, std::string_view(s, static_cast<size_t>(p - s)));
      goto after_value;
    }
  }

element:  // at an array element (or whitespace before it)
  node = top.node >= 0 ? trie.ChildByIndex(top.node, top.index) : -1;
  ++top.index;
  goto value;

member:  // at the key of an object member, or whitespace before it
  if (*p != '"') {
    p = SkipWhitespace(p);
    if (*p != '"') return false;
  }
  {
    char* const s = p + 1;
    if ((p = ReadString(blocks, s, &len)) == nullptr) return false;
    node = top.node >= 0 ? trie.ChildByKey(top.node, std::string_view(s, len)) : -1;
  }
  if (*p != ':') {  // compact JSON has no whitespace: test for that first
    p = SkipWhitespace(p);
    if (*p != ':') return false;
  }
  ++p;
  goto value;

after_value:  // after a value inside a container
  if (*p != ',') {
    p = SkipWhitespace(p);
    if (*p != ',') goto close;
  }
  ++p;
  if (top.is_array) goto element;
  goto member;

close:  // at what must end the innermost container
  if (*p != (top.is_array ? ']' : '}')) return false;
  ++p;
  if (--depth == 0) return SkipWhitespace(p) == end;  // a NUL before `end` stops short
  top = outer[depth - 1];
  goto after_value;
}

}  // namespace earshot::decode_internal
