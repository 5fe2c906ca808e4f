#pragma once
// JSONL files as a Source: one event per line, "-" is stdin. Each path is its
// own partition (index in `paths`), offsets are line numbers (0-based).
// With `follow`, the source tails the files for appended lines (and reopens a
// file that was rotated/truncated) instead of ending at EOF.
// Lines are delivered without the trailing "\n" / "\r\n"; an empty line is
// still a record (the decoder rejects it as json_syntax), so every input line
// is accounted for. A line longer than `max_line_bytes` is delivered
// truncated to max_line_bytes + 1 bytes (the decoder counts it too_large)
// and the rest of it is skipped without buffering it.

#include <memory>

#include "base/status.h"
#include "connectors/source.h"
#include "pipeline/config.h"

namespace earshot {

StatusOr<std::unique_ptr<Source>> MakeFileSource(const FileSourceConfig& config,
                                                 size_t max_line_bytes);

}  // namespace earshot
