#include "base/format_double.h"

#include <charconv>
#include <cstdint>
#include <cstring>

namespace earshot {
namespace {

using u128 = unsigned __int128;

constexpr uint64_t kPow10[] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};
constexpr int kMaxScale = 22;  // 10^22 * 2^53 < 2^127

u128 Pow10(int q) {
  return q < 20 ? u128{kPow10[q]} : u128{kPow10[19]} * kPow10[q - 19];
}

char* Slow(char* p, double v) {
  return std::to_chars(p, p + kMaxG16Chars, v, std::chars_format::general, 16).ptr;
}

// round(m * 2^e * 10^q), ties to even; m < 2^53, 0 <= q <= kMaxScale, and
// e >= -127 (e > 0 only for values below 2^54, so no overflow).
uint64_t ScaledRound(uint64_t m, int e, int q) {
  u128 num = u128{m} * Pow10(q);
  if (e >= 0) return static_cast<uint64_t>(num << e);
  const int s = -e;
  const u128 n = num >> s;
  const u128 rem = num - (n << s);
  const u128 half = u128{1} << (s - 1);
  return static_cast<uint64_t>(n + ((rem > half || (rem == half && (n & 1))) ? 1 : 0));
}

constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// The 8 digits of v < 10^8 at out, two at a time.
void Digits8(uint32_t v, char* out) {
  const uint32_t a = v / 10000, b = v % 10000;
  std::memcpy(out, kPairs + 2 * (a / 100), 2);
  std::memcpy(out + 2, kPairs + 2 * (a % 100), 2);
  std::memcpy(out + 4, kPairs + 2 * (b / 100), 2);
  std::memcpy(out + 6, kPairs + 2 * (b % 100), 2);
}

}  // namespace

char* FormatG16(char* p, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const int biased = static_cast<int>((bits >> 52) & 0x7FF);
  // Zero, subnormals, infinities, NaN.
  if (biased == 0 || biased == 0x7FF) return Slow(p, v);
  const uint64_t m = (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1} << 52);
  const int e = biased - 1075;  // |v| = m * 2^e, 2^52 <= m < 2^53
  // x, the decimal exponent: floor(log10 |v|) is floor((e + 52) log10 2)
  // or one more, as |v| lies in [2^(e+52), 2^(e+53)) (78913 / 2^18 is
  // log10 2 to 6 digits); the loop below settles it.
  int x = ((e + 52) * 78913) >> 18;
  uint64_t d = 0;
  for (;;) {
    const int q = 15 - x;  // d = round(|v| * 10^q) has 16 digits
    if (q < 0 || q > kMaxScale || e < -127) return Slow(p, v);
    d = ScaledRound(m, e, q);
    if (d >= kPow10[16]) {
      ++x;  // |v| >= 10^(x+1), or it rounds up to that
    } else if (d < kPow10[15]) {
      --x;
    } else {
      break;
    }
  }
  // The text is built in `out` with fixed-size copies that may write past
  // its end (never past out's size), then copied whole: no variable-length
  // memcpy call. digits[16..31] are padding for the same reason.
  char digits[32] = {};
  Digits8(static_cast<uint32_t>(d / 100000000), digits);
  Digits8(static_cast<uint32_t>(d % 100000000), digits + 8);
  int n = 16;  // significant digits once trailing zeros are dropped
  while (digits[n - 1] == '0') --n;

  char out[48];
  char* o = out;
  if (bits >> 63) *o++ = '-';
  if (x >= 0) {  // x <= 15: fixed notation, x + 1 digits before the point
    std::memcpy(o, digits, 16);
    o += x + 1;
    if (n > x + 1) {
      *o++ = '.';
      std::memcpy(o, digits + x + 1, 16);
      o += n - x - 1;
    }
  } else if (x >= -4) {  // fixed: 0.000ddd
    std::memcpy(o, "0.000000", 8);
    o += 1 - x;
    std::memcpy(o, digits, 16);
    o += n;
  } else {  // x in -7..-5: d.ddde-0X
    *o++ = digits[0];
    if (n > 1) {
      *o++ = '.';
      std::memcpy(o, digits + 1, 16);
      o += n - 1;
    }
    o[0] = 'e';
    o[1] = '-';
    o[2] = '0';
    o[3] = static_cast<char>('0' - x);
    o += 4;
  }
  // At most 22 characters ("-1.234567890123456e-07").
  std::memcpy(p, out, kMaxG16Chars);
  return p + (o - out);
}

}  // namespace earshot
