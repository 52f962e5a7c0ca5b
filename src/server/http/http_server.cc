#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace reckon::http {
namespace {

// Socket timeouts are real time by nature (poll/epoll wait on the kernel), so this file uses
// the steady clock directly rather than the reckon::Clock wall-time seam.
using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kListenerTag = 0;
constexpr uint64_t kWakeTag = 1;
constexpr uint64_t kFirstConnectionTag = 2;
constexpr size_t kReadChunk = 64 * 1024;
// How long a closing connection is drained (see Connection::draining) before it is cut.
constexpr std::chrono::milliseconds kMaxDrain{2000};
// How long accepting pauses when the process runs out of file descriptors.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns the message pointer, which may or may not be `buf`.
  return std::string(strerror_r(err, buf, sizeof buf));
}

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated header value holds `token` (case-insensitive), as in
// "Connection: keep-alive, Upgrade".
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim_ows(list.substr(0, comma));
    if (lower(item) == token) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// ---- Request parsing ------------------------------------------------------------------------

enum class Progress { kNeedMore, kReady, kReject };

// The request being received on one connection, parsed incrementally as bytes arrive: the head
// (request line + headers) once it is complete, then the body once Content-Length bytes are in.
struct PendingRequest {
  size_t scan_from = 0;  // where to resume looking for the blank line that ends the head
  bool have_head = false;
  size_t head_bytes = 0;
  size_t body_bytes = 0;
  size_t consumed = 0;  // head + body, set when ready
  bool keep_alive = true;
  bool expect_continue = false;
  bool continue_sent = false;
  HttpRequest request;
  int reject_status = 0;  // set when rejected
  std::string reject_reason;
};

// Returns the offset just past the blank line that ends the head, or npos. Lines end with LF,
// optionally preceded by CR (RFC 9112 §2.2 lets a recipient accept a bare LF).
size_t find_head_end(std::string_view in, size_t& scan_from) {
  size_t i = scan_from;
  while (true) {
    size_t nl = in.find('\n', i);
    if (nl == std::string_view::npos) {
      scan_from = in.size();
      return std::string_view::npos;
    }
    if (nl + 1 < in.size() && in[nl + 1] == '\n') return nl + 2;
    if (nl + 2 < in.size() && in[nl + 1] == '\r' && in[nl + 2] == '\n') return nl + 3;
    if (nl + 1 >= in.size() || (nl + 2 >= in.size() && in[nl + 1] == '\r')) {
      scan_from = nl;  // cannot tell yet whether the next line is empty
      return std::string_view::npos;
    }
    i = nl + 1;
  }
}

Progress reject(PendingRequest& p, int status, std::string reason) {
  p.reject_status = status;
  p.reject_reason = std::move(reason);
  p.keep_alive = false;
  return Progress::kReject;
}

Progress parse_request_line(std::string_view line, PendingRequest& p) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return reject(p, 400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return reject(p, 400, "malformed method");
  if (target.empty()) return reject(p, 400, "empty request target");
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return reject(p, 400, "invalid character in request target");
    }
  }
  // Absolute form ("http://host/path", RFC 9112 §3.2.2): keep only the path and query.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && lower(target.substr(0, scheme.size())) == scheme) {
      size_t slash = target.find_first_of("/?", scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  if (target.front() != '/' && target != "*") return reject(p, 400, "invalid request target");

  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return reject(p, 400, "malformed HTTP version");
  }
  if (version[5] != '1') return reject(p, 505, "only HTTP/1.x is supported");
  p.keep_alive = version[7] != '0';  // HTTP/1.0 closes unless asked otherwise

  p.request.method = std::string(method);
  size_t q = target.find('?');
  p.request.path = std::string(target.substr(0, q));
  p.request.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  return Progress::kNeedMore;
}

Progress parse_head(std::string_view head, PendingRequest& p, const HttpServerOptions& opts) {
  bool first = true;
  bool http10 = !p.keep_alive;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line that ends the head
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
      return reject(p, 400, "invalid character in request head");
    }
    if (first) {
      first = false;
      if (parse_request_line(line, p) == Progress::kReject) return Progress::kReject;
      http10 = !p.keep_alive;
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      return reject(p, 400, "obsolete header line folding");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      return reject(p, 400, "malformed header field");
    }
    std::string name = lower(line.substr(0, colon));
    std::string_view value = trim_ows(line.substr(colon + 1));
    auto [it, inserted] = p.request.headers.try_emplace(name, value);
    if (!inserted) {
      if (name == "content-length") {
        if (it->second != value) return reject(p, 400, "conflicting Content-Length headers");
      } else {
        it->second.append(", ").append(value);
      }
    }
  }

  const auto& h = p.request.headers;
  if (h.count("transfer-encoding")) {
    return reject(p, 501, "Transfer-Encoding is not supported; send Content-Length");
  }
  if (auto it = h.find("content-length"); it != h.end()) {
    const std::string& v = it->second;
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size() || v[0] == '-' ||
        v[0] == '+') {
      return reject(p, 400, "malformed Content-Length");
    }
    if (n > opts.max_body_bytes) {
      return reject(p, 413,
                    "request body exceeds " + std::to_string(opts.max_body_bytes) + " bytes");
    }
    p.body_bytes = static_cast<size_t>(n);
  }
  if (auto it = h.find("connection"); it != h.end()) {
    if (has_token(it->second, "close")) {
      p.keep_alive = false;
    } else if (http10 && has_token(it->second, "keep-alive")) {
      p.keep_alive = true;
    }
  }
  if (auto it = h.find("expect"); it != h.end() && !http10) {
    p.expect_continue = lower(it->second) == "100-continue";
  }
  return Progress::kNeedMore;
}

// Advances `p` over the bytes buffered in `in`: kReady when a whole request is in (its bytes are
// the first p.consumed of `in`), kReject when it cannot be served, kNeedMore otherwise.
Progress advance(std::string& in, PendingRequest& p, const HttpServerOptions& opts) {
  if (!p.have_head) {
    if (p.scan_from == 0) {
      // RFC 9112 §2.2: ignore empty lines received before the request line.
      size_t skip = 0;
      while (skip < in.size() && (in[skip] == '\n' || (in[skip] == '\r' && skip + 1 < in.size() &&
                                                       in[skip + 1] == '\n'))) {
        skip += in[skip] == '\r' ? 2 : 1;
      }
      in.erase(0, skip);
    }
    size_t end = find_head_end(in, p.scan_from);
    if (end == std::string_view::npos && in.size() <= opts.max_header_bytes) {
      return Progress::kNeedMore;
    }
    if (end == std::string_view::npos || end > opts.max_header_bytes) {
      size_t first_nl = in.find('\n');
      if (first_nl == std::string::npos || first_nl > opts.max_header_bytes) {
        return reject(p, 414,
                      "request line exceeds " + std::to_string(opts.max_header_bytes) + " bytes");
      }
      return reject(p, 431,
                    "request header exceeds " + std::to_string(opts.max_header_bytes) + " bytes");
    }
    if (parse_head(std::string_view(in).substr(0, end), p, opts) == Progress::kReject) {
      return Progress::kReject;
    }
    p.have_head = true;
    p.head_bytes = end;
  }
  if (in.size() < p.head_bytes + p.body_bytes) return Progress::kNeedMore;
  p.request.body.assign(in, p.head_bytes, p.body_bytes);
  p.consumed = p.head_bytes + p.body_bytes;
  return Progress::kReady;
}

// ---- Responses ------------------------------------------------------------------------------

bool header_is_safe(const std::pair<std::string, std::string>& h) {
  if (!is_token(h.first)) return false;
  for (char c : h.second) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  std::string name = lower(h.first);
  return name != "content-length" && name != "connection" && name != "content-type" &&
         name != "transfer-encoding" && name != "date";
}

std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

std::string serialize(const HttpResponse& r, bool head_only, bool keep_alive) {
  int status = r.status;
  if (status < 200 || status > 599) status = 500;  // a handler bug; 1xx are not final answers
  bool no_body = status == 204 || status == 304;
  std::string out;
  out.reserve(160 + r.body.size());
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  out.append(reason_phrase(status)).append("\r\n");
  out.append("Date: ").append(http_date()).append("\r\n");
  if (!no_body) {
    if (!r.content_type.empty() && header_is_safe({"X", r.content_type})) {
      out.append("Content-Type: ").append(r.content_type).append("\r\n");
    }
    out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  }
  for (const auto& h : r.headers) {
    if (header_is_safe(h)) out.append(h.first).append(": ").append(h.second).append("\r\n");
  }
  out.append(keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  out.append("\r\n");
  if (!no_body && !head_only) out.append(r.body);
  return out;
}

// Writes all of `data` to a non-blocking socket before `deadline`.
bool write_all(int fd, std::string_view data, SteadyClock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{fd, POLLOUT, 0};
      int r = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1'000'000)));
      if (r < 0 && errno != EINTR) return false;
      if (r > 0 && !(pfd.revents & POLLOUT)) return false;  // error or hang-up
      continue;
    }
    return false;
  }
  return true;
}

// Best effort for a few bytes on a socket that is almost certainly writable; true if all went.
bool send_now(int fd, std::string_view data) {
  ssize_t n;
  do {
    n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(data.size());
}

// ---- Connections ----------------------------------------------------------------------------

// One accepted socket. While `busy` it belongs to a worker (its epoll registration is disarmed,
// EPOLLONESHOT); otherwise to the I/O thread. `busy`, `deadline` and the map entry are guarded
// by the server mutex; the buffer and parser state by whoever owns the connection.
struct Connection {
  uint64_t tag = 0;
  int fd = -1;
  bool busy = false;
  // After a response that ends the connection: our side is shut down for writing, and what the
  // peer still sends is read and dropped until it closes or the drain deadline passes. Closing
  // with unread input would make the kernel send RST, which can destroy the response we just
  // sent (e.g. a 413 for an oversized body) before the client reads it.
  bool draining = false;
  SteadyClock::time_point deadline;
  std::string in;
  PendingRequest pending;
};

}  // namespace

const char* reason_phrase(int status) {
  static constexpr std::pair<int, const char*> kPhrases[] = {
      {100, "Continue"},
      {101, "Switching Protocols"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {206, "Partial Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {304, "Not Modified"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {411, "Length Required"},
      {412, "Precondition Failed"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {415, "Unsupported Media Type"},
      {416, "Range Not Satisfiable"},
      {417, "Expectation Failed"},
      {422, "Unprocessable Content"},
      {426, "Upgrade Required"},
      {428, "Precondition Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
  };
  for (const auto& [code, phrase] : kPhrases) {
    if (code == status) return phrase;
  }
  return "Unknown";
}

Status parse_host_port(const std::string& host_port, std::string* host, uint16_t* port) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size()) {
    return Status::invalid_argument("listen address '" + host_port +
                                    "' is not of the form host:port");
  }
  std::string h = host_port.substr(0, colon);
  std::string_view p = std::string_view(host_port).substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value > 65535 || p.size() > 5) {
    return Status::invalid_argument("listen address '" + host_port + "' has an invalid port");
  }
  if (h == "localhost") h = "127.0.0.1";
  in_addr addr{};
  if (::inet_pton(AF_INET, h.c_str(), &addr) != 1) {
    return Status::invalid_argument("listen address '" + host_port +
                                    "' does not have an IPv4 host");
  }
  *host = h;
  *port = static_cast<uint16_t>(value);
  return Status::ok();
}

class HttpServer::Impl {
 public:
  Impl(Handler handler, HttpServerOptions opts) : handler_(std::move(handler)), opts_(opts) {
    opts_.threads = std::max(1, opts_.threads);
  }
  ~Impl() { stop(); }

  Status listen(const std::string& host_port);
  Status start_threads();
  std::string address() const { return address_; }
  void stop();

 private:
  void io_loop();
  void accept_all();
  void on_readable(uint64_t tag);
  void close_expired();
  int wait_timeout_ms();

  void worker_loop();
  void serve(const std::shared_ptr<Connection>& c);
  HttpResponse call_handler(const HttpRequest& request);
  void maybe_send_continue(Connection& c);
  // Gives an idle connection back to the I/O thread, waiting for its next request.
  void rearm(const std::shared_ptr<Connection>& c);
  // Ends the connection gracefully: shut down our side, then drain (see Connection::draining).
  void finish(const std::shared_ptr<Connection>& c);
  void close_connection(const std::shared_ptr<Connection>& c);
  void close_locked(const std::shared_ptr<Connection>& c);
  bool arm_locked(Connection& c, int op);

  Handler handler_;
  HttpServerOptions opts_;
  std::string address_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  std::thread io_thread_;
  std::vector<std::thread> workers_;

  std::mutex stop_mu_;  // serializes stop() calls
  bool stopped_ = false;

  std::mutex mu_;
  std::condition_variable work_cv_;
  bool stopping_ = false;                    // guarded by mu_
  std::atomic<bool> stop_requested_{false};  // the same, for readers that hold no lock
  uint64_t next_tag_ = kFirstConnectionTag;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::deque<std::shared_ptr<Connection>> queue_;  // connections with a request to serve

  // I/O thread only: after running out of descriptors, the listener is disarmed until then.
  bool accept_paused_ = false;
  SteadyClock::time_point accept_paused_until_{};
};

Status HttpServer::Impl::listen(const std::string& host_port) {
  std::string host;
  uint16_t port = 0;
  RECKON_RETURN_IF_ERROR(parse_host_port(host_port, &host, &port));

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::unavailable("cannot create socket: " + errno_text(errno));
  int one = 1;
  // Lets a restarted server bind while old connections sit in TIME_WAIT; Linux still refuses
  // the bind while another socket listens on the address.
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    return Status::unavailable("cannot listen on " + host_port + ": " + errno_text(err));
  }
  if (::listen(listen_fd_, SOMAXCONN) != 0) {
    int err = errno;
    return Status::unavailable("cannot listen on " + host_port + ": " + errno_text(err));
  }
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Status::unavailable("getsockname failed: " + errno_text(errno));
  }
  char ip[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
  address_ = std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));

  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::unavailable("epoll_create1 failed: " + errno_text(errno));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::unavailable("eventfd failed: " + errno_text(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerTag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    return Status::unavailable("epoll_ctl failed: " + errno_text(errno));
  }
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return Status::unavailable("epoll_ctl failed: " + errno_text(errno));
  }
  return Status::ok();
}

Status HttpServer::Impl::start_threads() {
  try {
    io_thread_ = std::thread([this] { io_loop(); });
    for (int i = 0; i < opts_.threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (const std::system_error& e) {
    return Status::unavailable(std::string("cannot start HTTP server threads: ") + e.what());
  }
  return Status::ok();
}

void HttpServer::Impl::stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // Wakes workers blocked writing to a slow client; handlers already running finish.
    for (auto& [tag, c] : connections_) ::shutdown(c->fd, SHUT_RDWR);
  }
  stop_requested_.store(true);
  work_cv_.notify_all();
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }
  if (io_thread_.joinable()) io_thread_.join();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  // No thread is left; descriptors can be closed without racing a reuse.
  for (auto& [tag, c] : connections_) ::close(c->fd);
  connections_.clear();
  queue_.clear();
  for (int* fd : {&listen_fd_, &epoll_fd_, &wake_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

// ---- I/O thread -----------------------------------------------------------------------------

void HttpServer::Impl::io_loop() {
  epoll_event events[64];
  while (!stop_requested_.load()) {
    int n = ::epoll_wait(epoll_fd_, events, 64, wait_timeout_ms());
    if (n < 0 && errno != EINTR) break;  // only on a bug (bad descriptor); stop() still works
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kListenerTag) {
        accept_all();
      } else if (tag == kWakeTag) {
        uint64_t value;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &value, sizeof value);
      } else {
        on_readable(tag);
      }
    }
    if (accept_paused_ && SteadyClock::now() >= accept_paused_until_) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenerTag;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
      accept_paused_ = false;
    }
    close_expired();
  }
}

int HttpServer::Impl::wait_timeout_ms() {
  auto now = SteadyClock::now();
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.read_timeout);
  wait = std::clamp(wait, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
  std::lock_guard lock(mu_);
  for (const auto& [tag, c] : connections_) {
    if (c->busy) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c->deadline - now);
    wait =
        std::min(wait, std::max(left + std::chrono::milliseconds(1), std::chrono::milliseconds(0)));
  }
  if (accept_paused_) wait = std::min(wait, kAcceptBackoff);
  return static_cast<int>(wait.count());
}

void HttpServer::Impl::accept_all() {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The listener would stay readable and spin this loop; retry after a pause.
        epoll_event ev{};
        ev.data.u64 = kListenerTag;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
        accept_paused_ = true;
        accept_paused_until_ = SteadyClock::now() + kAcceptBackoff;
      }
      return;  // EAGAIN: nothing more to accept
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_shared<Connection>();
    c->fd = fd;
    c->deadline = SteadyClock::now() + opts_.read_timeout;
    std::lock_guard lock(mu_);
    if (stopping_ || connections_.size() >= opts_.max_connections) {
      ::close(fd);
      continue;
    }
    c->tag = next_tag_++;
    if (!arm_locked(*c, EPOLL_CTL_ADD)) {
      ::close(fd);
      continue;
    }
    connections_.emplace(c->tag, std::move(c));
  }
}

bool HttpServer::Impl::arm_locked(Connection& c, int op) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = c.tag;
  return ::epoll_ctl(epoll_fd_, op, c.fd, &ev) == 0;
}

void HttpServer::Impl::on_readable(uint64_t tag) {
  std::shared_ptr<Connection> c;
  {
    std::lock_guard lock(mu_);
    auto it = connections_.find(tag);
    if (it == connections_.end() || it->second->busy) return;
    c = it->second;
  }
  char buf[kReadChunk];
  Progress progress = Progress::kNeedMore;
  while (true) {
    ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (c->draining) continue;
      c->in.append(buf, static_cast<size_t>(n));
      progress = advance(c->in, c->pending, opts_);
      if (progress != Progress::kNeedMore) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    close_connection(c);  // the peer closed (n == 0) or the connection failed
    return;
  }
  if (progress == Progress::kNeedMore) {
    if (!c->draining) maybe_send_continue(*c);
    std::lock_guard lock(mu_);
    if (!arm_locked(*c, EPOLL_CTL_MOD)) close_locked(c);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    c->busy = true;
    queue_.push_back(c);
  }
  work_cv_.notify_one();
}

void HttpServer::Impl::maybe_send_continue(Connection& c) {
  PendingRequest& p = c.pending;
  if (!p.have_head || !p.expect_continue || p.continue_sent) return;
  p.continue_sent = true;
  // A partial interim response would corrupt the stream; drop the connection instead.
  if (!send_now(c.fd, "HTTP/1.1 100 Continue\r\n\r\n")) ::shutdown(c.fd, SHUT_RDWR);
}

void HttpServer::Impl::close_expired() {
  auto now = SteadyClock::now();
  std::lock_guard lock(mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection& c = *it->second;
    if (c.busy || now < c.deadline) {
      ++it;
      continue;
    }
    if (!c.draining && !c.in.empty()) {
      send_now(c.fd, serialize({408, "text/plain; charset=utf-8", "request timeout\n", {}}, false,
                               false));
    }
    ::close(c.fd);
    it = connections_.erase(it);
  }
}

// ---- Workers --------------------------------------------------------------------------------

void HttpServer::Impl::worker_loop() {
  while (true) {
    std::shared_ptr<Connection> c;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      c = std::move(queue_.front());
      queue_.pop_front();
    }
    serve(c);
  }
}

HttpResponse HttpServer::Impl::call_handler(const HttpRequest& request) {
  try {
    return handler_(request);
  } catch (...) {
    // Exceptions do not cross this boundary; a throwing handler is a bug, not a crash.
    return HttpResponse{500, "text/plain; charset=utf-8", "internal server error\n", {}};
  }
}

void HttpServer::Impl::serve(const std::shared_ptr<Connection>& c) {
  while (true) {
    PendingRequest& p = c->pending;
    if (p.reject_status != 0) {
      auto deadline = SteadyClock::now() + opts_.read_timeout;
      HttpResponse r{p.reject_status, "text/plain; charset=utf-8", p.reject_reason + "\n", {}};
      if (write_all(c->fd, serialize(r, false, false), deadline)) {
        finish(c);
      } else {
        close_connection(c);
      }
      return;
    }
    HttpResponse response = call_handler(p.request);
    bool keep_alive = p.keep_alive && !stop_requested_.load();
    auto deadline = SteadyClock::now() + opts_.read_timeout;  // the handler may have been slow
    if (!write_all(c->fd, serialize(response, p.request.method == "HEAD", keep_alive), deadline)) {
      close_connection(c);
      return;
    }
    if (!keep_alive) {
      finish(c);
      return;
    }
    // Pipelined requests may already be buffered; serve them before waiting for more.
    c->in.erase(0, p.consumed);
    p = PendingRequest{};
    Progress progress = advance(c->in, p, opts_);
    if (progress == Progress::kNeedMore) {
      maybe_send_continue(*c);
      rearm(c);
      return;
    }
  }
}

void HttpServer::Impl::rearm(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu_);
  if (stopping_) return;  // stop() closes it
  c->busy = false;
  c->deadline = SteadyClock::now() + opts_.read_timeout;
  if (!arm_locked(*c, EPOLL_CTL_MOD)) close_locked(c);
}

void HttpServer::Impl::finish(const std::shared_ptr<Connection>& c) {
  ::shutdown(c->fd, SHUT_WR);
  c->draining = true;
  c->in.clear();
  c->in.shrink_to_fit();
  c->pending = PendingRequest{};
  std::lock_guard lock(mu_);
  if (stopping_) return;
  c->busy = false;
  c->deadline =
      SteadyClock::now() + std::min<std::chrono::milliseconds>(kMaxDrain, opts_.read_timeout);
  if (!arm_locked(*c, EPOLL_CTL_MOD)) close_locked(c);
}

void HttpServer::Impl::close_connection(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu_);
  close_locked(c);
}

void HttpServer::Impl::close_locked(const std::shared_ptr<Connection>& c) {
  if (stopping_) return;  // stop() closes every descriptor once all threads are joined
  if (connections_.erase(c->tag) > 0) ::close(c->fd);
}

// ---- HttpServer -----------------------------------------------------------------------------

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen_host_port,
                                                      Handler handler, int threads) {
  HttpServerOptions options;
  options.threads = threads;
  return start(listen_host_port, std::move(handler), options);
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen_host_port,
                                                      Handler handler,
                                                      const HttpServerOptions& options) {
  if (!handler) return Status::invalid_argument("HttpServer needs a handler");
  auto impl = std::make_unique<Impl>(std::move(handler), options);
  RECKON_RETURN_IF_ERROR(impl->listen(listen_host_port));
  RECKON_RETURN_IF_ERROR(impl->start_threads());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::string HttpServer::address() const { return impl_->address(); }

void HttpServer::stop() { impl_->stop(); }

}  // namespace reckon::http
