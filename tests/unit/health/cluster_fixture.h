// Builders for NodeReports and observations, so checker and prober tests read as tables.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "health/consistency_checker.h"

namespace reckon::health::testing {

inline constexpr uint64_t kAsCommit = ~uint64_t{0};  // applied index = commit index

inline NodeReport node(uint64_t id, NodeRole role, uint64_t term, uint64_t leader,
                       uint64_t commit = 100, uint64_t applied = kAsCommit,
                       std::initializer_list<uint64_t> voters = {1, 2, 3}) {
  NodeReport r;
  r.node_id = id;
  r.address = "10.0.0." + std::to_string(id) + ":7001";
  r.role = role;
  r.term = term;
  r.leader_id = leader;
  r.commit_index = commit;
  r.applied_index = applied == kAsCommit ? commit : applied;
  r.last_log_index = commit;
  for (uint64_t v : voters)
    r.members.push_back({v, "10.0.0." + std::to_string(v) + ":7001", MemberRole::kVoter, {}});
  return r;
}

inline NodeReport leader(uint64_t id, uint64_t term, uint64_t commit = 100,
                         std::initializer_list<uint64_t> voters = {1, 2, 3}) {
  return node(id, NodeRole::kLeader, term, id, commit, commit, voters);
}

inline NodeReport follower(uint64_t id, uint64_t term, uint64_t leader_id, uint64_t commit = 100,
                           uint64_t applied = kAsCommit,
                           std::initializer_list<uint64_t> voters = {1, 2, 3}) {
  return node(id, NodeRole::kFollower, term, leader_id, commit, applied, voters);
}

inline NodeObservation up(NodeReport r) {
  NodeObservation o;
  o.node_id = r.node_id;
  o.address = r.address;
  o.report = std::move(r);
  return o;
}

inline NodeObservation down(uint64_t id, std::string error = "connection refused") {
  NodeObservation o;
  o.node_id = id;
  o.address = "10.0.0." + std::to_string(id) + ":7001";
  o.error = std::move(error);
  return o;
}

}  // namespace reckon::health::testing
