// HttpServer: a minimal HTTP/1.1 server for reckond's admin endpoints (health, Prometheus
// metrics, the web admin page). It is not a general web server: requests must carry their body
// with Content-Length (no chunked uploads), responses always carry Content-Length, and there is
// no TLS. Plain POSIX sockets and epoll; no third-party code.
//
// Threads: one I/O thread accepts connections, reads and parses requests without blocking, and
// closes connections that do not deliver a complete request within `read_timeout` (idle
// keep-alive connections and slow senders alike), so no client can pin a thread by being slow.
// A complete request is handed to a pool of `threads` workers, which call the handler and write
// the response; a keep-alive connection then goes back to the I/O thread.
//
// Limits: request line + headers over `max_header_bytes` → 431 (414 for an over-long request
// line alone), a declared body over `max_body_bytes` → 413, a malformed request → 400, another
// HTTP major version → 505, Transfer-Encoding → 501. Each of these responses closes the
// connection; the handler is not called. Choosing the status for unknown methods or paths
// (404, 405) is the handler's job.
//
// Thread-safety: start() and stop() may be called from any thread, but not from inside the
// handler (stop() joins the workers). The handler runs concurrently on up to `threads` workers.
// stop() is idempotent and also run by the destructor: it closes the listener and every
// connection, lets handlers already running finish, drops queued requests, and joins all threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "reckon/status.h"

namespace reckon::http {

struct HttpRequest {
  std::string method;  // as sent, e.g. "GET" (methods are case-sensitive)
  std::string path;    // request target up to '?', not percent-decoded, e.g. "/metrics"
  std::string query;   // after '?', without it; empty if none
  std::map<std::string, std::string> headers;  // names lower-cased; repeats joined with ", "
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra response headers (e.g. Allow, Cache-Control, Location). Content-Length, Connection
  // and Content-Type are written by the server and ignored here, as are entries with CR or LF.
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpServerOptions {
  int threads = 1;  // handler workers; values below 1 mean 1
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  // A connection must deliver each complete request within this time of becoming idle, and
  // each response must be fully written within it; otherwise the connection is closed.
  std::chrono::milliseconds read_timeout{10'000};
  size_t max_connections = 1024;  // further connections are accepted and closed at once
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Listens on an IPv4 "host:port" ("127.0.0.1:9113", "0.0.0.0:0"; "localhost" means
  // 127.0.0.1; port 0 picks a free port, see address()). Fails with kInvalidArgument for a
  // malformed address and kUnavailable when the address cannot be bound (e.g. port in use).
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen_host_port,
                                                   Handler handler, int threads = 1);
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen_host_port,
                                                   Handler handler,
                                                   const HttpServerOptions& options);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  // The bound address as "host:port", with the real port when started with port 0.
  std::string address() const;

  void stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses an IPv4 "host:port" into its parts; exposed for reckond's config validation.
Status parse_host_port(const std::string& host_port, std::string* host, uint16_t* port);

// The standard reason phrase for a status code ("Not Found"), "Unknown" for others.
const char* reason_phrase(int status);

}  // namespace reckon::http
