#pragma once
// Writing JSON answers (the HTTP API, `earshot diff --json`) with RapidJSON:
// one way to put text from events, rule files or query parameters into a
// JSON string, so that every document stays valid JSON whatever its bytes.
// Thread-safe (pure).

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

#include "rules/normalizer.h"

namespace earshot {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// `s` as a JSON string; invalid UTF-8 sequences become U+FFFD (RapidJSON
// escapes control characters, quotes and backslashes itself).
inline void WriteJsonString(JsonWriter& w, std::string_view s) {
  const std::string valid = rules::ToValidUtf8(s);
  w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
}

}  // namespace earshot
