#include "pipeline/decode_json.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace earshot::decode_internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

#if defined(__x86_64__)
// The "lookup" algorithm of Keiser and Lemire, "Validating UTF-8 in less than
// one instruction per byte" (Software: Practice and Experience, 2021), as in
// simdjson: each byte's high nibble, its predecessor's high and low nibbles
// index three 16-entry tables whose AND has a bit set for each error class
// the byte pair shows; the 3- and 4-byte sequences' later continuation
// bytes are checked by comparing the bytes 2 and 3 positions back.
// Blocks without a byte >= 0x80 take only the ASCII test. SSSE3 for
// PSHUFB/PALIGNR, so only called after a CPU check.
class Utf8Ssse3 {
 public:
  // Checks the next 16 bytes.
  [[gnu::always_inline]] __attribute__((target("ssse3"))) inline void Check(__m128i in) {
    if (_mm_movemask_epi8(in) == 0) {  // ASCII: can only be wrong by ending a sequence early
      error_ = _mm_or_si128(error_, prev_incomplete_);
      prev_incomplete_ = _mm_setzero_si128();
      prev_ = in;
      return;
    }
    // Error classes, one bit each, named for the byte pair that shows them.
    constexpr char kTooShort = 1 << 0;   // lead or ASCII, then lead or ASCII: 11______ 0_______
    constexpr char kTooLong = 1 << 1;    // ASCII, then continuation: 0_______ 10______
    constexpr char kOverlong3 = 1 << 2;  // 11100000 100_____
    constexpr char kTooLarge = 1 << 3;   // above U+10FFFF: 11110100 1001____ and up
    constexpr char kSurrogate = 1 << 4;  // 11101101 101_____
    constexpr char kOverlong2 = 1 << 5;  // 1100000_ 10______
    constexpr char kTooLarge1000 = 1 << 6;  // 11110101 1000____ and up
    constexpr char kOverlong4 = 1 << 6;     // 11110000 1000____ (shares the bit: same byte-2 nibble)
    constexpr char kTwoConts = static_cast<char>(1 << 7);  // 10______ 10______
    constexpr char kCarry = kTooShort | kTooLong | kTwoConts;  // decided by byte 1's high nibble
    const __m128i byte1_high = _mm_setr_epi8(
        kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong,  // 0_______
        kTwoConts, kTwoConts, kTwoConts, kTwoConts,                                      // 10______
        kTooShort | kOverlong2,                                                          // 1100____
        kTooShort,                                                                       // 1101____
        kTooShort | kOverlong3 | kSurrogate,                                             // 1110____
        kTooShort | kTooLarge | kTooLarge1000 | kOverlong4);                             // 1111____
    const __m128i byte1_low = _mm_setr_epi8(
        kCarry | kOverlong3 | kOverlong2 | kOverlong4,  // ____0000
        kCarry | kOverlong2,                            // ____0001
        kCarry, kCarry,                                 // ____001_
        kCarry | kTooLarge,                             // ____0100
        kCarry | kTooLarge | kTooLarge1000, kCarry | kTooLarge | kTooLarge1000,  // ____0101, 0110
        kCarry | kTooLarge | kTooLarge1000,                                      // ____0111
        kCarry | kTooLarge | kTooLarge1000, kCarry | kTooLarge | kTooLarge1000,  // ____1000, 1001
        kCarry | kTooLarge | kTooLarge1000, kCarry | kTooLarge | kTooLarge1000,  // ____1010, 1011
        kCarry | kTooLarge | kTooLarge1000,                                      // ____1100
        kCarry | kTooLarge | kTooLarge1000 | kSurrogate,                         // ____1101
        kCarry | kTooLarge | kTooLarge1000, kCarry | kTooLarge | kTooLarge1000); // ____111_
    const __m128i byte2_high = _mm_setr_epi8(
        kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort,
        kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge1000 | kOverlong4,  // 1000____
        kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge,                   // 1001____
        kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,                   // 1010____
        kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,                   // 1011____
        kTooShort, kTooShort, kTooShort, kTooShort);                                  // 11______
    const __m128i nibble = _mm_set1_epi8(0x0F);
    const __m128i prev1 = _mm_alignr_epi8(in, prev_, 15);  // each byte's predecessor
    const __m128i special = _mm_and_si128(
        _mm_and_si128(
            _mm_shuffle_epi8(byte1_high, _mm_and_si128(_mm_srli_epi16(prev1, 4), nibble)),
            _mm_shuffle_epi8(byte1_low, _mm_and_si128(prev1, nibble))),
        _mm_shuffle_epi8(byte2_high, _mm_and_si128(_mm_srli_epi16(in, 4), nibble)));
    // A byte must be a continuation exactly when the byte 2 back is a 3- or
    // 4-byte lead (111_____) or the byte 3 back a 4-byte lead (1111____);
    // the tables flag every continuation after a continuation (kTwoConts),
    // so the two must agree.
    const __m128i third = _mm_subs_epu8(_mm_alignr_epi8(in, prev_, 14), _mm_set1_epi8(0x60));
    const __m128i fourth = _mm_subs_epu8(_mm_alignr_epi8(in, prev_, 13), _mm_set1_epi8(0x70));
    const __m128i must_continue = _mm_and_si128(_mm_or_si128(third, fourth),
                                                _mm_set1_epi8(static_cast<char>(0x80)));
    error_ = _mm_or_si128(error_, _mm_xor_si128(must_continue, special));
    // A block ending in the first 1, 2 or 3 bytes of a 2-, 3- or 4-byte
    // sequence needs the next block: bytes above these limits there.
    const __m128i incomplete_limit =
        _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, static_cast<char>(0xEF),
                      static_cast<char>(0xDF), static_cast<char>(0xBF));
    prev_incomplete_ = _mm_subs_epu8(in, incomplete_limit);
    prev_ = in;
  }
  // No error in the blocks checked so far.
  bool NoError() const { return _mm_movemask_epi8(_mm_cmpeq_epi8(error_, _mm_setzero_si128())) == 0xFFFF; }
  // ...and the last one did not end mid-sequence.
  bool Complete() const {
    return _mm_movemask_epi8(_mm_cmpeq_epi8(prev_incomplete_, _mm_setzero_si128())) == 0xFFFF;
  }

 private:
  __m128i prev_ = _mm_setzero_si128();             // the previous block
  __m128i prev_incomplete_ = _mm_setzero_si128();  // nonzero: it ended mid-sequence
  __m128i error_ = _mm_setzero_si128();
};

__attribute__((target("ssse3"))) bool IsValidUtf8Ssse3(const unsigned char* p, size_t n) {
  Utf8Ssse3 check;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) check.Check(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
  if (!check.NoError()) return false;
  if (i == n) return check.Complete();
  // The tail (and all of a short text) goes to the scalar validator, from
  // the lead byte of a sequence the last block left open (that is what
  // Complete() tests), so no state has to cross over.
  size_t from = i;
  if (i >= 16) {
    if (p[i - 1] >= 0xC0) {
      from = i - 1;
    } else if (p[i - 2] >= 0xE0) {
      from = i - 2;
    } else if (p[i - 3] >= 0xF0) {
      from = i - 3;
    }
  }
  return IsValidUtf8Scalar(
      std::string_view(reinterpret_cast<const char*>(p + from), n - from));
}

__attribute__((target("ssse3"))) const char* ScanValidUtf8Ssse3(const char* p, bool* valid) {
  Utf8Ssse3 check;
  for (;; p += 16) {
    const __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned stop = StopMask<false>(in);
    if (stop != 0) {
      const int k = __builtin_ctz(stop);
      // The bytes from the stop on count as NULs: ASCII, which ends any
      // sequence still open, an error as it should be.
      check.Check(_mm_and_si128(in, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kPrefixMask + 16 - k))));
      *valid = check.NoError() && check.Complete();
      return p + k;
    }
    check.Check(in);
  }
}

bool HasSsse3() {
  static const bool kHasSsse3 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("ssse3") != 0;
  }();
  return kHasSsse3;
}
#endif

}  // namespace

NumStatus ParseDecimal(std::string_view raw, int scale10, bool truncate, uint64_t* out) {
  // Fast path: a plain integer of up to 19 digits cannot overflow.
  if (!raw.empty() && raw.size() <= 19 && scale10 == 0 && (raw[0] != '0' || raw.size() == 1)) {
    uint64_t v = 0;
    size_t k = 0;
    for (; k < raw.size() && IsDigit(raw[k]); ++k) v = v * 10 + static_cast<uint64_t>(raw[k] - '0');
    if (k == raw.size()) {
      *out = v;
      return NumStatus::kOk;
    }
  }
  // Grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  size_t i = 0;
  const size_t n = raw.size();
  const bool neg = i < n && raw[i] == '-';
  if (neg) ++i;
  const size_t int_begin = i;
  while (i < n && IsDigit(raw[i])) ++i;
  const size_t int_end = i;
  if (int_end == int_begin || (raw[int_begin] == '0' && int_end - int_begin > 1)) {
    return NumStatus::kSyntax;
  }
  size_t frac_begin = i, frac_end = i;
  if (i < n && raw[i] == '.') {
    frac_begin = ++i;
    while (i < n && IsDigit(raw[i])) ++i;
    frac_end = i;
    if (frac_end == frac_begin) return NumStatus::kSyntax;
  }
  int64_t exp = 0;
  if (i < n && (raw[i] == 'e' || raw[i] == 'E')) {
    ++i;
    bool exp_neg = false;
    if (i < n && (raw[i] == '+' || raw[i] == '-')) exp_neg = raw[i++] == '-';
    const size_t exp_begin = i;
    while (i < n && IsDigit(raw[i])) {
      if (exp < 100000000) exp = exp * 10 + (raw[i] - '0');  // clamp: far beyond any uint64
      ++i;
    }
    if (i == exp_begin) return NumStatus::kSyntax;
    if (exp_neg) exp = -exp;
  }
  if (i != n) return NumStatus::kSyntax;

  // The mantissa digits are the integer digits followed by the fraction
  // digits: value = digits * 10^(exp - frac_len + scale10).
  const int64_t int_len = static_cast<int64_t>(int_end - int_begin);
  const int64_t frac_len = static_cast<int64_t>(frac_end - frac_begin);
  const int64_t total = int_len + frac_len;
  auto digit = [&](int64_t k) -> int {
    return k < int_len ? raw[int_begin + k] - '0' : raw[frac_begin + (k - int_len)] - '0';
  };
  int64_t first = 0;
  while (first < total && digit(first) == 0) ++first;
  if (first == total) {  // zero, including -0 and 0e999
    *out = 0;
    return NumStatus::kOk;
  }
  if (neg) return NumStatus::kNegative;
  int64_t last = total - 1;
  while (digit(last) == 0) --last;  // stops at `first` at the latest
  int64_t e = exp - frac_len + scale10 + (total - 1 - last);
  if (e < 0) {
    if (!truncate) return NumStatus::kNonIntegral;
    last += e;  // drop the fractional digits
    e = 0;
    if (last < first) {
      *out = 0;
      return NumStatus::kOk;
    }
  }
  if ((last - first + 1) + e > 20) return NumStatus::kOverflow;
  uint64_t v = 0;
  for (int64_t k = first; k <= last; ++k) {
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, static_cast<uint64_t>(digit(k)), &v)) {
      return NumStatus::kOverflow;
    }
  }
  for (int64_t k = 0; k < e; ++k) {
    if (__builtin_mul_overflow(v, 10u, &v)) return NumStatus::kOverflow;
  }
  *out = v;
  return NumStatus::kOk;
}

StatusOr<std::vector<std::string>> ParseJsonPointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;  // the whole document
  if (pointer[0] != '/') {
    return Status::Error("invalid JSON Pointer \"" + std::string(pointer) +
                         "\": must be empty or start with '/' (RFC 6901)");
  }
  std::string token;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        token.push_back(pointer[i + 1] == '0' ? '~' : '/');
        ++i;
        continue;
      }
      return Status::Error("invalid JSON Pointer \"" + std::string(pointer) +
                           "\": '~' must be followed by '0' or '1' (RFC 6901)");
    }
    token.push_back(pointer[i]);
  }
  return tokens;
}

PathTrie::PathTrie() { nodes_.emplace_back(); }

int PathTrie::FindChild(int node, std::string_view token) const {
  for (int c : nodes_[node].children) {
    if (nodes_[c].token == token) return c;
  }
  return -1;
}

int PathTrie::Add(const std::vector<std::string>& tokens) {
  int node = 0;
  for (const std::string& t : tokens) {
    int child = FindChild(node, t);
    if (child < 0) {
      Node n;
      n.token = t;
      std::memcpy(n.head, t.data(), std::min(t.size(), sizeof(n.head)));
      // RFC 6901 array index: "0" or a digit run without a leading zero.
      const bool is_index = !t.empty() && t.size() <= 18 && (t == "0" || t[0] != '0') &&
                            t.find_first_not_of("0123456789") == std::string::npos;
      if (is_index) n.index = std::stoll(t);
      child = static_cast<int>(nodes_.size());
      nodes_.push_back(std::move(n));
      nodes_[node].children.push_back(child);
      int& q = nodes_[node].quick[QuickHash(t)];
      q = q == kQuickNone ? child : kQuickScan;
    }
    node = child;
  }
  return node;
}

Extractor::Extractor(const PathTrie* trie, int max_depth)
    : trie_(trie), max_depth_(static_cast<size_t>(max_depth)) {
  slots_.resize(static_cast<size_t>(trie->size()));
  frames_.reserve(max_depth_ < 4096 ? max_depth_ + 1 : 4096);
  Reset();
}

void Extractor::Reset() {
  std::fill(slots_.begin(), slots_.end(), Slot());
  frames_.assign(1, Frame{-1, false, 0});
  pending_ = 0;
  abort_ = Abort::kNone;
}

void Extractor::ClearBelow(int node) {
  for (int c : trie_->children(node)) {
    if (slots_[c].kind != Kind::kAbsent) slots_[c] = Slot();
    ClearBelow(c);  // recursion depth is bounded by the longest configured pointer
  }
}

bool Extractor::Open(Kind kind, bool is_array) {
  if (frames_.size() > max_depth_) {  // frames_[0] is the document
    abort_ = Abort::kTooDeep;
    return false;
  }
  const int node = NextNode();
  if (node >= 0) Set(node, kind, {});
  frames_.push_back(Frame{ContainerNode(node), is_array, 0});
  return true;
}

bool IsValidUtf8(std::string_view s) {
#if defined(__x86_64__)
  if (HasSsse3()) return IsValidUtf8Ssse3(reinterpret_cast<const unsigned char*>(s.data()), s.size());
#endif
  return IsValidUtf8Scalar(s);
}

const char* ScanValidUtf8(const char* p, bool* valid) {
#if defined(__x86_64__)
  if (HasSsse3()) return ScanValidUtf8Ssse3(p, valid);
#endif
  const char* stop = p;
  while (!IsStop<false>(*stop)) ++stop;
  *valid = IsValidUtf8Scalar(std::string_view(p, static_cast<size_t>(stop - p)));
  return stop;
}

bool IsValidUtf8Scalar(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* const end = p + s.size();
  while (p < end) {
    // ASCII runs: 16 bytes a step (two words, one test).
    while (end - p >= 16) {
      uint64_t a, b;
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + 8, 8);
      if (((a | b) & 0x8080808080808080ull) != 0) break;
      p += 16;
    }
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    // Non-ASCII runs (Arabic, CJK): the common well-formed 2- and 3-byte
    // sequences without the range special cases, one code point a step.
    while (end - p >= 3) {
      const unsigned char c = *p;
      if (c < 0x80) {
        ++p;
        if (*p >= 0x80) continue;  // a lone space or digit between non-ASCII
        break;
      }
      if (c >= 0xC2 && c <= 0xDF && (p[1] & 0xC0) == 0x80) {
        p += 2;
        continue;
      }
      if (c >= 0xE1 && c <= 0xEF && c != 0xED && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
        p += 3;
        continue;
      }
      break;
    }
    if (p >= end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // The second byte's range depends on the lead byte (RFC 3629 section 4).
    int n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;  // continuation byte, C0/C1, F5..FF
    }
    if (end - p <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int k = 2; k <= n; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) return false;
    }
    p += n + 1;
  }
  return true;
}

bool HasLoneLowSurrogateEscape(std::string_view json) {
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  // Is json[i..i+6) a \uXXXX escape whose XXXX is in [lo, hi] (hex digits 1-2)?
  auto escape_in = [&](size_t i, const char* second_digits) {
    return i + 6 <= json.size() && json[i] == '\\' && json[i + 1] == 'u' &&
           (json[i + 2] == 'd' || json[i + 2] == 'D') && json[i + 3] != '\0' &&
           std::strchr(second_digits, json[i + 3]) != nullptr && hex(json[i + 4]) &&
           hex(json[i + 5]);
  };
  bool after_high = false;  // the previous escape was a high surrogate
  size_t prev_end = 0;      // where the previous escape ended
  const char* base = json.data();
  size_t i = 0;
  while (i < json.size()) {
    const void* p = std::memchr(base + i, '\\', json.size() - i);
    if (p == nullptr) break;
    i = static_cast<size_t>(static_cast<const char*>(p) - base);
    if (escape_in(i, "cdefCDEF") && !(after_high && prev_end == i)) return true;
    after_high = escape_in(i, "89abAB");
    // Skip the escape: \uXXXX is 6 bytes, any other escape 2 (the escaped
    // character may itself be a backslash).
    i += (i + 1 < json.size() && json[i + 1] == 'u') ? 6 : 2;
    prev_end = i;
  }
  return false;
}

}  // namespace earshot::decode_internal
