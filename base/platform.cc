#include "base/platform.h"

#include <algorithm>
#include <cstring>

namespace earshot {

PlatformTable::PlatformTable(const std::vector<std::string>& configured) : names_(configured) {
  names_.emplace_back(kOtherPlatform);
  for (uint32_t i = 0; i + 1 < names_.size(); ++i) {
    const size_t len = names_[i].size();
    if (len > 0) by_length_[std::min(len, kLengths - 1)].push_back(i);
  }
}

uint32_t PlatformTable::IndexExact(std::string_view name) const {
  // The candidates of the right length and first byte, then one compare (a
  // tree of string compares, or a memcmp per name, costs more than the rest
  // of an event's bookkeeping).
  if (name.empty()) return other();
  for (uint32_t i : by_length_[std::min(name.size(), kLengths - 1)]) {
    const std::string& n = names_[i];
    if (n.size() == name.size() && n[0] == name[0] &&
        std::memcmp(n.data(), name.data(), n.size()) == 0) {
      return i;
    }
  }
  return other();
}

uint32_t PlatformTable::Index(std::string_view name) const {
  const uint32_t i = IndexExact(name);
  if (i != other()) return i;
  // Not canonical as given (upper case, an alias, spaces): canonicalize.
  const std::string canonical = CanonicalPlatformName(name);
  return canonical == name ? other() : IndexExact(canonical);
}

}  // namespace earshot
