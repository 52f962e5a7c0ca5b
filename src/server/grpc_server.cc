#include "server/grpc_server.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/telemetry.h"

namespace reckon::server {

GrpcServer::GrpcServer(const ServerConfig& config, StoreRegistry& stores, Telemetry& telemetry)
    : config_(config), stores_(stores), telemetry_(telemetry) {
  observer_ = [this](const char* method, std::string_view store, ErrorCode code, double seconds) {
    telemetry_.observe_call(method, store, code, seconds);
  };
}

GrpcServer::~GrpcServer() { shutdown(std::chrono::milliseconds(0)); }

void GrpcServer::register_services() {
  register_streams_service(*this, streams_service_);
  register_snapshots_service(*this, snapshots_service_);
  register_cluster_service(*this, cluster_service_);
  register_subscriptions_service(*this, subscriptions_service_);
  register_append_session_service(*this, append_sessions_service_);
  register_persistent_subscriptions_service(*this, persistent_subscriptions_service_);
  register_replication_service(*this, replication_service_);
}

Status GrpcServer::start() {
  register_services();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config_.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&streams_service_);
  builder.RegisterService(&snapshots_service_);
  builder.RegisterService(&cluster_service_);
  builder.RegisterService(&subscriptions_service_);
  builder.RegisterService(&append_sessions_service_);
  builder.RegisterService(&persistent_subscriptions_service_);
  builder.RegisterService(&replication_service_);
  // Room for the largest append (limits are enforced by the store with a precise error).
  uint64_t max_append = 0;
  for (const auto& s : config_.stores) max_append = std::max(max_append, s.options.limits.max_append_bytes);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<uint64_t>(max_append * 2 + (4 << 20), INT32_MAX)));
  builder.SetMaxSendMessageSize(64 << 20);
  // Keepalive pings from clients every 10 s are fine (EventStoreDB clients send them).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // gRPC enables SO_REUSEPORT by default: a second server would silently share the port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int gateways = 1;
  for (const auto& s : config_.stores) gateways = std::max(gateways, s.gateway_pool_size);
  for (int i = 0; i < gateways; ++i) queues_.push_back(builder.AddCompletionQueue());
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    return Status::unavailable("cannot listen for gRPC on " + config_.listen);
  }
  auto colon = config_.listen.rfind(':');
  bound_address_ = config_.listen.substr(0, colon) + ":" + std::to_string(port);
  for (auto& q : queues_)
    for (auto& arm : arms_) arm(q.get());
  for (size_t i = 0; i < queues_.size(); ++i) {
    threads_.emplace_back([this, i] {
      std::string name = "gateway-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      void* tag;
      bool ok;
      while (queues_[i]->Next(&tag, &ok)) static_cast<CallTag*>(tag)->proceed(ok);
    });
  }
  spdlog::info("gRPC listening on {} with {} gateway threads", bound_address_, queues_.size());
  return Status::ok();
}

void GrpcServer::shutdown(std::chrono::milliseconds grace, const std::function<void()>& drain) {
  if (stopped_ || !server_) return;
  stopped_ = true;
  for (auto& hook : shutdown_hooks_) hook();
  // 1. Let calls in flight finish (bounded by `grace`). Waiting in grpc::Server::Shutdown
  //    instead would also wait for idle client connections to go away.
  auto until = std::chrono::steady_clock::now() + grace;
  while (tracker_.live() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // 2. Stop accepting and cancel whatever is still running.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  // Cancelled calls and those handed to pools or the committer still complete through the
  // queues; give them a moment.
  until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (tracker_.live() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (tracker_.live() > 0) spdlog::warn("{} calls still running at shutdown", tracker_.live());
  if (drain) drain();
  // 3. Drain and stop the queues.
  for (auto& q : queues_) q->Shutdown();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace reckon::server
