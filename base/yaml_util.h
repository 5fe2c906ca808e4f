#pragma once
// Helpers that turn yaml-cpp nodes into values with compiler-style errors.
// yaml-cpp throws; every call here catches at this boundary and reports a
// Diagnostic instead. Thread-compatible.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostics.h"

namespace earshot {

// Where a node starts, 1-based.
SourceLoc LocOf(const YAML::Node& node, const std::string& file);

// Parses a YAML document from a file (or from `text` when given); a syntax
// error becomes a diagnostic and std::nullopt.
std::optional<YAML::Node> LoadYamlFile(const std::string& path, Diagnostics* diags);
std::optional<YAML::Node> LoadYamlString(const std::string& text, const std::string& file,
                                         Diagnostics* diags);

// The value of `key` in the map `map` (the first, if the key is repeated),
// or an undefined node (false in a test) when the map has no such key or
// `map` is not a map. Read it, never assign to it: a missing key's node is
// shared. Unlike yaml-cpp's operator[], a missing key costs no
// std::stringstream (yaml-cpp formats the key into one for a later error):
// ~7% of the instructions of `earshot check` on 1,000 brands.
const YAML::Node MapValue(const YAML::Node& map, std::string_view key);
// Where `key` is written in the map `map` (the first, if repeated), or
// where the map starts when it has no such key: for errors about the key.
SourceLoc KeyLocOf(const YAML::Node& map, std::string_view key, const std::string& file);

// Reports every key that the map `node` sets a second time (YAML parsers
// keep the first and drop the rest without a word): "duplicate key".
void CheckDuplicateKeys(const YAML::Node& node, const std::string& file, const std::string& what,
                        Diagnostics* diags);

// Reports every key of the map `node` not in `allowed`, with a did-you-mean
// hint, and every duplicate key. Returns false when `node` is not a map (and
// reports that).
bool CheckKeys(const YAML::Node& node, const std::vector<std::string>& allowed,
               const std::string& file, const std::string& what, Diagnostics* diags);

// Scalar and list accessors; on a type mismatch they report "<key>: expected
// a string" at the value's position and return std::nullopt.
std::optional<std::string> AsString(const YAML::Node& node, const std::string& file,
                                    const std::string& key, Diagnostics* diags);
std::optional<int64_t> AsInt(const YAML::Node& node, const std::string& file,
                             const std::string& key, Diagnostics* diags);
std::optional<bool> AsBool(const YAML::Node& node, const std::string& file,
                           const std::string& key, Diagnostics* diags);
// A duration string with a unit ("10s", "5m"), in milliseconds.
std::optional<int64_t> AsDurationMillis(const YAML::Node& node, const std::string& file,
                                        const std::string& key, Diagnostics* diags);
// A list of strings; a single scalar is accepted as a one-element list when
// `allow_scalar` is set.
std::optional<std::vector<std::string>> AsStringList(const YAML::Node& node,
                                                     const std::string& file,
                                                     const std::string& key, Diagnostics* diags,
                                                     bool allow_scalar = false);

}  // namespace earshot
