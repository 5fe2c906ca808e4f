#pragma once
// Platform names (docs/formats.md), in one place: lower case, the aliases
// x -> twitter, fb -> facebook, ig -> instagram, yt -> youtube, and the
// mapping of any name outside the configured list to "other". The decoder,
// the rule compiler, the query parser, the processor, `explain` and rule
// tests all go through these, so they agree on every event.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"

namespace earshot {

// The platform every name outside the configured list becomes.
inline constexpr std::string_view kOtherPlatform = "other";
// The cross-platform value of the ratio (never a configured name).
inline constexpr std::string_view kAllPlatforms = "all";

// The canonical name of an already lower-cased name: the alias's target, or
// `lowered` itself. The returned view is `lowered` or a static string.
inline std::string_view ResolvePlatformAlias(std::string_view lowered) {
  if (lowered.size() > 2) return lowered;  // no alias is longer: the common case
  if (lowered == "x") return "twitter";
  if (lowered == "fb") return "facebook";
  if (lowered == "ig") return "instagram";
  if (lowered == "yt") return "youtube";
  return lowered;
}

// Trimmed, lower-cased, alias resolved: "  X " -> "twitter".
inline std::string CanonicalPlatformName(std::string_view name) {
  return std::string(ResolvePlatformAlias(AsciiLowered(TrimAsciiSpace(name))));
}

// The configured platform list plus "other", with the mapping of an event's
// platform onto it. Immutable after construction; thread-safe.
class PlatformTable {
 public:
  // `configured`: canonical names (the config's `platforms`), without
  // "other" or "all".
  explicit PlatformTable(const std::vector<std::string>& configured);

  // Index of the platform an event with platform `name` counts under: the
  // configured name equal to CanonicalPlatformName(name), else other().
  // `name` as the decoder leaves it (lower-cased, aliases resolved) takes
  // the fast path: a dozen short names, compared by length and first byte.
  uint32_t Index(std::string_view name) const;
  const std::string& Name(uint32_t index) const { return names_[index]; }
  // The canonical name an event with platform `name` counts under.
  const std::string& Map(std::string_view name) const { return names_[Index(name)]; }
  uint32_t other() const { return static_cast<uint32_t>(names_.size() - 1); }
  size_t size() const { return names_.size(); }
  // Configured names, then "other".
  const std::vector<std::string>& names() const { return names_; }

 private:
  uint32_t IndexExact(std::string_view canonical) const;

  std::vector<std::string> names_;
  // Indexes into names_ by name length (the last: that length or more).
  static constexpr size_t kLengths = 32;
  std::vector<uint32_t> by_length_[kLengths];
};

}  // namespace earshot
