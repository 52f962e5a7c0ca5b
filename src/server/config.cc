#include "server/config.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "server/state_fetcher.h"

namespace reckon::server {
namespace {

using nlohmann::json;

template <typename T>
void read_field(const json& j, const char* key, T& out) {
  if (j.contains(key)) out = j.at(key).get<T>();
}

Status store_from_json(const json& j, StoreConfig& s) {
  if (!j.is_object()) return Status::invalid_argument("each store must be a JSON object");
  read_field(j, "store_id", s.store_id);
  read_field(j, "data_dir", s.data_dir);
  read_field(j, "mode", s.mode);
  read_field(j, "timeout_ms", s.timeout_ms);
  read_field(j, "writer_pool_size", s.writer_pool_size);
  read_field(j, "reader_pool_size", s.reader_pool_size);
  read_field(j, "gateway_pool_size", s.gateway_pool_size);
  read_field(j, "raft_listen", s.raft_listen);
  read_field(j, "peers", s.peers);
  read_field(j, "join", s.join);
  read_field(j, "raft_dir", s.raft_dir);
  read_field(j, "election_timeout_ms", s.election_timeout_ms);
  read_field(j, "heartbeat_timeout_ms", s.heartbeat_timeout_ms);
  read_field(j, "snapshot_threshold", s.snapshot_threshold);
  read_field(j, "snapshot_trailing", s.snapshot_trailing);
  read_field(j, "pipelined_writes", s.pipelined_writes);
  read_field(j, "discovery_dns", s.discovery_dns);
  if (j.contains("options")) {
    const json& o = j.at("options");
    if (!o.is_object()) return Status::invalid_argument("store options must be a JSON object");
    auto& opt = s.options;
    read_field(o, "block_cache_bytes", opt.block_cache_bytes);
    read_field(o, "memtable_budget_bytes", opt.memtable_budget_bytes);
    read_field(o, "stream_head_cache_entries", opt.stream_head_cache_entries);
    read_field(o, "max_commands_per_commit", opt.max_commands_per_commit);
    read_field(o, "max_event_bytes", opt.limits.max_event_bytes);
    read_field(o, "max_append_bytes", opt.limits.max_append_bytes);
    read_field(o, "max_events_per_append", opt.limits.max_events_per_append);
    read_field(o, "max_stream_id_bytes", opt.limits.max_stream_id_bytes);
    read_field(o, "max_tags_per_event", opt.limits.max_tags_per_event);
    read_field(o, "max_read_count", opt.limits.max_read_count);
  }
  return Status::ok();
}

bool valid_host_port(const std::string& a) {
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  for (size_t i = colon + 1; i < a.size(); ++i) {
    if (a[i] < '0' || a[i] > '9') return false;
  }
  return a.size() - colon - 1 <= 5 && std::stoul(a.substr(colon + 1)) <= 65535;
}

}  // namespace

Result<std::map<uint64_t, std::string>> parse_peers(const std::string& peers) {
  std::map<uint64_t, std::string> out;
  std::stringstream in(peers);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto eq = item.find('=');
    const std::string id_text = eq == std::string::npos ? "" : item.substr(0, eq);
    const std::string address = eq == std::string::npos ? "" : item.substr(eq + 1);
    uint64_t id = 0;
    bool id_ok = !id_text.empty() && id_text.size() <= 19 &&
                 id_text.find_first_not_of("0123456789") == std::string::npos;
    if (id_ok) id = std::stoull(id_text);
    if (!id_ok || id == 0 || !valid_host_port(address)) {
      return Status::invalid_argument("--peers expects ID=HOST:PORT[,ID=HOST:PORT...] with ids > 0, got '" +
                                      item + "'");
    }
    if (!out.emplace(id, address).second) {
      return Status::invalid_argument("--peers names node " + id_text + " twice");
    }
  }
  return out;
}

Result<ReplicationOptions> replication_options(const ServerConfig& server, const StoreConfig& store) {
  ReplicationOptions r;
  r.node_id = server.node_id;
  r.raft_address = store.raft_listen;
  r.raft_dir = store.raft_dir;
  r.client_address = server.advertise.empty() ? server.listen : server.advertise;
  r.election_timeout = std::chrono::milliseconds(store.election_timeout_ms);
  r.heartbeat_timeout = std::chrono::milliseconds(store.heartbeat_timeout_ms);
  r.snapshot_threshold = static_cast<unsigned>(store.snapshot_threshold);
  r.snapshot_trailing = static_cast<unsigned>(store.snapshot_trailing);
  r.pipelined_writes = store.pipelined_writes;
  // A replica behind a Raft snapshot fetches the store's state from a peer over gRPC.
  r.fetch_state = grpc_state_fetcher(store.store_id, r.catch_up_timeout);
  if (store.mode == "single") {
    r.initial_members = {{server.node_id, store.raft_listen}};
  } else if (!store.join) {
    RECKON_ASSIGN_OR_RETURN(r.initial_members, parse_peers(store.peers));
  }
  return r;
}

Status load_config_file(const std::string& path, ServerConfig& c) {
  std::ifstream in(path);
  if (!in) return Status::invalid_argument("cannot read config file '" + path + "'");
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::invalid_argument("config file '" + path + "' is not a JSON object");
  }
  try {
    read_field(j, "listen", c.listen);
    read_field(j, "http", c.http);
    read_field(j, "log_level", c.log_level);
    read_field(j, "log_format", c.log_format);
    read_field(j, "node_id", c.node_id);
    read_field(j, "advertise", c.advertise);
    read_field(j, "cluster_name", c.cluster_name);
    read_field(j, "discovery_secret_file", c.discovery_secret_file);
    read_field(j, "discovery_address", c.discovery_address);
    read_field(j, "health_interval_ms", c.health_interval_ms);
    if (j.contains("stores")) {
      if (!j.at("stores").is_array()) return Status::invalid_argument("'stores' must be an array");
      c.stores.clear();
      for (const auto& s : j.at("stores")) {
        StoreConfig sc;
        RECKON_RETURN_IF_ERROR(store_from_json(s, sc));
        c.stores.push_back(std::move(sc));
      }
    }
  } catch (const json::exception& e) {
    return Status::invalid_argument("config file '" + path + "': " + e.what());
  }
  return Status::ok();
}

Status validate(const ServerConfig& c) {
  if (c.stores.empty()) return Status::invalid_argument("no store configured");
  if (c.node_id == 0) return Status::invalid_argument("node_id must be > 0");
  std::set<std::string> ids, dirs, raft_ports;
  for (const auto& s : c.stores) {
    if (s.store_id.empty()) return Status::invalid_argument("store_id must not be empty");
    if (!ids.insert(s.store_id).second) {
      return Status::invalid_argument("store '" + s.store_id + "' is configured twice");
    }
    if (!dirs.insert(s.data_dir).second) {
      return Status::invalid_argument("two stores share data dir '" + s.data_dir + "'");
    }
    if (s.mode != "single" && s.mode != "cluster") {
      return Status::invalid_argument("mode must be single or cluster, not '" + s.mode + "'");
    }
    if (!valid_host_port(s.raft_listen)) {
      return Status::invalid_argument("store '" + s.store_id + "': raft_listen must be HOST:PORT, not '" +
                                      s.raft_listen + "'");
    }
    if (s.mode == "cluster") {
      if (s.raft_listen.ends_with(":0")) {
        return Status::invalid_argument("cluster mode needs --raft-listen HOST:PORT (a fixed port peers can dial)");
      }
      if (s.join && !s.peers.empty()) {
        return Status::invalid_argument("--join starts a node outside the initial configuration: drop --peers");
      }
      if (!s.join) {
        RECKON_ASSIGN_OR_RETURN(auto peers, parse_peers(s.peers));
        auto self = peers.find(c.node_id);
        if (self == peers.end()) {
          return Status::invalid_argument("--peers must include this node (--node-id " +
                                          std::to_string(c.node_id) + ")");
        }
        if (self->second != s.raft_listen) {
          return Status::invalid_argument("--peers gives node " + std::to_string(c.node_id) + " the address " +
                                          self->second + " but --raft-listen is " + s.raft_listen);
        }
      }
    }
    if (!s.raft_listen.ends_with(":0") && !raft_ports.insert(s.raft_listen).second) {
      return Status::invalid_argument("two stores share raft_listen " + s.raft_listen +
                                      " (each store is its own Raft group: give each its own port)");
    }
    if (s.election_timeout_ms < 10 || s.heartbeat_timeout_ms < 1 ||
        s.heartbeat_timeout_ms >= s.election_timeout_ms) {
      return Status::invalid_argument("need election_timeout_ms >= 10 and 0 < heartbeat_timeout_ms < election_timeout_ms");
    }
    if (s.writer_pool_size < 1 || s.reader_pool_size < 1 || s.gateway_pool_size < 1) {
      return Status::invalid_argument("pool sizes must be at least 1");
    }
    if (s.timeout_ms <= 0) return Status::invalid_argument("timeout_ms must be positive");
  }
  if (c.health_interval_ms < 10) return Status::invalid_argument("health_interval_ms must be at least 10");
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
  if (!levels.count(c.log_level)) return Status::invalid_argument("unknown log level '" + c.log_level + "'");
  if (c.log_format != "text" && c.log_format != "json") {
    return Status::invalid_argument("log format must be text or json");
  }
  return Status::ok();
}

Result<ServerConfig> parse_server_args(int argc, char** argv, bool& help) {
  help = false;
  ServerConfig config;
  StoreConfig def;
  std::string config_file;
  std::vector<std::string> extra_stores;

  CLI::App app{"reckond — the reckondb event store server"};
  app.add_option("--config", config_file, "JSON config file (flags override it)");
  app.add_option("--listen", config.listen, "gRPC listen address host:port")->capture_default_str();
  app.add_option("--http", config.http, "HTTP listen address (health, metrics)")->capture_default_str();
  app.add_option("--log-level", config.log_level, "trace|debug|info|warn|error")->capture_default_str();
  app.add_option("--log-format", config.log_format, "text|json")->capture_default_str();
  app.add_option("--node-id", config.node_id, "this node's id")->capture_default_str();
  app.add_option("--store-id", def.store_id, "id of the default store")->capture_default_str();
  app.add_option("--data-dir", def.data_dir, "data directory of the default store")->capture_default_str();
  app.add_option("--mode", def.mode, "single|cluster")->capture_default_str();
  app.add_option("--timeout-ms", def.timeout_ms, "default request deadline")->capture_default_str();
  app.add_option("--writer-pool-size", def.writer_pool_size, "write threads per store")->capture_default_str();
  app.add_option("--reader-pool-size", def.reader_pool_size, "read threads per store")->capture_default_str();
  app.add_option("--gateway-pool-size", def.gateway_pool_size, "gRPC completion-queue threads")->capture_default_str();
  app.add_option("--block-cache-bytes", def.options.block_cache_bytes, "RocksDB block cache size")->capture_default_str();
  app.add_option("--add-store", extra_stores, "another store as ID=DATA_DIR (repeatable)");
  app.add_option("--advertise", config.advertise, "gRPC address clients and peers reach this node on (default: --listen)");
  app.add_option("--raft-listen", def.raft_listen, "Raft address of the default store")->capture_default_str();
  app.add_option("--peers", def.peers, "cluster: initial voters ID=HOST:PORT,... (Raft addresses, incl. this node)");
  app.add_flag("--join", def.join, "cluster: start outside the initial configuration and wait to be added");
  app.add_option("--raft-dir", def.raft_dir, "Raft log directory (default DATA_DIR/raft)");
  app.add_option("--election-timeout-ms", def.election_timeout_ms, "Raft election timeout")->capture_default_str();
  app.add_option("--heartbeat-timeout-ms", def.heartbeat_timeout_ms, "Raft heartbeat interval")->capture_default_str();
  app.add_option("--snapshot-threshold", def.snapshot_threshold, "entries between logical Raft snapshots")->capture_default_str();
  app.add_option("--snapshot-trailing", def.snapshot_trailing, "entries kept behind a snapshot")->capture_default_str();
  app.add_flag("--pipelined-writes,!--no-pipelined-writes", def.pipelined_writes,
               "write applied commands to RocksDB off the Raft loop thread (default on)");
  app.add_option("--discovery-dns", def.discovery_dns, "cluster: DNS name resolving to the members");
  app.add_option("--cluster-name", config.cluster_name, "cluster name in discovery announcements")->capture_default_str();
  app.add_option("--discovery-secret-file", config.discovery_secret_file, "file with the shared secret: enables signed UDP announcements");
  app.add_option("--discovery-address", config.discovery_address, "announcement group or unicast HOST:PORT (default 239.192.74.1:7946)");
  app.add_option("--health-interval-ms", config.health_interval_ms, "cluster health probe interval")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    help = true;
    return Status::invalid_argument(app.help());
  } catch (const CLI::ParseError& e) {
    return Status::invalid_argument(std::string(e.what()) + "\n" + app.help());
  }

  if (!config_file.empty()) {
    ServerConfig from_file;
    RECKON_RETURN_IF_ERROR(load_config_file(config_file, from_file));
    // Flags given explicitly override the file; the rest comes from the file.
    auto given = [&](const char* name) { return app.count(name) > 0; };
    if (!given("--listen")) config.listen = from_file.listen;
    if (!given("--http")) config.http = from_file.http;
    if (!given("--log-level")) config.log_level = from_file.log_level;
    if (!given("--log-format")) config.log_format = from_file.log_format;
    if (!given("--node-id")) config.node_id = from_file.node_id;
    if (!given("--advertise")) config.advertise = from_file.advertise;
    if (!given("--cluster-name")) config.cluster_name = from_file.cluster_name;
    if (!given("--discovery-secret-file")) config.discovery_secret_file = from_file.discovery_secret_file;
    if (!given("--discovery-address")) config.discovery_address = from_file.discovery_address;
    if (!given("--health-interval-ms")) config.health_interval_ms = from_file.health_interval_ms;
    config.stores = from_file.stores;
  }
  if (config.stores.empty()) {
    config.stores.push_back(def);
  } else {
    // Store flags apply to the first (default) store of the file.
    auto& first = config.stores.front();
    if (app.count("--store-id")) first.store_id = def.store_id;
    if (app.count("--data-dir")) first.data_dir = def.data_dir;
    if (app.count("--mode")) first.mode = def.mode;
    if (app.count("--timeout-ms")) first.timeout_ms = def.timeout_ms;
    if (app.count("--writer-pool-size")) first.writer_pool_size = def.writer_pool_size;
    if (app.count("--reader-pool-size")) first.reader_pool_size = def.reader_pool_size;
    if (app.count("--gateway-pool-size")) first.gateway_pool_size = def.gateway_pool_size;
    if (app.count("--raft-listen")) first.raft_listen = def.raft_listen;
    if (app.count("--peers")) first.peers = def.peers;
    if (app.count("--join")) first.join = def.join;
    if (app.count("--raft-dir")) first.raft_dir = def.raft_dir;
    if (app.count("--election-timeout-ms")) first.election_timeout_ms = def.election_timeout_ms;
    if (app.count("--heartbeat-timeout-ms")) first.heartbeat_timeout_ms = def.heartbeat_timeout_ms;
    if (app.count("--snapshot-threshold")) first.snapshot_threshold = def.snapshot_threshold;
    if (app.count("--snapshot-trailing")) first.snapshot_trailing = def.snapshot_trailing;
    if (app.count("--pipelined-writes")) first.pipelined_writes = def.pipelined_writes;
    if (app.count("--discovery-dns")) first.discovery_dns = def.discovery_dns;
  }
  for (const auto& spec : extra_stores) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return Status::invalid_argument("--add-store expects ID=DATA_DIR, got '" + spec + "'");
    }
    StoreConfig s = config.stores.front();
    s.store_id = spec.substr(0, eq);
    s.data_dir = spec.substr(eq + 1);
    s.raft_dir.clear();
    config.stores.push_back(std::move(s));
  }
  for (auto& s : config.stores) {
    s.options.store_id = s.store_id;
    s.options.data_dir = s.data_dir;
  }
  RECKON_RETURN_IF_ERROR(validate(config));
  for (auto& s : config.stores) {
    RECKON_ASSIGN_OR_RETURN(auto replication, replication_options(config, s));
    s.options.replication = std::move(replication);
  }
  return config;
}

}  // namespace reckon::server
