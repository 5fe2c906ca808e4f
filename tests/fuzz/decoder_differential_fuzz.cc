// Differential fuzzing of the decoders' fast reader (pipeline/json_reader.h):
// every input is decoded by every format, and with a shallow depth limit,
// once with the fast reader and once with RapidJSON alone; a different
// reason or a different event aborts (tests/fuzz/decoder_pair.h).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/decoder_pair.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<earshot::fuzz::DecoderPair>* pairs = [] {
    auto* v = new std::vector<earshot::fuzz::DecoderPair>;
    for (const earshot::DecoderOptions& o : earshot::fuzz::DifferentialOptions()) v->emplace_back(o);
    return v;
  }();
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  for (earshot::fuzz::DecoderPair& pair : *pairs) {
    const std::string diff = pair.Compare(payload);
    if (!diff.empty()) {
      std::fprintf(stderr, "fast reader and RapidJSON differ: %s\n", diff.c_str());
      std::abort();
    }
  }
  return 0;
}
