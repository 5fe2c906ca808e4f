#include "base/duration.h"

#include <cctype>
#include <limits>

namespace earshot {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

Status TooLarge(std::string_view text) {
  return Status::Error("duration \"" + std::string(text) + "\" is too large");
}

}  // namespace

StatusOr<int64_t> ParseDurationMillis(std::string_view text) {
  if (text.empty()) return Status::Error("empty duration");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return Status::Error("invalid duration \"" + std::string(text) +
                           "\": expected a number followed by a unit (ms, s, m, h, d)");
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
    std::string_view unit = text.substr(u, i - u);
    int64_t mult;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60 * 1000;
    else if (unit == "h") mult = 3600 * 1000;
    else if (unit == "d") mult = 24 * 3600 * 1000LL;
    else if (unit == "w") mult = 7 * 24 * 3600 * 1000LL;
    else
      return Status::Error("invalid duration \"" + std::string(text) +
                           "\": missing or unknown unit (use ms, s, m, h, d or w)");
    // Each part, and the sum of the parts ("106751991167d1d"), must fit.
    if (n > kMax / mult || n * mult > kMax - total) return TooLarge(text);
    total += n * mult;
  }
  return total;
}

std::string FormatDurationMillis(int64_t ms) {
  struct Unit { int64_t ms; const char* name; };
  static constexpr Unit kUnits[] = {{24 * 3600 * 1000LL, "d"}, {3600 * 1000, "h"},
                                    {60 * 1000, "m"}, {1000, "s"}, {1, "ms"}};
  if (ms == 0) return "0s";
  for (const auto& u : kUnits) {
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace earshot
