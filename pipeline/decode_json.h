#pragma once
// Internals of the decoders (pipeline/decoder.cc): exact JSON number
// conversion, RFC 6901 JSON Pointer parsing, UTF-8 validation, and an
// extractor that pulls the values at a fixed set of JSON Pointers out of one
// document in a single pass, without building a DOM. Not part of the public
// interface.

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace earshot::decode_internal {

// The 8 bytes at `p` as a little-endian word: byte 0 is bits 0-7.
inline uint64_t LoadLe64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

// Nonzero bytes where `w`'s bytes are not '0'..'9': high nibble not 3, or a
// carry out of the low one when 6 is added. A carry out of a byte only
// makes later bytes wrong, never the lowest non-digit.
inline uint64_t NonDigitBytes(uint64_t w) {
  return ((w & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull) |
         (((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull);
}

// kPrefixMask + 16 - k (k in 0..16): 16 bytes of which the first k are 0xFF.
alignas(16) inline constexpr unsigned char kPrefixMask[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

// A "stop" ends a run of literal JSON string contents: a quote, a backslash
// or a control byte (which includes the NUL padding). With kHigh, bytes
// >= 0x80 count too (the fast reader's first look at a string, so the common
// ASCII string needs no UTF-8 bookkeeping).
#if defined(__SSE2__)
// A bit for each byte of `s` that is a stop.
template <bool kHigh>
unsigned StopMask(__m128i s) {
  const __m128i special =
      _mm_or_si128(_mm_cmpeq_epi8(s, _mm_set1_epi8('"')), _mm_cmpeq_epi8(s, _mm_set1_epi8('\\')));
  // Compared as signed, bytes >= 0x80 are negative: one test finds them and
  // the control bytes.
  const __m128i control =
      kHigh ? _mm_cmplt_epi8(s, _mm_set1_epi8(0x20))
            : _mm_cmpeq_epi8(_mm_max_epu8(s, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(special, control)));
}
#endif
template <bool kHigh>
bool IsStop(char c) {
  const auto u = static_cast<unsigned char>(c);
  return c == '"' || c == '\\' || u < 0x20 || (kHigh && u >= 0x80);
}

enum class NumStatus : uint8_t { kOk, kSyntax, kNegative, kNonIntegral, kOverflow };

// Converts the JSON number text `raw` (e.g. "12", "12.0", "1e3", "-5",
// "1700000000.25") times 10^scale10 to a uint64, exactly (decimal
// arithmetic, no double rounding). -0 is 0. A fractional remainder is
// kNonIntegral, or dropped when `truncate` is set. Thread-safe (pure).
NumStatus ParseDecimal(std::string_view raw, int scale10, bool truncate, uint64_t* out);

// ParseDecimal(raw, 0, false, out), with a branch-free path for 1 to 8 plain
// digits -- counts, mostly, whose varying lengths make a digit loop's exit
// a branch mispredicted about every other time. That path reads the 8 bytes
// at raw.data(): they must be readable (the decoders' buffers are padded).
inline NumStatus ParseCount(std::string_view raw, uint64_t* out) {
  const size_t n = raw.size();
  if (n - 1 < 8 && (raw[0] != '0' || n == 1)) {
    uint64_t w = LoadLe64(raw.data());
    // The digits to the top bytes (raw[0] the highest in significance is
    // the lowest in memory: byte 8 - n), '0's below them.
    const unsigned shift = 8 * static_cast<unsigned>(8 - n);
    w = (w << shift) | (0x3030303030303030ull & ((uint64_t{1} << shift) - 1));
    if (NonDigitBytes(w) == 0) {
      w -= 0x3030303030303030ull;
      w = ((w * 10) + (w >> 8)) & 0x00FF00FF00FF00FFull;  // pairs of digits
      w = ((w * 100) + (w >> 16)) & 0x0000FFFF0000FFFFull;  // groups of four
      *out = ((w * 10000) + (w >> 32)) & 0xFFFFFFFFull;
      return NumStatus::kOk;
    }
  }
  return ParseDecimal(raw, 0, false, out);
}

// Parses an RFC 6901 JSON Pointer ("" or "/a/b~1c") into its unescaped
// reference tokens. Returns an error message on a malformed pointer.
StatusOr<std::vector<std::string>> ParseJsonPointer(std::string_view pointer);

// The JSON type of an extracted value; kAbsent when the path never occurred.
enum class Kind : uint8_t { kAbsent, kNull, kFalse, kTrue, kNumber, kString, kObject, kArray };

// One extracted value. `str` is the string's unescaped contents or the raw
// number text, a view into the decoder's in-situ buffer.
struct Slot {
  Kind kind = Kind::kAbsent;
  std::string_view str;
};

// A trie of JSON Pointers. Node 0 is the document root; every node has a slot
// (so intermediate containers' kinds are known too). Immutable after
// building; thread-compatible.
class PathTrie {
 public:
  PathTrie();
  // Adds the path and returns its node id (existing prefixes are shared).
  int Add(const std::vector<std::string>& tokens);
  int size() const { return static_cast<int>(nodes_.size()); }

  // The child of `node` for the object key `key`, or -1. The 16 bytes at
  // key.data() must be readable (the decoders' buffers are padded): keys of
  // up to 16 bytes are compared in one masked 16-byte step, with no branch
  // on their length -- such branches mispredict, keys' lengths vary.
  int ChildByKey(int node, std::string_view key) const {
    // One probe of the node's small direct-mapped table (keyed by length,
    // first and last byte) replaces a scan of all children for most keys;
    // slots shared by several children fall back to the scan.
    const Node& nd = nodes_[node];
    const int q = nd.quick[QuickHash(key)];
    if (q == kQuickNone) return -1;
    if (q != kQuickScan) return Matches(nodes_[q], key) ? q : -1;
    for (int c : nd.children) {
      if (Matches(nodes_[c], key)) return c;
    }
    return -1;
  }
  int ChildByIndex(int node, uint64_t index) const {
    for (int c : nodes_[node].children) {
      if (nodes_[c].index == static_cast<int64_t>(index)) return c;
    }
    return -1;
  }
  const std::vector<int>& children(int node) const { return nodes_[node].children; }
  bool is_leaf(int node) const { return nodes_[node].children.empty(); }

 private:
  static constexpr int kQuickSize = 32;
  static constexpr int kQuickNone = -1;  // no child's key hashes here
  static constexpr int kQuickScan = -2;  // several do: scan the children
  static size_t QuickHash(std::string_view k) {
    // Length, first and last byte; 0 for the empty key. No branch either.
    const size_t n = k.size();
    const auto* d = reinterpret_cast<const unsigned char*>(n != 0 ? k.data() : "");
    return (n + d[0] * 2u + d[n != 0 ? n - 1 : 0]) & (kQuickSize - 1);  // distinct for the canonical keys
  }
  struct Node;
  static bool Matches(const Node& c, std::string_view key);
  int FindChild(int node, std::string_view token) const;  // for building: no padding needed
  struct Node {
    std::string token;
    char head[16] = {};  // the token's first 16 bytes, zero-padded
    int64_t index = -1;  // the token as an array index, -1 if it is not one
    std::vector<int> children;
    std::array<int, kQuickSize> quick;  // by QuickHash of a child's token
    Node() { quick.fill(kQuickNone); }
  };
  std::vector<Node> nodes_;
};

inline bool PathTrie::Matches(const Node& c, std::string_view key) {
  const size_t n = key.size();
  if (n > sizeof(c.head)) return c.token == key;
#if defined(__SSE2__)
  const __m128i eq = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(key.data())),
                                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(c.head)));
  // The bytes past the key's end do not count.
  const unsigned same = static_cast<unsigned>(_mm_movemask_epi8(eq)) | (0xFFFFFFFFu << n);
  return n == c.token.size() && (same & 0xFFFF) == 0xFFFF;
#else
  return c.token == key;
#endif
}

// Why the extractor stopped the parse early (RapidJSON's kParseErrorTermination).
enum class Abort : uint8_t { kNone, kTooDeep };

// True when `s` is well-formed UTF-8 (RFC 3629): no overlong forms, no
// encoded surrogates (ED A0..BF), nothing above U+10FFFF, no truncated
// sequences. On x86-64 CPUs with SSSE3 (checked once at run time) it checks
// 16 bytes in ~20 instructions, ASCII blocks in 4; elsewhere it is
// IsValidUtf8Scalar. Thread-safe (pure).
bool IsValidUtf8(std::string_view s);
// For a string's contents in the fast reader: returns the first quote,
// backslash or control byte at or after `p`, and sets `*valid` to whether
// the bytes before it are well-formed UTF-8 (as IsValidUtf8), in one pass
// where a scan and then IsValidUtf8 would take two. `p` must start a
// character, and the bytes from `p` up to 15 past the stop must be
// readable (the reader's padding).
const char* ScanValidUtf8(const char* p, bool* valid);
// The portable validator behind IsValidUtf8 (same answers, exposed for the
// tests): ASCII runs 16 bytes at a step, the common 2- and 3-byte sequences
// on a short path, about 3 instructions a non-ASCII byte.
bool IsValidUtf8Scalar(std::string_view s);

// True when the JSON text has a \uDC00..\uDFFF escape that does not follow a
// \uD800..\uDBFF escape: a lone low surrogate, which RapidJSON would encode
// as invalid UTF-8 (ED B0 80) instead of rejecting (it does reject lone high
// surrogates). One memchr pass when the text has no backslash.
bool HasLoneLowSurrogateEscape(std::string_view json);

// Fills one Slot per trie node, fed either as a RapidJSON SAX handler or by
// the fast reader (pipeline/json_reader.h) through Set(); both apply the
// same rules. Duplicate keys: the last occurrence wins (a container value
// clears what an earlier duplicate left below it). As a SAX handler it
// counts the nesting depth and aborts beyond `max_depth`. Thread-compatible;
// reused across documents via Reset().
class Extractor {
 public:
  Extractor(const PathTrie* trie, int max_depth);
  void Reset();
  const Slot& slot(int node) const { return slots_[node]; }
  Slot* mutable_slot(int node) { return &slots_[node]; }
  Abort abort() const { return abort_; }

  // For pipeline/json_reader.cc, which tracks the path itself (in
  // registers, not in frames_) and only reports values at trie nodes.
  const PathTrie& trie() const { return *trie_; }
  size_t max_depth() const { return max_depth_; }
  // Records the value of the path at `node` (>= 0). A duplicate key's
  // container value also clears what the earlier one left below it.
  void Set(int node, Kind kind, std::string_view str) {
    if (slots_[node].kind != Kind::kAbsent && !trie_->is_leaf(node)) ClearBelow(node);
    slots_[node] = Slot{kind, str};
  }
  // The node to look children up in for a container value at `node`: -1
  // when no wanted path is below it.
  int ContainerNode(int node) const { return node >= 0 && !trie_->is_leaf(node) ? node : -1; }

  // An open container on the path.
  struct Frame {
    int node;  // trie node to look children up in, -1 when no wanted path is below it
    bool is_array;
    uint64_t index;  // the next element's index (arrays)
  };

  // RapidJSON Handler concept (numbers arrive as RawNumber).
  bool Null() { return Scalar(Kind::kNull, {}); }
  bool Bool(bool b) { return Scalar(b ? Kind::kTrue : Kind::kFalse, {}); }
  bool Int(int) { return Scalar(Kind::kNumber, {}); }
  bool Uint(unsigned) { return Scalar(Kind::kNumber, {}); }
  bool Int64(int64_t) { return Scalar(Kind::kNumber, {}); }
  bool Uint64(uint64_t) { return Scalar(Kind::kNumber, {}); }
  bool Double(double) { return Scalar(Kind::kNumber, {}); }
  bool RawNumber(const char* str, unsigned len, bool) {
    return Scalar(Kind::kNumber, std::string_view(str, len));
  }
  bool String(const char* str, unsigned len, bool) {
    return Scalar(Kind::kString, std::string_view(str, len));
  }
  bool Key(const char* str, unsigned len, bool) {
    const Frame& f = frames_.back();
    pending_ = f.node >= 0 ? trie_->ChildByKey(f.node, std::string_view(str, len)) : -1;
    return true;
  }
  bool StartObject() { return Open(Kind::kObject, false); }
  bool StartArray() { return Open(Kind::kArray, true); }
  bool EndObject(unsigned) {
    frames_.pop_back();
    return true;
  }
  bool EndArray(unsigned) {
    frames_.pop_back();
    return true;
  }

 private:
  int NextNode() {
    Frame& f = frames_.back();  // the document's own frame when no container is open
    if (!f.is_array) return pending_;
    const uint64_t i = f.index++;
    return f.node >= 0 ? trie_->ChildByIndex(f.node, i) : -1;
  }
  void ClearBelow(int node);
  bool Scalar(Kind kind, std::string_view str) {
    const int node = NextNode();
    if (node >= 0) Set(node, kind, str);
    return true;
  }
  bool Open(Kind kind, bool is_array);

  const PathTrie* trie_;
  size_t max_depth_;
  std::vector<Slot> slots_;
  // frames_[0] stands for the document: an "object" whose one member is
  // the root (pending_ = 0), so NextNode needs no emptiness test.
  std::vector<Frame> frames_;
  int pending_ = 0;
  Abort abort_ = Abort::kNone;
};

}  // namespace earshot::decode_internal
