#pragma once
// The synthetic generator as a Source (source.type: generator): canonical
// JSON events from connectors/synth.h at `rate` events per second of the
// injected clock (created_at = the clock's now), one partition.

#include <memory>

#include "base/clock.h"
#include "base/status.h"
#include "connectors/source.h"
#include "pipeline/config.h"

namespace earshot {

StatusOr<std::unique_ptr<Source>> MakeGeneratorSource(const GeneratorConfig& config,
                                                      const Clock* clock);

}  // namespace earshot
