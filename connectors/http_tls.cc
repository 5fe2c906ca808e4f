#include "connectors/http_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <string>
#include <vector>

namespace earshot {
namespace {

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

}  // namespace

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
  // Asio's context may have set SSL_OP_NO_* protocol options; the min/max
  // versions below are the single source of truth.
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

}  // namespace earshot
