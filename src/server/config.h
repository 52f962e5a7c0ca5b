// Server configuration: flags and an optional JSON config file (docs/CONFIGURATION.md).
// Flags override the file. One server hosts one or more stores, each with its own data dir,
// pools and options (reckon-db's store_config).
#pragma once

#include <cstdint>
#include <map>
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

  // Raft: every write goes through a replicated log in both modes (single = one voter).
  std::string raft_listen = "127.0.0.1:0";  // single mode: nobody dials it, any port will do
  std::string peers;     // cluster: "ID=HOST:PORT,..." initial voters incl. this node
  bool join = false;     // cluster: start without peers; the leader adds this node
  std::string raft_dir;  // the Raft log; empty = DATA_DIR/raft
  int64_t election_timeout_ms = 250;   // randomized in [1x, 2x); docs/CLUSTER.md
  int64_t heartbeat_timeout_ms = 50;
  uint64_t snapshot_threshold = 65536;
  uint64_t snapshot_trailing = 65536;
  bool pipelined_writes = true;  // ReplicationOptions::pipelined_writes
  std::string discovery_dns;  // cluster: a DNS name whose A/AAAA records are the members
};

struct ServerConfig {
  std::string listen = "127.0.0.1:2113";  // gRPC
  std::string http = "127.0.0.1:2114";    // health, metrics, cluster status
  std::string log_level = "info";         // trace | debug | info | warn | error
  std::string log_format = "text";        // text | json
  std::vector<StoreConfig> stores;        // the first is the default store
  uint64_t node_id = 1;
  std::string advertise;  // the gRPC address other nodes and clients use; empty = listen

  // Cluster health and discovery (docs/CLUSTER.md).
  std::string cluster_name = "reckondb";   // announcements of other clusters are ignored
  std::string discovery_secret_file;       // set: signed UDP announcements (HMAC-SHA256)
  std::string discovery_address;           // multicast group or unicast host:port; default 239.192.74.1:7946
  int64_t health_interval_ms = 1000;       // how often the prober asks every member
};

// "1=127.0.0.1:7001,2=127.0.0.1:7002" -> {1: ..., 2: ...}; InvalidArgument on a bad list.
Result<std::map<uint64_t, std::string>> parse_peers(const std::string& peers);

// The replication options a store of this server opens with.
Result<ReplicationOptions> replication_options(const ServerConfig& server, const StoreConfig& store);

// Parses argv (and --config FILE). Returns InvalidArgument with a usage message on bad input;
// `help` is set when --help was asked (the text is in the status message).
Result<ServerConfig> parse_server_args(int argc, char** argv, bool& help);

// Reads a JSON config file into `config` (fields documented in docs/CONFIGURATION.md). An unknown
// key at any level, or a value of the wrong type, is InvalidArgument naming the key.
Status load_config_file(const std::string& path, ServerConfig& config);

Status validate(const ServerConfig& config);

}  // namespace reckon::server
