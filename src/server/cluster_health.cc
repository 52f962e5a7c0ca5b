#include "server/cluster_health.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "discovery/address.h"
#include "health/health_json.h"
#include "reckon/v1/reckon.grpc.pb.h"

namespace reckon::server {
namespace {

health::NodeRole node_role(const std::string& role) {
  if (role == "leader") return health::NodeRole::kLeader;
  if (role == "follower") return health::NodeRole::kFollower;
  if (role == "candidate") return health::NodeRole::kCandidate;
  return health::NodeRole::kUnavailable;
}

health::MemberRole member_role(const std::string& role) {
  if (role == "standby") return health::MemberRole::kStandby;
  if (role == "spare") return health::MemberRole::kSpare;
  return health::MemberRole::kVoter;
}

health::NodeReport report_from_proto(const v1::ClusterStatus& s) {
  health::NodeReport r;
  r.node_id = s.node_id();
  r.role = node_role(s.role());
  r.term = s.term();
  r.leader_id = s.leader_id();
  r.commit_index = s.commit_index();
  r.applied_index = s.applied_index();
  r.last_log_index = s.last_log_index();
  r.log_write_error = s.log_write_error();
  for (const auto& m : s.members()) {
    if (m.node_id() == s.node_id()) r.address = m.raft_address();
    r.members.push_back({m.node_id(), m.raft_address(), member_role(m.config_role()),
                         m.has_match_index() ? std::optional<uint64_t>(m.match_index()) : std::nullopt});
  }
  return r;
}

// The port of "host:port", 0 if it does not parse.
uint16_t port_of(const std::string& address) {
  auto hp = discovery::parse_host_port(address);
  return hp ? hp->port : 0;
}

discovery::AnnouncedRole announced_role(const std::string& role) {
  if (role == "leader") return discovery::AnnouncedRole::kLeader;
  if (role == "follower") return discovery::AnnouncedRole::kFollower;
  if (role == "candidate") return discovery::AnnouncedRole::kCandidate;
  return discovery::AnnouncedRole::kUnknown;
}

Result<std::string> read_secret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::invalid_argument("cannot read discovery secret file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

}  // namespace

health::NodeReport report_from_replica(const ReplicaStatus& s) {
  health::NodeReport r;
  r.node_id = s.node_id;
  r.role = node_role(s.role);
  r.term = s.term;
  r.leader_id = s.leader_id;
  r.commit_index = s.commit_index;
  r.applied_index = s.applied_index;
  r.last_log_index = s.last_log_index;
  r.log_write_error = s.log_write_error;
  for (const auto& m : s.members) {
    if (m.id == s.node_id) r.address = m.raft_address;
    r.members.push_back({m.id, m.raft_address, member_role(m.role), m.match_index});
  }
  return r;
}

ClusterHealth::ClusterHealth(const ServerConfig& config, ServedStore& store) : config_(config), store_(store) {}

ClusterHealth::~ClusterHealth() { stop(); }

void ClusterHealth::stop() {
  if (prober_) prober_->stop();
  if (discovery_) discovery_->stop();
  if (leadership_subscription_ != 0 && store_.store && store_.store->replication()) {
    store_.store->replication()->unsubscribe_leadership(leadership_subscription_);
    leadership_subscription_ = 0;
  }
}

Result<std::unique_ptr<ClusterHealth>> ClusterHealth::start(const ServerConfig& config, ServedStore& store) {
  Replication* replication = store.store->replication();
  if (replication == nullptr) return Status::invalid_argument("cluster health needs a replicated store");
  std::unique_ptr<ClusterHealth> h(new ClusterHealth(config, store));
  const StoreConfig& sc = store.config;
  const std::string client_address = config.advertise.empty() ? config.listen : config.advertise;

  discovery::DiscoveryOptions d;
  if (!sc.discovery_dns.empty()) {
    d.dns.name = sc.discovery_dns;
    // Records carry addresses only: members listen on the same ports as this node.
    d.dns.raft_port = port_of(sc.raft_listen);
    d.dns.client_port = port_of(client_address);  // 0 (unknown) if it does not parse
  }
  if (!config.discovery_secret_file.empty()) {
    RECKON_ASSIGN_OR_RETURN(std::string secret, read_secret(config.discovery_secret_file));
    discovery::AnnouncerOptions a;
    a.cluster_name = config.cluster_name + "/" + sc.store_id;
    a.secret = std::move(secret);
    a.self = discovery::Peer{config.node_id, sc.raft_listen, client_address};
    if (!config.discovery_address.empty()) a.listen_address = config.discovery_address;
    d.announce = std::move(a);
  }
  if (!d.dns.name.empty() || d.announce) {
    RECKON_ASSIGN_OR_RETURN(h->discovery_, discovery::Discovery::start(std::move(d)));
    discovery::Discovery* disc = h->discovery_.get();
    h->leadership_subscription_ = replication->subscribe_leadership(
        [disc](const LeadershipChange& c) { disc->set_raft_state(announced_role(c.role), c.term); });
  }

  health::ProberOptions po;
  po.local_node_id = config.node_id;
  po.interval = std::chrono::milliseconds(config.health_interval_ms);
  po.fetch_timeout = std::min(po.interval, std::chrono::milliseconds(500));
  const std::string store_id = sc.store_id;
  ClusterHealth* self = h.get();
  auto local = [replication]() -> Result<health::NodeReport> { return report_from_replica(replication->status()); };
  auto peers = [self] { return self->peers(); };
  auto fetch = [store_id](const discovery::Peer& peer, std::chrono::milliseconds timeout) -> Result<health::NodeReport> {
    if (peer.client_address.empty()) return Status::unavailable("client address of node " + std::to_string(peer.node_id) + " unknown");
    auto stub = v1::Cluster::NewStub(grpc::CreateChannel(peer.client_address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::ClusterStatusRequest req;
    req.set_store(store_id);
    v1::ClusterStatus reply;
    grpc::Status s = stub->Status(&ctx, req, &reply);
    if (!s.ok()) return Status::unavailable(peer.client_address + ": " + s.error_message());
    return report_from_proto(reply);
  };
  auto on_change = [store_id](const health::HealthSnapshot& snap) {
    for (const auto& f : snap.findings) {
      spdlog::warn("store '{}': cluster health: {}", store_id, f.message);
    }
    if (snap.findings.empty()) spdlog::info("store '{}': cluster health: no findings", store_id);
  };
  RECKON_ASSIGN_OR_RETURN(h->prober_, health::HealthProber::start(po, local, peers, fetch, on_change));
  return h;
}

std::vector<discovery::Peer> ClusterHealth::peers() const {
  // The Raft configuration and the replicated member directory, plus what discovery found.
  Replication* replication = store_.store->replication();
  std::map<uint64_t, discovery::Peer> by_id;
  ReplicaStatus st = replication->status();
  auto directory = replication->member_directory();
  for (const auto& m : st.members) {
    if (m.id == config_.node_id) continue;
    auto it = directory.find(m.id);
    by_id[m.id] = discovery::Peer{m.id, m.raft_address, it == directory.end() ? "" : it->second};
  }
  std::vector<discovery::Peer> out;
  for (auto& [id, p] : by_id) out.push_back(p);
  if (discovery_) {
    maybe_refresh_dns();
    for (const auto& p : discovery_->peers()) {
      if (p.node_id == config_.node_id || (p.node_id != 0 && by_id.count(p.node_id))) continue;
      out.push_back(p);
    }
  }
  return out;
}

void ClusterHealth::maybe_refresh_dns() const {
  if (store_.config.discovery_dns.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_dns_refresh_) return;
  next_dns_refresh_ = now + kDnsRefresh;
  Status s = discovery_->refresh_dns();
  if (!s.is_ok()) spdlog::warn("store '{}': discovery: {}", store_.config.store_id, s.to_string());
}

nlohmann::json ClusterHealth::to_json() const {
  nlohmann::json j = health::snapshot_to_json(prober_->snapshot());
  if (discovery_) {
    nlohmann::json peers = nlohmann::json::array();
    for (const auto& p : discovery_->peers()) {
      peers.push_back({{"node_id", p.node_id}, {"raft_address", p.raft_address}, {"address", p.client_address}});
    }
    j["discovered_peers"] = peers;
  }
  return j;
}

}  // namespace reckon::server
