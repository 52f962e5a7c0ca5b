// reckond: the reckondb server. Opens the configured stores, serves the reckon.v1 gRPC API and
// the HTTP admin endpoints, and shuts down cleanly on SIGTERM/SIGINT: stop accepting, let
// in-flight requests finish (or fail cleanly), commit what is queued, close the stores.
#include <signal.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "server/admin_http.h"
#include "server/config.h"
#include "server/cluster_health.h"
#include "server/grpc_server.h"
#include "server/member_registrar.h"
#include "server/served_store.h"
#include "server/telemetry.h"
#include "wire/runtime.h"

namespace {

using namespace reckon;
using namespace reckon::server;

// One JSON object per line: {"ts":..., "level":..., "thread":..., "msg":...}.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto ts = std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
    std::string out = "{\"ts_us\":" + std::to_string(ts) + ",\"level\":\"" +
                      std::string(spdlog::level::to_string_view(msg.level).data(),
                                  spdlog::level::to_string_view(msg.level).size()) +
                      "\",\"thread\":" + std::to_string(msg.thread_id) + ",\"msg\":\"";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += c;
          }
      }
    }
    out += "\"}\n";
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLogFormatter>();
  }
};

void setup_logging(const ServerConfig& config) {
  auto logger = spdlog::stderr_logger_mt("reckond");
  if (config.log_format == "json") {
    logger->set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l [%t] %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(config.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Blocks SIGTERM/SIGINT in every thread and waits for one on the main thread.
int wait_for_shutdown_signal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace

int main(int argc, char** argv) {
  wire::tune_grpc_runtime();
  bool help = false;
  auto parsed = parse_server_args(argc, argv, help);
  if (!parsed) {
    if (help) {
      std::cout << parsed.status().message();
      return 0;
    }
    std::cerr << "reckond: " << parsed.status().message() << "\n";
    return 2;
  }
  ServerConfig config = std::move(parsed).value();
  setup_logging(config);

  // Signals are handled by sigwait on the main thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  StoreRegistry stores;
  if (Status s = stores.open_all(config.stores); !s.is_ok()) {
    spdlog::error("cannot open stores: {}", s.to_string());
    return 1;
  }
  for (const auto& s : config.stores) {
    spdlog::info("store '{}' open in {} (mode {}, writers {}, readers {})", s.store_id, s.data_dir,
                 s.mode, s.writer_pool_size, s.reader_pool_size);
  }

  Telemetry telemetry(stores);
  stores.start_leader_workers(&telemetry);
  GrpcServer grpc(config, stores, telemetry);
  if (Status s = grpc.start(); !s.is_ok()) {
    spdlog::error("{}", s.to_string());
    stores.close_all();
    return 1;
  }
  AdminHttp admin(config, stores, telemetry);
  if (Status s = admin.start(grpc.address()); !s.is_ok()) {
    spdlog::error("cannot serve HTTP on {}: {}", config.http, s.to_string());
    grpc.shutdown(std::chrono::milliseconds(0), [&] { stores.close_all(); });
    return 1;
  }
  for (const auto& s : stores.all()) {
    if (s->config.mode != "cluster") continue;
    auto health = ClusterHealth::start(config, *s);
    if (!health.is_ok()) {
      spdlog::error("store '{}': cannot start cluster health checks: {}", s->config.store_id, health.status().to_string());
      grpc.shutdown(std::chrono::milliseconds(0), [&] { stores.close_all(); });
      return 1;
    }
    s->health = std::move(health).value();
  }
  MemberRegistrar registrar(stores, config.advertise.empty() ? config.listen : config.advertise);
  registrar.start();
  admin.set_serving(true);
  spdlog::info("reckond serving: gRPC {} HTTP {}", grpc.address(), admin.address());

  int sig = wait_for_shutdown_signal(signals);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  admin.set_serving(false);
  registrar.stop();
  stores.stop_subscriptions();
  grpc.shutdown(std::chrono::milliseconds(5000), [&] {
    telemetry.detach_stores();
    stores.close_all();
  });
  admin.stop();
  spdlog::info("reckond stopped");
  return 0;
}
