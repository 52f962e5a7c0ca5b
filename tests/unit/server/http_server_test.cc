#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace reckon::http {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// A blocking test client on a raw socket, so the tests see exactly the bytes on the wire.
// Every read has a deadline; a broken server fails a test instead of hanging it.
class RawClient {
 public:
  explicit RawClient(const std::string& address) {
    size_t colon = address.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }

  bool connected() const { return connected_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-cased names
    std::string body;
  };

  // Reads one response (head + Content-Length body); nullopt on timeout or close.
  std::optional<Response> read_response(std::chrono::milliseconds timeout = 5s) {
    auto deadline = SteadyClock::now() + timeout;
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    Response r;
    std::string head = buf_.substr(0, head_end + 2);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    for (size_t pos = line_end + 2; pos < head.size();) {
      size_t end = head.find("\r\n", pos);
      std::string line = head.substr(pos, end - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      pos = end + 2;
    }
    buf_.erase(0, head_end + 4);
    size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < length) {
      if (!fill(deadline)) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True if the server closes the connection (EOF or reset) before the timeout.
  bool wait_closed(std::chrono::milliseconds timeout = 5s) {
    auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      if (!fill(deadline)) return !timed_out_;
    }
    return false;
  }

  // Reads until `needle` is buffered; false on timeout or close.
  bool read_until(std::string_view needle, std::chrono::milliseconds timeout = 5s) {
    auto deadline = SteadyClock::now() + timeout;
    while (buf_.find(needle) == std::string::npos) {
      if (!fill(deadline)) return false;
    }
    return true;
  }

  const std::string& buffered() const { return buf_; }

 private:
  // Appends what arrives before `deadline`; false on timeout (timed_out_ set), EOF or error.
  bool fill(SteadyClock::time_point deadline) {
    timed_out_ = false;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    pollfd pfd{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      timed_out_ = true;
      return false;
    }
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool timed_out_ = false;
  std::string buf_;
};

// Echoes what it received, so tests can check the parsed request.
HttpResponse echo(const HttpRequest& req) {
  HttpResponse r;
  r.body = req.method + " " + req.path + " ?" + req.query + " body=" + req.body;
  for (const auto& [name, value] : req.headers) r.body += "\n" + name + ": " + value;
  r.headers.push_back({"X-Reckon", "yes"});
  return r;
}

std::unique_ptr<HttpServer> start_echo(HttpServerOptions options = {}) {
  auto server = HttpServer::start("127.0.0.1:0", echo, options);
  EXPECT_TRUE(server.is_ok()) << server.status().to_string();
  return std::move(server).value();
}

TEST(HttpServer, GetReturnsTheHandlersStatusBodyAndHeaders) {
  auto server = HttpServer::start(
      "127.0.0.1:0",
      [](const HttpRequest& req) {
        if (req.path != "/metrics") return HttpResponse{404, "text/plain", "not found\n", {}};
        return HttpResponse{
            200, "text/plain; version=0.0.4", "up 1\n", {{"Cache-Control", "no-store"}}};
      },
      2);
  ASSERT_TRUE(server.is_ok()) << server.status().to_string();
  EXPECT_EQ((*server)->address().rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE((*server)->address(), "127.0.0.1:0");

  RawClient client((*server)->address());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "up 1\n");
  EXPECT_EQ(r->headers["content-length"], "5");
  EXPECT_EQ(r->headers["content-type"], "text/plain; version=0.0.4");
  EXPECT_EQ(r->headers["cache-control"], "no-store");
  EXPECT_EQ(r->headers["connection"], "keep-alive");
  EXPECT_TRUE(r->headers.count("date"));

  ASSERT_TRUE(client.send("GET /nope HTTP/1.1\r\n\r\n"));
  r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST(HttpServer, ParsesMethodPathQueryHeadersAndBody) {
  auto server = start_echo();
  RawClient client(server->address());
  ASSERT_TRUE(
      client.send("POST /streams/a%20b?from=3&dir=fwd HTTP/1.1\r\nHost: h\r\nX-Multi: 1\r\n"
                  "x-multi: 2\r\nContent-Length:   5  \r\n\r\nhello"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "POST /streams/a%20b ?from=3&dir=fwd body=hello\ncontent-length: 5\nhost: h\n"
            "x-multi: 1, 2");
  EXPECT_EQ(r->headers["x-reckon"], "yes");
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = start_echo();
  RawClient client(server->address());
  ASSERT_TRUE(client.send("GET /one HTTP/1.1\r\n\r\n"));
  auto r1 = client.read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body.rfind("GET /one ", 0), 0u);
  ASSERT_TRUE(client.send("POST /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));
  auto r2 = client.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body.rfind("POST /two ? body=abc", 0), 0u);

  // Pipelined: both requests in one write, answered in order.
  ASSERT_TRUE(client.send("GET /three HTTP/1.1\r\n\r\nGET /four HTTP/1.1\r\n\r\n"));
  auto r3 = client.read_response();
  auto r4 = client.read_response();
  ASSERT_TRUE(r3 && r4);
  EXPECT_EQ(r3->body.rfind("GET /three ", 0), 0u);
  EXPECT_EQ(r4->body.rfind("GET /four ", 0), 0u);
}

TEST(HttpServer, ConnectionCloseIsHonored) {
  auto server = start_echo();
  RawClient client(server->address());
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(client.wait_closed());
}

TEST(HttpServer, Http10ClosesUnlessAskedToKeepAlive) {
  auto server = start_echo();
  RawClient plain(server->address());
  ASSERT_TRUE(plain.send("GET / HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(plain.read_response());
  EXPECT_TRUE(plain.wait_closed());

  RawClient keep(server->address());
  ASSERT_TRUE(keep.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  ASSERT_TRUE(keep.read_response());
  ASSERT_TRUE(keep.send("GET /again HTTP/1.0\r\n\r\n"));
  auto r = keep.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.rfind("GET /again ", 0), 0u);
}

TEST(HttpServer, HeadResponseCarriesLengthButNoBody) {
  auto server = start_echo();
  RawClient client(server->address());
  ASSERT_TRUE(client.send("HEAD /x HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n"));
  // The HEAD response has no body, so the next bytes are the GET response.
  ASSERT_TRUE(client.read_until("GET /y"));
  const std::string& raw = client.buffered();
  size_t head_end = raw.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_NE(raw.find("Content-Length: "), std::string::npos);
  EXPECT_EQ(raw.compare(head_end + 4, 9, "HTTP/1.1 "), 0) << raw;
}

TEST(HttpServer, MalformedRequestLineGets400AndTheConnectionCloses) {
  auto server = start_echo();
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n",
                          "GET nopath HTTP/1.1\r\n\r\n", "GET / HTTX/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"}) {
    RawClient client(server->address());
    ASSERT_TRUE(client.send(bad));
    auto r = client.read_response();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_TRUE(client.wait_closed()) << bad;
  }
}

TEST(HttpServer, OtherHttpVersionsAndChunkedBodiesAreRefused) {
  auto server = start_echo();
  RawClient v2(server->address());
  ASSERT_TRUE(v2.send("GET / HTTP/2.0\r\n\r\n"));
  auto r = v2.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 505);

  RawClient chunked(server->address());
  ASSERT_TRUE(chunked.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  r = chunked.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 501);
}

TEST(HttpServer, OversizedHeaderGets431) {
  auto server = start_echo();
  RawClient client(server->address());
  std::string big(20 * 1024, 'a');
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(client.wait_closed());

  RawClient long_uri(server->address());
  ASSERT_TRUE(long_uri.send("GET /" + big + " HTTP/1.1\r\n\r\n"));
  r = long_uri.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
}

TEST(HttpServer, OversizedBodyGets413WithoutReadingIt) {
  auto server = start_echo();
  RawClient client(server->address());
  ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);

  // A body of exactly the limit is accepted.
  RawClient ok(server->address());
  ASSERT_TRUE(ok.send("POST / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n" +
                      std::string(1024 * 1024, 'b')));
  r = ok.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, ExpectContinueGetsAnInterimResponse) {
  auto server = start_echo();
  RawClient client(server->address());
  ASSERT_TRUE(client.send("PUT /e HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.send("ok"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.rfind("PUT /e ? body=ok", 0), 0u);
}

TEST(HttpServer, ThrowingHandlerGets500) {
  auto server = HttpServer::start(
      "127.0.0.1:0", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("bug"); });
  ASSERT_TRUE(server.is_ok());
  RawClient client((*server)->address());
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST(HttpServer, IdleConnectionIsClosedAfterTheReadTimeout) {
  HttpServerOptions options;
  options.read_timeout = 200ms;
  auto server = start_echo(options);
  RawClient idle(server->address());
  ASSERT_TRUE(idle.connected());
  EXPECT_TRUE(idle.wait_closed(5s));

  // A request trickling in too slowly gets 408 and is closed.
  RawClient slow(server->address());
  ASSERT_TRUE(slow.send("GET / HTTP/1.1\r\n"));
  auto r = slow.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(slow.wait_closed());
}

TEST(HttpServer, IdleKeepAliveClientDoesNotBlockOthersWithOneWorker) {
  auto server = start_echo();  // one worker
  RawClient idle(server->address());
  ASSERT_TRUE(idle.send("GET /first HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(idle.read_response());
  RawClient half(server->address());  // sends half a request and stalls
  ASSERT_TRUE(half.send("GET /half HTTP/1.1\r\nHost:"));

  RawClient other(server->address());
  ASSERT_TRUE(other.send("GET /other HTTP/1.1\r\n\r\n"));
  auto r = other.read_response(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.rfind("GET /other ", 0), 0u);
}

TEST(HttpServer, StopWithConnectedClientsReturnsPromptly) {
  std::atomic<bool> in_handler{false};
  std::atomic<bool> release{false};
  auto server = HttpServer::start(
      "127.0.0.1:0",
      [&](const HttpRequest& req) {
        if (req.path == "/slow") {
          in_handler = true;
          auto deadline = SteadyClock::now() + 5s;
          while (!release && SteadyClock::now() < deadline) std::this_thread::yield();
        }
        return HttpResponse{};
      },
      2);
  ASSERT_TRUE(server.is_ok());
  std::string address = (*server)->address();
  RawClient idle(address);
  ASSERT_TRUE(idle.send("GET / HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(idle.read_response());
  RawClient partial(address);
  ASSERT_TRUE(partial.send("GET / HTTP/1.1\r\nHost"));
  RawClient busy(address);
  ASSERT_TRUE(busy.send("GET /slow HTTP/1.1\r\n\r\n"));
  auto deadline = SteadyClock::now() + 5s;
  while (!in_handler && SteadyClock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(in_handler);

  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);  // stop() must wait for the running handler
    release = true;
  });
  auto t0 = SteadyClock::now();
  (*server)->stop();
  auto took = SteadyClock::now() - t0;
  releaser.join();
  EXPECT_LT(took, 2s);
  EXPECT_TRUE(idle.wait_closed(1s));
  EXPECT_TRUE(partial.wait_closed(1s));
  EXPECT_TRUE(busy.wait_closed(1s));
  RawClient late(address);
  EXPECT_FALSE(late.connected());
  (*server)->stop();  // idempotent
}

TEST(HttpServer, PortInUseIsAnError) {
  auto first = start_echo();
  auto second = HttpServer::start(first->address(), echo);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.code(), ErrorCode::kUnavailable);
  EXPECT_NE(second.status().message().find(first->address()), std::string::npos);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos)
      << second.status().message();
}

TEST(HttpServer, InvalidListenAddressesAreRejected) {
  for (const char* bad : {"", "9113", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536",
                          "127.0.0.1:80x", "example.com:80", "::1:80", "1.2.3:80"}) {
    auto server = HttpServer::start(bad, echo);
    ASSERT_FALSE(server.is_ok()) << bad;
    EXPECT_EQ(server.code(), ErrorCode::kInvalidArgument) << bad;
  }
  auto any = HttpServer::start("0.0.0.0:0", echo);
  ASSERT_TRUE(any.is_ok()) << any.status().to_string();
  EXPECT_EQ((*any)->address().rfind("0.0.0.0:", 0), 0u);
  std::string port = (*any)->address().substr(8);
  RawClient client("127.0.0.1:" + port);
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace reckon::http
