// ServerProcess: a real reckond child process for end-to-end tests, and run_program/run_cli to
// run the `reckon` CLI (or any binary) with a timeout and captured output.
//
// start() picks free loopback ports (bind to port 0, read the port, close), spawns
//   RECKOND_BIN --data-dir DIR --listen 127.0.0.1:P --http 127.0.0.1:H [extra args]
// with stdout/stderr appended to DIR/reckond.log, and polls `GET /health` on the HTTP port until
// it answers 200 (deadline 20 s) or the child exits. restart() keeps the data dir and the ports,
// so clients created before it keep working. The destructor always SIGKILLs and reaps the child.
// Cluster tests reserve_ports() first (every node must know the others' addresses before any
// starts), pass --raft-listen/--peers (fixed ports) as extra args, and kill9() + start() a node
// to crash and restart it on the same data dir and ports.
//
// Children get PR_SET_PDEATHSIG(SIGKILL): they die with the *thread* that started them, so
// start nodes from the test's main thread (never from a short-lived helper thread), and a
// failing or crashing test never leaves a server behind.
//
// The binaries' paths come from the compile definitions RECKOND_BIN and RECKON_CLI_BIN of the
// test target; the inline helpers below read them in the including translation unit.
// Thread-safety: a ServerProcess is used by one test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <string>
#include <utility>
#include <vector>

#include "reckon/status.h"

namespace reckon::testing {

class ServerProcess {
 public:
  // `data_dir` is created if missing. `binary` is the reckond executable.
  ServerProcess(std::string binary, std::string data_dir, std::vector<std::string> extra_args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Picks the gRPC and HTTP ports now (no-op if already picked), so that they can be handed to
  // other processes before this one starts. A port taken meanwhile fails start().
  Status reserve_ports();
  // Replaces the extra arguments of the next start.
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  // Starts the server and waits until it is healthy. Ports are picked on the first start.
  Status start(std::chrono::milliseconds deadline = std::chrono::seconds(20));
  // Sends `sig` (SIGTERM or SIGINT), waits up to `grace`, then SIGKILL; returns the exit status
  // text ("exited 0", "killed by signal 9") or an error if nothing was running.
  Result<std::string> stop(std::chrono::milliseconds grace = std::chrono::seconds(10),
                           int sig = SIGTERM);
  // SIGKILL now and reap.
  void kill9();
  // stop() (if running) then start() on the same data dir and ports.
  Status restart();

  bool running();
  pid_t pid() const { return pid_; }
  std::string grpc_address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  std::string http_address() const { return "127.0.0.1:" + std::to_string(http_port_); }
  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string log_path() const { return data_dir_ + "/reckond.log"; }
  // The last `max_bytes` of the server log, for failure messages.
  std::string log_tail(size_t max_bytes = 4000) const;

 private:
  Status spawn();
  Status wait_healthy(std::chrono::milliseconds deadline);
  // Reaps the child if it has exited; returns true if it did (status text in *how).
  bool reap_if_exited(std::string* how);

  std::string binary_;
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  int grpc_port_ = 0;
  int http_port_ = 0;
  pid_t pid_ = -1;
};

// A free TCP port on 127.0.0.1 (the kernel's choice for port 0).
Result<int> pick_free_port();

// Minimal HTTP/1.0 GET; returns the status code and the body (after the headers).
struct HttpResponse {
  int status = 0;
  std::string body;
};
Result<HttpResponse> http_get(const std::string& host, int port, const std::string& path,
                              std::chrono::milliseconds timeout = std::chrono::seconds(2));

struct ProgramResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct RunOptions {
  // Added to (or replacing in) the inherited environment. RECKON_SERVER is never inherited:
  // tests must set it explicitly.
  std::vector<std::pair<std::string, std::string>> env;
  std::string stdin_data;
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
};

// Runs `binary args...`, captures stdout and stderr, kills it (SIGKILL) after the timeout.
ProgramResult run_program(const std::string& binary, const std::vector<std::string>& args,
                          const RunOptions& options = {});

#ifdef RECKOND_BIN
inline std::string reckond_bin() { return RECKOND_BIN; }
#endif

#ifdef RECKON_CLI_BIN
inline std::string reckon_cli_bin() { return RECKON_CLI_BIN; }

// Runs the `reckon` CLI.
inline ProgramResult run_cli(const std::vector<std::string>& args,
                             const std::vector<std::pair<std::string, std::string>>& env = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  RunOptions o;
  o.env = env;
  o.timeout = timeout;
  return run_program(RECKON_CLI_BIN, args, o);
}
inline ProgramResult run_cli(const std::vector<std::string>& args, const RunOptions& options) {
  return run_program(RECKON_CLI_BIN, args, options);
}
#endif

}  // namespace reckon::testing
