#include "consensus/leadership.h"

#include "consensus/libraft.h"

namespace reckon::consensus {

LeadershipEvent read_leadership(struct raft* r) {
  LeadershipEvent e;
  switch (raft_state(r)) {
    case RAFT_FOLLOWER:
      e.role = Role::kFollower;
      break;
    case RAFT_CANDIDATE:
      e.role = Role::kCandidate;
      break;
    case RAFT_LEADER:
      e.role = Role::kLeader;
      break;
    default:
      e.role = Role::kUnavailable;
      break;
  }
  e.term = r->current_term;
  if (e.role == Role::kFollower || e.role == Role::kLeader) {
    raft_id id = 0;
    const char* address = nullptr;
    raft_leader(r, &id, &address);
    e.leader_id = id;
    if (id != 0 && address != nullptr) e.leader_address = address;
  }
  return e;
}

std::optional<LeadershipEvent> LeadershipTracker::observe(struct raft* r) {
  return publish(read_leadership(r));
}

std::optional<LeadershipEvent> LeadershipTracker::mark_unavailable() {
  LeadershipEvent e;
  e.term = current_.term;
  return publish(std::move(e));
}

std::optional<LeadershipEvent> LeadershipTracker::publish(LeadershipEvent next) {
  if (next == current_) return std::nullopt;
  current_ = std::move(next);
  return current_;
}

}  // namespace reckon::consensus
