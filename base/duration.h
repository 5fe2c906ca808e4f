#pragma once
// Duration strings with a unit: "250ms", "10s", "5m", "1h", "7d", "2w"; also
// compound ("1h30m"), with the units from largest to smallest, each at most
// once ("30m1h" and "5m5m" are errors, as in Prometheus). Returns
// milliseconds, or an error message.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace earshot {

StatusOr<int64_t> ParseDurationMillis(std::string_view text);
// The shortest exact spelling, e.g. 300000 -> "5m", 90000 -> "90s".
std::string FormatDurationMillis(int64_t ms);

}  // namespace earshot
