// TestCluster: real reckond processes forming one Raft group on 127.0.0.1 (distinct ports and
// data dirs under one TempDir), for the end-to-end cluster tests (tests/cluster/). Nodes can be
// killed with SIGKILL and restarted on their data dir and ports, and new nodes started with
// --join. Status is read from each node directly (one endpoint, no redirect), so a test sees
// what every node itself reports. Every wait is a condition polled against a deadline.
//
// Header-only; test code only. Thread-safety: the cluster belongs to the test's main thread
// (nodes die with the thread that started them: see ServerProcess); clients it hands out may
// be used from any thread. RECKON_CLUSTER_LOGS=1 prints every node's log tail after each test
// (always printed when the test failed).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "reckon/client.h"
#include "support/server_process.h"
#include "support/store_test_util.h"
#include "support/temp_dir.h"

namespace reckon::testing {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Polls `condition` every `interval` until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& condition, milliseconds timeout,
                       milliseconds interval = milliseconds(25)) {
  const auto until = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(interval);  // poll interval
  }
}

inline int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

// Appends with fixed event ids until acknowledged: Unavailable, Timeout and NotLeader may leave
// the outcome unknown, and re-sending the same ids is an idempotent retry.
inline Result<AppendResult> append_until_acknowledged(Client& c, const std::string& stream, std::vector<NewEvent> events,
                                               milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  Status last;
  while (Clock::now() < until) {
    auto r = c.append(stream, kExpectAny, events);
    if (r) return r;
    last = r.status();
    if (last.code() != ErrorCode::kUnavailable && last.code() != ErrorCode::kTimeout &&
        last.code() != ErrorCode::kNotLeader) {
      return last;
    }
    std::this_thread::sleep_for(milliseconds(20));  // retry pacing
  }
  return last;
}

struct ClusterNode {
  uint64_t id = 0;
  int raft_port = 0;
  std::unique_ptr<ServerProcess> process;
  std::string raft_address() const { return "127.0.0.1:" + std::to_string(raft_port); }
  std::string address() const { return process->grpc_address(); }
};

class TestCluster {
 public:
  // Short timeouts: elections in a few hundred ms keep failover tests fast.
  explicit TestCluster(std::vector<std::string> extra_args = {}) : extra_args_(std::move(extra_args)) {}
  ~TestCluster() {
    // Logs of a failed test help more than anything else: print each node's tail.
    if (::testing::Test::HasFailure() || std::getenv("RECKON_CLUSTER_LOGS") != nullptr) {
      for (auto& [id, n] : nodes_) {
        std::cerr << "---- node " << id << " log tail:\n" << n.process->log_tail(2500) << "\n";
      }
    }
  }

  // Starts `count` voters with ids 1..count as the initial configuration.
  Status start(int count) {
    std::string peers;
    for (uint64_t id = 1; id <= static_cast<uint64_t>(count); ++id) {
      RECKON_RETURN_IF_ERROR(prepare(id));
      peers += (peers.empty() ? "" : ",") + std::to_string(id) + "=" + nodes_[id].raft_address();
    }
    for (uint64_t id = 1; id <= static_cast<uint64_t>(count); ++id) {
      set_args(id, {"--peers", peers});
      RECKON_RETURN_IF_ERROR(nodes_[id].process->start());
    }
    return Status::ok();
  }

  // Starts node `id` outside the configuration (--join): it waits to be added.
  Status start_joining(uint64_t id) {
    RECKON_RETURN_IF_ERROR(prepare(id));
    set_args(id, {"--join"});
    return nodes_[id].process->start();
  }

  ClusterNode& node(uint64_t id) { return nodes_.at(id); }
  // Node `id`'s data dir, chosen now if the node was not prepared yet (to mount something
  // there before start()).
  Result<std::string> data_dir(uint64_t id) {
    RECKON_RETURN_IF_ERROR(prepare(id));
    return node(id).process->data_dir();
  }

  // Crash (SIGKILL) and restart node `id` on its data dir and ports. The status client of a
  // restarted node is replaced: a gRPC channel that saw the old process die stays in
  // reconnect backoff and would report the new one unreachable for a while.
  void kill9(uint64_t id) { node(id).process->kill9(); }
  Status restart(uint64_t id) {
    status_clients_.erase(id);
    return node(id).process->start();
  }
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> out;
    for (const auto& [id, n] : nodes_) out.push_back(id);
    return out;
  }
  std::vector<uint64_t> running_ids() {
    std::vector<uint64_t> out;
    for (auto& [id, n] : nodes_) {
      if (n.process->running()) out.push_back(id);
    }
    return out;
  }
  std::vector<std::string> addresses() {
    std::vector<std::string> out;
    for (auto& [id, n] : nodes_) out.push_back(n.address());
    return out;
  }

  // A client of one node only: no endpoint rotation; it still follows NotLeader redirects
  // unless max_attempts is 1.
  std::unique_ptr<Client> direct_client(uint64_t id, int max_attempts = 1, int64_t timeout_ms = 3'000) {
    return client_of({node(id).address()}, max_attempts, timeout_ms);
  }
  static std::unique_ptr<Client> client_of(std::vector<std::string> endpoints, int max_attempts = 6,
                                           int64_t timeout_ms = 3'000) {
    ClientOptions o;
    o.endpoints = std::move(endpoints);
    o.max_attempts = max_attempts;
    o.timeout_ms = timeout_ms;
    o.max_backoff_ms = 200;
    auto c = Client::connect(o);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? std::move(c).value() : nullptr;
  }

  Result<ClusterStatus> status_of(uint64_t id) {
    auto& slot = status_clients_[id];
    if (!slot) slot = direct_client(id, 1, 1'000);
    return slot->cluster_status();
  }

  // The leader every running member agrees on: exactly one node says "leader", and every
  // running node of its configuration names it (a node not added yet is ignored), or 0 after
  // the deadline.
  uint64_t wait_for_leader(milliseconds timeout = milliseconds(10'000)) {
    uint64_t leader = 0;
    wait_until([&] {
      leader = agreed_leader();
      return leader != 0;
    }, timeout);
    return leader;
  }

  uint64_t agreed_leader() {
    std::map<uint64_t, ClusterStatus> statuses;
    uint64_t leader = 0;
    int leaders = 0;
    for (uint64_t id : running_ids()) {
      auto st = status_of(id);
      if (!st) continue;
      if (st->role == "leader") {
        ++leaders;
        leader = id;
      }
      statuses[id] = std::move(st).value();
    }
    if (leaders != 1) return 0;
    for (const auto& m : statuses[leader].members) {
      auto it = statuses.find(m.node_id);
      if (it == statuses.end()) {
        if (node(m.node_id).process->running()) return 0;  // running but not answering
        continue;
      }
      if (it->second.leader_id != leader) return 0;
    }
    return leader;
  }

  // Every running node reports the same last position, applied index and state digest, and
  // the applied index has caught up with the commit index. Returns the common status.
  std::optional<ClusterStatus> wait_for_convergence(milliseconds timeout = milliseconds(20'000)) {
    std::optional<ClusterStatus> common;
    // Why it has not converged yet, each change with its time: printed when it took long.
    const auto started = Clock::now();
    std::string why, history;
    auto note = [&](std::string reason) {
      if (reason != why) history += "  +" + std::to_string(ms_since(started)) + " ms: " + reason + "\n";
      why = std::move(reason);
      return false;
    };
    auto describe = [](uint64_t id, const ClusterStatus& st) {
      return "node " + std::to_string(id) + " " + st.role + " term " + std::to_string(st.term) + " leader " +
             std::to_string(st.leader_id) + " commit " + std::to_string(st.commit_index) + " applied " +
             std::to_string(st.applied_index) + " last_position " + std::to_string(st.last_position);
    };
    const bool converged = wait_until([&] {
      common.reset();
      uint64_t first = 0;
      for (uint64_t id : running_ids()) {
        auto st = status_of(id);
        if (!st) return note("node " + std::to_string(id) + ": " + st.status().to_string());
        if (st->applied_index < st->commit_index) return note(describe(id, *st) + " (applying)");
        if (!common) {
          common = *st;
          first = id;
        } else if (st->last_position != common->last_position ||
                   st->applied_index != common->applied_index || st->digest != common->digest) {
          return note(describe(first, *common) + " / " + describe(id, *st));
        }
      }
      return common.has_value();
    }, timeout, milliseconds(50));
    if (!converged) common.reset();  // what the last, failed, check saw of its first node
    if (!common || ms_since(started) > 2'000) {
      std::cerr << (common ? "converged slowly" : "did not converge") << " (" << ms_since(started) << " ms):\n"
                << history;
    }
    return common;
  }

  // Every event on node `id`, in position order, read from that node alone.
  Result<std::vector<Event>> read_everything(uint64_t id) {
    auto c = direct_client(id, 3, 10'000);
    std::vector<Event> out;
    Status s = c->scan_all(0, [&](const Event& e) {
      out.push_back(e);
      return true;
    });
    if (!s) return s;
    return out;
  }

 private:
  Status prepare(uint64_t id) {
    if (nodes_.count(id)) return Status::ok();
    auto port = pick_free_port();
    if (!port) return port.status();
    ClusterNode& n = nodes_[id];
    n.id = id;
    n.raft_port = *port;
    n.process = std::make_unique<ServerProcess>(reckond_bin(), dir_.sub("node" + std::to_string(id)));
    return n.process->reserve_ports();
  }

  void set_args(uint64_t id, std::vector<std::string> membership) {
    ClusterNode& n = nodes_.at(id);
    std::vector<std::string> args = {"--mode", "cluster", "--node-id", std::to_string(id),
                                     "--raft-listen", n.raft_address(), "--election-timeout-ms", "250",
                                     "--heartbeat-timeout-ms", "50"};
    args.insert(args.end(), membership.begin(), membership.end());
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    n.process->set_extra_args(std::move(args));
  }

  TempDir dir_;
  std::vector<std::string> extra_args_;
  std::map<uint64_t, ClusterNode> nodes_;
  std::map<uint64_t, std::unique_ptr<Client>> status_clients_;
};

}  // namespace reckon::testing
