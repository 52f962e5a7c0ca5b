#include "support/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <mutex>
#include <random>
#include <thread>

extern char** environ;

namespace reckon::testing {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// argv/envp as the C arrays exec wants, built before fork (the child may only call
// async-signal-safe functions).
struct ExecArgs {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  std::vector<std::string> env_strings;
  std::vector<char*> envp;

  ExecArgs(const std::string& binary, const std::vector<std::string>& args,
           const std::vector<std::pair<std::string, std::string>>& env) {
    strings.push_back(binary);
    strings.insert(strings.end(), args.begin(), args.end());
    for (auto& s : strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string item = *e;
      std::string key = item.substr(0, item.find('='));
      if (key == "RECKON_SERVER") continue;
      bool overridden = false;
      for (const auto& [k, v] : env) overridden = overridden || k == key;
      if (!overridden) env_strings.push_back(std::move(item));
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

namespace {

// Binds 127.0.0.1:`port` (0 = any) and returns the port bound, then releases it.
Result<int> probe_port(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::io_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return Status::io_error(std::string("bind: ") + std::strerror(err));
  }
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return Status::io_error(std::string("getsockname: ") + std::strerror(err));
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

// The first port of the kernel's ephemeral range (the local ports of outgoing connections).
int ephemeral_range_start() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  if (!(in >> low)) return 32768;
  return low;
}

}  // namespace

// A port from below the ephemeral range when there is room: a port the kernel hands out for
// bind(0) comes from that range, and any outgoing connection (gRPC, Raft, this very test's
// clients) may take it as its local port before the server binds it — the occasional "Address
// already in use" of parallel test runs. Ports below the range are only ever bound explicitly;
// a random pick collides with another test process's only by chance, and the bind check
// catches a port already taken.
Result<int> pick_free_port() {
  const int high = ephemeral_range_start();
  const int low = 10'000;
  if (high - low >= 4'000) {
    static std::mutex mu;
    static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
    for (int attempt = 0; attempt < 100; ++attempt) {
      int port;
      {
        std::lock_guard<std::mutex> lock(mu);
        port = low + static_cast<int>(rng() % static_cast<unsigned>(high - low));
      }
      if (probe_port(port).is_ok()) return port;
    }
  }
  return probe_port(0);
}

Result<HttpResponse> http_get(const std::string& host, int port, const std::string& path,
                              std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::io_error(std::string("socket: ") + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    return Status::invalid_argument("not an IPv4 address: " + host);
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return Status(ErrorCode::kUnavailable, std::string("connect: ") + std::strerror(err));
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host + ":" +
                        std::to_string(port) + "\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return Status(ErrorCode::kUnavailable, std::string("send: ") + std::strerror(err));
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status(ErrorCode::kTimeout, std::string("recv: ") + std::strerror(err));
    }
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  // "HTTP/1.1 200 OK\r\n..."
  if (response.compare(0, 5, "HTTP/") != 0 || response.size() < 12) {
    return Status::invalid_argument("not an HTTP response: " + response.substr(0, 64));
  }
  HttpResponse out;
  out.status = std::atoi(response.c_str() + response.find(' ') + 1);
  size_t body = response.find("\r\n\r\n");
  if (body != std::string::npos) out.body = response.substr(body + 4);
  return out;
}

ServerProcess::ServerProcess(std::string binary, std::string data_dir,
                             std::vector<std::string> extra_args)
    : binary_(std::move(binary)), data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}

ServerProcess::~ServerProcess() { kill9(); }

bool ServerProcess::reap_if_exited(std::string* how) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    if (how != nullptr) *how = r == pid_ ? describe_wait_status(status) : "already reaped";
    pid_ = -1;
    return true;
  }
  return false;
}

bool ServerProcess::running() { return !reap_if_exited(nullptr); }

Status ServerProcess::spawn() {
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  if (ec) return Status::io_error("create " + data_dir_ + ": " + ec.message());
  std::vector<std::string> args = {"--data-dir", data_dir_, "--listen", grpc_address(),
                                   "--http", http_address()};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  ExecArgs exec(binary_, args, {});
  const std::string log = log_path();
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::io_error("open " + log + ": " + std::strerror(errno));
  {
    std::string banner = "---- starting " + binary_ + " on " + grpc_address() + "\n";
    [[maybe_unused]] auto n = ::write(log_fd, banner.data(), banner.size());
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Status::io_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test binary
    if (::getppid() != parent) ::_exit(126);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
  return Status::ok();
}

Status ServerProcess::wait_healthy(std::chrono::milliseconds deadline) {
  auto until = SteadyClock::now() + deadline;
  std::string last_error = "no answer";
  while (SteadyClock::now() < until) {
    std::string how;
    if (reap_if_exited(&how)) {
      return Status::unavailable("reckond " + how + " before it was healthy; log:\n" + log_tail());
    }
    auto r = http_get("127.0.0.1", http_port_, "/health", std::chrono::milliseconds(1000));
    if (r.is_ok() && r->status == 200) return Status::ok();
    last_error = r.is_ok() ? "HTTP " + std::to_string(r->status) : r.status().to_string();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  return Status(ErrorCode::kTimeout, "reckond not healthy after " +
                                         std::to_string(deadline.count()) + " ms (" + last_error +
                                         "); log:\n" + log_tail());
}

Status ServerProcess::reserve_ports() {
  while (grpc_port_ == 0) {
    auto g = pick_free_port();
    if (!g) return g.status();
    auto h = pick_free_port();
    if (!h) return h.status();
    if (*g == *h) continue;
    grpc_port_ = *g;
    http_port_ = *h;
  }
  return Status::ok();
}

Status ServerProcess::start(std::chrono::milliseconds deadline) {
  if (running()) return Status::invalid_argument("reckond is already running");
  bool fresh_ports = grpc_port_ == 0;
  for (int attempt = 0;; ++attempt) {
    if (fresh_ports) {
      auto g = pick_free_port();
      if (!g) return g.status();
      auto h = pick_free_port();
      if (!h) return h.status();
      if (*g == *h) continue;
      grpc_port_ = *g;
      http_port_ = *h;
    }
    RECKON_RETURN_IF_ERROR(spawn());
    Status st = wait_healthy(deadline);
    // A port taken between pick_free_port() and the server's bind: try other ports once more.
    if (!st && fresh_ports && attempt < 2 && !running() &&
        st.message().find("ddress already in use") != std::string::npos) {
      continue;
    }
    if (!st) kill9();
    return st;
  }
}

Result<std::string> ServerProcess::stop(std::chrono::milliseconds grace, int sig) {
  if (pid_ <= 0) return Status::invalid_argument("reckond is not running");
  std::string how;
  if (reap_if_exited(&how)) return how;
  ::kill(pid_, sig);
  auto until = SteadyClock::now() + grace;
  while (SteadyClock::now() < until) {
    if (reap_if_exited(&how)) return how;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return "did not stop within " + std::to_string(grace.count()) + " ms; " +
         describe_wait_status(status);
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

Status ServerProcess::restart() {
  if (running()) {
    auto stopped = stop();
    if (!stopped) return stopped.status();
  }
  return start();
}

std::string ServerProcess::log_tail(size_t max_bytes) const {
  std::ifstream in(log_path(), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  if (all.size() > max_bytes) all = "..." + all.substr(all.size() - max_bytes);
  return all;
}

ProgramResult run_program(const std::string& binary, const std::vector<std::string>& args,
                          const RunOptions& options) {
  ProgramResult result;
  ExecArgs exec(binary, args, options.env);
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    result.err = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  set_nonblocking(in_pipe[1]);
  set_nonblocking(out_pipe[0]);
  set_nonblocking(err_pipe[0]);

  int in_fd = in_pipe[1];
  size_t in_off = 0;
  if (options.stdin_data.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  int out_fd = out_pipe[0];
  int err_fd = err_pipe[0];
  auto until = SteadyClock::now() + options.timeout;
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_fd >= 0) { out_i = n; fds[n++] = {out_fd, POLLIN, 0}; }
    if (err_fd >= 0) { err_i = n; fds[n++] = {err_fd, POLLIN, 0}; }
    if (in_fd >= 0) { in_i = n; fds[n++] = {in_fd, POLLOUT, 0}; }
    int r = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) break;
    auto drain = [&](int idx, int& fd, std::string& sink) {
      if (idx < 0 || fds[idx].revents == 0) return;
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got > 0) {
        sink.append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        ::close(fd);
        fd = -1;
      }
    };
    drain(out_i, out_fd, result.out);
    drain(err_i, err_fd, result.err);
    if (in_i >= 0 && fds[in_i].revents != 0) {
      ssize_t put = ::write(in_fd, options.stdin_data.data() + in_off,
                            options.stdin_data.size() - in_off);
      if (put > 0) in_off += static_cast<size_t>(put);
      if ((put < 0 && errno != EAGAIN && errno != EINTR) || in_off >= options.stdin_data.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0) ::close(err_fd);
  if (result.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace reckon::testing
