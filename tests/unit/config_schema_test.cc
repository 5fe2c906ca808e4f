// The declared key schema (pipeline/config.h): the parser accepts exactly
// the declared keys, every declared default reads back as itself, and the
// defaults are those of a default Config.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "pipeline/config.h"

namespace earshot {
namespace {

// A YAML document that sets every key with a default to that default
// (shadow.paths added: a shadow section needs one).
std::string AllDefaults() {
  YAML::Node root;
  for (const ConfigKeyInfo& k : ConfigKeys()) {
    if (k.section || k.value.empty()) continue;
    YAML::Node node = root;
    std::string key = k.key;
    for (size_t dot; (dot = key.find('.')) != std::string::npos; key = key.substr(dot + 1)) {
      node.reset(node[key.substr(0, dot)]);
    }
    node[key] = YAML::Load(k.value);
  }
  root["shadow"]["paths"].push_back("candidate/");
  return YAML::Dump(root);
}

TEST(ConfigSchemaTest, EveryDefaultReadsBackAsItself) {
  const std::string yaml = AllDefaults();
  Config parsed;
  Diagnostics d;
  ASSERT_TRUE(ParseConfig(yaml, "", &parsed, &d)) << d.ToString() << "\n" << yaml;
  const auto want = ConfigKeys();
  const auto got = ConfigKeys(parsed);
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].key, want[i].key);
    EXPECT_EQ(got[i].value, want[i].value) << want[i].key;
  }
}

TEST(ConfigSchemaTest, DefaultsAreTheDocumentedOnes) {
  std::set<std::string> seen;
  for (const ConfigKeyInfo& k : ConfigKeys()) {
    EXPECT_TRUE(seen.insert(k.key).second) << "declared twice: " << k.key;
  }
  auto value = [](const std::string& key) {
    for (const ConfigKeyInfo& k : ConfigKeys())
      if (k.key == key) return k.value;
    return std::string("(not declared)");
  };
  EXPECT_EQ(value("source.type"), "generator");
  EXPECT_EQ(value("http.listen"), "0.0.0.0:9464");
  EXPECT_EQ(value("http.web_config"), "\"\"");
  EXPECT_EQ(value("max_future_skew"), "5m");
  EXPECT_EQ(value("windows"),
            "[{name: 5m, size: 5m, step: 10s}, {name: 1h, size: 1h, step: 1m}, "
            "{name: 24h, size: 24h, step: 15m}]");
  EXPECT_EQ(value("signals.threshold"), "4");
  EXPECT_EQ(value("limits.max_event_bytes"), "1048576");
  EXPECT_EQ(value("rules.paths"), "");
}

TEST(ConfigSchemaTest, SectionsListTheirKeysInOrder) {
  EXPECT_EQ(ConfigKeysIn("http"), (std::vector<std::string>{"listen", "web_config", "max_connections",
                                                            "header_timeout", "idle_timeout"}));
  EXPECT_EQ(ConfigKeysIn("windows[]"), (std::vector<std::string>{"name", "size", "step"}));
  EXPECT_EQ(ConfigKeysIn("signals.trending"),
            (std::vector<std::string>{"top", "capacity", "min_count"}));
  const auto top = ConfigKeysIn("");
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top.front(), "source");
  for (const std::string& k : top) EXPECT_EQ(k.find('.'), std::string::npos) << k;
  // Every section is a key of its parent, and every key's parent a section.
  std::set<std::string> sections;
  for (const ConfigKeyInfo& k : ConfigKeys())
    if (k.section) sections.insert(k.key);
  for (const ConfigKeyInfo& k : ConfigKeys()) {
    const size_t dot = k.key.rfind('.');
    if (dot == std::string::npos) continue;
    std::string parent = k.key.substr(0, dot);
    if (parent == "windows[]") continue;  // the items of the `windows` list
    EXPECT_TRUE(sections.count(parent)) << k.key << ": " << parent << " is not a section";
  }
}

TEST(ConfigSchemaTest, AnUndeclaredKeyIsAnError) {
  for (const char* yaml : {"http: {listen: ':1', lisen: x}\n", "signals: {trending: {topp: 3}}\n",
                           "windows: [{name: a, size: 1m, step: 1m, stp: 1m}]\n", "sauce: {}\n"}) {
    Config c;
    Diagnostics d;
    EXPECT_FALSE(ParseConfig(yaml, "x.yaml", &c, &d)) << yaml;
    EXPECT_NE(d.ToString().find("unknown key"), std::string::npos) << d.ToString();
  }
}

}  // namespace
}  // namespace earshot
