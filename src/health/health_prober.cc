#include "health/health_prober.h"

#include <algorithm>
#include <future>
#include <set>
#include <tuple>

namespace reckon::health {
namespace {

std::string history_key(uint64_t node_id, const std::string& address) {
  return node_id != 0 ? "id:" + std::to_string(node_id) : "addr:" + address;
}

}  // namespace

Result<std::unique_ptr<HealthProber>> HealthProber::start(ProberOptions options, LocalReport local,
                                                          PeerSource peers, Fetch fetch,
                                                          OnFindingsChange on_change) {
  if (options.local_node_id == 0) return Status::invalid_argument("prober: local node id 0");
  if (options.interval.count() <= 0 || options.fetch_timeout.count() <= 0) {
    return Status::invalid_argument("prober: interval and fetch timeout must be positive");
  }
  if (!local || !peers || !fetch) {
    return Status::invalid_argument("prober: local, peers and fetch are required");
  }
  if (!options.clock) options.clock = system_clock();
  std::unique_ptr<HealthProber> p(new HealthProber(std::move(options), std::move(local),
                                                   std::move(peers), std::move(fetch),
                                                   std::move(on_change)));
  p->thread_ = std::thread([raw = p.get()] { raw->run(); });
  return p;
}

HealthProber::HealthProber(ProberOptions options, LocalReport local, PeerSource peers, Fetch fetch,
                           OnFindingsChange on_change)
    : options_(std::move(options)),
      checker_(options_.checker),
      local_(std::move(local)),
      peers_(std::move(peers)),
      fetch_(std::move(fetch)),
      on_change_(std::move(on_change)) {}

HealthProber::~HealthProber() { stop(); }

void HealthProber::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  });
}

HealthSnapshot HealthProber::snapshot() const {
  std::lock_guard lock(mu_);
  return latest_;
}

void HealthProber::probe_now() {
  {
    std::lock_guard lock(mu_);
    probe_requested_ = true;
  }
  cv_.notify_all();
}

bool HealthProber::wait_for_round(uint64_t round, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return stopping_ || latest_.round >= round; });
  return latest_.round >= round;
}

void HealthProber::run() {
  while (true) {
    HealthSnapshot next = probe_round();
    bool findings_changed;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      next.round = latest_.round + 1;
      findings_changed = next.round == 1 || next.findings != latest_.findings;
      latest_ = next;
    }
    cv_.notify_all();
    if (findings_changed && on_change_) on_change_(next);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.interval, [&] { return stopping_ || probe_requested_; });
    if (stopping_) return;
    probe_requested_ = false;
  }
}

HealthSnapshot HealthProber::probe_round() {
  using Steady = std::chrono::steady_clock;
  HealthSnapshot snap;
  snap.taken_at_ms = options_.clock->now_us() / 1000;

  // The local node is asked directly; it is never fetched over the network.
  NodeHealth local;
  local.node_id = options_.local_node_id;
  local.local = true;
  auto local_start = Steady::now();
  Result<NodeReport> local_report = local_();
  local.latency =
      std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - local_start);
  if (local_report.is_ok()) {
    local.address = local_report->address;
    local.report = *local_report;
  } else {
    local.error = local_report.status().to_string();
  }

  // Fetch every other peer in parallel so one slow peer costs one deadline, not one each.
  std::vector<discovery::Peer> targets;
  for (discovery::Peer& p : peers_()) {
    if (p.node_id == options_.local_node_id) continue;
    if (p.node_id == 0 && !local.address.empty() && p.raft_address == local.address) continue;
    targets.push_back(std::move(p));
  }
  std::vector<std::future<std::pair<Result<NodeReport>, std::chrono::microseconds>>> pending;
  for (const discovery::Peer& peer : targets) {
    pending.push_back(std::async(std::launch::async, [this, peer] {
      auto start = Steady::now();
      Result<NodeReport> r = fetch_(peer, options_.fetch_timeout);
      return std::pair(std::move(r), std::chrono::duration_cast<std::chrono::microseconds>(
                                         Steady::now() - start));
    }));
  }
  std::vector<NodeHealth> nodes{std::move(local)};
  for (size_t i = 0; i < targets.size(); ++i) {
    auto [result, latency] = pending[i].get();
    NodeHealth h;
    h.node_id = targets[i].node_id;
    h.address = targets[i].raft_address;
    h.latency = latency;
    if (result.is_ok()) {
      h.report = std::move(result).value();
      if (h.node_id == 0) h.node_id = h.report->node_id;  // a DNS peer tells us who it is
    } else {
      h.error = result.status().to_string();
    }
    nodes.push_back(std::move(h));
  }

  // A DNS address and an announced peer may be the same node: keep one answer, a report over
  // an error (the stable sort keeps discovery's order otherwise).
  std::stable_sort(nodes.begin() + 1, nodes.end(), [](const NodeHealth& a, const NodeHealth& b) {
    return a.report.has_value() > b.report.has_value();
  });
  std::set<uint64_t> seen;
  std::map<std::string, std::pair<uint64_t, int64_t>> history;
  std::vector<NodeObservation> observations;
  std::vector<NodeHealth> unique;
  for (NodeHealth& h : nodes) {
    if (h.node_id != 0 && !seen.insert(h.node_id).second) continue;
    h.reachable = h.report.has_value();
    std::string key = history_key(h.node_id, h.address);
    auto& [failures, last_success] = history[key];
    if (auto it = history_.find(key); it != history_.end()) {
      std::tie(failures, last_success) = it->second;
    }
    if (h.reachable) {
      failures = 0;
      last_success = snap.taken_at_ms;
    } else {
      ++failures;
    }
    h.consecutive_failures = failures;
    h.last_success_ms = last_success;
    observations.push_back({h.node_id, h.address, h.report, h.error});
    unique.push_back(std::move(h));
  }
  history_ = std::move(history);
  std::sort(unique.begin() + 1, unique.end(), [](const NodeHealth& a, const NodeHealth& b) {
    return std::tie(a.node_id, a.address) < std::tie(b.node_id, b.address);
  });
  snap.nodes = std::move(unique);
  snap.findings = checker_.check(observations);
  return snap;
}

}  // namespace reckon::health
