// ClusterHealth: the running health checks of one replicated store in cluster mode. A prober
// thread asks every member (the Raft configuration, the replicated member directory and what
// discovery found) for its status over gRPC each interval, runs the consistency checker (split
// brain, leader mismatch, divergent membership, lag, unreachable nodes) and keeps the latest
// findings for /cluster and the logs. Discovery (signed UDP announcements, DNS) runs here too
// when configured, and announces this node's Raft role.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "discovery/discovery.h"
#include "health/health_prober.h"
#include "server/config.h"
#include "server/served_store.h"

namespace reckon::server {

class ClusterHealth {
 public:
  static Result<std::unique_ptr<ClusterHealth>> start(const ServerConfig& config, ServedStore& store);
  ~ClusterHealth();
  void stop();

  // {"round", "nodes": [...], "findings": [...], "discovered_peers": [...]}
  nlohmann::json to_json() const;

 private:
  ClusterHealth(const ServerConfig& config, ServedStore& store);
  std::vector<discovery::Peer> peers() const;
  void maybe_refresh_dns() const;

  const ServerConfig config_;
  ServedStore& store_;
  std::unique_ptr<discovery::Discovery> discovery_;
  std::unique_ptr<health::HealthProber> prober_;
  uint64_t leadership_subscription_ = 0;
  // DNS is looked up again every kDnsRefresh (a name may resolve only after this node started,
  // and members change); on the prober's thread, which calls peers().
  static constexpr std::chrono::seconds kDnsRefresh{30};
  mutable std::chrono::steady_clock::time_point next_dns_refresh_{};
};

// The health view of a replica status, and of a peer's gRPC ClusterStatus.
health::NodeReport report_from_replica(const ReplicaStatus& s);

}  // namespace reckon::server
