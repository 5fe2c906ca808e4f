#include "connectors/web_config.h"

#include <crypt.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace earshot {
namespace {

// A bcrypt hash of `password` at cost 4 (fast), from libxcrypt.
std::string Bcrypt(const std::string& password) {
  crypt_data data{};
  const char* salt = crypt_gensalt_rn("$2b$", 4, nullptr, 0, data.setting, sizeof(data.setting));
  EXPECT_NE(salt, nullptr);
  const char* h = crypt_rn(password.c_str(), salt, &data, sizeof(data));
  EXPECT_NE(h, nullptr);
  return h == nullptr ? "" : h;
}

class WebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/earshot-webcfg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Write("tls.crt", "dummy");
    Write("tls.key", "dummy");
    Write("ca.crt", "dummy");
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string Errors(const std::string& yaml) {
    WebConfig cfg;
    Diagnostics d;
    EXPECT_FALSE(ParseWebConfig(yaml, "web.yml", dir_, &cfg, &d)) << yaml;
    return d.ToString();
  }
  WebConfig Parse(const std::string& yaml) {
    WebConfig cfg;
    Diagnostics d;
    EXPECT_TRUE(ParseWebConfig(yaml, "web.yml", dir_, &cfg, &d)) << d.ToString();
    return cfg;
  }
  std::string dir_;
};

TEST_F(WebConfigTest, EmptyFileIsPlainHttpWithoutAuth) {
  WebConfig cfg = Parse("");
  EXPECT_FALSE(cfg.tls.enabled);
  EXPECT_FALSE(cfg.auth_enabled());
}

TEST_F(WebConfigTest, FullTlsConfigResolvesRelativePaths) {
  WebConfig cfg = Parse(R"(
tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
  client_allowed_sans: [scraper.example]
http_server_config:
  headers: {X-Frame-Options: deny, Strict-Transport-Security: max-age=60}
  http2: true
)");
  EXPECT_TRUE(cfg.tls.enabled);
  EXPECT_EQ(cfg.tls.cert_file, dir_ + "/tls.crt");
  EXPECT_EQ(cfg.tls.client_ca_file, dir_ + "/ca.crt");
  EXPECT_EQ(cfg.tls.client_auth, ClientAuthType::kRequireAndVerifyClientCert);
  EXPECT_EQ(cfg.tls.min_version, TlsVersion::kTls13);
  EXPECT_TRUE(cfg.tls.has_max_version);
  EXPECT_EQ(cfg.tls.openssl_cipher_list, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(cfg.tls.curve_preferences, (std::vector<std::string>{"X25519", "P-256"}));
  EXPECT_FALSE(cfg.tls.prefer_server_cipher_suites);
  EXPECT_EQ(cfg.headers.at("X-Frame-Options"), "deny");
  EXPECT_EQ(cfg.headers.size(), 2u);
}

TEST_F(WebConfigTest, DefaultsAreTls12AndNoClientCert) {
  WebConfig cfg = Parse("tls_server_config: {cert_file: tls.crt, key_file: tls.key}\n");
  EXPECT_EQ(cfg.tls.min_version, TlsVersion::kTls12);
  EXPECT_FALSE(cfg.tls.has_max_version);
  EXPECT_EQ(cfg.tls.client_auth, ClientAuthType::kNoClientCert);
}

TEST_F(WebConfigTest, ErrorsAreCompilerStyleAndAllReported) {
  std::string e = Errors(R"(tls_server_config:
  cert_file: missing.crt
  key_file: tls.key
  min_version: TLS10
  client_auth_type: Sometimes
  cipher_suites: [TLS_NOPE]
  curve_preferences: [CurveP999]
basic_auth_user: {}
)");
  EXPECT_NE(e.find("web.yml:2:14: cert_file: cannot read \"" + dir_ + "/missing.crt\""),
            std::string::npos) << e;
  EXPECT_NE(e.find("web.yml:4:16: min_version: TLS10 is not allowed"), std::string::npos) << e;
  EXPECT_NE(e.find("web.yml:5:21: client_auth_type: unknown value \"Sometimes\""),
            std::string::npos) << e;
  EXPECT_NE(e.find("web.yml:6:19: cipher_suites: unknown cipher suite \"TLS_NOPE\""),
            std::string::npos) << e;
  EXPECT_NE(e.find("web.yml:7:23: curve_preferences: unknown curve"), std::string::npos) << e;
  EXPECT_NE(e.find("web.yml:8:1: unknown key \"basic_auth_user\" (did you mean "
                   "\"basic_auth_users\"?)"), std::string::npos) << e;
}

TEST_F(WebConfigTest, InconsistentTlsSettings) {
  EXPECT_NE(Errors("tls_server_config: {cert_file: tls.crt}\n").find("missing key_file"),
            std::string::npos);
  EXPECT_NE(Errors("tls_server_config: {key_file: tls.key}\n").find("missing cert_file"),
            std::string::npos);
  EXPECT_NE(Errors("tls_server_config: {cert_file: tls.crt, key_file: tls.key, "
                   "client_auth_type: RequireAndVerifyClientCert}\n")
                .find("client_ca_file is not set"),
            std::string::npos);
  EXPECT_NE(Errors("tls_server_config: {cert_file: tls.crt, key_file: tls.key, "
                   "client_ca_file: ca.crt}\n")
                .find("without a client_auth_type"),
            std::string::npos);
  EXPECT_NE(Errors("tls_server_config: {cert_file: tls.crt, key_file: tls.key, "
                   "min_version: TLS13, max_version: TLS12}\n")
                .find("max_version is lower than min_version"),
            std::string::npos);
  EXPECT_NE(Errors("tls_server_config: {cert: abc}\n").find("inline PEM is not supported"),
            std::string::npos);
}

TEST_F(WebConfigTest, HeadersAreRestrictedAsInExporterToolkit) {
  EXPECT_NE(Errors("http_server_config: {headers: {Set-Cookie: a}}\n")
                .find("HTTP header \"Set-Cookie\" can not be configured"),
            std::string::npos);
  EXPECT_NE(Errors("http_server_config: {headers: {X-Frame-Options: allow}}\n")
                .find("invalid value \"allow\" for X-Frame-Options"),
            std::string::npos);
  EXPECT_NE(Errors("http_server_config: {headers: {X-XSS-Protection: \"1\\r\\nX: y\"}}\n")
                .find("line break"),
            std::string::npos);
}

TEST_F(WebConfigTest, BasicAuthUsersNeedBcryptHashes) {
  const std::string good = Bcrypt("pw");
  WebConfig cfg = Parse("basic_auth_users:\n  alice: " + good + "\n");
  EXPECT_TRUE(cfg.auth_enabled());
  EXPECT_EQ(cfg.basic_auth_users.at("alice"), good);
  std::string e = Errors("basic_auth_users:\n  alice: plain\n  bob: $1$abc$def\n");
  EXPECT_NE(e.find("web.yml:2:10: basic_auth_users: the password of \"alice\" is not a bcrypt"),
            std::string::npos) << e;
  EXPECT_NE(e.find("web.yml:3:8:"), std::string::npos) << e;
  EXPECT_NE(Errors("basic_auth_users: [alice]\n").find("expected a mapping"), std::string::npos);
}

TEST(BcryptHashTest, Shape) {
  EXPECT_TRUE(IsBcryptHash("$2b$10$1JOWWw3hRieCRNy8OH5KQOeW9xru5BfVRQQM1Kc3w7sLuV9CbT9vC"));
  EXPECT_TRUE(IsBcryptHash("$2y$04$1JOWWw3hRieCRNy8OH5KQOeW9xru5BfVRQQM1Kc3w7sLuV9CbT9vC"));
  EXPECT_FALSE(IsBcryptHash("$2x$10$1JOWWw3hRieCRNy8OH5KQOeW9xru5BfVRQQM1Kc3w7sLuV9CbT9vC"));
  EXPECT_FALSE(IsBcryptHash("$2b$03$1JOWWw3hRieCRNy8OH5KQOeW9xru5BfVRQQM1Kc3w7sLuV9CbT9vC"));
  EXPECT_FALSE(IsBcryptHash("$2b$10$1JOWWw3hRieCRNy8OH5KQOeW9xru5BfVRQQM1Kc3w7sLuV9CbT9v"));
  EXPECT_FALSE(IsBcryptHash("$2b$10$1JOWWw3hRieCRNy8OH5KQOeW9xru5BfVRQQM1Kc3w7sLuV9CbT9v!"));
}

TEST(Base64Test, DecodesAndRejects) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("YWxpY2U6cHc=", &out));
  EXPECT_EQ(out, "alice:pw");
  EXPECT_TRUE(DecodeBase64("YQ==", &out));
  EXPECT_EQ(out, "a");
  EXPECT_TRUE(DecodeBase64("", &out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(DecodeBase64("YQ=", &out));
  EXPECT_FALSE(DecodeBase64("Y=Q=", &out));
  EXPECT_FALSE(DecodeBase64("YQ==YQ==", &out));
  EXPECT_FALSE(DecodeBase64("a$b%", &out));
}

std::string Header(const std::string& user_pass) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < user_pass.size(); i += 3) {
    uint32_t n = (uint8_t(user_pass[i]) << 16) | (uint8_t(user_pass[i + 1]) << 8) |
                 uint8_t(user_pass[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(n >> (6 * k)) & 63]);
  }
  if (i + 1 == user_pass.size()) {
    uint32_t n = uint8_t(user_pass[i]) << 16;
    out += std::string{kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == user_pass.size()) {
    uint32_t n = (uint8_t(user_pass[i]) << 16) | (uint8_t(user_pass[i + 1]) << 8);
    out += std::string{kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63],
                       kAlphabet[(n >> 6) & 63], '='};
  }
  return "Basic " + out;
}

TEST(BasicAuthCheckerTest, ChecksUsersAndPasswords) {
  BasicAuthChecker auth({{"alice", Bcrypt("s3cret:pw")}, {"bob", Bcrypt("other")}});
  for (int round = 0; round < 2; ++round) {  // second round hits the cache
    EXPECT_TRUE(auth.Check(Header("alice:s3cret:pw").c_str()));
    EXPECT_TRUE(auth.Check(Header("bob:other").c_str()));
  }
  EXPECT_TRUE(auth.Check(("basic " + Header("alice:s3cret:pw").substr(6)).c_str()));
  EXPECT_FALSE(auth.Check(Header("alice:s3cret:p").c_str()));
  EXPECT_FALSE(auth.Check(Header("alice:other").c_str()));   // bob's password
  EXPECT_FALSE(auth.Check(Header("carol:other").c_str()));   // unknown user
  EXPECT_FALSE(auth.Check(Header("Alice:s3cret:pw").c_str()));
  EXPECT_FALSE(auth.Check(Header("alices3cret:pw").c_str()));
  EXPECT_FALSE(auth.Check(Header("alice").c_str()));
  EXPECT_FALSE(auth.Check(nullptr));
  EXPECT_FALSE(auth.Check(""));
  EXPECT_FALSE(auth.Check("Bearer abc"));
  EXPECT_FALSE(auth.Check("Basic !!!!"));
  // A NUL byte must not truncate the password to a valid prefix.
  EXPECT_FALSE(auth.CheckUserPassword("alice", std::string("s3cret:pw\0x", 11)));
}

}  // namespace
}  // namespace earshot
