#include "base/diagnostics.h"

#include <algorithm>

namespace earshot {

std::string Diagnostic::ToString() const {
  std::string out = loc.file.empty() ? std::string("<input>") : loc.file;
  if (loc.line > 0) {
    out += ":" + std::to_string(loc.line);
    if (loc.col > 0) out += ":" + std::to_string(loc.col);
  }
  out += ": " + message;
  if (!hint.empty()) out += "\n  hint: " + hint;
  return out;
}

void Diagnostics::Error(const SourceLoc& loc, std::string message, std::string hint) {
  errors_.push_back(Diagnostic{loc, std::move(message), std::move(hint)});
}

void Diagnostics::Append(const Diagnostics& other) {
  errors_.insert(errors_.end(), other.errors_.begin(), other.errors_.end());
}

std::string Diagnostics::ToString() const {
  std::string out;
  for (const auto& d : errors_) {
    out += d.ToString();
    out += '\n';
  }
  return out;
}

// Edits between a and b, an adjacent transposition counting as one (the
// optimal string alignment distance): "stpe" is one edit from "step", two
// from "size".
static size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace earshot
