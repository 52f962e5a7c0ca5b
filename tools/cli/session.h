// The state one `reckon` invocation shares between its global flags and the command that runs:
// server endpoints, store name, output mode, and a lazily connected reckon::Client.
//
// Commands are registered on the CLI11 app by the add_*_commands functions (commands.h); each
// subcommand's callback stores a Runner, which main() calls once parsing (including global flags
// written after the subcommand) is complete.
//
// Thread-safety: the session belongs to the main thread; bench workers make their own clients
// with new_client().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "output.h"
#include "reckon/client.h"

namespace reckon::cli {

struct GlobalOptions {
  std::string server = "127.0.0.1:2113";  // HOST:PORT[,HOST:PORT...]; env RECKON_SERVER
  std::string store;
  bool json = false;
  int64_t timeout_ms = 10'000;
  bool require_leader = false;  // reads served by the leader only (an up-to-date view)
};

class Session {
 public:
  explicit Session(const GlobalOptions& options);

  const GlobalOptions& options() const { return options_; }
  Output& out() { return out_; }

  // The session's client, connected on first use.
  Result<Client*> client();
  // A fresh client with the session's options (bench workers).
  Result<std::unique_ptr<Client>> new_client() const;
  ClientOptions client_options() const;

 private:
  const GlobalOptions& options_;
  Output out_;
  std::unique_ptr<Client> client_;
};

using Runner = std::function<int(Session&)>;

// Splits "a:1, b:2" into endpoints; empty items are dropped.
std::vector<std::string> split_endpoints(const std::string& text);

}  // namespace reckon::cli
