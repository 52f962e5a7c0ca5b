#include "consensus/replica_core.h"

#include "consensus/libraft.h"
#include "consensus/raft_errors.h"

namespace reckon::consensus {

void ReplicaCore::attach(struct raft* r, bool install_io_guard) {
  raft_ = r;
  if (install_io_guard && !io_guard_.wrapped()) io_guard_.install(r);
  fsm_.attach(r);
  proposer_.attach(r);
}

std::optional<LeadershipEvent> ReplicaCore::settle() {
  fsm_.commit_if_needed();
  proposer_.deliver();
  const LeadershipEvent before = tracker_.current();
  auto event = tracker_.observe(raft_);
  if (event && event->role == Role::kLeader &&
      (before.role != Role::kLeader || before.term != event->term)) {
    // A new leader only knows entries of earlier terms are committed once an entry of its own
    // term commits (Raft §5.4.2). The barrier makes that happen now, so the new leader (and
    // followers) apply everything before serving, without waiting for the next command.
    proposer_.barrier(nullptr);
  }
  return event;
}

std::optional<LeadershipEvent> ReplicaCore::closed(const Status& why) {
  fsm_.machine().set_offload(nullptr);
  fsm_.commit_if_needed();
  fsm_.machine().drain();
  proposer_.abandon_all(why);
  proposer_.deliver();
  return tracker_.mark_unavailable();
}

NodeStatus ReplicaCore::status() const {
  NodeStatus s;
  if (raft_ == nullptr) return s;
  LeadershipEvent e = read_leadership(raft_);
  s.id = raft_->id;
  s.address = raft_->address != nullptr ? raft_->address : "";
  s.role = e.role;
  s.term = e.term;
  s.leader_id = e.leader_id;
  s.leader_address = e.leader_address;
  s.commit_index = raft_->commit_index;
  s.last_applied = raft_last_applied(raft_);
  s.last_index = raft_last_index(raft_);
  s.state_machine_applied = fsm_.machine().visible_index();
  // Commit clamps are left out: they also happen, harmlessly, whenever a follower lags.
  s.libraft_corrections = io_guard_.replies_clamped() + io_guard_.stale_replies() +
                          io_guard_.entries_trimmed() + io_guard_.votes_refused();
  s.log_write_failures = io_guard_.log_write_failures();
  s.log_write_error = io_guard_.log_write_error();
  s.commands_proposed = proposer_.commands_proposed();
  s.apply_requests = proposer_.apply_requests();
  for (unsigned i = 0; i < raft_->configuration.n; i++) {
    const struct raft_server& server = raft_->configuration.servers[i];
    s.members.push_back(Member{server.id, server.address != nullptr ? server.address : "",
                               from_raft_role(server.role)});
    // libraft keeps one progress entry per configuration slot while leading; the leader's own
    // entry follows its log writes.
    if (raft_->state == RAFT_LEADER && raft_->leader_state.progress != nullptr) {
      s.match_index[server.id] = raft_->leader_state.progress[i].match_index;
    }
  }
  return s;
}

}  // namespace reckon::consensus
