#pragma once
// For unit tests: every series of a prometheus::Registry as
// "name|label value|label value..." -> value (counters and gauges).

#include <map>
#include <string>

#include <prometheus/registry.h>

namespace earshot {

inline std::map<std::string, double> RegistryValues(prometheus::Registry& registry) {
  std::map<std::string, double> m;
  for (const auto& f : registry.Collect()) {
    for (const auto& x : f.metric) {
      std::string key = f.name;
      for (const auto& l : x.label) key += "|" + l.value;
      m[key] = f.type == prometheus::MetricType::Counter ? x.counter.value : x.gauge.value;
    }
  }
  return m;
}

}  // namespace earshot
