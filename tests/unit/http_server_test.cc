// HttpServer on raw sockets: streamed bodies (chunked transfer encoding for
// HTTP/1.1, a Content-Length for HTTP/1.0, headers only for HEAD), and the
// limits: idle connections, max_connections, header and idle timeouts,
// header size, keep-alive. Every read has a deadline, so a server that
// never answers fails the test instead of hanging it.
#include "connectors/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <poll.h>
#include <sys/time.h>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/unit/http_exchange.h"

namespace earshot {
namespace {

// Options listening on `listen`, the rest defaults.
HttpServerOptions Listen(const std::string& listen, int threads = 4) {
  HttpServerOptions o;
  o.listen = listen;
  o.threads = threads;
  return o;
}

void Send(int fd, const std::string& data) {
  ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
}

// Reads one response with a Content-Length body (or until close).
std::string ReadResponse(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const size_t end = out.find("\r\n\r\n");
    if (end != std::string::npos) {
      const size_t cl = out.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) {
        const size_t len = std::stoul(out.substr(cl + 16));
        if (out.size() >= end + 4 + len) return out;
      }
    }
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// True once the server has closed `fd` (EOF or reset) within 10 s; whatever
// it sent before goes to *sent.
bool ClosedByServer(int fd, std::string* sent = nullptr) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
    if (sent != nullptr) sent->append(buf, static_cast<size_t>(n));
  }
}

// Polls `done` until it holds or 10 s pass.
template <class F>
bool Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::unique_ptr<HttpServer> OkServer(HttpServerOptions o) {
  o.listen = "127.0.0.1:0";
  auto server = MakeHttpServer(o);
  server->Handle("/healthz", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "ok\n"}; },
                 /*open=*/true);
  server->Handle("/metrics", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "m 1\n"}; });
  return server;
}

const char kGet[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(HttpServerTest, StreamedBodies) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  auto server = MakeHttpServer(o);
  server->Handle("/stream", [](const HttpRequest&) {
    HttpResponse r;
    r.stream = [](const HttpBodyWriter& write) {
      write("hello ");
      write("");  // empty pieces are skipped (an empty chunk would end the body)
      write("streamed world\n");
    };
    return r;
  });
  ASSERT_TRUE(server->Start().ok());
  auto get = [&](const std::string& method, const std::string& version) {
    std::string r = Exchange(server->port(), method + " /stream HTTP/" + version +
                                                 "\r\nHost: x\r\nConnection: close\r\n\r\n");
    size_t end = r.find("\r\n\r\n");
    EXPECT_NE(end, std::string::npos) << r;
    return std::make_pair(r.substr(0, end + 2), r.substr(end + 4));
  };
  {
    SCOPED_TRACE("HTTP/1.1: chunked transfer encoding");
    auto [head, body] = get("GET", "1.1");
    EXPECT_NE(head.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_EQ(body, "6\r\nhello \r\nf\r\nstreamed world\n\r\n0\r\n\r\n");
  }
  {
    SCOPED_TRACE("HTTP/1.0: collected, with a Content-Length");
    auto [head, body] = get("GET", "1.0");
    EXPECT_NE(head.find("\r\nContent-Length: 21\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
    EXPECT_EQ(body, "hello streamed world\n");
  }
  {
    SCOPED_TRACE("HEAD: headers only");
    auto [head, body] = get("HEAD", "1.1");
    EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos) << head;
    EXPECT_EQ(body, "");
  }
  {
    SCOPED_TRACE("HEAD over HTTP/1.0: no chunks named");
    auto [head, body] = get("HEAD", "1.0");
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
    EXPECT_EQ(body, "");
  }
  {
    SCOPED_TRACE("another method: 405 with Allow");
    auto [head, body] = get("POST", "1.1");
    EXPECT_EQ(head.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << head;
  }
  server->Stop();
}


// Decodes a chunked body; false if the framing is wrong.
bool Dechunk(std::string_view in, std::string* out) {
  for (;;) {
    const size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return false;
    const size_t n = std::stoul(std::string(in.substr(0, eol)), nullptr, 16);
    in.remove_prefix(eol + 2);
    if (n == 0) return in == "\r\n";
    if (in.size() < n + 2 || in.substr(n, 2) != "\r\n") return false;
    out->append(in.substr(0, n));
    in.remove_prefix(n + 2);
  }
}

TEST(HttpServerTest, LargeStreamedBodiesArriveWhole) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  auto server = MakeHttpServer(o);
  std::string expected;
  std::vector<std::string> pieces;
  for (int i = 0; i < 40; ++i) pieces.push_back(std::string(1 << 20, static_cast<char>('a' + i % 26)));
  for (int i = 0; i < 20000; ++i) pieces.push_back("small piece " + std::to_string(i) + "\n");
  pieces.push_back(std::string(100000, 'z'));
  for (const auto& p : pieces) expected += p;
  server->Handle("/big", [&pieces](const HttpRequest&) {
    HttpResponse r;
    r.stream = [&pieces](const HttpBodyWriter& write) {
      for (const auto& p : pieces) write(p);
    };
    return r;
  });
  ASSERT_TRUE(server->Start().ok());
  const std::string r =
      Exchange(server->port(), "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const size_t end = r.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  std::string body;
  ASSERT_TRUE(Dechunk(std::string_view(r).substr(end + 4), &body));
  EXPECT_EQ(body.size(), expected.size());
  EXPECT_TRUE(body == expected);
}

TEST(HttpServerTest, AThrowingHandlerCostsOnlyItsResponse) {
  auto server = MakeHttpServer(Listen("127.0.0.1:0", 1));
  server->Handle("/throws", [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("boom");
  });
  server->Handle("/half", [](const HttpRequest&) {
    HttpResponse r;
    r.stream = [](const HttpBodyWriter& write) {
      write("some of it\n");
      throw std::runtime_error("boom");
    };
    return r;
  });
  server->Handle("/ok", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "ok\n"}; });
  ASSERT_TRUE(server->Start().ok());
  const std::string r = Exchange(server->port(), "GET /throws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << r;
  const std::string half = Exchange(server->port(), "GET /half HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(half.find("0\r\n\r\n"), std::string::npos) << half;  // cut off, never "complete"
  const std::string ok = Exchange(server->port(), "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
}

TEST(HttpServerTest, IdleConnectionsDoNotHoldTheHandlers) {
  HttpServerOptions o;
  o.threads = 1;
  o.io_threads = 1;
  auto server = OkServer(o);
  ASSERT_TRUE(server->Start().ok());
  std::vector<int> idle;
  for (int i = 0; i < 64; ++i) idle.push_back(Connect(server->port()));
  ASSERT_TRUE(Eventually([&] { return server->stats().open_connections == 64; }));
  const int fd = Connect(server->port());
  Send(fd, kGet);
  EXPECT_EQ(ReadResponse(fd).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  ::close(fd);
  for (int f : idle) ::close(f);
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = OkServer({});
  ASSERT_TRUE(server->Start().ok());
  const int fd = Connect(server->port());
  for (int i = 0; i < 3; ++i) {
    Send(fd, kGet);
    std::string r = ReadResponse(fd);
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
    EXPECT_EQ(r.find("Connection: close"), std::string::npos) << r;
  }
  // Two pipelined requests are answered in order.
  Send(fd, std::string(kGet) + "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string both;
  EXPECT_TRUE(ClosedByServer(fd, &both));
  EXPECT_EQ(both.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << both;
  EXPECT_NE(both.find("HTTP/1.1 404 Not Found\r\n"), std::string::npos) << both;
  ::close(fd);
}

TEST(HttpServerTest, OverMaxConnectionsNewOnesAreRefusedAndCounted) {
  auto registry = std::make_shared<prometheus::Registry>();
  HttpServerOptions o;
  o.max_connections = 3;
  o.registry = registry;
  auto server = OkServer(o);
  ASSERT_TRUE(server->Start().ok());
  std::vector<int> open;
  for (int i = 0; i < 3; ++i) open.push_back(Connect(server->port()));
  ASSERT_TRUE(Eventually([&] { return server->stats().open_connections == 3; }));
  const auto start = std::chrono::steady_clock::now();
  const int refused = Connect(server->port());
  std::string sent;
  EXPECT_TRUE(ClosedByServer(refused, &sent));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(sent.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << sent;
  ::close(refused);
  EXPECT_EQ(server->stats().rejected, 1u);
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, registry->Collect());
  EXPECT_NE(text.str().find("earshot_http_connections_rejected_total 1\n"), std::string::npos)
      << text.str();
  // The connections already open keep working.
  for (int fd : open) {
    Send(fd, kGet);
    EXPECT_EQ(ReadResponse(fd).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  }
  // Once one closes, a new connection is served again.
  ::close(open.back());
  open.pop_back();
  ASSERT_TRUE(Eventually([&] { return server->stats().open_connections == 2; }));
  const int fd = Connect(server->port());
  Send(fd, kGet);
  EXPECT_EQ(ReadResponse(fd).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  ::close(fd);
  for (int f : open) ::close(f);
}

TEST(HttpServerTest, HeaderTimeoutClosesSlowAndSilentClients) {
  HttpServerOptions o;
  o.header_timeout_ms = 300;
  o.idle_timeout_ms = 60000;
  auto server = OkServer(o);
  ASSERT_TRUE(server->Start().ok());
  const auto start = std::chrono::steady_clock::now();
  const int silent = Connect(server->port());
  const int slow = Connect(server->port());
  Send(slow, "GET /healthz HTTP/1.1\r\nHost:");  // and nothing more
  EXPECT_TRUE(ClosedByServer(silent));
  EXPECT_TRUE(ClosedByServer(slow));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_TRUE(Eventually([&] { return server->stats().header_timeouts == 2; }))
      << server->stats().header_timeouts;
  ::close(silent);
  ::close(slow);
}

TEST(HttpServerTest, IdleTimeoutClosesKeepAliveConnections) {
  HttpServerOptions o;
  o.header_timeout_ms = 60000;
  o.idle_timeout_ms = 300;
  auto server = OkServer(o);
  ASSERT_TRUE(server->Start().ok());
  const int fd = Connect(server->port());
  Send(fd, kGet);
  EXPECT_EQ(ReadResponse(fd).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_TRUE(ClosedByServer(fd));
  EXPECT_EQ(server->stats().header_timeouts, 0u);  // idle, not a slow head
  ::close(fd);
}

TEST(HttpServerTest, OversizedOrMalformedRequestHeadsAreRefused) {
  HttpServerOptions o;
  o.max_header_bytes = 1024;
  auto server = OkServer(o);
  ASSERT_TRUE(server->Start().ok());
  {
    const int fd = Connect(server->port());
    Send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') +
                 "\r\n\r\n");
    std::string sent;
    EXPECT_TRUE(ClosedByServer(fd, &sent));
    EXPECT_EQ(sent.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u) << sent;
    ::close(fd);
  }
  {
    const int fd = Connect(server->port());
    Send(fd, "GARBAGE\r\n\r\n");
    std::string sent;
    EXPECT_TRUE(ClosedByServer(fd, &sent));
    EXPECT_EQ(sent.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << sent;
    ::close(fd);
  }
  {
    const int fd = Connect(server->port());  // still serving
    Send(fd, kGet);
    EXPECT_EQ(ReadResponse(fd).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    ::close(fd);
  }
}

TEST(HttpServerTest, QueryAndPathAreDecoded) {
  auto server = MakeHttpServer(Listen("127.0.0.1:0"));
  server->Handle("/a b", [](const HttpRequest& req) {
    std::string body;
    for (const auto& [k, v] : req.query) body += k + "=" + v + ";";
    return HttpResponse{200, "text/plain", body};
  });
  ASSERT_TRUE(server->Start().ok());
  const int fd = Connect(server->port());
  Send(fd, "GET /a%20b?window=5m&x=a+b%21 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = ReadResponse(fd);
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "window=5m;x=a b!;") << r;
  ::close(fd);
}

TEST(HttpServerTest, StopClosesConnectionsAndPortZeroIsReported) {
  auto server = OkServer({});
  ASSERT_TRUE(server->Start().ok());
  EXPECT_GT(server->port(), 0);
  const int fd = Connect(server->port());
  ASSERT_TRUE(Eventually([&] { return server->stats().open_connections == 1; }));
  server->Stop();
  EXPECT_TRUE(ClosedByServer(fd));
  ::close(fd);
  EXPECT_EQ(server->stats().open_connections, 0);
}

TEST(HttpServerTest, ListenErrorsAreStatuses) {
  auto first = OkServer({});
  ASSERT_TRUE(first->Start().ok());
  auto taken = MakeHttpServer(Listen("127.0.0.1:" + std::to_string(first->port())));
  Status st = taken->Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot listen on 127.0.0.1:"), std::string::npos) << st.message();
  EXPECT_FALSE(MakeHttpServer(Listen("nonsense"))->Start().ok());
}

}  // namespace
}  // namespace earshot
