#pragma once
// One HTTP listener for /metrics, /healthz, /readyz, the JSON API and the
// live page (DESIGN section 7), on civetweb. Handlers run on civetweb's
// worker threads: they must be thread-safe and must not touch the hot path's
// locks for long (they read snapshots).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

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
  // the headers are sent (HTTP/1.1: chunked transfer encoding, so a large
  // body is never held whole; HTTP/1.0: collected, then sent with a
  // Content-Length). Not called for HEAD. Runs on the handler's thread.
  std::function<void(const HttpBodyWriter& write)> stream = nullptr;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string listen = "0.0.0.0:9464";  // host:port; port 0 picks a free port
  std::string web_config;               // Prometheus web-config file (TLS, basic auth)
  int threads = 4;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Registers `handler` for exactly `path` ("/" matches only "/"). Call
  // before Start(). `open`: served without authentication (health probes).
  virtual void Handle(const std::string& path, HttpHandler handler, bool open = false) = 0;
  virtual Status Start() = 0;
  // The bound port (useful when listening on port 0).
  virtual int port() const = 0;
  virtual void Stop() = 0;
};

std::unique_ptr<HttpServer> MakeHttpServer(const HttpServerOptions& options);

}  // namespace earshot
