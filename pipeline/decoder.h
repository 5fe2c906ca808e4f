#pragma once
// Decoders turn one message value (or one JSONL line) into an Event, or an
// InvalidReason. They never throw and never crash on any input: malformed
// JSON, deep nesting, huge payloads, invalid UTF-8 are all reasons.
//
// A Decoder is NOT thread-safe (it owns a reusable buffer); use one per thread.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "pipeline/event.h"

namespace earshot {

enum class Format { kCanonical, kTwitterV1, kReddit, kMapping };
// "canonical" | "twitter_v1" | "reddit" | "mapping"
std::optional<Format> ParseFormat(std::string_view name);

struct DecoderOptions {
  Format format = Format::kCanonical;
  // format: mapping: canonical field name -> RFC 6901 JSON Pointer, e.g.
  // {"id": "/data/id", "text": "/data/body", "author.followers": "/user/n"}.
  std::map<std::string, std::string> mapping;
  size_t max_event_bytes = 1048576;
  int max_json_depth = 64;
  // Tests and benchmarks only: false parses every payload with RapidJSON
  // alone, the reference the fast reader is checked against. The results are
  // the same either way; true decodes a typical event about twice as fast
  // (pipeline/json_reader.h).
  bool fast_reader = true;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decodes `payload`. On success fills `*ev` and returns std::nullopt.
  // `ev->platform` is lower-cased with aliases resolved (x -> twitter, ...);
  // mapping unknown platforms to `other` is the pipeline's job.
  virtual std::optional<InvalidReason> Decode(std::string_view payload, Event* ev) = 0;
};

// Validates options (e.g. mapping pointers) and builds the decoder.
StatusOr<std::unique_ptr<Decoder>> MakeDecoder(const DecoderOptions& options);

// The checks MakeDecoder makes on one `mapping` entry, for the config parser
// to report at the entry's line and column. A name that is not a canonical
// field: `unknown field "x" (known fields: id, platform, ...)`.
Status CheckMappingField(std::string_view field);
// A pointer that is not RFC 6901: `invalid JSON Pointer "/t~2": ...`.
Status CheckMappingPointer(std::string_view pointer);
// The canonical fields a mapping must map: id, platform, text.
inline constexpr const char* kRequiredMappingFields[] = {"id", "platform", "text"};
// One of them missing: `required field "id" is not mapped (...)`.
Status CheckMappingHas(const std::map<std::string, std::string>& mapping, const char* field);

// Parses RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123+02:00").
std::optional<int64_t> ParseRfc3339Millis(std::string_view s);
// Parses Twitter's "Sun Aug 31 00:29:15 +0000 2014".
std::optional<int64_t> ParseTwitterTimeMillis(std::string_view s);

}  // namespace earshot
