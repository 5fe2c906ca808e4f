#pragma once
// A partition's state inside the Processor: its windows, dedupe table,
// signal panes and audience. Private to pipeline/processor.cc (the hot path)
// and pipeline/processor_read.cc (snapshots, exposition, the JSON API);
// nothing else includes it.

#include <memory>
#include <vector>

#include "pipeline/processor.h"

namespace earshot {

struct Processor::PartitionState {
  std::vector<HoppingWindow> windows;
  Deduper dedupe;
  Signals::PartitionPtr signals;  // open signal panes' counts (created on first use)
  std::unique_ptr<PartitionAudience> audience;  // audience; null when disabled
  // The dedupe cap is set by ShareDedupeCap (0, dedupe off, until then).
  PartitionState(const std::vector<WindowSpec>& specs, const Audience* aud) : dedupe(0) {
    for (const auto& s : specs) windows.emplace_back(s);
    if (aud != nullptr) audience = aud->NewPartition();
  }
};

}  // namespace earshot
