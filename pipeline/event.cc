#include "pipeline/event.h"

namespace earshot {

const char* InvalidReasonName(InvalidReason r) {
  switch (r) {
    case InvalidReason::kJsonSyntax: return "json_syntax";
    case InvalidReason::kNotObject: return "not_object";
    case InvalidReason::kMissingField: return "missing_field";
    case InvalidReason::kBadType: return "bad_type";
    case InvalidReason::kBadTimestamp: return "bad_timestamp";
    case InvalidReason::kFutureTimestamp: return "future_timestamp";
    case InvalidReason::kTooLarge: return "too_large";
    case InvalidReason::kBadUtf8: return "bad_utf8";
    case InvalidReason::kTooDeep: return "too_deep";
  }
  return "unknown";
}

const char* EventTypeName(EventType t) {
  switch (t) {
    case EventType::kPost: return "post";
    case EventType::kComment: return "comment";
    case EventType::kReply: return "reply";
    case EventType::kShare: return "share";
    case EventType::kMention: return "mention";
  }
  return "post";
}

}  // namespace earshot
