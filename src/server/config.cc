#include "server/config.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <type_traits>

#include "server/state_fetcher.h"

namespace reckon::server {
namespace {

using nlohmann::json;

// Reads the fields of one JSON object of the config file and remembers every key it was asked
// for: a key nobody asked for is a typo or a setting this version does not have, and starting
// without it would silently run with the default ("reader_pool_sise" once went unnoticed).
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

  template <typename T>
  void read(const char* key, T& out) {
    known_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end() || !status_.is_ok()) return;
    // nlohmann converts -1 to a uint64_t as 2^64-1: a cache of 16 EiB instead of an error.
    if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
      if (it->is_number_integer() && !it->is_number_unsigned()) {
        status_ = Status::invalid_argument(name(key) + " must not be negative");
        return;
      }
    }
    try {
      out = it->template get<T>();
    } catch (const json::exception& e) {
      status_ = Status::invalid_argument(name(key) + ": " + e.what());
    }
  }

  // A key read by the caller itself (a nested object or array).
  void known(const char* key) { known_.insert(key); }

  // The first bad value, else the first key that was never read.
  Status finish() const {
    if (!status_.is_ok()) return status_;
    for (const auto& item : j_.items()) {
      if (!known_.count(item.key())) return Status::invalid_argument("unknown key " + name(item.key()));
    }
    return Status::ok();
  }

 private:
  std::string name(const std::string& key) const {
    return "'" + key + "'" + (where_.empty() ? "" : " in " + where_);
  }

  const json& j_;
  std::string where_;  // "stores[0].options"; empty at the top level
  std::set<std::string> known_;
  Status status_;
};

Status options_from_json(const json& o, const std::string& where, StoreOptions& opt) {
  if (!o.is_object()) return Status::invalid_argument(where + " must be a JSON object");
  // Every StoreOptions field a file can set (store_id and data_dir come from the store, the
  // replication options from the store's Raft fields, the clock is for tests).
  ObjectReader r(o, where);
  r.read("create_if_missing", opt.create_if_missing);
  r.read("block_cache_bytes", opt.block_cache_bytes);
  r.read("memtable_budget_bytes", opt.memtable_budget_bytes);
  r.read("stream_head_cache_entries", opt.stream_head_cache_entries);
  r.read("max_commands_per_commit", opt.max_commands_per_commit);
  r.read("sync_writes", opt.sync_writes);
  r.read("max_event_bytes", opt.limits.max_event_bytes);
  r.read("max_append_bytes", opt.limits.max_append_bytes);
  r.read("max_events_per_append", opt.limits.max_events_per_append);
  r.read("max_stream_id_bytes", opt.limits.max_stream_id_bytes);
  r.read("max_event_type_bytes", opt.limits.max_event_type_bytes);
  r.read("max_tags_per_event", opt.limits.max_tags_per_event);
  r.read("max_tag_bytes", opt.limits.max_tag_bytes);
  r.read("max_read_count", opt.limits.max_read_count);
  return r.finish();
}

Status store_from_json(const json& j, const std::string& where, StoreConfig& s) {
  if (!j.is_object()) return Status::invalid_argument(where + " must be a JSON object");
  ObjectReader r(j, where);
  r.read("store_id", s.store_id);
  r.read("data_dir", s.data_dir);
  r.read("mode", s.mode);
  r.read("timeout_ms", s.timeout_ms);
  r.read("writer_pool_size", s.writer_pool_size);
  r.read("reader_pool_size", s.reader_pool_size);
  r.read("gateway_pool_size", s.gateway_pool_size);
  r.read("raft_listen", s.raft_listen);
  r.read("peers", s.peers);
  r.read("join", s.join);
  r.read("raft_dir", s.raft_dir);
  r.read("election_timeout_ms", s.election_timeout_ms);
  r.read("heartbeat_timeout_ms", s.heartbeat_timeout_ms);
  r.read("snapshot_threshold", s.snapshot_threshold);
  r.read("snapshot_trailing", s.snapshot_trailing);
  r.read("pipelined_writes", s.pipelined_writes);
  r.read("discovery_dns", s.discovery_dns);
  r.known("options");
  RECKON_RETURN_IF_ERROR(r.finish());
  if (j.contains("options")) {
    RECKON_RETURN_IF_ERROR(options_from_json(j.at("options"), where + ".options", s.options));
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
  ObjectReader r(j, "");
  r.read("listen", c.listen);
  r.read("http", c.http);
  r.read("log_level", c.log_level);
  r.read("log_format", c.log_format);
  r.read("node_id", c.node_id);
  r.read("advertise", c.advertise);
  r.read("cluster_name", c.cluster_name);
  r.read("discovery_secret_file", c.discovery_secret_file);
  r.read("discovery_address", c.discovery_address);
  r.read("health_interval_ms", c.health_interval_ms);
  r.known("stores");
  Status st = r.finish();
  if (st.is_ok() && j.contains("stores")) {
    if (!j.at("stores").is_array()) {
      st = Status::invalid_argument("'stores' must be an array");
    } else {
      c.stores.clear();
      for (const auto& s : j.at("stores")) {
        StoreConfig sc;
        st = store_from_json(s, "stores[" + std::to_string(c.stores.size()) + "]", sc);
        if (!st.is_ok()) break;
        c.stores.push_back(std::move(sc));
      }
    }
  }
  if (!st.is_ok()) return Status::invalid_argument("config file '" + path + "': " + st.message());
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

namespace {

// The flags of the default store. Without a config file they set `def`; with one, the flags
// given are copied onto the file's first store. Both come from this one list, so no store flag
// can be forgotten in the copy (--block-cache-bytes once was).
class StoreFlags {
 public:
  StoreFlags(CLI::App& app, StoreConfig& def) : app_(app), def_(def) {}

  // `field` maps a StoreConfig to the member the flag sets.
  template <typename Field>
  CLI::Option* option(const std::string& name, Field field, const std::string& help) {
    return add(app_.add_option(name, field(def_), help), field);
  }
  template <typename Field>
  CLI::Option* flag(const std::string& name, Field field, const std::string& help) {
    return add(app_.add_flag(name, field(def_), help), field);
  }

  void copy_given(StoreConfig& to) const {
    for (const auto& f : flags_) {
      if (f.option->count() > 0) f.copy(to);
    }
  }

 private:
  template <typename Field>
  CLI::Option* add(CLI::Option* option, Field field) {
    flags_.push_back({option, [this, field](StoreConfig& to) { field(to) = field(def_); }});
    return option;
  }

  struct Flag {
    CLI::Option* option;
    std::function<void(StoreConfig&)> copy;
  };
  CLI::App& app_;
  StoreConfig& def_;
  std::vector<Flag> flags_;
};

}  // namespace

Result<ServerConfig> parse_server_args(int argc, char** argv, bool& help) {
  help = false;
  ServerConfig config;
  StoreConfig def;
  std::string config_file;
  std::vector<std::string> extra_stores;

  CLI::App app{"reckond — the reckondb event store server"};
  StoreFlags store(app, def);
  using S = StoreConfig;
  app.add_option("--config", config_file, "JSON config file (flags override it)");
  app.add_option("--listen", config.listen, "gRPC listen address host:port")->capture_default_str();
  app.add_option("--http", config.http, "HTTP listen address (health, metrics)")->capture_default_str();
  app.add_option("--log-level", config.log_level, "trace|debug|info|warn|error")->capture_default_str();
  app.add_option("--log-format", config.log_format, "text|json")->capture_default_str();
  app.add_option("--node-id", config.node_id, "this node's id")->capture_default_str();
  store.option("--store-id", [](S& s) -> auto& { return s.store_id; }, "id of the default store")
      ->capture_default_str();
  store.option("--data-dir", [](S& s) -> auto& { return s.data_dir; },
               "data directory of the default store")->capture_default_str();
  store.option("--mode", [](S& s) -> auto& { return s.mode; }, "single|cluster")->capture_default_str();
  store.option("--timeout-ms", [](S& s) -> auto& { return s.timeout_ms; }, "default request deadline")
      ->capture_default_str();
  store.option("--writer-pool-size", [](S& s) -> auto& { return s.writer_pool_size; },
               "write threads per store")->capture_default_str();
  store.option("--reader-pool-size", [](S& s) -> auto& { return s.reader_pool_size; },
               "read threads per store")->capture_default_str();
  store.option("--gateway-pool-size", [](S& s) -> auto& { return s.gateway_pool_size; },
               "gRPC completion-queue threads")->capture_default_str();

  // Store options (StoreOptions and its Limits), named like their config file keys.
  store.flag("--create-if-missing,!--no-create-if-missing",
             [](S& s) -> auto& { return s.options.create_if_missing; },
             "create a missing data directory (default on; off: refuse to start without one)");
  store.option("--block-cache-bytes", [](S& s) -> auto& { return s.options.block_cache_bytes; },
               "RocksDB block cache size")->capture_default_str();
  store.option("--memtable-budget-bytes", [](S& s) -> auto& { return s.options.memtable_budget_bytes; },
               "RocksDB memtables of all column families together")->capture_default_str();
  store.option("--stream-head-cache-entries",
               [](S& s) -> auto& { return s.options.stream_head_cache_entries; },
               "stream heads (last version, state) cached in memory")->capture_default_str();
  store.option("--max-commands-per-commit",
               [](S& s) -> auto& { return s.options.max_commands_per_commit; },
               "group commit size of the embedded write path (no effect in reckond: writes go through Raft)")
      ->capture_default_str();
  store.flag("--sync-writes,!--no-sync-writes", [](S& s) -> auto& { return s.options.sync_writes; },
             "fsync of the embedded write path (default on; no effect in reckond: the Raft log makes appends durable)");
  store.option("--max-event-bytes", [](S& s) -> auto& { return s.options.limits.max_event_bytes; },
               "largest event: data + metadata + type + tags")->capture_default_str();
  store.option("--max-append-bytes", [](S& s) -> auto& { return s.options.limits.max_append_bytes; },
               "largest append: all its events together")->capture_default_str();
  store.option("--max-events-per-append",
               [](S& s) -> auto& { return s.options.limits.max_events_per_append; },
               "most events in one append")->capture_default_str();
  store.option("--max-stream-id-bytes", [](S& s) -> auto& { return s.options.limits.max_stream_id_bytes; },
               "longest stream id")->capture_default_str();
  store.option("--max-event-type-bytes",
               [](S& s) -> auto& { return s.options.limits.max_event_type_bytes; },
               "longest event type")->capture_default_str();
  store.option("--max-tags-per-event", [](S& s) -> auto& { return s.options.limits.max_tags_per_event; },
               "most tags on one event")->capture_default_str();
  store.option("--max-tag-bytes", [](S& s) -> auto& { return s.options.limits.max_tag_bytes; },
               "longest tag")->capture_default_str();
  store.option("--max-read-count", [](S& s) -> auto& { return s.options.limits.max_read_count; },
               "most events one read returns (larger pages are clamped)")->capture_default_str();

  app.add_option("--add-store", extra_stores, "another store as ID=DATA_DIR (repeatable)");
  app.add_option("--advertise", config.advertise, "gRPC address clients and peers reach this node on (default: --listen)");
  store.option("--raft-listen", [](S& s) -> auto& { return s.raft_listen; },
               "Raft address of the default store")->capture_default_str();
  store.option("--peers", [](S& s) -> auto& { return s.peers; },
               "cluster: initial voters ID=HOST:PORT,... (Raft addresses, incl. this node)");
  store.flag("--join", [](S& s) -> auto& { return s.join; },
             "cluster: start outside the initial configuration and wait to be added");
  store.option("--raft-dir", [](S& s) -> auto& { return s.raft_dir; },
               "Raft log directory (default DATA_DIR/raft)");
  store.option("--election-timeout-ms", [](S& s) -> auto& { return s.election_timeout_ms; },
               "Raft election timeout")->capture_default_str();
  store.option("--heartbeat-timeout-ms", [](S& s) -> auto& { return s.heartbeat_timeout_ms; },
               "Raft heartbeat interval")->capture_default_str();
  store.option("--snapshot-threshold", [](S& s) -> auto& { return s.snapshot_threshold; },
               "entries between logical Raft snapshots")->capture_default_str();
  store.option("--snapshot-trailing", [](S& s) -> auto& { return s.snapshot_trailing; },
               "entries kept behind a snapshot")->capture_default_str();
  store.flag("--pipelined-writes,!--no-pipelined-writes", [](S& s) -> auto& { return s.pipelined_writes; },
             "write applied commands to RocksDB off the Raft loop thread (default on)");
  store.option("--discovery-dns", [](S& s) -> auto& { return s.discovery_dns; },
               "cluster: DNS name resolving to the members");
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
    store.copy_given(config.stores.front());
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
