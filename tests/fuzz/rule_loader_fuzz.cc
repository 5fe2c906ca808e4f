// Fuzzes the rule file loader and compiler: any bytes as a rule file must
// load or give diagnostics; a rule set that loads must compile or give
// diagnostics, and a compiled one must match texts without crashing. The
// loader reads files, so each input is written to one temporary file.

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "rules/loader.h"
#include "rules/rule_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // rule files are small; keep runs fast
  static const std::string path = [] {
    char p[] = "/tmp/earshot-fuzz-loader-XXXXXX.yaml";
    int fd = mkstemps(p, 5);
    if (fd < 0) abort();
    close(fd);
    return std::string(p);
  }();
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  if (fd < 0 || write(fd, data, size) != static_cast<ssize_t>(size)) abort();
  close(fd);
  earshot::rules::RuleSetDef def;
  earshot::Diagnostics diags;
  // Compiled even when the load fails (rejected rules included), as every
  // caller does.
  earshot::rules::CompileOptions opts;
  opts.regex_max_mem = 1 << 20;
  auto set = earshot::rules::LoadAndCompile({path}, opts, &def, &diags);
  if (!set) {
    if (diags.ok()) abort();
    return 0;
  }
  static earshot::rules::MatchScratch scratch;
  earshot::rules::MatchOutput out;
  for (const char* text : {"Just bought Nike Air Max 90 #nike @adidas", "",
                           "نايكي أديداس سعر", "ナイキの价格 ราคา", "x NEAR y AND z"}) {
    earshot::rules::MatchInput in{text, "twitter", "en", "someone", "us"};
    set->Match(in, &scratch, &out);
    out.clear();
  }
  return 0;
}
