// Fuzzes the boolean query parser: every input parses or gives diagnostics,
// in linear-ish time, without deep recursion crashing the stack.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;
  earshot::Diagnostics diags;
  auto expr = earshot::rules::ParseQuery(
      std::string_view(reinterpret_cast<const char*>(data), size),
      earshot::SourceLoc{"fuzz.yaml", 1, 1}, &diags);
  if (!expr && diags.ok()) abort();  // failure without a diagnostic
  return 0;
}
