#include "base/duration.h"

#include <cctype>
#include <limits>

namespace earshot {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// The units, largest first: a compound duration names them in this order,
// each at most once (Prometheus's rule: "1h30m", not "30m1h" or "5m5m").
struct Unit {
  std::string_view name;
  int64_t ms;
};
constexpr Unit kUnits[] = {{"w", 7 * 24 * 3600 * 1000LL}, {"d", 24 * 3600 * 1000LL},
                           {"h", 3600 * 1000},             {"m", 60 * 1000},
                           {"s", 1000},                    {"ms", 1}};
constexpr int kUnitCount = static_cast<int>(sizeof(kUnits) / sizeof(kUnits[0]));
constexpr const char* kUnitList = "w, d, h, m, s or ms";

Status Invalid(std::string_view text, const std::string& why) {
  return Status::Error("invalid duration \"" + std::string(text) + "\": " + why);
}

Status TooLarge(std::string_view text) {
  return Status::Error("duration \"" + std::string(text) + "\" is too large");
}

}  // namespace

StatusOr<int64_t> ParseDurationMillis(std::string_view text) {
  if (text.empty()) return Status::Error("empty duration");
  int64_t total = 0;
  int last = -1;  // the index in kUnits of the previous part's unit
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return Invalid(text, std::string("expected a number followed by a unit (") + kUnitList +
                               ")");
    }
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      const int digit = text[i] - '0';
      if (n > (kMax - digit) / 10) return TooLarge(text);
      n = n * 10 + digit;
      ++i;
    }
    size_t u = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view name = text.substr(u, i - u);
    int unit = 0;
    while (unit < kUnitCount && kUnits[unit].name != name) ++unit;
    if (unit == kUnitCount) {
      return Invalid(text, std::string("missing or unknown unit (use ") + kUnitList + ")");
    }
    if (unit <= last) {
      const std::string order = unit == last
                                    ? "\"" + std::string(name) + "\" twice"
                                    : "\"" + std::string(name) + "\" after \"" +
                                          std::string(kUnits[last].name) + "\"";
      return Invalid(text, order + ": units go from largest to smallest, each at most once "
                                   "(as in 1h30m)");
    }
    last = unit;
    const int64_t mult = kUnits[unit].ms;
    // Each part, and the sum of the parts ("106751991167d8h"), must fit.
    if (n > kMax / mult || n * mult > kMax - total) return TooLarge(text);
    total += n * mult;
  }
  return total;
}

std::string FormatDurationMillis(int64_t ms) {
  if (ms == 0) return "0s";
  // Never in weeks: days are the largest unit the defaults and docs use.
  for (const Unit& u : kUnits) {
    if (u.name != "w" && ms % u.ms == 0) return std::to_string(ms / u.ms) + std::string(u.name);
  }
  return std::to_string(ms) + "ms";
}

}  // namespace earshot
