// Fuzzes the web-config parser (TLS and basic auth settings) and the
// Authorization header check (bcrypt itself is skipped: no user matches).

#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  earshot::WebConfig cfg;
  earshot::Diagnostics diags;
  if (!earshot::ParseWebConfig(text, "web.yml", "/nonexistent", &cfg, &diags) && diags.ok()) {
    abort();
  }
  std::string decoded;
  earshot::DecodeBase64(text, &decoded);
  earshot::IsBcryptHash(text);
  return 0;
}
