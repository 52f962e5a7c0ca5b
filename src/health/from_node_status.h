// Converts the consensus layer's NodeStatus into a NodeReport. Header-only and field-by-field,
// so reckon_health itself does not link the consensus layer (or libraft).
#pragma once

#include "consensus/node_state.h"
#include "health/node_report.h"

namespace reckon::health {

inline NodeReport report_from_status(const consensus::NodeStatus& s) {
  NodeReport r;
  r.node_id = s.id;
  r.address = s.address;
  r.role = static_cast<NodeRole>(s.role);  // same order: unavailable, follower, candidate, leader
  r.term = s.term;
  r.leader_id = s.leader_id;
  r.commit_index = s.commit_index;
  r.applied_index = s.state_machine_applied;
  r.last_log_index = s.last_index;
  r.log_write_error = s.log_write_error;
  for (const consensus::Member& m : s.members) {
    auto match = s.match_index.find(m.id);
    r.members.push_back({m.id, m.address, static_cast<MemberRole>(m.role),
                         match != s.match_index.end() ? std::optional<uint64_t>(match->second) : std::nullopt});
  }
  return r;
}

static_assert(static_cast<int>(consensus::Role::kLeader) == static_cast<int>(NodeRole::kLeader));
static_assert(static_cast<int>(consensus::MemberRole::kSpare) ==
              static_cast<int>(MemberRole::kSpare));

}  // namespace reckon::health
