#pragma once
// The HTTP listener's security settings, read from a Prometheus web-config
// file exactly as Prometheus's exporters (exporter-toolkit) read it:
//
//   tls_server_config:
//     cert_file: server.crt          # PEM; the chain may follow the leaf
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt
//     min_version: TLS12             # TLS12 (default) | TLS13; TLS10/TLS11 refused
//     max_version: TLS13
//     cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]   # IANA names, TLS <= 1.2
//     curve_preferences: [X25519, CurveP256]
//     prefer_server_cipher_suites: true
//     client_allowed_sans: [client.example]
//   http_server_config:
//     headers: {Strict-Transport-Security: max-age=31536000}
//     http2: true                    # accepted; earshot serves HTTP/1.1
//   basic_auth_users:
//     prometheus: $2b$10$...         # bcrypt hash
//
// Unknown keys, unknown enum values, bad hashes, missing or unreadable files
// are compiler-style file:line:col errors, all reported at once. Relative
// file paths are resolved against the web-config file's directory (as the
// exporters do). Plain values, thread-compatible.
//
// BasicAuthChecker verifies `Authorization: Basic` headers against the
// hashes; it is thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/diagnostics.h"

namespace earshot {

enum class ClientAuthType {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

// TLS protocol versions as exporter-toolkit spells them.
enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };

struct TlsServerConfig {
  bool enabled = false;  // tls_server_config present with a certificate
  std::string cert_file;
  std::string key_file;
  ClientAuthType client_auth = ClientAuthType::kNoClientCert;
  std::string client_ca_file;
  TlsVersion min_version = TlsVersion::kTls12;
  bool has_max_version = false;
  TlsVersion max_version = TlsVersion::kTls13;
  std::vector<std::string> cipher_suites;      // IANA names, as Go spells them
  std::string openssl_cipher_list;             // the same in OpenSSL's names, ':'-joined
  std::vector<std::string> curve_preferences;  // OpenSSL group names (P-256, X25519, ...)
  bool prefer_server_cipher_suites = true;
  std::vector<std::string> client_allowed_sans;
};

struct WebConfig {
  TlsServerConfig tls;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  std::map<std::string, std::string> headers;           // extra response headers
  bool auth_enabled() const { return !basic_auth_users.empty(); }
};

// Parses and validates a web-config file; certificate, key and CA files must
// exist and be readable (their contents are checked when the server builds
// its TLS context). Returns false with diagnostics on any error.
bool LoadWebConfig(const std::string& path, WebConfig* out, Diagnostics* diags);
// The same from text; `file` names it in diagnostics and relative paths are
// resolved against `base_dir`.
bool ParseWebConfig(const std::string& yaml_text, const std::string& file,
                    const std::string& base_dir, WebConfig* out, Diagnostics* diags);

// Whether `hash` looks like a bcrypt hash ($2a$, $2b$ or $2y$, cost 4..31).
bool IsBcryptHash(std::string_view hash);

// Checks `Authorization: Basic` values against bcrypt hashes. bcrypt costs
// tens of milliseconds by design, so successful checks are cached (keyed by a
// SHA-256 of user, password and hash; the password itself is never stored)
// and the bcrypt computations themselves are serialized so that a flood of
// wrong passwords costs one core at most. An unknown user still costs one
// bcrypt run, so timing does not reveal which users exist. Thread-safe.
class BasicAuthChecker {
 public:
  explicit BasicAuthChecker(std::map<std::string, std::string> users);
  // `header` is the Authorization header's value (may be null or empty).
  bool Check(const char* header);
  // Checks one user/password pair.
  bool CheckUserPassword(std::string_view user, std::string_view password);

 private:
  static constexpr size_t kMaxCache = 1024;
  std::map<std::string, std::string> users_;
  std::string dummy_hash_;  // compared against for unknown users
  std::mutex bcrypt_mu_;    // serializes crypt_r
  std::mutex cache_mu_;
  std::unordered_set<std::string> cache_;  // SHA-256 digests of successful checks
};

// Decodes standard base64 (with padding); std::nullopt-like empty + false on error.
bool DecodeBase64(std::string_view in, std::string* out);

}  // namespace earshot
