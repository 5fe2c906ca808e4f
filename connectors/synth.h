#pragma once
// Realistic synthetic social events (canonical JSON, docs/formats.md) for
// the demo, `earshot generate`, tests and benchmarks: several platforms,
// English, Arabic and Japanese text, competing brands of the example rule
// files in deploy/rules/, heavy-tailed follower and engagement counts.
// Deterministic for a seed and the events' times counted from the first
// event's (the brand mix drifts with that elapsed time, not with the
// clock's absolute time). Not thread-safe (one per thread).

#include <cstdint>
#include <memory>
#include <string>

namespace earshot {

class EventSynthesizer {
 public:
  virtual ~EventSynthesizer() = default;
  // Appends one event as a single-line JSON object (no newline) to *out.
  // `now_ms` becomes its created_at.
  virtual void Next(int64_t now_ms, std::string* out) = 0;
};

std::unique_ptr<EventSynthesizer> MakeEventSynthesizer(uint64_t seed);

}  // namespace earshot
