#pragma once
// One HTTP listener for /metrics, /healthz, /readyz, the JSON API and the
// live page (docs/api.md), on Boost.Beast over Asio (docs/performance.md,
// "HTTP listener", for why this and not civetweb or libmicrohttpd).
//
// Threads (all bounded, none per connection):
//  - `io_threads` run every socket: accept, TLS handshakes, reading request
//    heads, writing responses. Nothing on them blocks, so idle, slow and
//    never-handshaking clients cost a socket and a few kB each, not a thread.
//  - `threads` handler threads run the handlers and the bcrypt checks of
//    basic auth (both may take milliseconds).
//  - one more thread runs the `open` handlers (health probes), so probes
//    never queue behind scrapes or password checks.
// A handler must be thread-safe: several requests run it at once.
//
// Limits: at most `max_connections` connections are open; one more is
// accepted and closed at once (with a 503 on plain HTTP) and counted, the
// open ones unaffected. A connection has `header_timeout` from accept to
// finish its TLS handshake and first request head, and from a request's
// first byte to its last; between requests it may stay idle for
// `idle_timeout`. A request head over `max_header_bytes` gets 431 and is
// closed. A response write that makes no progress for `idle_timeout` closes
// the connection (a client that stops reading holds a handler thread at most
// that long).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace prometheus {
class Registry;
}

namespace earshot {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // decoded query parameters
};

// Sends one piece of a streamed body; returns false once the client is gone
// (the rest is dropped: stop producing it).
using HttpBodyWriter = std::function<bool(std::string_view piece)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // When set, the body is what this writes instead of `body`, produced after
  // the headers are sent (HTTP/1.1: chunked transfer encoding, each piece a
  // chunk, so a large body is never held whole; HTTP/1.0: collected, then
  // sent with a Content-Length). Not called for HEAD. Runs on a handler
  // thread, which waits while the client is slower than the producer.
  std::function<void(const HttpBodyWriter& write)> stream = nullptr;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string listen = "0.0.0.0:9464";  // host:port or :port; port 0 picks a free port
  std::string web_config;               // Prometheus web-config file (TLS, basic auth)
  int threads = 4;                      // handler threads
  int io_threads = 2;                   // socket threads
  int max_connections = 1000;
  int64_t header_timeout_ms = 5000;
  int64_t idle_timeout_ms = 30000;
  size_t max_header_bytes = 16384;  // request line and headers
  // When set, the listener registers its counters and gauge here:
  // earshot_http_connections_rejected_total, earshot_http_header_timeouts_total,
  // earshot_http_open_connections (docs/metrics.md).
  std::shared_ptr<prometheus::Registry> registry;
};

// Counts since Start(), also when no registry is given. Plain values.
struct HttpServerStats {
  int64_t open_connections = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;         // over max_connections
  uint64_t header_timeouts = 0;  // handshake or request head not done in time
};

// Thread-safe: Start and Stop from one thread; port() and stats() from any.
class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Registers `handler` for exactly `path` ("/" matches only "/"). Call
  // before Start(). `open`: served without authentication (health probes).
  virtual void Handle(const std::string& path, HttpHandler handler, bool open = false) = 0;
  virtual Status Start() = 0;
  // The bound port (useful when listening on port 0).
  virtual int port() const = 0;
  virtual HttpServerStats stats() const = 0;
  // Closes the listener and every connection; waits for running handlers.
  virtual void Stop() = 0;
};

std::unique_ptr<HttpServer> MakeHttpServer(const HttpServerOptions& options);

// What Start() rejects before it touches the network: the limits, the web
// config (every error of the file, compiler-style) and its TLS context
// (certificate, key, ciphers). The listen address is checked by Start()
// (a host name needs a resolver). For `earshot check`.
Status CheckHttpServerOptions(const HttpServerOptions& options);

// Raises this process's soft limit on open files to its hard limit (a
// listener with 1,000 connections needs more than the usual 1,024). Returns
// the soft limit now in force.
uint64_t RaiseOpenFileLimit();

}  // namespace earshot
