#include "pipeline/config.h"

#include <gtest/gtest.h>

namespace earshot {
namespace {

TEST(ConfigTest, EmptyFileGivesTheDesignDefaults) {
  Config c;
  Diagnostics d;
  ASSERT_TRUE(ParseConfig("", "earshot.yaml", &c, &d)) << d.ToString();
  EXPECT_EQ(c.clock, ClockMode::kWall);
  EXPECT_EQ(c.max_future_skew_ms, 5 * 60 * 1000);
  ASSERT_EQ(c.windows.size(), 3u);
  EXPECT_EQ(c.windows[2].name, "24h");
  EXPECT_EQ(c.windows[2].size_ms, 24 * 3600 * 1000LL);
  EXPECT_EQ(c.windows[2].step_ms, 15 * 60 * 1000LL);
  EXPECT_EQ(c.platforms.size(), 11u);
  EXPECT_EQ(c.http.listen, "0.0.0.0:9464");
  EXPECT_EQ(c.limits.max_event_bytes, 1048576u);
  EXPECT_EQ(c.limits.max_json_depth, 64);
  EXPECT_EQ(c.longest_window_ms(), 24 * 3600 * 1000LL);
}

TEST(ConfigTest, ParsesTheDesignExample) {
  const char* yaml = R"(source:
  type: kafka
  kafka:
    brokers: localhost:9092
    topics: [social.posts]
    group_id: earshot
    properties: {security.protocol: SASL_SSL}
  file: {paths: [events.jsonl], follow: false}
  generator: {rate: 200, seed: 1}
format: canonical
mapping: {}
rules: {paths: [rules/], reload: watch}
windows:
  - {name: 5m, size: 5m, step: 10s}
  - {name: 1h, size: 1h, step: 1m}
clock: event
max_future_skew: 2m
platforms: [twitter, facebook]
http: {listen: "127.0.0.1:0", web_config: ""}
limits: {max_event_bytes: 4096, max_json_depth: 16}
dead_letter: {topic: "dlq"}
)";
  Config c;
  Diagnostics d;
  ASSERT_TRUE(ParseConfig(yaml, "/etc/earshot/earshot.yaml", &c, &d)) << d.ToString();
  EXPECT_EQ(c.source.type, SourceConfig::Type::kKafka);
  EXPECT_EQ(c.source.kafka.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c.rules.paths[0], "/etc/earshot/rules/");
  EXPECT_EQ(c.source.file.paths[0], "/etc/earshot/events.jsonl");
  EXPECT_EQ(c.clock, ClockMode::kEvent);
  EXPECT_EQ(c.max_future_skew_ms, 120000);
  EXPECT_EQ(c.windows[0].step_ms, 10000);
  EXPECT_EQ(c.decoder.max_event_bytes, 4096u);
  EXPECT_EQ(c.decoder.max_json_depth, 16);
  EXPECT_EQ(c.dead_letter.topic, "dlq");
}

TEST(ConfigTest, UnknownKeysAreErrorsWithPositionAndHint) {
  const char* yaml = "source:\n  type: file\n  file: {paths: [a.jsonl]}\nwindow:\n  - {name: a}\nhttp:\n  lisen: \":1\"\n";
  Config c;
  Diagnostics d;
  EXPECT_FALSE(ParseConfig(yaml, "c.yaml", &c, &d));
  std::string all = d.ToString();
  EXPECT_NE(all.find("c.yaml:4:1: unknown key \"window\" (did you mean \"windows\"?)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("c.yaml:7:3: unknown key \"lisen\" (did you mean \"listen\"?)"),
            std::string::npos)
      << all;
  // Swapped letters are one edit: "stpe" is "step", not "size".
  Config c2;
  Diagnostics d2;
  EXPECT_FALSE(ParseConfig("windows:\n  - {name: a, size: 5m, stpe: 10s}\n", "c.yaml", &c2, &d2));
  EXPECT_NE(d2.ToString().find("unknown key \"stpe\" (did you mean \"step\"?)"), std::string::npos)
      << d2.ToString();
}

// YAML keeps the first of two equal keys without a word: an error, at the
// second, in sections and in free-form maps alike.
TEST(ConfigTest, DuplicateKeysAreErrors) {
  const char* yaml =
      "clock: event\nwindows:\n  - {name: a, size: 5m, step: 10s, step: 1m}\nclock: wall\n"
      "source:\n  type: kafka\n  kafka:\n    brokers: b\n    topics: [t]\n    group_id: g\n"
      "    properties:\n      linger.ms: \"5\"\n      linger.ms: \"50\"\n";
  Config c;
  Diagnostics d;
  EXPECT_FALSE(ParseConfig(yaml, "c.yaml", &c, &d));
  const std::string all = d.ToString();
  EXPECT_NE(all.find("c.yaml:4:1: config: duplicate key \"clock\" (first set at line 1)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("c.yaml:3:36: window: duplicate key \"step\" (first set at line 3)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("c.yaml:13:7: properties: duplicate key \"linger.ms\" (first set at line 12)"),
            std::string::npos)
      << all;
}

TEST(ConfigTest, ReportsAllErrorsAtOnce) {
  const char* yaml =
      "windows:\n  - {name: 5m, size: 5m, step: 7s}\n  - {name: x, size: 5, step: 1s}\n"
      "clock: sundial\nformat: xml\nmax_future_skew: soon\n";
  Config c;
  Diagnostics d;
  EXPECT_FALSE(ParseConfig(yaml, "c.yaml", &c, &d));
  std::string all = d.ToString();
  EXPECT_NE(all.find("c.yaml:2:32: window \"5m\": size must be a multiple of step"),
            std::string::npos) << all;
  EXPECT_NE(all.find("c.yaml:3:21: size: "), std::string::npos) << all;
  EXPECT_NE(all.find("c.yaml:4:8: clock: unknown clock \"sundial\""), std::string::npos) << all;
  EXPECT_NE(all.find("c.yaml:5:9: format: unknown format \"xml\""), std::string::npos) << all;
  EXPECT_NE(all.find("c.yaml:6:18: max_future_skew: "), std::string::npos) << all;
  EXPECT_EQ(d.errors().size(), 5u) << all;
}

// DESIGN 7: every config error has file:line:col, the mapping's too (they
// were MakeDecoder's errors, reported with the file name alone).
TEST(ConfigTest, MappingErrorsHaveAPosition) {
  auto errors = [](const std::string& text) {
    Config c;
    Diagnostics d;
    EXPECT_FALSE(ParseConfig(text, "m.yaml", &c, &d)) << text;
    return d.ToString();
  };
  // An unknown field name: at the key.
  std::string all =
      errors("format: mapping\nmapping: {id: /a, platform: /p, text: /t, bogus: /x}\n");
  EXPECT_NE(all.find("m.yaml:2:43: mapping: unknown field \"bogus\" (known fields: id, "
                     "platform, text, created_at, "),
            std::string::npos)
      << all;
  // A bad escape: at the pointer, with MakeDecoder's wording.
  all = errors("format: mapping\nmapping:\n  id: /a\n  platform: /p\n  text: /t~2\n");
  EXPECT_NE(all.find("m.yaml:5:9: mapping: field \"text\": invalid JSON Pointer \"/t~2\": '~' "
                     "must be followed by '0' or '1' (RFC 6901)"),
            std::string::npos)
      << all;
  all = errors("format: mapping\nmapping: {id: /a~, platform: /p, text: /t}\n");
  EXPECT_NE(all.find("m.yaml:2:15: mapping: field \"id\": invalid JSON Pointer \"/a~\""),
            std::string::npos)
      << all;
  // A pointer without '/' keeps its own message and hint.
  all = errors("format: mapping\nmapping: {id: /a, platform: /p, text: t}\n");
  EXPECT_NE(all.find("m.yaml:2:39: mapping.text: \"t\" is not a JSON Pointer"),
            std::string::npos)
      << all;
  // A required field left out: at the mapping.
  all = errors("format: mapping\nmapping: {id: /a, text: /t}\n");
  EXPECT_NE(all.find("m.yaml:2:10: mapping: required field \"platform\" is not mapped"),
            std::string::npos)
      << all;
  // A mapping where the file names another format: at the mapping. Left
  // out, `format` may still come from --format, so no error then.
  all = errors("format: reddit\nmapping: {id: /a, platform: /p, text: /t}\n");
  EXPECT_NE(all.find("m.yaml:2:1: mapping: is only used with format: mapping"),
            std::string::npos)
      << all;
  {
    Config c;
    Diagnostics d;
    EXPECT_TRUE(ParseConfig("mapping: {id: /a, platform: /p, text: /t}\n", "m.yaml", &c, &d))
        << d.ToString();
  }
  // An empty platform list: every event would be `other`, and rule
  // filters could not be checked.
  all = errors("platforms: []\n");
  EXPECT_NE(all.find("m.yaml:1:1: platforms: the list is empty"), std::string::npos) << all;
  // A bad port is refused where it is written, as `run` would refuse it.
  for (const char* port : {"99999", "-1", "", "19207x", "123456"}) {
    all = errors(std::string("http: {listen: \"127.0.0.1:") + port + "\"}\n");
    EXPECT_NE(all.find(std::string("m.yaml:1:16: http.listen: bad port \"") + port + "\""),
              std::string::npos)
        << all;
  }
  // All of them at once, one error each.
  Config c;
  Diagnostics d;
  EXPECT_FALSE(ParseConfig("format: mapping\nmapping: {id: /a~2, text: /t, bogus: /x}\n",
                           "m.yaml", &c, &d));
  EXPECT_EQ(d.errors().size(), 3u) << d.ToString();
  // Valid pointers, "~0", "~1" and "" (the whole document) among them, pass.
  Config ok;
  Diagnostics okd;
  EXPECT_TRUE(ParseConfig("format: mapping\nmapping: {id: /a~0b, platform: /p~1q, text: /t, "
                          "url: \"\"}\n",
                          "m.yaml", &ok, &okd))
      << okd.ToString();
}

TEST(ConfigTest, CompoundDurationsGoFromLargestUnitToSmallest) {
  Config c;
  Diagnostics d;
  EXPECT_FALSE(ParseConfig(
      "max_future_skew: 30m1h\nwindows:\n  - {name: a, size: 5m5m, step: 1m}\n", "c.yaml", &c,
      &d));
  const std::string all = d.ToString();
  EXPECT_NE(all.find("c.yaml:1:18: max_future_skew: invalid duration \"30m1h\": \"h\" after "
                     "\"m\": units go from largest to smallest, each at most once (as in 1h30m)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("c.yaml:3:21: size: invalid duration \"5m5m\": \"m\" twice"),
            std::string::npos)
      << all;
  Config ok;
  Diagnostics okd;
  EXPECT_TRUE(ParseConfig("max_future_skew: 1h30m\n", "c.yaml", &ok, &okd)) << okd.ToString();
  EXPECT_EQ(ok.max_future_skew_ms, 90 * 60 * 1000);
}

TEST(ConfigTest, FileSourceNeedsPaths) {
  Config c;
  Diagnostics d;
  EXPECT_FALSE(ParseConfig("source: {type: file}\n", "c.yaml", &c, &d));
  EXPECT_NE(d.ToString().find("source.file.paths"), std::string::npos);
}

TEST(ConfigTest, YamlSyntaxErrorHasAPosition) {
  Config c;
  Diagnostics d;
  EXPECT_FALSE(ParseConfig("source: {type: file\n", "c.yaml", &c, &d));
  EXPECT_NE(d.ToString().find("c.yaml:"), std::string::npos);
  EXPECT_NE(d.ToString().find("YAML syntax error"), std::string::npos);
}

}  // namespace
}  // namespace earshot
