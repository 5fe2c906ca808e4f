#include "base/yaml_util.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include <yaml-cpp/eventhandler.h>

#include "base/duration.h"

namespace earshot {

SourceLoc LocOf(const YAML::Node& node, const std::string& file) {
  SourceLoc loc;
  loc.file = file;
  YAML::Mark m = node.Mark();
  if (m.line >= 0) {
    loc.line = m.line + 1;
    loc.col = m.column + 1;
  }
  return loc;
}

namespace {

// Whether `text` may hold more than one document: a document marker
// ("---" or "...") at the start of a line other than the first. Files
// without one (nearly all) are parsed once, as before.
bool MayHoldMoreDocuments(const std::string& text) {
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', nl + 1)) {
    const std::string_view rest = std::string_view(text).substr(nl + 1);
    if (rest.substr(0, 3) != "---" && rest.substr(0, 3) != "...") continue;
    const char after = rest.size() == 3 ? '\n' : rest[3];
    if (after == ' ' || after == '\t' || after == '\n' || after == '\r') return true;
  }
  return false;
}

// Parser events of one document, remembering where its first node is and
// whether it holds anything but a null.
class DocumentProbe : public YAML::EventHandler {
 public:
  bool has_content() const { return has_content_; }
  const YAML::Mark& mark() const { return mark_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { First(mark, false); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { First(mark, true); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    First(mark, true);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    First(mark, true);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    First(mark, true);
  }
  void OnMapEnd() override {}

 private:
  void First(const YAML::Mark& mark, bool content) {
    if (seen_) return;
    seen_ = true;
    mark_ = mark;
    has_content_ = content;
  }
  bool seen_ = false;
  bool has_content_ = false;
  YAML::Mark mark_;
};

}  // namespace

std::optional<YAML::Node> LoadYamlString(const std::string& text, const std::string& file,
                                         Diagnostics* diags) {
  try {
    YAML::Node root = YAML::Load(text);
    // A second document (after "---") would be dropped without a word: an
    // error instead. An empty one (a trailing "---") holds nothing to lose.
    // The parser is asked for at most one more document: yaml-cpp's own
    // LoadAll can loop for ever on malformed input (found by fuzzing).
    if (MayHoldMoreDocuments(text)) {
      std::istringstream in(text);
      YAML::Parser parser(in);
      DocumentProbe first, second;
      if (parser.HandleNextDocument(first) && parser.HandleNextDocument(second) &&
          second.has_content()) {
        const YAML::Mark& m = second.mark();
        diags->Error(
            SourceLoc{file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0},
            "a second YAML document: a file holds one (this one would be ignored)",
            "remove the \"---\" line above it, or move this document to a file of its own");
        return std::nullopt;
      }
    }
    return root;
  } catch (const YAML::Exception& e) {
    SourceLoc loc{file, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                  e.mark.column >= 0 ? e.mark.column + 1 : 0};
    diags->Error(loc, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

std::optional<YAML::Node> LoadYamlFile(const std::string& path, Diagnostics* diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags->Error(SourceLoc{path, 0, 0}, "cannot open file");
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadYamlString(ss.str(), path, diags);
}

namespace {

// The entry of `key` in the map `map` (the first, if the key is repeated),
// or map.end(); map.end() too when `map` is not a map.
YAML::const_iterator FindKey(const YAML::Node& map, std::string_view key) {
  const auto end = map.end();
  if (!map.IsMap()) return end;
  for (auto it = map.begin(); it != end; ++it) {
    const auto& kv = *it;
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return it;
  }
  return end;
}

}  // namespace

SourceLoc KeyLocOf(const YAML::Node& map, std::string_view key, const std::string& file) {
  const auto it = FindKey(map, key);
  return it != map.end() ? LocOf(it->first, file) : LocOf(map, file);
}

const YAML::Node MapValue(const YAML::Node& map, std::string_view key) {
  if (const auto it = FindKey(map, key); it != map.end()) return it->second;
  // One shared node: nothing assigns through a looked-up value (yaml-cpp's
  // assignment would change the shared node), and copying it only counts a
  // reference, where a fresh one costs two allocations.
  static const YAML::Node* const kMissing = new YAML::Node(YAML::NodeType::Undefined);
  return *kMissing;
}

void CheckDuplicateKeys(const YAML::Node& node, const std::string& file, const std::string& what,
                        Diagnostics* diags) {
  if (!node.IsMap() || node.size() < 2) return;
  std::vector<std::pair<std::string, int>> seen;  // key, line (1-based)
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    const std::string& key = kv.first.Scalar();
    const int line = kv.first.Mark().line + 1;
    auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == key; });
    if (it != seen.end()) {
      diags->Error(LocOf(kv.first, file),
                   what + ": duplicate key \"" + key + "\" (first set at line " +
                       std::to_string(it->second) + ")",
                   "YAML keeps only the first; remove or merge the other");
    } else {
      seen.emplace_back(key, line);
    }
  }
}

bool CheckKeys(const YAML::Node& node, const std::vector<std::string>& allowed,
               const std::string& file, const std::string& what, Diagnostics* diags) {
  if (!node.IsMap()) {
    diags->Error(LocOf(node, file), what + ": expected a mapping");
    return false;
  }
  CheckDuplicateKeys(node, file, what, diags);
  for (const auto& kv : node) {
    std::string key;
    try {
      key = kv.first.as<std::string>();
    } catch (const YAML::Exception&) {
      diags->Error(LocOf(kv.first, file), what + ": keys must be strings");
      continue;
    }
    bool known = false;
    for (const auto& a : allowed) known |= (a == key);
    if (!known) {
      std::string near = ClosestMatch(key, allowed);
      std::string msg = "unknown key \"" + key + "\"";
      if (!near.empty()) msg += " (did you mean \"" + near + "\"?)";
      std::string hint;
      if (near.empty()) {
        hint = "known keys in " + what + ":";
        for (const auto& a : allowed) hint += " " + a;
      }
      diags->Error(LocOf(kv.first, file), msg, hint);
    }
  }
  return true;
}

std::optional<std::string> AsString(const YAML::Node& node, const std::string& file,
                                    const std::string& key, Diagnostics* diags) {
  if (!node.IsScalar()) {
    diags->Error(LocOf(node, file), key + ": expected a string");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<int64_t> AsInt(const YAML::Node& node, const std::string& file,
                             const std::string& key, Diagnostics* diags) {
  if (node.IsScalar()) {
    try {
      return node.as<int64_t>();
    } catch (const YAML::Exception&) {
    }
  }
  diags->Error(LocOf(node, file), key + ": expected an integer");
  return std::nullopt;
}

std::optional<bool> AsBool(const YAML::Node& node, const std::string& file,
                           const std::string& key, Diagnostics* diags) {
  if (node.IsScalar()) {
    try {
      return node.as<bool>();
    } catch (const YAML::Exception&) {
    }
  }
  diags->Error(LocOf(node, file), key + ": expected true or false");
  return std::nullopt;
}

std::optional<int64_t> AsDurationMillis(const YAML::Node& node, const std::string& file,
                                        const std::string& key, Diagnostics* diags) {
  if (!node.IsScalar()) {
    diags->Error(LocOf(node, file), key + ": expected a duration such as \"10s\" or \"5m\"");
    return std::nullopt;
  }
  auto d = ParseDurationMillis(node.Scalar());
  if (!d.ok()) {
    diags->Error(LocOf(node, file), key + ": " + d.message(),
                 "durations are strings with a unit: 10s, 5m, 1h, 7d");
    return std::nullopt;
  }
  return *d;
}

std::optional<std::vector<std::string>> AsStringList(const YAML::Node& node,
                                                     const std::string& file,
                                                     const std::string& key, Diagnostics* diags,
                                                     bool allow_scalar) {
  std::vector<std::string> out;
  if (allow_scalar && node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (node.IsNull()) return out;
  if (!node.IsSequence()) {
    diags->Error(LocOf(node, file), key + ": expected a list of strings");
    return std::nullopt;
  }
  bool ok = true;
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      diags->Error(LocOf(item, file), key + ": expected a string");
      ok = false;
      continue;
    }
    out.push_back(item.Scalar());
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace earshot
