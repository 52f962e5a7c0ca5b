// HealthProber: every interval, asks the local node and every discovered peer for its
// NodeReport (in parallel), runs the ConsistencyChecker over the answers, and keeps the latest
// picture — per-node reachability and latency, and the findings — for the admin API and alerts.
//
// The server supplies three functions: the local report (RaftNode::status() through
// report_from_status), the peer list (Discovery::peers), and a fetch that asks a peer for its
// report within the timeout it is given (an RPC deadline): a round waits for every fetch, so
// a fetch that ignores its timeout stalls the prober and its stop().
//
// Threads: one prober thread runs the rounds; fetches of one round run on short-lived threads
// of their own. snapshot(), probe_now(), wait_for_round() and stop() may be called from any
// thread. The findings callback runs on the prober thread and must not call stop().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "discovery/peer.h"
#include "health/consistency_checker.h"
#include "health/node_report.h"
#include "reckon/clock.h"
#include "reckon/status.h"

namespace reckon::health {

struct NodeHealth {
  uint64_t node_id = 0;
  std::string address;
  bool local = false;
  bool reachable = false;
  std::optional<NodeReport> report;  // latest answer of this round
  std::string error;                 // why unreachable
  std::chrono::microseconds latency{0};
  uint64_t consecutive_failures = 0;
  int64_t last_success_ms = 0;  // 0 = never
};

struct HealthSnapshot {
  uint64_t round = 0;  // 0 = no round finished yet
  int64_t taken_at_ms = 0;
  std::vector<NodeHealth> nodes;  // local node first, then by node id / address
  std::vector<Finding> findings;
};

struct ProberOptions {
  uint64_t local_node_id = 0;
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds fetch_timeout{500};  // handed to every fetch
  CheckerOptions checker;
  std::shared_ptr<Clock> clock;  // wall clock for timestamps; system clock if null
};

class HealthProber {
 public:
  using LocalReport = std::function<Result<NodeReport>()>;
  using PeerSource = std::function<std::vector<discovery::Peer>()>;
  using Fetch =
      std::function<Result<NodeReport>(const discovery::Peer&, std::chrono::milliseconds timeout)>;
  using OnFindingsChange = std::function<void(const HealthSnapshot&)>;

  // Starts the prober thread; the first round runs at once.
  static Result<std::unique_ptr<HealthProber>> start(ProberOptions options, LocalReport local,
                                                     PeerSource peers, Fetch fetch,
                                                     OnFindingsChange on_change = {});
  ~HealthProber();  // stops

  void stop();  // idempotent; waits for the running round

  HealthSnapshot snapshot() const;
  void probe_now();  // start the next round without waiting for the interval
  // True once round >= `round` has finished, false on timeout or stop.
  bool wait_for_round(uint64_t round, std::chrono::milliseconds timeout) const;

 private:
  HealthProber(ProberOptions options, LocalReport local, PeerSource peers, Fetch fetch,
               OnFindingsChange on_change);
  void run();
  HealthSnapshot probe_round();

  const ProberOptions options_;
  const ConsistencyChecker checker_;
  LocalReport local_;
  PeerSource peers_;
  Fetch fetch_;
  OnFindingsChange on_change_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  HealthSnapshot latest_;
  bool stopping_ = false;
  bool probe_requested_ = false;
  // Failure streaks and last successes carry over between rounds, keyed by node; nodes no
  // longer probed are forgotten. Prober thread only.
  std::map<std::string, std::pair<uint64_t, int64_t>> history_;
  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace reckon::health
