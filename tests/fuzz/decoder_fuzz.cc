// Fuzzes one decoder preset (EARSHOT_FUZZ_FORMAT), then normalizes and
// matches whatever text it accepts. The decoder must return an event or a
// reason for every input, without crashing, hanging or reading out of bounds;
// an accepted event's strings must be valid UTF-8 (the pipeline relies on it).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pipeline/decoder.h"
#include "tests/fuzz/fuzz_common.h"

#define EARSHOT_STR2(x) #x
#define EARSHOT_STR(x) EARSHOT_STR2(x)

namespace {

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

earshot::Decoder* MakeFuzzDecoder() {
  earshot::DecoderOptions o;
  o.format = *earshot::ParseFormat(EARSHOT_STR(EARSHOT_FUZZ_FORMAT));
  if (o.format == earshot::Format::kMapping) {
    o.mapping = {{"id", "/data/id"},           {"platform", "/data/source"},
                 {"text", "/data/body/0"},     {"created_at", "/ts"},
                 {"author.followers", "/u/n"}, {"engagement.likes", "/m/a~1b"},
                 {"lang", "/data/~0lang"}};
  }
  o.max_event_bytes = 1 << 20;
  o.max_json_depth = 64;
  auto d = earshot::MakeDecoder(o);
  if (!d.ok()) abort();
  return std::move(d).value().release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static earshot::Decoder* decoder = MakeFuzzDecoder();
  static auto rules = earshot::fuzz::FuzzRuleSet();
  static earshot::rules::MatchScratch scratch;
  earshot::rules::MatchOutput out;
  earshot::Event ev;
  auto reason = decoder->Decode(std::string_view(reinterpret_cast<const char*>(data), size), &ev);
  if (reason) {
    if (earshot::InvalidReasonName(*reason) == nullptr) abort();
    return 0;
  }
  for (std::string_view s : {ev.id, ev.platform, ev.text, ev.lang, ev.author_handle, ev.country}) {
    if (!ValidUtf8(s)) abort();
  }
  earshot::rules::MatchInput in{ev.text, ev.platform, ev.lang, ev.author_handle, ev.country};
  rules->Match(in, &scratch, &out);
  return 0;
}
