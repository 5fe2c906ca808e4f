/* A stand-in for "libssl.so" for Debian 12's civetweb 1.15.
 *
 * civetweb loads OpenSSL at run time with dlopen("libssl.so") and looks up
 * each function with dlsym. Two problems with OpenSSL 3: the unversioned name
 * exists only with libssl-dev installed, and SSL_get_peer_certificate (which
 * civetweb calls after every TLS handshake) is only a macro in OpenSSL 3, so
 * civetweb calls a null pointer and crashes. This library has the soname
 * "libssl.so", depends on the real libssl.so.3 (dlsym on its handle searches
 * that dependency for every other function), and defines the missing one.
 * connectors/http_server.cc dlopens it by path before civetweb starts, so
 * civetweb's dlopen("libssl.so") finds it by soname. */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
extern "C" X509 *SSL_get_peer_certificate(const SSL *s);
extern "C" X509 *SSL_get_peer_certificate(const SSL *s) { return SSL_get1_peer_certificate(s); }
