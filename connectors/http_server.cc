#include "connectors/http_server.h"

#include <civetweb.h>

#include <cctype>
#include <cstring>
#include <string>
#include <mutex>
#include <vector>

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

class CivetHttpServer : public HttpServer {
 public:
  explicit CivetHttpServer(const HttpServerOptions& options) : options_(options) {}
  ~CivetHttpServer() override { Stop(); }

  void Handle(const std::string& path, HttpHandler handler, bool open) override {
    routes_[path] = Route{std::move(handler), open};
  }

  Status Start() override {
    std::string listen = options_.listen;
    if (!listen.empty() && listen[0] == ':') listen = listen.substr(1);
    // civetweb wants "port" or "ip:port"; IPv6 "[::1]:9464" is "[::1]:9464" too.
    std::string threads = std::to_string(options_.threads);
    std::vector<const char*> opts = {"listening_ports", listen.c_str(), "num_threads",
                                     threads.c_str(), "request_timeout_ms", "10000",
                                     "enable_keep_alive", "yes"};
    opts.push_back(nullptr);
    mg_callbacks callbacks;
    std::memset(&callbacks, 0, sizeof(callbacks));
    callbacks.log_message = [](const mg_connection*, const char* msg) { return 1; };
    ctx_ = mg_start(&callbacks, this, opts.data());
    if (ctx_ == nullptr) {
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
    if (it == self->routes_.end()) {
      resp.status = 404;
      resp.body = "not found\n";
    } else if (req.method != "GET" && req.method != "HEAD") {
      resp.status = 405;
      resp.body = "method not allowed\n";
    } else {
      resp = it->second.handler(req);
    }
    std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " + StatusText(resp.status) +
                       "\r\nContent-Type: " + resp.content_type +
                       "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                       "\r\nCache-Control: no-store\r\n\r\n";
    mg_write(conn, head.data(), head.size());
    if (req.method != "HEAD") mg_write(conn, resp.body.data(), resp.body.size());
    return static_cast<int>(resp.status);
  }

  HttpServerOptions options_;
  std::map<std::string, Route> routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace

std::unique_ptr<HttpServer> MakeHttpServer(const HttpServerOptions& options) {
  return std::make_unique<CivetHttpServer>(options);
}

}  // namespace earshot
