#pragma once
// Compiler-style diagnostics for config and rule files:
//   rules/sneakers.yaml:14:9: unknown key "term" (did you mean "terms"?)
// Loaders collect every error they find (all at once), then the caller prints
// them. Thread-compatible.

#include <string>
#include <string_view>
#include <vector>

namespace earshot {

// A position in a source file; line and column are 1-based (0 = unknown).
struct SourceLoc {
  std::string file;
  int line = 0;
  int col = 0;
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;
  std::string hint;  // optional, printed on the next line as "  hint: ..."
  std::string ToString() const;
};

class Diagnostics {
 public:
  void Error(const SourceLoc& loc, std::string message, std::string hint = "");
  bool ok() const { return errors_.empty(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  void Append(const Diagnostics& other);
  // All errors, one per line (plus hint lines), in the order found.
  std::string ToString() const;

 private:
  std::vector<Diagnostic> errors_;
};

// The closest candidate by edit distance, or "" when nothing is close enough
// to be a plausible typo. Used for "did you mean" hints.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace earshot
