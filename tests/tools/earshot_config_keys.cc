// Prints the config file's declared keys (pipeline/config.h, ConfigKeys),
// one a line: `key<TAB>section|key<TAB>default`. tests/cli/test_docs.py
// checks docs/config.md against it.

#include <cstdio>

#include "pipeline/config.h"

int main() {
  for (const earshot::ConfigKeyInfo& k : earshot::ConfigKeys()) {
    std::printf("%s\t%s\t%s\n", k.key.c_str(), k.section ? "section" : "key", k.value.c_str());
  }
  return 0;
}
