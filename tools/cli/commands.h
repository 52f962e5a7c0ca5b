// Registration of the `reckon` subcommands on the CLI11 app, one function per family. Each
// subcommand, when selected, stores its Runner in *selected; main() runs it after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include "session.h"

namespace reckon::cli {

// The CLI spells option values with dashes (round-robin, per-stream); the library's names have
// underscores. Both are accepted: this turns the first into the second.
std::string underscored(std::string value);

// append, read, read-all, version, streams, delete, snapshot (commands_streams.cc)
void add_stream_commands(CLI::App& app, Runner* selected);
// status, cluster add/promote/remove/transfer (commands_cluster.cc)
void add_cluster_commands(CLI::App& app, Runner* selected);
// bench append, bench read (commands_bench.cc); calls add_bench_delivery_commands
void add_bench_commands(CLI::App& app, Runner* selected);
// bench subscribe, bench consume, under the `bench` group (commands_bench_delivery.cc)
void add_bench_delivery_commands(CLI::App& bench, Runner* selected);
// subscribe (commands_subscribe.cc)
void add_subscribe_commands(CLI::App& app, Runner* selected);
// subscriptions ..., consume (commands_persistent.cc)
void add_persistent_commands(CLI::App& app, Runner* selected);
// import, export (commands_import_export.cc)
void add_import_export_commands(CLI::App& app, Runner* selected);

}  // namespace reckon::cli
