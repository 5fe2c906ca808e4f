// ${file:PATH} and ${env:NAME} in source.kafka.properties (pipeline/config.cc,
// docs/kafka.md): expansion, errors with file:line:col, and which secret
// properties count as written inline.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "pipeline/config.h"

namespace earshot {
namespace {

namespace fs = std::filesystem;

class ConfigReferencesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("config_refs_" + std::string(::testing::UnitTest::GetInstance()
                                             ->current_test_info()
                                             ->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    unsetenv("EARSHOT_TEST_SECRET");
  }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }

  // A config whose properties are `props` (YAML lines, 6 spaces indented),
  // parsed as if it were <dir_>/earshot.yaml.
  bool Parse(const std::string& props, Config* c, Diagnostics* d) {
    std::string yaml =
        "source:\n"
        "  type: kafka\n"
        "  kafka:\n"
        "    properties:\n" +
        props;
    return ParseConfig(yaml, (dir_ / "earshot.yaml").string(), c, d);
  }

  fs::path dir_;
};

TEST_F(ConfigReferencesTest, FileReferenceReadsTheFileWithoutItsTrailingNewline) {
  Write("password", "s3cret\n");
  Config c;
  Diagnostics d;
  ASSERT_TRUE(Parse("      sasl.password: \"${file:" + (dir_ / "password").string() + "}\"\n",
                    &c, &d))
      << d.ToString();
  EXPECT_EQ(c.source.kafka.properties.at("sasl.password"), "s3cret");
  EXPECT_TRUE(c.source.kafka.inline_secrets.empty());
}

TEST_F(ConfigReferencesTest, RelativeFileReferenceIsTakenFromTheConfigDirectory) {
  Write("key-password", "k\r\n");
  Config c;
  Diagnostics d;
  ASSERT_TRUE(Parse("      ssl.key.password: ${file:key-password}\n", &c, &d)) << d.ToString();
  EXPECT_EQ(c.source.kafka.properties.at("ssl.key.password"), "k");
}

TEST_F(ConfigReferencesTest, EnvReferenceAndLiteralDollars) {
  setenv("EARSHOT_TEST_SECRET", "from-env", 1);
  Config c;
  Diagnostics d;
  ASSERT_TRUE(Parse("      sasl.password: ${env:EARSHOT_TEST_SECRET}\n"
                    "      sasl.username: \"a$b$${c}\"\n"
                    "      client.id: \"x-${env:EARSHOT_TEST_SECRET}-y\"\n",
                    &c, &d))
      << d.ToString();
  EXPECT_EQ(c.source.kafka.properties.at("sasl.password"), "from-env");
  EXPECT_EQ(c.source.kafka.properties.at("sasl.username"), "a$b${c}");
  EXPECT_EQ(c.source.kafka.properties.at("client.id"), "x-from-env-y");
  EXPECT_TRUE(c.source.kafka.inline_secrets.empty());
}

TEST_F(ConfigReferencesTest, InlineSecretsAreListed) {
  Config c;
  Diagnostics d;
  ASSERT_TRUE(Parse("      sasl.password: hunter2\n"
                    "      ssl.key.password: k\n"
                    "      sasl.oauthbearer.client.secret: s\n"
                    "      sasl.username: alice\n"
                    "      ssl.ca.location: /etc/ca.pem\n",
                    &c, &d))
      << d.ToString();
  EXPECT_EQ(c.source.kafka.inline_secrets,
            (std::vector<std::string>{"sasl.password", "ssl.key.password",
                                      "sasl.oauthbearer.client.secret"}));
  EXPECT_EQ(c.source.kafka.properties.at("sasl.password"), "hunter2");
}

TEST_F(ConfigReferencesTest, EveryBadReferenceIsAnErrorAtItsValue) {
  Write("empty", "\n");
  unsetenv("EARSHOT_TEST_SECRET");
  Config c;
  Diagnostics d;
  const std::string missing = (dir_ / "missing").string();
  EXPECT_FALSE(Parse("      sasl.password: ${file:" + missing + "}\n"      // line 5
                     "      ssl.key.password: ${env:EARSHOT_TEST_SECRET}\n"  // line 6
                     "      a.b: ${vault:x}\n"                               // line 7
                     "      c.d: \"${file:empty}\"\n"                        // line 8
                     "      e.f: ${file:" + dir_.string() + "}\n"            // line 9
                     "      g.h: \"x${env:\"\n",                             // line 10
                     &c, &d));
  const std::string cfg = (dir_ / "earshot.yaml").string();
  ASSERT_EQ(d.errors().size(), 6u) << d.ToString();
  EXPECT_EQ(d.errors()[0].ToString(), cfg + ":5:22: sasl.password: ${file:" + missing +
                                          "}: cannot read " + missing +
                                          ": No such file or directory");
  EXPECT_EQ(d.errors()[1].ToString(), cfg + ":6:25: ssl.key.password: ${env:EARSHOT_TEST_SECRET}: "
                                          "environment variable EARSHOT_TEST_SECRET is not set");
  EXPECT_EQ(d.errors()[2].loc.line, 7);
  EXPECT_NE(d.errors()[2].message.find("unknown reference ${vault:x}"), std::string::npos);
  EXPECT_NE(d.errors()[2].hint.find("${file:/path} or ${env:NAME}"), std::string::npos);
  EXPECT_EQ(d.errors()[3].ToString(),
            cfg + ":8:12: c.d: ${file:empty}: " + (dir_ / "empty").string() + " is empty");
  EXPECT_NE(d.errors()[4].message.find("is not a regular file"), std::string::npos);
  EXPECT_EQ(d.errors()[4].loc.line, 9);
  EXPECT_NE(d.errors()[5].message.find("unterminated"), std::string::npos);
  EXPECT_EQ(d.errors()[5].loc.line, 10);
}

TEST_F(ConfigReferencesTest, EmptyEnvironmentVariableIsAnError) {
  setenv("EARSHOT_TEST_SECRET", "", 1);
  Config c;
  Diagnostics d;
  EXPECT_FALSE(Parse("      sasl.password: ${env:EARSHOT_TEST_SECRET}\n", &c, &d));
  ASSERT_EQ(d.errors().size(), 1u);
  EXPECT_NE(d.errors()[0].message.find("EARSHOT_TEST_SECRET is empty"), std::string::npos);
}

}  // namespace
}  // namespace earshot
