#include "connectors/http_server.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "base/log.h"
#include "base/strings.h"
#include "connectors/http_tls.h"
#include "connectors/web_config.h"

namespace earshot {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// GET and HEAD carry no body; anything larger than this is refused (413).
constexpr size_t kMaxBodyBytes = 64 * 1024;
// A streamed body is written in pieces of at least this many bytes.
constexpr size_t kFlushBytes = 64 * 1024;

// %XX escapes; '+' is a space in a query, itself in a path.
std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && HexDigitValue(s[i + 1]) >= 0 &&
               HexDigitValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigitValue(s[i + 1]) * 16 + HexDigitValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    if (!part.empty()) {
      std::string key = UrlDecode(part.substr(0, eq), true);
      std::string val = eq == std::string_view::npos ? "" : UrlDecode(part.substr(eq + 1), true);
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
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "OK";
}

// host:port, :port or [v6]:port -> endpoint.
StatusOr<tcp::endpoint> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::Error("expected host:port, e.g. :9464");
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Status::Error("bad port \"" + port_text + "\"");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  beast::error_code ec;
  net::ip::address addr = net::ip::make_address(host, ec);
  if (ec) {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, port_text, ec);
    if (ec || results.empty()) return Status::Error("cannot resolve \"" + host + "\"");
    return results.begin()->endpoint();
  }
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

// What Start() checks before it resolves and binds: the limits, and the
// web config with its TLS context (built, so that bad certificates, keys or
// ciphers are start-up errors, not failed handshakes later). `web` must
// outlive `*ssl_ctx`.
Status PrepareListener(const HttpServerOptions& o, WebConfig* web,
                       std::unique_ptr<ssl::context>* ssl_ctx) {
  if (o.max_connections < 1) return Status::Error("http: max_connections must be >= 1");
  if (o.header_timeout_ms <= 0 || o.idle_timeout_ms <= 0) {
    return Status::Error("http: timeouts must be positive");
  }
  if (o.web_config.empty()) return Status::Ok();
  Diagnostics diags;
  if (!LoadWebConfig(o.web_config, web, &diags)) {
    std::string msg = diags.ToString();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Status::Error("invalid web config:\n" + msg);
  }
  if (!web->tls.enabled) return Status::Ok();
  try {
    *ssl_ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return Status::Error(std::string("TLS: ") + e.what());
  }
  if (Status st = ConfigureTls((*ssl_ctx)->native_handle(), &web->tls); !st.ok()) {
    return Status::Error(o.web_config + ": " + st.message());
  }
  return Status::Ok();
}

struct Route {
  HttpHandler handler;
  bool open = false;
};

class BeastHttpServer;

// One connection. Its socket is only touched on its strand (an io thread);
// a handler thread owns the response while one is produced, and hands every
// write to the strand. Sessions are kept alive by the operations pending on
// them.
template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream =
      std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(BeastHttpServer* server, tcp::socket socket, ssl::context* ctx);
  ~Session();
  void Start();

 private:
  enum class Phase { kHead, kIdle, kBusy };

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  void ReadRequest();
  void WaitForNextRequest();
  void OnRead(beast::error_code ec);
  void Dispatch();
  void SendErrorAndClose(int status);
  void Close();
  // Handler thread: produces the response to `req`.
  void Respond(const HttpRequest& req, const std::string& authorization);
  // Handler thread: writes `data` (which must stay valid until this
  // returns), waits until it is written; false once the client is gone or
  // the server stops.
  bool WriteAndWait(const std::vector<net::const_buffer>& data);
  // Handler thread: writes `data`, then reads the next request (keep-alive)
  // or closes.
  void WriteAndContinue(std::string data);

  BeastHttpServer* server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Phase phase_ = Phase::kHead;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool closed_ = false;
};

class BeastHttpServer : public HttpServer {
 public:
  explicit BeastHttpServer(const HttpServerOptions& options) : options_(options) {}
  ~BeastHttpServer() override { Stop(); }

  void Handle(const std::string& path, HttpHandler handler, bool open) override {
    routes_[path] = Route{std::move(handler), open};
  }

  Status Start() override;
  int port() const override { return port_; }
  HttpServerStats stats() const override {
    HttpServerStats s;
    s.open_connections = open_.load();
    s.accepted = accepted_.load();
    s.rejected = rejected_.load();
    s.header_timeouts = header_timeouts_.load();
    return s;
  }
  void Stop() override;

 private:
  template <bool kTls>
  friend class Session;

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Refuse(tcp::socket& socket);
  void ConnectionClosed() {
    const int64_t n = open_.fetch_sub(1) - 1;
    if (open_gauge_ != nullptr) open_gauge_->Set(static_cast<double>(n));
  }
  void CountHeaderTimeout() {
    header_timeouts_.fetch_add(1);
    if (header_timeouts_counter_ != nullptr) header_timeouts_counter_->Increment();
  }
  // Runs `job` on the probe thread (open routes) or a handler thread.
  template <class Job>
  void RunHandler(bool probe, Job&& job) {
    net::post(probe ? *probe_pool_ : *pool_, std::forward<Job>(job));
  }
  const Route* FindRoute(const std::string& path) const {
    auto it = routes_.find(path);
    return it == routes_.end() ? nullptr : &it->second;
  }
  Status RegisterMetrics();

  const HttpServerOptions options_;
  WebConfig web_;                           // fixed after Start()
  std::unique_ptr<BasicAuthChecker> auth_;  // null: no basic auth
  std::string extra_headers_;               // web-config headers, "Name: value\r\n" each
  std::map<std::string, Route> routes_;     // fixed after Start()

  std::unique_ptr<net::io_context> ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::unique_ptr<ssl::context> ssl_ctx_;  // null: plain HTTP
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<net::steady_timer> accept_retry_;
  std::vector<std::thread> io_threads_;
  std::unique_ptr<net::thread_pool> pool_;
  std::unique_ptr<net::thread_pool> probe_pool_;
  bool started_ = false;
  int port_ = 0;

  std::atomic<bool> stopping_{false};
  // Handler threads wait here for their writes; io_stopped_ (under wait_mu_)
  // releases them once no io thread runs any more.
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  bool io_stopped_ = false;

  std::atomic<int64_t> open_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> header_timeouts_{0};
  prometheus::Counter* rejected_counter_ = nullptr;
  prometheus::Counter* header_timeouts_counter_ = nullptr;
  prometheus::Gauge* open_gauge_ = nullptr;
};

template <bool kTls>
Session<kTls>::Session(BeastHttpServer* server, tcp::socket socket, ssl::context* ctx)
    : server_(server),
      stream_([&]() -> Stream {
        if constexpr (kTls) {
          return Stream(std::move(socket), *ctx);
        } else {
          return Stream(std::move(socket));
        }
      }()),
      buffer_(server->options_.max_header_bytes + kMaxBodyBytes + 16384) {}

template <bool kTls>
Session<kTls>::~Session() {
  server_->ConnectionClosed();
}

template <bool kTls>
void Session<kTls>::Start() {
  // One deadline from accept for the TLS handshake and the first request.
  Lowest().expires_after(std::chrono::milliseconds(server_->options_.header_timeout_ms));
  if constexpr (kTls) {
    stream_.async_handshake(ssl::stream_base::server,
                            [self = this->shared_from_this()](beast::error_code ec) {
                              if (ec) {
                                if (ec == beast::error::timeout) self->server_->CountHeaderTimeout();
                                self->Close();
                                return;
                              }
                              self->ReadRequest();
                            });
  } else {
    ReadRequest();
  }
}

template <bool kTls>
void Session<kTls>::ReadRequest() {
  phase_ = Phase::kHead;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_->options_.max_header_bytes));
  parser_->body_limit(kMaxBodyBytes);
  http::async_read(stream_, buffer_, *parser_,
                   [self = this->shared_from_this()](beast::error_code ec, size_t) {
                     self->OnRead(ec);
                   });
}

template <bool kTls>
void Session<kTls>::WaitForNextRequest() {
  if (buffer_.size() > 0) {  // a pipelined request is already here
    Lowest().expires_after(std::chrono::milliseconds(server_->options_.header_timeout_ms));
    ReadRequest();
    return;
  }
  phase_ = Phase::kIdle;
  Lowest().expires_after(std::chrono::milliseconds(server_->options_.idle_timeout_ms));
  stream_.async_read_some(
      buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
        if (ec) {
          self->Close();  // gone, or idle too long
          return;
        }
        self->buffer_.commit(n);
        self->Lowest().expires_after(
            std::chrono::milliseconds(self->server_->options_.header_timeout_ms));
        self->ReadRequest();
      });
}

template <bool kTls>
void Session<kTls>::OnRead(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    if (ec == beast::error::timeout) {
      if (phase_ == Phase::kHead) server_->CountHeaderTimeout();
      Close();
    } else if (ec == http::error::header_limit) {
      SendErrorAndClose(431);
    } else if (ec == http::error::body_limit) {
      SendErrorAndClose(413);
    } else if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
               ec.category() != http::make_error_code(http::error::bad_target).category()) {
      Close();  // the client went away (or the socket failed)
    } else {
      SendErrorAndClose(400);  // a malformed request
    }
    return;
  }
  Lowest().expires_never();
  Dispatch();
}

template <bool kTls>
void Session<kTls>::Dispatch() {
  phase_ = Phase::kBusy;
  http::request<http::string_body> msg = parser_->release();
  parser_.reset();
  keep_alive_ = msg.keep_alive();
  http10_ = msg.version() < 11;
  HttpRequest req;
  req.method = std::string(msg.method_string());
  std::string_view target(msg.target().data(), msg.target().size());
  const size_t q = target.find('?');
  req.path = UrlDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) req.query = ParseQuery(target.substr(q + 1));
  auto auth_it = msg.find(http::field::authorization);
  std::string authorization =
      auth_it == msg.end() ? std::string()
                           : std::string(auth_it->value().data(), auth_it->value().size());
  const Route* route = server_->FindRoute(req.path);
  server_->RunHandler(route != nullptr && route->open,
                      [self = this->shared_from_this(), req = std::move(req),
                       authorization = std::move(authorization)] {
                        if (self->server_->stopping_.load()) return;
                        try {
                          self->Respond(req, authorization);
                        } catch (const std::exception& e) {
                          // A streamed body that threw half-way: the
                          // response cannot be mended, only cut off.
                          LogError("http: response to " + req.path + " failed: " + e.what());
                          self->keep_alive_ = false;
                          self->WriteAndContinue(std::string());
                        }
                      });
}

template <bool kTls>
void Session<kTls>::Respond(const HttpRequest& req, const std::string& authorization) {
  HttpResponse resp;
  const Route* route = server_->FindRoute(req.path);
  const bool open = route != nullptr && route->open;
  std::string extra_headers = server_->extra_headers_;
  if (!open && server_->auth_ != nullptr &&
      !server_->auth_->Check(authorization.empty() ? nullptr : authorization.c_str())) {
    // Everything but the open probes needs a user, unknown paths included
    // (as exporter-toolkit does), so 404s reveal nothing.
    resp.status = 401;
    resp.body = "Unauthorized\n";
    extra_headers += "WWW-Authenticate: Basic realm=\"earshot\"\r\n";
  } else if (route == nullptr) {
    resp.status = 404;
    resp.body = "not found\n";
  } else if (req.method != "GET" && req.method != "HEAD") {
    resp.status = 405;
    resp.body = "method not allowed\n";
    extra_headers += "Allow: GET, HEAD\r\n";  // a 405 must name them (RFC 9110)
  } else {
    try {
      resp = route->handler(req);
    } catch (const std::exception& e) {
      LogError(std::string("http: handler for ") + req.path + " failed: " + e.what());
      resp = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n"};
    }
  }
  const bool head_only = req.method == "HEAD";
  if (resp.stream && !head_only && http10_) {
    // No chunked encoding before HTTP/1.1: collect the body.
    resp.stream([&resp](std::string_view piece) {
      resp.body.append(piece);
      return true;
    });
    resp.stream = nullptr;
  }
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + StatusText(resp.status) +
                    "\r\nContent-Type: " + resp.content_type +
                    // (A streamed body left here is HTTP/1.1's, or a HEAD's: an
                    // HTTP/1.0 client knows no chunks, and its GET would carry a
                    // length that a HEAD does not compute.)
                    (resp.stream ? std::string(http10_ ? "" : "\r\nTransfer-Encoding: chunked")
                                 : "\r\nContent-Length: " + std::to_string(resp.body.size())) +
                    "\r\nCache-Control: no-store\r\n" +
                    (keep_alive_ ? "" : "Connection: close\r\n") + extra_headers + "\r\n";
  if (head_only) {
    WriteAndContinue(std::move(out));
    return;
  }
  if (!resp.stream) {
    out += resp.body;
    WriteAndContinue(std::move(out));
    return;
  }
  // Each piece is one chunk, as it comes; the chunks go out in writes of at
  // least kFlushBytes, each waited for, so at most about that much is held.
  bool ok = true;
  resp.stream([&](std::string_view piece) {
    if (!ok) return false;
    if (piece.empty()) return true;  // an empty chunk would end the body
    char size[32];
    const int n = std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
    out.append(size, static_cast<size_t>(n));
    if (piece.size() >= kFlushBytes) {
      // A large piece (the exposition writes 1 MiB ones) goes out from where
      // it is, behind what is pending, without a copy.
      ok = WriteAndWait({net::buffer(out), net::buffer(piece.data(), piece.size()),
                         net::buffer("\r\n", 2)});
      out.clear();
      return ok;
    }
    out.append(piece);
    out.append("\r\n");
    if (out.size() >= kFlushBytes) {
      ok = WriteAndWait({net::buffer(out)});
      out.clear();
    }
    return ok;
  });
  if (!ok) {
    keep_alive_ = false;
    WriteAndContinue(std::string());  // closes
    return;
  }
  out += "0\r\n\r\n";  // the last, empty chunk
  WriteAndContinue(std::move(out));
}

template <bool kTls>
bool Session<kTls>::WriteAndWait(const std::vector<net::const_buffer>& data) {
  struct Done {
    bool done = false;
    bool ok = false;
  };
  auto done = std::make_shared<Done>();
  BeastHttpServer* server = server_;
  net::post(stream_.get_executor(), [self = this->shared_from_this(), &data, done] {
    auto finish = [server = self->server_, done](bool ok) {
      {
        std::lock_guard<std::mutex> lock(server->wait_mu_);
        done->done = true;
        done->ok = ok;
      }
      server->wait_cv_.notify_all();
    };
    if (self->closed_) {
      finish(false);
      return;
    }
    self->Lowest().expires_after(std::chrono::milliseconds(self->server_->options_.idle_timeout_ms));
    net::async_write(self->stream_, data,
                     [self, finish](beast::error_code ec, size_t) {
                       if (ec) self->Close();
                       finish(!ec);
                     });
  });
  std::unique_lock<std::mutex> lock(server->wait_mu_);
  server->wait_cv_.wait(lock, [&] { return done->done || server->io_stopped_; });
  return done->done && done->ok;
}

template <bool kTls>
void Session<kTls>::WriteAndContinue(std::string data) {
  net::post(stream_.get_executor(), [self = this->shared_from_this(),
                                     data = std::make_shared<std::string>(std::move(data))] {
    if (self->closed_) return;
    if (data->empty()) {
      if (self->keep_alive_) {
        self->WaitForNextRequest();
      } else {
        self->Close();
      }
      return;
    }
    self->Lowest().expires_after(std::chrono::milliseconds(self->server_->options_.idle_timeout_ms));
    net::async_write(self->stream_, net::buffer(*data),
                     [self, data](beast::error_code ec, size_t) {
                       if (ec || !self->keep_alive_) {
                         self->Close();
                       } else {
                         self->WaitForNextRequest();
                       }
                     });
  });
}

template <bool kTls>
void Session<kTls>::SendErrorAndClose(int status) {
  keep_alive_ = false;
  phase_ = Phase::kBusy;
  const std::string body = std::string(StatusText(status)) + "\n";
  auto data = std::make_shared<std::string>(
      "HTTP/1.1 " + std::to_string(status) + " " + StatusText(status) +
      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  Lowest().expires_after(std::chrono::milliseconds(server_->options_.header_timeout_ms));
  net::async_write(stream_, net::buffer(*data),
                   [self = this->shared_from_this(), data](beast::error_code, size_t) {
                     self->Close();
                   });
}

template <bool kTls>
void Session<kTls>::Close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  // No TLS close_notify: a peer that stopped reading must not hold us.
  Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  Lowest().close();
}

Status BeastHttpServer::RegisterMetrics() {
  if (options_.registry == nullptr) return Status::Ok();
  try {
    rejected_counter_ = &prometheus::BuildCounter()
                             .Name("earshot_http_connections_rejected_total")
                             .Help("HTTP connections refused because http.max_connections were "
                                   "open.")
                             .Register(*options_.registry)
                             .Add({});
    header_timeouts_counter_ =
        &prometheus::BuildCounter()
             .Name("earshot_http_header_timeouts_total")
             .Help("HTTP connections closed because a TLS handshake or request head took "
                   "longer than http.header_timeout.")
             .Register(*options_.registry)
             .Add({});
    open_gauge_ = &prometheus::BuildGauge()
                       .Name("earshot_http_open_connections")
                       .Help("HTTP connections open now.")
                       .Register(*options_.registry)
                       .Add({});
  } catch (const std::exception& e) {
    return Status::Error(std::string("http metrics: ") + e.what());
  }
  return Status::Ok();
}

Status BeastHttpServer::Start() {
  if (started_) return Status::Error("http: already started");
  if (Status st = PrepareListener(options_, &web_, &ssl_ctx_); !st.ok()) return st;
  auto endpoint = ParseListen(options_.listen);
  if (!endpoint.ok()) {
    return Status::Error("cannot listen on " + options_.listen + ": " + endpoint.message());
  }
  if (web_.auth_enabled()) auth_ = std::make_unique<BasicAuthChecker>(web_.basic_auth_users);
  for (const auto& [name, value] : web_.headers) extra_headers_ += name + ": " + value + "\r\n";
  if (Status st = RegisterMetrics(); !st.ok()) return st;

  ioc_ = std::make_unique<net::io_context>(std::max(1, options_.io_threads));
  acceptor_ = std::make_unique<tcp::acceptor>(*ioc_);
  beast::error_code ec;
  acceptor_->open(endpoint->protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(*endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.reset();
    ioc_.reset();
    return Status::Error("cannot listen on " + options_.listen + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  accept_retry_ = std::make_unique<net::steady_timer>(*ioc_);
  work_.emplace(ioc_->get_executor());
  pool_ = std::make_unique<net::thread_pool>(std::max(1, options_.threads));
  probe_pool_ = std::make_unique<net::thread_pool>(1);
  started_ = true;
  Accept();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    io_threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_->run();
          return;
        } catch (const std::exception& e) {  // a handler threw: log, keep serving
          LogError(std::string("http: ") + e.what());
        }
      }
    });
  }
  return Status::Ok();
}

void BeastHttpServer::Accept() {
  acceptor_->async_accept(net::make_strand(*ioc_),
                          [this](beast::error_code ec, tcp::socket socket) {
                            OnAccept(ec, std::move(socket));
                          });
}

void BeastHttpServer::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping_.load() || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of file descriptors or memory: try again shortly rather than spin.
    accept_retry_->expires_after(std::chrono::milliseconds(50));
    accept_retry_->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping_.load()) Accept();
    });
    return;
  }
  accepted_.fetch_add(1);
  if (open_.load() >= options_.max_connections) {
    Refuse(socket);
    Accept();
    return;
  }
  const int64_t n = open_.fetch_add(1) + 1;
  if (open_gauge_ != nullptr) open_gauge_->Set(static_cast<double>(n));
  beast::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);
  if (ssl_ctx_ != nullptr) {
    std::make_shared<Session<true>>(this, std::move(socket), ssl_ctx_.get())->Start();
  } else {
    std::make_shared<Session<false>>(this, std::move(socket), nullptr)->Start();
  }
  Accept();
}

void BeastHttpServer::Refuse(tcp::socket& socket) {
  rejected_.fetch_add(1);
  if (rejected_counter_ != nullptr) rejected_counter_->Increment();
  if (ssl_ctx_ == nullptr) {
    // Best effort and never blocking: a fresh socket's send buffer is empty.
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";
    (void)!::send(socket.native_handle(), kBusy.data(), kBusy.size(),
                  MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

void BeastHttpServer::Stop() {
  if (!started_) return;
  started_ = false;
  stopping_.store(true);
  // Stop the io threads first: after they are joined nothing touches a
  // socket or a handler thread's buffer any more.
  net::post(*ioc_, [this] {
    beast::error_code ec;
    acceptor_->close(ec);
    accept_retry_->cancel();
  });
  work_.reset();
  ioc_->stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    io_stopped_ = true;
  }
  wait_cv_.notify_all();
  pool_->join();
  probe_pool_->join();
  // Destroying the io_context destroys the pending operations and with them
  // the sessions (closing their sockets).
  accept_retry_.reset();
  acceptor_.reset();
  ioc_.reset();
  pool_.reset();
  probe_pool_.reset();
  ssl_ctx_.reset();
}

}  // namespace

std::unique_ptr<HttpServer> MakeHttpServer(const HttpServerOptions& options) {
  return std::make_unique<BeastHttpServer>(options);
}

Status CheckHttpServerOptions(const HttpServerOptions& options) {
  WebConfig web;
  std::unique_ptr<ssl::context> ssl_ctx;
  return PrepareListener(options, &web, &ssl_ctx);
}

uint64_t RaiseOpenFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return static_cast<uint64_t>(lim.rlim_cur);
}

}  // namespace earshot
