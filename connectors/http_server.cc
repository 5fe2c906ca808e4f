#include "connectors/http_server.h"

#include <civetweb.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/log.h"
#include "connectors/web_config.h"

namespace earshot {
namespace {

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(const char* qs) {
  std::map<std::string, std::string> out;
  if (qs == nullptr) return out;
  std::string_view q(qs);
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    if (!part.empty()) {
      std::string key = UrlDecode(part.substr(0, eq));
      std::string val = eq == std::string_view::npos ? "" : UrlDecode(part.substr(eq + 1));
      out.emplace(std::move(key), std::move(val));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "OK";
}

std::string OpenSslError() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

int TlsProto(TlsVersion v) {
  switch (v) {
    case TlsVersion::kTls10: return TLS1_VERSION;
    case TlsVersion::kTls11: return TLS1_1_VERSION;
    case TlsVersion::kTls12: return TLS1_2_VERSION;
    case TlsVersion::kTls13: return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// Where the TLS settings live for the verify callback (SSL_CTX ex_data).
int TlsConfigIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Does the leaf certificate carry one of `allowed` as a SAN (DNS, email, IP
// or URI), compared exactly as exporter-toolkit does?
bool HasAllowedSan(X509* cert, const std::vector<std::string>& allowed) {
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (n->type == GEN_DNS || n->type == GEN_EMAIL || n->type == GEN_URI) {
      const ASN1_IA5STRING* s = n->d.ia5;
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   ASN1_STRING_length(s));
    } else if (n->type == GEN_IPADD) {
      // The address as Go prints it (inet_ntop's canonical form).
      const ASN1_OCTET_STRING* ip = n->d.ip;
      char buf[INET6_ADDRSTRLEN] = {0};
      const int len = ASN1_STRING_length(ip);
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), buf,
                    sizeof(buf)) != nullptr) {
        value = buf;
      }
    }
    for (const auto& a : allowed) found |= (a == value);
  }
  GENERAL_NAMES_free(names);
  return found;
}

int VerifyCallback(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return preverify_ok;
  auto* tls = static_cast<const TlsServerConfig*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), TlsConfigIndex()));
  if (tls == nullptr) return preverify_ok;
  // Request/RequireAny: a certificate is asked for but not verified.
  if (tls->client_auth == ClientAuthType::kRequestClientCert ||
      tls->client_auth == ClientAuthType::kRequireAnyClientCert) {
    return 1;
  }
  if (!preverify_ok) return 0;
  if (X509_STORE_CTX_get_error_depth(store) == 0 && !tls->client_allowed_sans.empty()) {
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (cert == nullptr || !HasAllowedSan(cert, tls->client_allowed_sans)) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
      return 0;
    }
  }
  return 1;
}

// Applies the web-config's TLS settings to `ctx` (civetweb's, or a scratch
// one made to validate the files before the listener starts). `tls` must
// outlive `ctx`.
Status ConfigureTls(SSL_CTX* ctx, const TlsServerConfig* tls) {
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file.c_str()) != 1) {
    return Status::Error("cert_file " + tls->cert_file + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::Error("key_file " + tls->key_file + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Error("key_file " + tls->key_file + " does not match cert_file " +
                         tls->cert_file + ": " + OpenSslError());
  }
  // civetweb may have set SSL_OP_NO_* protocol options; the min/max versions
  // below are the single source of truth.
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3);
  if (SSL_CTX_set_min_proto_version(ctx, TlsProto(tls->min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, tls->has_max_version ? TlsProto(tls->max_version) : 0) !=
          1) {
    return Status::Error("cannot set TLS versions: " + OpenSslError());
  }
  if (!tls->openssl_cipher_list.empty() &&
      SSL_CTX_set_cipher_list(ctx, tls->openssl_cipher_list.c_str()) != 1) {
    return Status::Error("cipher_suites: " + OpenSslError());
  }
  if (!tls->curve_preferences.empty()) {
    std::string groups;
    for (const auto& g : tls->curve_preferences) groups += (groups.empty() ? "" : ":") + g;
    if (SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1) {
      return Status::Error("curve_preferences: " + OpenSslError());
    }
  }
  if (tls->prefer_server_cipher_suites) {
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  } else {
    SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  int mode = SSL_VERIFY_NONE;
  switch (tls->client_auth) {
    case ClientAuthType::kNoClientCert:
      break;
    case ClientAuthType::kRequestClientCert:
    case ClientAuthType::kVerifyClientCertIfGiven:
      mode = SSL_VERIFY_PEER;
      break;
    case ClientAuthType::kRequireAnyClientCert:
    case ClientAuthType::kRequireAndVerifyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
  }
  if (!tls->client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls->client_ca_file.c_str(), nullptr) != 1) {
      return Status::Error("client_ca_file " + tls->client_ca_file + ": " + OpenSslError());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls->client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
  }
  SSL_CTX_set_ex_data(ctx, TlsConfigIndex(), const_cast<TlsServerConfig*>(tls));
  SSL_CTX_set_verify(ctx, mode, mode == SSL_VERIFY_NONE ? nullptr : &VerifyCallback);
  static const unsigned char kSessionId[] = "earshot";
  SSL_CTX_set_session_id_context(ctx, kSessionId, sizeof(kSessionId) - 1);
  return Status::Ok();
}

// civetweb (Debian 12's 1.15) loads OpenSSL at run time with
// dlopen("libssl.so") / dlopen("libcrypto.so") and dlsym: the unversioned
// names exist only with libssl-dev, and with OpenSSL 3 one function it calls
// after every handshake (SSL_get_peer_certificate) is missing, a null pointer.
// earshot ships stand-ins with those sonames (connectors/tls_shim/); loading
// them by path first makes civetweb's dlopen find them by soname.
std::string ExeDir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

Status LoadTlsLibraries() {
  static std::mutex mu;
  static bool loaded = false;
  std::lock_guard<std::mutex> lock(mu);
  if (loaded) return Status::Ok();
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("EARSHOT_LIB_DIR"); env != nullptr && *env != '\0') {
    dirs.push_back(env);
  }
  if (std::string exe = ExeDir(); !exe.empty()) dirs.push_back(exe + "/../lib/earshot");
#ifdef EARSHOT_TLS_SHIM_DIR
  dirs.push_back(EARSHOT_TLS_SHIM_DIR);
#endif
  dirs.push_back("/usr/local/lib/earshot");
  dirs.push_back("/usr/lib/earshot");
  std::string tried;
  for (const auto& dir : dirs) {
    const std::string crypto = dir + "/libcrypto.so";
    const std::string ssl = dir + "/libssl.so";
    if (access(ssl.c_str(), R_OK) != 0 || access(crypto.c_str(), R_OK) != 0) {
      tried += " " + dir;
      continue;
    }
    void* hc = dlopen(crypto.c_str(), RTLD_NOW | RTLD_GLOBAL);
    void* hs = hc == nullptr ? nullptr : dlopen(ssl.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (hs == nullptr) {
      const char* err = dlerror();
      return Status::Error("TLS: cannot load " + ssl + ": " + (err ? err : "?"));
    }
    break;
  }
  // Whatever "libssl.so" now resolves to (our stand-in, or a system library
  // with the function) must have every function civetweb will call.
  void* h = dlopen("libssl.so", RTLD_NOW);
  if (h == nullptr || dlsym(h, "SSL_get_peer_certificate") == nullptr ||
      dlopen("libcrypto.so", RTLD_NOW) == nullptr) {
    return Status::Error(
        "TLS: civetweb needs earshot's OpenSSL stand-ins lib/earshot/libssl.so and "
        "libcrypto.so beside the binary (../lib/earshot/ from it, or $EARSHOT_LIB_DIR); "
        "looked in:" + tried);
  }
  // civetweb 1.15 returns 0 from its first mg_init_library call even when
  // TLS came up, so the result is not checked; a failure shows in mg_start.
  (void)mg_init_library(MG_FEATURES_TLS);
  loaded = true;
  return Status::Ok();
}

class CivetHttpServer : public HttpServer {
 public:
  explicit CivetHttpServer(const HttpServerOptions& options) : options_(options) {}
  ~CivetHttpServer() override { Stop(); }

  void Handle(const std::string& path, HttpHandler handler, bool open) override {
    routes_[path] = Route{std::move(handler), open};
  }

  Status Start() override {
    if (!options_.web_config.empty()) {
      Diagnostics diags;
      if (!LoadWebConfig(options_.web_config, &web_, &diags)) {
        std::string msg = diags.ToString();
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        return Status::Error("invalid web config:\n" + msg);
      }
      if (web_.auth_enabled()) auth_ = std::make_unique<BasicAuthChecker>(web_.basic_auth_users);
      if (web_.tls.enabled) {
        if (Status st = LoadTlsLibraries(); !st.ok()) return st;
        // Build a scratch context first: bad certificates, keys or ciphers
        // are clear start-up errors rather than a failed handshake later.
        std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> scratch(SSL_CTX_new(TLS_server_method()),
                                                                  &SSL_CTX_free);
        if (!scratch) return Status::Error("TLS: " + OpenSslError());
        if (Status st = ConfigureTls(scratch.get(), &web_.tls); !st.ok()) {
          return Status::Error(options_.web_config + ": " + st.message());
        }
      }
    }
    std::string listen = options_.listen;
    if (!listen.empty() && listen[0] == ':') listen = listen.substr(1);
    if (web_.tls.enabled) listen += "s";  // civetweb: an "s" suffix makes the port TLS
    // civetweb wants "port" or "ip:port"; IPv6 "[::1]:9464" is "[::1]:9464" too.
    std::string threads = std::to_string(options_.threads);
    std::vector<const char*> opts = {"listening_ports", listen.c_str(), "num_threads",
                                     threads.c_str(), "request_timeout_ms", "10000",
                                     "enable_keep_alive", "yes"};
    opts.push_back(nullptr);
    mg_callbacks callbacks;
    std::memset(&callbacks, 0, sizeof(callbacks));
    callbacks.log_message = [](const mg_connection*, const char* msg) { return 1; };
    if (web_.tls.enabled) {
      callbacks.init_ssl = [](void* ssl_ctx, void* user_data) -> int {
        auto* self = static_cast<CivetHttpServer*>(user_data);
        Status st = ConfigureTls(static_cast<SSL_CTX*>(ssl_ctx), &self->web_.tls);
        if (!st.ok()) {
          self->tls_error_ = st.message();
          return -1;
        }
        return 1;  // certificate and verification set up here
      };
    }
    ctx_ = mg_start(&callbacks, this, opts.data());
    if (ctx_ == nullptr) {
      if (!tls_error_.empty()) return Status::Error("TLS: " + tls_error_);
      if (web_.tls.enabled) {
        return Status::Error("cannot listen with TLS on " + options_.listen +
                             " (address in use or invalid, or civetweb could not load OpenSSL)");
      }
      return Status::Error("cannot listen on " + options_.listen +
                           " (address in use or invalid?)");
    }
    mg_set_request_handler(ctx_, "/", &CivetHttpServer::Dispatch, this);
    mg_server_port ports[4];
    int n = mg_get_server_ports(ctx_, 4, ports);
    if (n > 0) port_ = ports[0].port;
    return Status::Ok();
  }

  int port() const override { return port_; }

  void Stop() override {
    if (ctx_ != nullptr) {
      mg_stop(ctx_);
      ctx_ = nullptr;
    }
  }

 private:
  struct Route {
    HttpHandler handler;
    bool open = false;
  };

  static int Dispatch(mg_connection* conn, void* cbdata) {
    auto* self = static_cast<CivetHttpServer*>(cbdata);
    const mg_request_info* ri = mg_get_request_info(conn);
    HttpRequest req;
    req.method = ri->request_method ? ri->request_method : "GET";
    req.path = ri->local_uri ? ri->local_uri : "/";
    req.query = ParseQuery(ri->query_string);
    HttpResponse resp;
    auto it = self->routes_.find(req.path);
    const bool open = it != self->routes_.end() && it->second.open;
    std::string extra_headers;
    for (const auto& [name, value] : self->web_.headers) {
      extra_headers += name + ": " + value + "\r\n";
    }
    if (!open && self->auth_ != nullptr && !self->auth_->Check(mg_get_header(conn, "Authorization"))) {
      // Everything but the open probes needs a user, unknown paths included
      // (as exporter-toolkit does), so 404s reveal nothing.
      resp.status = 401;
      resp.body = "Unauthorized\n";
      extra_headers += "WWW-Authenticate: Basic realm=\"earshot\"\r\n";
    } else if (it == self->routes_.end()) {
      resp.status = 404;
      resp.body = "not found\n";
    } else if (req.method != "GET" && req.method != "HEAD") {
      resp.status = 405;
      resp.body = "method not allowed\n";
    } else {
      resp = it->second.handler(req);
    }
    const bool head_only = req.method == "HEAD";
    const bool http10 = ri->http_version != nullptr && std::strcmp(ri->http_version, "1.0") == 0;
    if (resp.stream && !head_only && http10) {
      // No chunked encoding before HTTP/1.1: collect the body.
      resp.stream([&resp](std::string_view piece) {
        resp.body.append(piece);
        return true;
      });
      resp.stream = nullptr;
    }
    std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " + StatusText(resp.status) +
                       "\r\nContent-Type: " + resp.content_type +
                       (resp.stream ? std::string("\r\nTransfer-Encoding: chunked")
                                    : "\r\nContent-Length: " + std::to_string(resp.body.size())) +
                       "\r\nCache-Control: no-store\r\n" + extra_headers + "\r\n";
    mg_write(conn, head.data(), head.size());
    if (head_only) return static_cast<int>(resp.status);
    if (resp.stream) {
      bool ok = true;
      resp.stream([conn, &ok](std::string_view piece) {
        if (ok && !piece.empty()) {
          ok = mg_send_chunk(conn, piece.data(), static_cast<unsigned int>(piece.size())) > 0;
        }
        return ok;
      });
      if (ok) mg_send_chunk(conn, "", 0);  // the last, empty chunk
    } else {
      mg_write(conn, resp.body.data(), resp.body.size());
    }
    return static_cast<int>(resp.status);
  }

  HttpServerOptions options_;
  WebConfig web_;                            // fixed after Start()
  std::unique_ptr<BasicAuthChecker> auth_;   // null: no basic auth
  std::string tls_error_;                    // set by init_ssl on failure
  std::map<std::string, Route> routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace

std::unique_ptr<HttpServer> MakeHttpServer(const HttpServerOptions& options) {
  return std::make_unique<CivetHttpServer>(options);
}

}  // namespace earshot
