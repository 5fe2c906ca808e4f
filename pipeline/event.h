#pragma once
// The canonical event (docs/formats.md) as the pipeline sees it after
// decoding. String fields are views into the decoder's buffer and stay valid
// until the decoder's next Decode() call. Thread-compatible.

#include <cstdint>
#include <string_view>

namespace earshot {

enum class InvalidReason : uint8_t {
  kJsonSyntax,
  kNotObject,
  kMissingField,
  kBadType,
  kBadTimestamp,
  kFutureTimestamp,
  kTooLarge,
  kBadUtf8,
  kTooDeep,
};
inline constexpr int kInvalidReasonCount = 9;
// The `reason` label value: "json_syntax", "not_object", ...
const char* InvalidReasonName(InvalidReason r);

enum class EventType : uint8_t { kPost, kComment, kReply, kShare, kMention };
const char* EventTypeName(EventType t);

struct Event {
  std::string_view id;        // integers are rendered in decimal
  std::string_view platform;  // lower-cased, aliases resolved; not yet mapped to `other`
  std::string_view text;
  bool has_created_at = false;
  int64_t created_at_ms = 0;  // event time, epoch milliseconds
  EventType type = EventType::kPost;
  std::string_view lang;
  std::string_view author_id;
  std::string_view author_handle;
  std::string_view url;
  std::string_view country;
  uint64_t followers = 0;
  uint64_t likes = 0;
  uint64_t shares = 0;
  uint64_t comments = 0;
  uint64_t views = 0;
  std::string_view subreddit;  // reddit preset only

  // likes + shares + comments, saturating at 2^64-1 (each may be that
  // large; a wrapped sum would count a huge post as nearly nothing).
  uint64_t engagement() const {
    uint64_t sum;
    if (__builtin_add_overflow(likes, shares, &sum)) return UINT64_MAX;
    if (__builtin_add_overflow(sum, comments, &sum)) return UINT64_MAX;
    return sum;
  }
};

}  // namespace earshot
