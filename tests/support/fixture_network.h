// FixtureNetwork: the network faults both Raft simulations (tests/unit/consensus and
// tests/unit/store) draw on libraft's fixture — links cut and mended, remembered so heal_links()
// mends every one, whole servers isolated, latencies and election timeouts changed. The
// simulations keep their own randomness: they draw the values and pass them in, so a seed's
// schedule does not depend on this class. Each fault returns the line the schedule logs.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>

#include "consensus/libraft.h"

extern "C" {
#include <raft/fixture.h>
}

namespace reckon::testing {

class FixtureNetwork {
 public:
  // After raft_fixture_initialize(): `n` servers.
  void attach(struct raft_fixture* f, unsigned n) {
    f_ = f;
    n_ = n;
  }

  std::string partition(unsigned a, unsigned b) {
    cut(a, b);
    cut(b, a);
    return "partition " + name(a) + " <-> " + name(b);
  }
  std::string one_way(unsigned a, unsigned b) {
    cut(a, b);
    return "one-way " + name(a) + " -> " + name(b);
  }
  std::string mend(unsigned a, unsigned b) {
    join(a, b);
    join(b, a);
    return "reconnect " + name(a) + " <-> " + name(b);
  }
  std::string heal_links() {
    for (auto [i, j] : std::set<std::pair<unsigned, unsigned>>(down_)) join(i, j);
    return "heal links";
  }
  std::string isolate(unsigned a) {
    for (unsigned j = 0; j < n_; j++) {
      if (j == a) continue;
      cut(a, j);
      cut(j, a);
    }
    return "isolate " + name(a);
  }
  std::string rejoin(unsigned a) {
    for (unsigned j = 0; j < n_; j++) {
      if (j == a) continue;
      join(a, j);
      join(j, a);
    }
    return "reconnect " + name(a);
  }
  std::string set_latency(unsigned a, unsigned ms) {
    raft_fixture_set_network_latency(f_, a, ms);
    latency_[a] = ms;
    return "latency " + name(a) + " = " + std::to_string(ms);
  }
  // Lowers every server's message latency to at most `max_ms`. A healed network meets Raft's
  // timing requirement (a round trip well inside the election timeout); storms may break it,
  // and no leader can then hold on (it steps down before any follower's answer arrives).
  std::string bound_latencies(unsigned max_ms) {
    std::string changed;
    for (auto& [server, ms] : latency_) {
      if (ms <= max_ms) continue;
      raft_fixture_set_network_latency(f_, server, max_ms);
      changed += " " + name(server) + ":" + std::to_string(ms);
      ms = max_ms;
    }
    return "latencies bounded to " + std::to_string(max_ms) + " ms" +
           (changed.empty() ? "" : " (were" + changed + ")");
  }
  std::string set_election_timeout(unsigned a, unsigned ms) {
    raft_fixture_set_randomized_election_timeout(f_, a, ms);
    return "election timeout " + name(a) + " = " + std::to_string(ms);
  }

  // Whether messages from `a` to `b` are dropped.
  bool down(unsigned a, unsigned b) const { return down_.count({a, b}) != 0; }

 private:
  static std::string name(unsigned i) { return std::to_string(i + 1); }
  void cut(unsigned i, unsigned j) {
    raft_fixture_disconnect(f_, i, j);
    down_.insert({i, j});
  }
  void join(unsigned i, unsigned j) {
    raft_fixture_reconnect(f_, i, j);
    down_.erase({i, j});
  }

  struct raft_fixture* f_ = nullptr;
  unsigned n_ = 0;
  std::set<std::pair<unsigned, unsigned>> down_;
  std::map<unsigned, unsigned> latency_;  // as set through set_latency()
};

}  // namespace reckon::testing
