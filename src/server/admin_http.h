// AdminHttp: reckond's HTTP endpoints — GET /health (200 once serving, 503 before and while
// shutting down), GET /metrics (Prometheus text), GET /cluster (JSON status of every store).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "server/config.h"
#include "server/http/http_server.h"
#include "server/served_store.h"

namespace reckon::server {

class Telemetry;

class AdminHttp {
 public:
  AdminHttp(const ServerConfig& config, StoreRegistry& stores, Telemetry& telemetry);
  Status start(const std::string& grpc_address);
  void set_serving(bool serving) { serving_.store(serving); }
  void stop();
  std::string address() const { return server_ ? server_->address() : std::string(); }

 private:
  http::HttpResponse handle(const http::HttpRequest& req);
  std::string cluster_json();

  const ServerConfig& config_;
  StoreRegistry& stores_;
  Telemetry& telemetry_;
  std::string grpc_address_;
  std::atomic<bool> serving_{false};
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace reckon::server
