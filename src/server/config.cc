#include "server/config.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

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

}  // namespace

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
  std::set<std::string> ids, dirs;
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
    if (s.mode == "cluster") {
      return Status::invalid_argument("cluster mode needs Raft replication, which is not built yet; use --mode single");
    }
    if (s.writer_pool_size < 1 || s.reader_pool_size < 1 || s.gateway_pool_size < 1) {
      return Status::invalid_argument("pool sizes must be at least 1");
    }
    if (s.timeout_ms <= 0) return Status::invalid_argument("timeout_ms must be positive");
  }
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
  }
  for (const auto& spec : extra_stores) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return Status::invalid_argument("--add-store expects ID=DATA_DIR, got '" + spec + "'");
    }
    StoreConfig s = config.stores.front();
    s.store_id = spec.substr(0, eq);
    s.data_dir = spec.substr(eq + 1);
    config.stores.push_back(std::move(s));
  }
  for (auto& s : config.stores) {
    s.options.store_id = s.store_id;
    s.options.data_dir = s.data_dir;
  }
  RECKON_RETURN_IF_ERROR(validate(config));
  return config;
}

}  // namespace reckon::server
