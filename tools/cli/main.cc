// `reckon`: the command-line client of reckond. Global flags (--server, --store, --json,
// --timeout) are accepted before or after the subcommand. Exit codes: output.h.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "option_checks.h"
#include "output.h"
#include "session.h"
#include "wire/runtime.h"

namespace {

// CLI11 reports a word that names no subcommand ("reckon frob", "reckon snapshot frob s1") as
// "A subcommand is required". Returns "frob" or "snapshot frob" for such a word, else "".
std::string unknown_command(const CLI::App& app) {
  const CLI::App* at = &app;
  std::string path;
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    path += at->get_name() + " ";
  }
  if (at->get_require_subcommand_min() == 0) return "";
  for (const auto& word : app.remaining(/*recurse=*/true)) {
    if (!word.empty() && word[0] != '-') return path + word;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace reckon::cli;
  reckon::wire::tune_grpc_runtime();

  GlobalOptions globals;
  CLI::App app{"reckon — command-line client of the reckondb event store", "reckon"};
  app.fallthrough();  // inherited by every subcommand: global flags may follow the subcommand
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help of every subcommand");
  app.footer(
      "Exit codes: 0 ok, 1 error, 2 usage, 3 wrong expected version, 4 not found or deleted.");

  app.add_option("--server", globals.server,
                 "Server endpoint(s) HOST:PORT[,HOST:PORT...]; the client follows the leader")
      ->envname("RECKON_SERVER")
      ->capture_default_str();
  app.add_option("--store", globals.store, "Store name (default: the server's default store)");
  app.add_flag("--json", globals.json, "One JSON object per line instead of tables");
  app.add_option("--timeout", globals.timeout_ms, "Deadline of each server call, milliseconds")
      ->check(integer_at_least(1))
      ->capture_default_str();
  app.add_flag("--require-leader", globals.require_leader,
               "Reads from the leader only (a follower answers NotLeader and the client follows), "
               "so they see every write acknowledged before them");

  Runner selected;
  add_stream_commands(app, &selected);
  add_cluster_commands(app, &selected);
  add_bench_commands(app, &selected);
  add_import_export_commands(app, &selected);
  add_subscribe_commands(app, &selected);
  add_persistent_commands(app, &selected);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    if (const std::string unknown = unknown_command(app); !unknown.empty()) {
      return report_usage_error("unknown command '" + unknown + "'");
    }
    return report_usage_error(e.what());
  }

  auto endpoints = split_endpoints(globals.server);
  if (endpoints.empty()) return report_usage_error("--server: no endpoint given");
  for (const auto& ep : endpoints) {
    if (ep.rfind(':') == std::string::npos || ep.back() == ':') {
      return report_usage_error("--server: '" + ep + "' is not HOST:PORT");
    }
  }
  if (!selected) return report_usage_error("no command given");

  Session session(globals);
  int code = kExitError;
  try {
    code = selected(session);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "error: Internal: " << e.what() << "\n";
    code = kExitError;
  }
  std::cout.flush();
  return code;
}
