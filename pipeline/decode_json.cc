#include "pipeline/decode_json.h"

#include <cstring>

namespace earshot::decode_internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

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

int PathTrie::Add(const std::vector<std::string>& tokens) {
  int node = 0;
  for (const std::string& t : tokens) {
    int child = ChildByKey(node, t);
    if (child < 0) {
      Node n;
      n.token = t;
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
  frames_.reserve(max_depth_ < 4096 ? max_depth_ : 4096);
}

void Extractor::Reset() {
  for (Slot& s : slots_) s = Slot();
  frames_.clear();
  pending_ = -1;
  abort_ = Abort::kNone;
}

void Extractor::ClearBelow(int node) {
  for (int c : trie_->children(node)) {
    if (slots_[c].kind != Kind::kAbsent) slots_[c] = Slot();
    ClearBelow(c);  // recursion depth is bounded by the longest configured pointer
  }
}

bool Extractor::Open(Kind kind, bool is_array) {
  if (frames_.size() >= max_depth_) {
    abort_ = Abort::kTooDeep;
    return false;
  }
  const int node = NextNode();
  if (node >= 0) {
    // Only a duplicate key can have left values below this node.
    if (slots_[node].kind != Kind::kAbsent && !trie_->is_leaf(node)) ClearBelow(node);
    slots_[node] = Slot{kind, {}};
    if (trie_->children(node).empty()) {
      frames_.push_back(Frame{-1, is_array, 0});
      return true;
    }
  }
  frames_.push_back(Frame{node, is_array, 0});
  return true;
}

bool IsValidUtf8(std::string_view s) {
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
