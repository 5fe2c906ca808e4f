#pragma once
// The HTTP listener's TLS (docs/security.md): the web config's certificate,
// versions, ciphers, curves and client authentication applied to an OpenSSL
// context, with exporter-toolkit's client_allowed_sans check in the verify
// callback.

#include <openssl/ssl.h>

#include "base/status.h"
#include "connectors/web_config.h"

namespace earshot {

// Applies `tls` to `ctx`; an error names the setting and OpenSSL's reason.
// `tls` must outlive `ctx` (the verify callback reads it).
Status ConfigureTls(SSL_CTX* ctx, const TlsServerConfig* tls);

}  // namespace earshot
