// Fuzzes the daemon config loader (YAML text -> Config or diagnostics).

#include <cstddef>
#include <cstdint>
#include <string>

#include "pipeline/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  earshot::Config cfg;
  earshot::Diagnostics diags;
  if (!earshot::ParseConfig(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml",
                            &cfg, &diags) &&
      diags.ok()) {
    abort();
  }
  return 0;
}
