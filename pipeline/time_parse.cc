// Timestamp parsers for the decoders (declared in pipeline/decoder.h). They do
// the civil-date arithmetic themselves: no strptime/timegm/mktime, whose
// results depend on the locale and the TZ environment variable.

#include <cstdint>
#include <optional>
#include <string_view>

#include "pipeline/decode_json.h"
#include "pipeline/decoder.h"

namespace earshot {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil). Valid for any year representable here (0000..9999).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` ASCII digits at s[pos..]; false if any is not a digit.
bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Validates the fields and returns epoch milliseconds (UTC) of the local time
// minus `offset_minutes`.
std::optional<int64_t> Compose(int year, int month, int day, int hour, int minute, int second,
                               int millis, int offset_minutes) {
  if (month < 1 || month > 12) return std::nullopt;
  if (day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month))) {
    return std::nullopt;
  }
  // Second 60 is RFC 3339's leap second; it lands on the next minute's :00.
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second -
                       static_cast<int64_t>(offset_minutes) * 60;
  return secs * 1000 + millis;
}

using decode_internal::LoadLe64;

// Whether the bytes of x under `digits` (0xFF per byte) are ASCII digits
// (decode_internal::NonDigitBytes) and the others equal `pattern`'s.
bool Matches(uint64_t x, uint64_t digits, uint64_t pattern) {
  return (x & ~digits) == (pattern & ~digits) && (decode_internal::NonDigitBytes(x) & digits) == 0;
}

// Byte k of x (little-endian), as a digit's value.
int DigitAt(uint64_t x, int k) { return static_cast<int>((x >> (8 * k)) & 0x0F); }

// The common forms YYYY-MM-DDTHH:MM:SSZ and YYYY-MM-DDTHH:MM:SS.mmmZ by
// whole-word compares; nullopt for anything else, which the general parser
// below then reads (and accepts or rejects).
std::optional<int64_t> ParseRfc3339Fast(std::string_view s) {
  int millis = 0;
  if (s.size() == 24) {
    const uint64_t f = LoadLe64(s.data() + 16) >> 32;  // ":SS.mmmZ" -> "mmmZ"
    if (s[19] != '.' || !Matches(f, 0x00FFFFFF, 0x5A000000)) return std::nullopt;
    millis = DigitAt(f, 0) * 100 + DigitAt(f, 1) * 10 + DigitAt(f, 2);
  } else if (s.size() != 20 || s[19] != 'Z') {
    return std::nullopt;
  }
  const uint64_t date = LoadLe64(s.data());       // YYYY-MM-
  const uint64_t time = LoadLe64(s.data() + 11);  // HH:MM:SS
  const uint64_t day = LoadLe64(s.data() + 8) & 0xFFFFFF;  // DDT
  if (!Matches(date, 0x00FFFF00FFFFFFFF, 0x2D00002D00000000) ||
      !Matches(time, 0xFFFF00FFFF00FFFF, 0x00003A00003A0000) ||
      !Matches(day, 0x000000000000FFFF, 0x0000000000540000)) {
    return std::nullopt;
  }
  return Compose(DigitAt(date, 0) * 1000 + DigitAt(date, 1) * 100 + DigitAt(date, 2) * 10 +
                     DigitAt(date, 3),
                 DigitAt(date, 5) * 10 + DigitAt(date, 6), DigitAt(day, 0) * 10 + DigitAt(day, 1),
                 DigitAt(time, 0) * 10 + DigitAt(time, 1), DigitAt(time, 3) * 10 + DigitAt(time, 4),
                 DigitAt(time, 6) * 10 + DigitAt(time, 7), millis, 0);
}

}  // namespace

std::optional<int64_t> ParseRfc3339Millis(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM); 't'/'z' and a space
  // separator (RFC 3339 section 5.6 note) are accepted.
  if (auto ms = ParseRfc3339Fast(s)) return ms;
  int year, month, day, hour, minute, second;
  if (s.size() < 20) return std::nullopt;
  if (!Digits(s, 0, 4, &year) || s[4] != '-' || !Digits(s, 5, 2, &month) || s[7] != '-' ||
      !Digits(s, 8, 2, &day)) {
    return std::nullopt;
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (!Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return std::nullopt;
  }
  size_t pos = 19;
  int millis = 0;
  if (s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) {  // sub-millisecond digits are truncated
        millis += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset = 0;
  const char z = s[pos];
  if (z == 'Z' || z == 'z') {
    ++pos;
  } else if (z == '+' || z == '-') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (oh * 60 + om) * (z == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return Compose(year, month, day, hour, minute, second, millis, offset);
}

std::optional<int64_t> ParseTwitterTimeMillis(std::string_view s) {
  // "Sun Aug 31 00:29:15 +0000 2014": fixed width, English names.
  static constexpr std::string_view kWeekdays[7] = {"Mon", "Tue", "Wed", "Thu",
                                                    "Fri", "Sat", "Sun"};
  static constexpr std::string_view kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 30) return std::nullopt;
  bool weekday_ok = false;
  for (std::string_view w : kWeekdays) weekday_ok |= s.substr(0, 3) == w;
  if (!weekday_ok || s[3] != ' ') return std::nullopt;
  int month = 0;
  for (int i = 0; i < 12; ++i) {
    if (s.substr(4, 3) == kMonths[i]) month = i + 1;
  }
  int day, hour, minute, second, oh, om, year;
  if (month == 0 || s[7] != ' ' || !Digits(s, 8, 2, &day) || s[10] != ' ' ||
      !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second) || s[19] != ' ' || (s[20] != '+' && s[20] != '-') ||
      !Digits(s, 21, 2, &oh) || !Digits(s, 23, 2, &om) || s[25] != ' ' ||
      !Digits(s, 26, 4, &year) || oh > 23 || om > 59) {
    return std::nullopt;
  }
  const int offset = (oh * 60 + om) * (s[20] == '-' ? -1 : 1);
  return Compose(year, month, day, hour, minute, second, 0, offset);
}

}  // namespace earshot
