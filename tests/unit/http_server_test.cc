// HttpServer's streamed bodies on a raw socket: chunked transfer encoding
// for HTTP/1.1, a Content-Length for HTTP/1.0, headers only for HEAD.
#include "connectors/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace earshot {
namespace {

// Sends `request` to 127.0.0.1:port and reads until the server closes.
std::string Exchange(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// One test, one server: civetweb's mg_stop takes ~2 s, and ctest runs each
// test in its own process.
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
    EXPECT_EQ(body, "");
  }
  server->Stop();
}

}  // namespace
}  // namespace earshot
