#include "connectors/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "base/yaml_util.h"

namespace earshot {
namespace {

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || dir.empty()) return p;
  return dir + "/" + p;
}

std::optional<TlsVersion> ParseTlsVersion(const std::string& s) {
  if (s == "TLS10") return TlsVersion::kTls10;
  if (s == "TLS11") return TlsVersion::kTls11;
  if (s == "TLS12") return TlsVersion::kTls12;
  if (s == "TLS13") return TlsVersion::kTls13;
  return std::nullopt;
}

std::optional<ClientAuthType> ParseClientAuth(const std::string& s) {
  if (s.empty() || s == "NoClientCert") return ClientAuthType::kNoClientCert;
  if (s == "RequestClientCert") return ClientAuthType::kRequestClientCert;
  // exporter-toolkit accepts "RequireClientCert" as an alias.
  if (s == "RequireAnyClientCert" || s == "RequireClientCert")
    return ClientAuthType::kRequireAnyClientCert;
  if (s == "VerifyClientCertIfGiven") return ClientAuthType::kVerifyClientCertIfGiven;
  if (s == "RequireAndVerifyClientCert") return ClientAuthType::kRequireAndVerifyClientCert;
  return std::nullopt;
}

// Go's curve names -> OpenSSL group names.
std::optional<std::string> ParseCurve(const std::string& s) {
  if (s == "CurveP256") return "P-256";
  if (s == "CurveP384") return "P-384";
  if (s == "CurveP521") return "P-521";
  if (s == "X25519") return "X25519";
  return std::nullopt;
}

// IANA cipher suite name (as Go and exporter-toolkit spell it) -> OpenSSL's
// name, from the ciphers this OpenSSL build offers. TLS 1.3 suites are
// reported as "" (Go ignores cipher_suites for TLS 1.3, and so do we).
std::optional<std::string> OpenSslCipherName(const std::string& iana) {
  if (iana == "TLS_AES_128_GCM_SHA256" || iana == "TLS_AES_256_GCM_SHA384" ||
      iana == "TLS_CHACHA20_POLY1305_SHA256") {
    return std::string();
  }
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free);
  if (!ctx || SSL_CTX_set_cipher_list(ctx.get(), "ALL:@SECLEVEL=0") != 1) return std::nullopt;
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    const char* std_name = SSL_CIPHER_standard_name(c);
    if (std_name != nullptr && iana == std_name) return std::string(SSL_CIPHER_get_name(c));
  }
  return std::nullopt;
}

// exporter-toolkit lets only these response headers be set, some only to
// the listed values.
const std::map<std::string, std::vector<std::string>>& AllowedHeaders() {
  static const auto* m = new std::map<std::string, std::vector<std::string>>{
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  return *m;
}

void CheckReadable(const YAML::Node& node, const std::string& file, const std::string& key,
                   const std::string& path, Diagnostics* d) {
  if (access(path.c_str(), R_OK) != 0) {
    d->Error(LocOf(node, file),
             key + ": cannot read \"" + path + "\": " + std::strerror(errno));
  }
}

void ParseTls(const YAML::Node& t, const std::string& file, const std::string& dir,
              TlsServerConfig* out, Diagnostics* d) {
  static const std::vector<std::string> kKeys = {
      "cert_file",     "key_file",         "client_auth_type",
      "client_ca_file", "min_version",     "max_version",
      "cipher_suites", "curve_preferences", "prefer_server_cipher_suites",
      "client_allowed_sans", "cert", "key", "client_ca"};
  if (t.IsNull()) return;
  if (!CheckKeys(t, kKeys, file, "tls_server_config", d)) return;
  for (const char* inline_key : {"cert", "key", "client_ca"}) {
    if (t[inline_key]) {
      d->Error(LocOf(t[inline_key], file),
               std::string(inline_key) + ": inline PEM is not supported by earshot",
               std::string("use ") + inline_key + "_file with a path instead");
    }
  }
  if (t["cert_file"]) {
    if (auto v = AsString(t["cert_file"], file, "cert_file", d)) out->cert_file = *v;
  }
  if (t["key_file"]) {
    if (auto v = AsString(t["key_file"], file, "key_file", d)) out->key_file = *v;
  }
  const SourceLoc loc = LocOf(t, file);
  if (out->cert_file.empty() && out->key_file.empty()) {
    // exporter-toolkit serves plain HTTP then; anything else set is an error.
    if (t["client_ca_file"] || t["client_auth_type"]) {
      d->Error(loc, "tls_server_config: client certificate settings need cert_file and key_file");
    }
  } else if (out->cert_file.empty()) {
    d->Error(loc, "tls_server_config: missing cert_file (key_file is set)");
  } else if (out->key_file.empty()) {
    d->Error(loc, "tls_server_config: missing key_file (cert_file is set)");
  } else {
    out->enabled = true;
    out->cert_file = Resolve(dir, out->cert_file);
    out->key_file = Resolve(dir, out->key_file);
    CheckReadable(t["cert_file"], file, "cert_file", out->cert_file, d);
    CheckReadable(t["key_file"], file, "key_file", out->key_file, d);
  }
  if (t["client_auth_type"]) {
    if (auto v = AsString(t["client_auth_type"], file, "client_auth_type", d)) {
      if (auto a = ParseClientAuth(*v)) {
        out->client_auth = *a;
      } else {
        d->Error(LocOf(t["client_auth_type"], file),
                 "client_auth_type: unknown value \"" + *v + "\"",
                 "one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
                 "VerifyClientCertIfGiven, RequireAndVerifyClientCert");
      }
    }
  }
  if (t["client_ca_file"]) {
    if (auto v = AsString(t["client_ca_file"], file, "client_ca_file", d)) {
      out->client_ca_file = Resolve(dir, *v);
      if (!v->empty()) CheckReadable(t["client_ca_file"], file, "client_ca_file",
                                     out->client_ca_file, d);
    }
  }
  const bool verifies = out->client_auth == ClientAuthType::kVerifyClientCertIfGiven ||
                        out->client_auth == ClientAuthType::kRequireAndVerifyClientCert;
  if (verifies && out->client_ca_file.empty()) {
    d->Error(loc, "tls_server_config: client_auth_type verifies client certificates but "
                  "client_ca_file is not set");
  }
  if (!out->client_ca_file.empty() && out->client_auth == ClientAuthType::kNoClientCert) {
    d->Error(LocOf(t["client_ca_file"], file),
             "client_ca_file is set without a client_auth_type",
             "set client_auth_type: RequireAndVerifyClientCert (or VerifyClientCertIfGiven)");
  }
  auto version = [&](const char* key, TlsVersion* v, bool* has) {
    if (!t[key]) return;
    auto s = AsString(t[key], file, key, d);
    if (!s) return;
    auto parsed = ParseTlsVersion(*s);
    if (!parsed) {
      d->Error(LocOf(t[key], file), std::string(key) + ": unknown TLS version \"" + *s + "\"",
               "one of TLS12, TLS13");
      return;
    }
    if (*parsed < TlsVersion::kTls12) {
      d->Error(LocOf(t[key], file),
               std::string(key) + ": " + *s + " is not allowed: earshot requires TLS 1.2 or newer",
               "use TLS12 or TLS13");
      return;
    }
    *v = *parsed;
    if (has != nullptr) *has = true;
  };
  version("min_version", &out->min_version, nullptr);
  version("max_version", &out->max_version, &out->has_max_version);
  if (out->has_max_version && out->max_version < out->min_version) {
    d->Error(LocOf(t["max_version"], file), "max_version is lower than min_version");
  }
  if (t["cipher_suites"]) {
    if (auto v = AsStringList(t["cipher_suites"], file, "cipher_suites", d)) {
      out->cipher_suites = *v;
      size_t i = 0;
      for (const auto& name : *v) {
        auto ossl = OpenSslCipherName(name);
        if (!ossl) {
          d->Error(LocOf(t["cipher_suites"][i], file),
                   "cipher_suites: unknown cipher suite \"" + name + "\"",
                   "use IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        } else if (!ossl->empty()) {
          if (!out->openssl_cipher_list.empty()) out->openssl_cipher_list += ':';
          out->openssl_cipher_list += *ossl;
        }
        ++i;
      }
    }
  }
  if (t["curve_preferences"]) {
    if (auto v = AsStringList(t["curve_preferences"], file, "curve_preferences", d)) {
      size_t i = 0;
      for (const auto& name : *v) {
        if (auto c = ParseCurve(name)) {
          out->curve_preferences.push_back(*c);
        } else {
          d->Error(LocOf(t["curve_preferences"][i], file),
                   "curve_preferences: unknown curve \"" + name + "\"",
                   "one of CurveP256, CurveP384, CurveP521, X25519");
        }
        ++i;
      }
    }
  }
  if (t["prefer_server_cipher_suites"]) {
    if (auto v = AsBool(t["prefer_server_cipher_suites"], file, "prefer_server_cipher_suites", d))
      out->prefer_server_cipher_suites = *v;
  }
  if (t["client_allowed_sans"]) {
    if (auto v = AsStringList(t["client_allowed_sans"], file, "client_allowed_sans", d)) {
      out->client_allowed_sans = *v;
      if (!v->empty() && !verifies) {
        d->Error(LocOf(t["client_allowed_sans"], file),
                 "client_allowed_sans needs verified client certificates",
                 "set client_auth_type: RequireAndVerifyClientCert");
      }
    }
  }
}

}  // namespace

bool IsBcryptHash(std::string_view h) {
  // $2b$10$ + 22 salt chars + 31 hash chars = 60.
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9') return false;
  const int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (size_t i = 7; i < h.size(); ++i) {
    const char c = h[i];
    const bool ok = c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ParseWebConfig(const std::string& yaml_text, const std::string& file,
                    const std::string& base_dir, WebConfig* out, Diagnostics* diags) {
  Diagnostics d;
  auto root = LoadYamlString(yaml_text, file, &d);
  if (root) {
    if (root->IsNull()) {
      // An empty file: plain HTTP, no auth (as exporter-toolkit).
    } else if (CheckKeys(*root, {"tls_server_config", "http_server_config", "basic_auth_users"},
                         file, "web config", &d)) {
      const YAML::Node& r = *root;
      if (r["tls_server_config"]) ParseTls(r["tls_server_config"], file, base_dir, &out->tls, &d);
      if (const YAML::Node h = r["http_server_config"]; h && !h.IsNull()) {
        if (CheckKeys(h, {"headers", "http2"}, file, "http_server_config", &d)) {
          if (h["http2"]) (void)AsBool(h["http2"], file, "http2", &d);  // HTTP/1.1 only
          if (const YAML::Node hs = h["headers"]; hs && !hs.IsNull()) {
            if (!hs.IsMap()) {
              d.Error(LocOf(hs, file), "headers: expected a mapping of header to value");
            } else {
              for (const auto& kv : hs) {
                const std::string name = kv.first.Scalar();
                auto value = AsString(kv.second, file, name, &d);
                if (!value) continue;
                auto it = AllowedHeaders().find(name);
                if (it == AllowedHeaders().end()) {
                  d.Error(LocOf(kv.first, file), "headers: HTTP header \"" + name +
                                                     "\" can not be configured",
                          "allowed: Strict-Transport-Security, X-Content-Type-Options, "
                          "X-Frame-Options, X-XSS-Protection, Content-Security-Policy");
                  continue;
                }
                bool allowed = it->second.empty();
                for (const auto& v : it->second) allowed |= (v == *value);
                if (!allowed) {
                  std::string vals;
                  for (const auto& v : it->second) vals += (vals.empty() ? "" : ", ") + v;
                  d.Error(LocOf(kv.second, file),
                          "headers: invalid value \"" + *value + "\" for " + name,
                          "expected one of: " + vals);
                  continue;
                }
                if (value->find_first_of("\r\n") != std::string::npos) {
                  d.Error(LocOf(kv.second, file), "headers: a value may not contain a line break");
                  continue;
                }
                out->headers[name] = *value;
              }
            }
          }
        }
      }
      if (const YAML::Node u = r["basic_auth_users"]; u && !u.IsNull()) {
        if (!u.IsMap()) {
          d.Error(LocOf(u, file), "basic_auth_users: expected a mapping of user to bcrypt hash");
        } else {
          for (const auto& kv : u) {
            const std::string user = kv.first.Scalar();
            auto hash = AsString(kv.second, file, user, &d);
            if (!hash) continue;
            if (user.find(':') != std::string::npos || user.empty()) {
              d.Error(LocOf(kv.first, file), "basic_auth_users: user \"" + user +
                                                 "\" must be non-empty and contain no ':'");
              continue;
            }
            if (!IsBcryptHash(*hash)) {
              d.Error(LocOf(kv.second, file),
                      "basic_auth_users: the password of \"" + user + "\" is not a bcrypt hash",
                      "store a hash ($2b$, $2y$ or $2a$, 60 characters), e.g. from "
                      "`htpasswd -nBC 10 \"\" | tr -d ':\\n'`");
              continue;
            }
            out->basic_auth_users[user] = *hash;
          }
        }
      }
    }
  }
  diags->Append(d);
  return d.ok();
}

bool LoadWebConfig(const std::string& path, WebConfig* out, Diagnostics* diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags->Error(SourceLoc{path, 0, 0}, std::string("cannot open web config: ") +
                                            std::strerror(errno));
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseWebConfig(ss.str(), path, DirOf(path), out, diags);
}

bool DecodeBase64(std::string_view in, std::string* out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else {
        if (pad > 0) return false;  // data after padding
        v[k] = val(c);
        if (v[k] < 0) return false;
      }
    }
    const uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out->push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

BasicAuthChecker::BasicAuthChecker(std::map<std::string, std::string> users)
    : users_(std::move(users)) {
  // A hash of the same cost as a real one, so that unknown users take as long.
  std::string cost = users_.empty() ? "10" : users_.begin()->second.substr(4, 2);
  dummy_hash_ = "$2b$" + cost + "$" + std::string(53, '.');
  dummy_hash_[dummy_hash_.size() - 1] = 'O';  // a valid final hash character
}

bool BasicAuthChecker::Check(const char* header) {
  if (header == nullptr) return false;
  std::string_view h(header);
  constexpr std::string_view kScheme = "Basic ";
  if (h.size() < kScheme.size() || strncasecmp(h.data(), "basic ", kScheme.size()) != 0)
    return false;
  h.remove_prefix(kScheme.size());
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  if (h.size() > 4096) return false;  // no credential is this long
  std::string decoded;
  if (!DecodeBase64(h, &decoded)) return false;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  return CheckUserPassword(std::string_view(decoded).substr(0, colon),
                           std::string_view(decoded).substr(colon + 1));
}

bool BasicAuthChecker::CheckUserPassword(std::string_view user, std::string_view password) {
  auto it = users_.find(std::string(user));
  const std::string& hash = it == users_.end() ? dummy_hash_ : it->second;
  // Cache key: SHA-256(user NUL hash NUL password): no password kept in memory.
  std::string material;
  material.reserve(user.size() + hash.size() + password.size() + 2);
  material.append(user).push_back('\0');
  material.append(hash).push_back('\0');
  material.append(password);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(material.data(), material.size(), digest, &digest_len, EVP_sha256(), nullptr);
  OPENSSL_cleanse(material.data(), material.size());
  std::string key(reinterpret_cast<char*>(digest), digest_len);
  if (it != users_.end()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.count(key) != 0) return true;
  }
  // bcrypt reads at most 72 bytes and stops at NUL; a password with a NUL
  // byte would otherwise match its prefix.
  if (password.find('\0') != std::string_view::npos) return false;
  bool ok = false;
  {
    std::lock_guard<std::mutex> lock(bcrypt_mu_);
    crypt_data data;
    std::memset(&data, 0, sizeof(data));
    const std::string pw(password);
    const char* result = crypt_r(pw.c_str(), hash.c_str(), &data);
    ok = result != nullptr && result[0] != '*' && std::strlen(result) == hash.size() &&
         CRYPTO_memcmp(result, hash.data(), hash.size()) == 0;
    OPENSSL_cleanse(&data, sizeof(data));
  }
  ok = ok && it != users_.end();
  if (ok) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kMaxCache) cache_.clear();
    cache_.insert(std::move(key));
  }
  return ok;
}

}  // namespace earshot
