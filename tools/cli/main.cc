// `reckon`: the command-line client of reckond. Global flags (--server, --store, --json,
// --timeout) are accepted before or after the subcommand. Exit codes: output.h.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "output.h"
#include "session.h"
#include "wire/runtime.h"

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
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

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
