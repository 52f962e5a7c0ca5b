// Server configuration: flags and an optional JSON config file (docs/CONFIGURATION.md).
// Flags override the file. One server hosts one or more stores, each with its own data dir,
// pools and options (reckon-db's store_config).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reckon/options.h"
#include "reckon/status.h"

namespace reckon::server {

struct StoreConfig {
  std::string store_id = "default";
  std::string data_dir = "./data";
  std::string mode = "single";  // single | cluster
  int64_t timeout_ms = 5000;    // server-side deadline for a request without one
  int writer_pool_size = 4;     // threads that validate and encode writes
  int reader_pool_size = 4;     // threads that serve RocksDB reads
  int gateway_pool_size = 2;    // threads that run the gRPC completion queues
  StoreOptions options;         // limits, cache sizes, sync (built from "options")
};

struct ServerConfig {
  std::string listen = "127.0.0.1:2113";  // gRPC
  std::string http = "127.0.0.1:2114";    // health, metrics, cluster status
  std::string log_level = "info";         // trace | debug | info | warn | error
  std::string log_format = "text";        // text | json
  std::vector<StoreConfig> stores;        // the first is the default store
  uint64_t node_id = 1;
};

// Parses argv (and --config FILE). Returns InvalidArgument with a usage message on bad input;
// `help` is set when --help was asked (the text is in the status message).
Result<ServerConfig> parse_server_args(int argc, char** argv, bool& help);

// Reads a JSON config file into `config` (fields documented in docs/CONFIGURATION.md).
Status load_config_file(const std::string& path, ServerConfig& config);

Status validate(const ServerConfig& config);

}  // namespace reckon::server
