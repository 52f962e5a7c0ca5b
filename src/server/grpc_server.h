// GrpcServer: the gRPC side of reckond. Builds the grpc::Server with the reckon.v1 services,
// runs `gateway` threads, each polling its own completion queue, and arms every RPC on every
// queue. Shutdown is ordered so that nothing acknowledged is lost and no call touches a dead
// queue: stop accepting -> let in-flight calls finish (bounded) -> stop the queues.
// Thread-safety: start() and shutdown() from one thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "reckon/v1/reckon.grpc.pb.h"
#include "server/config.h"
#include "server/grpc_calls.h"
#include "server/served_store.h"

namespace reckon::server {

// ReadAll is served raw (ByteBuffers): its batches are encoded straight from the store
// (ReadResponseEncoder), every other method of the service with generated messages.
using StreamsService = v1::Streams::WithRawMethod_ReadAll<v1::Streams::AsyncService>;


class Telemetry;

class GrpcServer {
 public:
  GrpcServer(const ServerConfig& config, StoreRegistry& stores, Telemetry& telemetry);
  ~GrpcServer();

  Status start();
  // Stops accepting calls; waits up to `grace` for in-flight calls, then cancels the rest.
  // `drain` then runs while the queues still work (it stops the pools and closes the stores,
  // whose last completions still reach their calls); finally the queues stop.
  void shutdown(std::chrono::milliseconds grace, const std::function<void()>& drain = {});
  const std::string& address() const { return bound_address_; }

  // ---- Used by the service files to register their RPCs ----
  template <typename Service, typename Req, typename Resp>
  void add_unary(Service* service, typename UnaryCall<Service, Req, Resp>::RequestFn request,
                 const char* method, std::function<void(UnaryCall<Service, Req, Resp>&)> handler) {
    auto spec = std::make_shared<typename UnaryCall<Service, Req, Resp>::Spec>(
        typename UnaryCall<Service, Req, Resp>::Spec{service, request, std::move(handler), method,
                                                     &tracker_, &observer_, unary_timeout()});
    arms_.push_back([spec](grpc::ServerCompletionQueue* cq) {
      UnaryCall<Service, Req, Resp>::arm(spec, cq);
    });
  }

  template <typename Service, typename Req, typename Msg>
  void add_stream(Service* service, typename StreamCall<Service, Req, Msg>::RequestFn request,
                  const char* method, std::function<void(StreamCall<Service, Req, Msg>&)> handler) {
    auto spec = std::make_shared<typename StreamCall<Service, Req, Msg>::Spec>(
        typename StreamCall<Service, Req, Msg>::Spec{service, request, std::move(handler), method,
                                                     &tracker_, &observer_});
    arms_.push_back([spec](grpc::ServerCompletionQueue* cq) {
      StreamCall<Service, Req, Msg>::arm(spec, cq);
    });
  }

  // A call type of its own (bidirectional streams): `arm` is run once per completion queue.
  void add_custom(std::function<void(grpc::ServerCompletionQueue*, CallTracker*)> arm) {
    arms_.push_back([this, arm = std::move(arm)](grpc::ServerCompletionQueue* cq) { arm(cq, &tracker_); });
  }

  // Run first at shutdown, before waiting for calls: ends long-lived calls that would not end
  // on their own.
  void add_shutdown_hook(std::function<void()> hook) { shutdown_hooks_.push_back(std::move(hook)); }

  StoreRegistry& stores() { return stores_; }
  // The longest timeout_ms of the configured stores.
  std::chrono::milliseconds unary_timeout() const {
    int64_t ms = 0;
    for (const auto& s : config_.stores) ms = std::max(ms, s.timeout_ms);
    return std::chrono::milliseconds(ms > 0 ? ms : 5000);
  }
  Telemetry& telemetry() { return telemetry_; }
  const ServerConfig& config() const { return config_; }

 private:
  void register_services();

  const ServerConfig& config_;
  StoreRegistry& stores_;
  Telemetry& telemetry_;
  CallTracker tracker_;
  CallObserver observer_;
  StreamsService streams_service_;
  v1::Snapshots::AsyncService snapshots_service_;
  v1::Cluster::AsyncService cluster_service_;
  v1::Subscriptions::AsyncService subscriptions_service_;
  v1::AppendSessions::AsyncService append_sessions_service_;
  v1::PersistentSubscriptions::AsyncService persistent_subscriptions_service_;
  v1::Replication::AsyncService replication_service_;
  std::vector<std::function<void(grpc::ServerCompletionQueue*)>> arms_;
  std::vector<std::function<void()>> shutdown_hooks_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  std::string bound_address_;
  bool stopped_ = false;
};

// Service registration, one file per service.
void register_streams_service(GrpcServer& server, StreamsService& service);
void register_snapshots_service(GrpcServer& server, v1::Snapshots::AsyncService& service);
void register_cluster_service(GrpcServer& server, v1::Cluster::AsyncService& service);
void register_subscriptions_service(GrpcServer& server, v1::Subscriptions::AsyncService& service);
void register_append_session_service(GrpcServer& server, v1::AppendSessions::AsyncService& service);
void register_persistent_subscriptions_service(GrpcServer& server,
                                               v1::PersistentSubscriptions::AsyncService& service);
void register_replication_service(GrpcServer& server, v1::Replication::AsyncService& service);

}  // namespace reckon::server
