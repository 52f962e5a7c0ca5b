#include "server/admin_http.h"

#include <nlohmann/json.hpp>

#include "server/cluster_health.h"
#include "server/cluster_status.h"
#include "server/telemetry.h"

namespace reckon::server {

AdminHttp::AdminHttp(const ServerConfig& config, StoreRegistry& stores, Telemetry& telemetry)
    : config_(config), stores_(stores), telemetry_(telemetry) {}

Status AdminHttp::start(const std::string& grpc_address) {
  grpc_address_ = grpc_address;
  auto server = http::HttpServer::start(
      config_.http, [this](const http::HttpRequest& req) { return handle(req); }, 2);
  if (!server) return server.status();
  server_ = std::move(server).value();
  return Status::ok();
}

void AdminHttp::stop() {
  serving_.store(false);
  if (server_) server_->stop();
}

std::string AdminHttp::cluster_json() {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : stores_.all()) {
    v1::ClusterStatus st = cluster_status(config_, *s, grpc_address_);
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : st.members()) {
      members.push_back({{"node_id", m.node_id()}, {"address", m.address()},
                         {"raft_address", m.raft_address()}, {"role", m.role()},
                         {"voter", m.voter()},
                         {"match_index", m.has_match_index() ? nlohmann::json(m.match_index()) : nlohmann::json()},
                         {"lag", m.has_lag() ? nlohmann::json(m.lag()) : nlohmann::json()}});
    }
    out.push_back({{"store", st.store()}, {"mode", st.mode()}, {"node_id", st.node_id()},
                   {"role", st.role()}, {"leader_id", st.leader_id()}, {"leader", st.leader()},
                   {"term", st.term()}, {"applied_index", st.applied_index()},
                   {"commit_index", st.commit_index()}, {"last_position", st.last_position()},
                   {"members", members}});
    if (s->health) out.back()["health"] = s->health->to_json();
  }
  return nlohmann::json{{"stores", out}}.dump();
}

http::HttpResponse AdminHttp::handle(const http::HttpRequest& req) {
  http::HttpResponse resp;
  if (req.method != "GET" && req.method != "HEAD") {
    resp.status = 405;
    resp.headers.emplace_back("Allow", "GET, HEAD");
    resp.body = "method not allowed\n";
    return resp;
  }
  if (req.path == "/health") {
    const bool ok = serving_.load();
    resp.status = ok ? 200 : 503;
    resp.content_type = "application/json";
    resp.body = ok ? R"({"status":"serving"})" : R"({"status":"not serving"})";
  } else if (req.path == "/metrics") {
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp.body = telemetry_.render();
  } else if (req.path == "/cluster") {
    resp.content_type = "application/json";
    resp.body = cluster_json();
  } else {
    resp.status = 404;
    resp.body = "not found\n";
  }
  return resp;
}

}  // namespace reckon::server
