// LeadershipTracker: turns libraft's polled state (raft_state, current term, raft_leader) into
// LeadershipEvents, one per change. libraft 0.15 has no state-change callback, so the owner
// calls observe() after every batch of libraft callbacks (RaftNode: every libuv loop turn, from
// a prepare and a check handle; the simulation: after every fixture step). Nothing is missed
// between turns that matters to subscribers: transitions inside one turn collapse into their
// end state, which is what a subscriber must act on.
//
// Thread-safety: loop thread only.
#pragma once

#include <optional>

#include "consensus/node_state.h"

struct raft;

namespace reckon::consensus {

class LeadershipTracker {
 public:
  // Reads the instance's state; returns the new state if role, term or leader changed.
  std::optional<LeadershipEvent> observe(struct raft* r);

  // The instance was closed: returns an kUnavailable event unless that was already published.
  std::optional<LeadershipEvent> mark_unavailable();

  const LeadershipEvent& current() const { return current_; }

 private:
  std::optional<LeadershipEvent> publish(LeadershipEvent next);

  LeadershipEvent current_;
};

// Reads role, term and leader from a raft instance.
LeadershipEvent read_leadership(struct raft* r);

}  // namespace reckon::consensus
