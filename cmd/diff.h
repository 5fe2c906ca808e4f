#pragma once
// `earshot diff` (docs/shadow.md): replays input through a live and a
// candidate rule set and reports, per brand, what the candidate would
// change. Exit status as diff(1): 0 no difference, 1 a difference, 2 an
// error (unreadable config or rules, unreadable input, Kafka failures).

#include <ostream>
#include <string>
#include <vector>

namespace earshot {

struct DiffOptions {
  std::string config;                  // "" = the defaults
  std::vector<std::string> rules;      // live rule paths; empty = config's rules.paths
  std::vector<std::string> candidate;  // candidate paths; empty = config's shadow.paths
  std::vector<std::string> inputs;     // JSONL files, "-" = stdin
  std::string since;                   // a duration: read the Kafka source's recent history
  std::string format;                  // overrides the config's format
  bool json = false;
};

int RunDiff(const DiffOptions& options, std::ostream& out, std::ostream& err);

}  // namespace earshot
