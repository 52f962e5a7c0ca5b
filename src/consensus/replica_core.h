// ReplicaCore: everything one replica runs on its Raft loop thread, independent of the I/O
// backend — the FSM adapter, the request proposer, the leadership tracker and the I/O guard
// around libraft 0.15's replication defects, plus the order in which they settle after libraft
// has run callbacks. RaftNode drives it from a libuv loop;
// the simulation tests drive it from raft/fixture.h steps. Same code, same order.
//
// Thread-safety: loop thread only.
#pragma once

#include <optional>

#include "consensus/fsm_adapter.h"
#include "consensus/guarded_io.h"
#include "consensus/leadership.h"
#include "consensus/node_state.h"
#include "consensus/proposer.h"
#include "consensus/state_machine.h"

struct raft;

namespace reckon::consensus {

class ReplicaCore {
 public:
  explicit ReplicaCore(ReplicatedStateMachine& machine) : fsm_(machine) {
    proposer_.hold_until_visible(&machine);
    fsm_.report_results_to(&proposer_);
  }

  // RaftNode: wraps the backend's raft_io; pass the result to raft_init().
  struct raft_io* guard_io(struct raft_io* inner) {
    return io_guard_.wrap(inner);
  }

  // After raft_init() (or raft_fixture_grow()), before raft_start(). Installs the I/O guard
  // around r->io unless guard_io() already did; `install_io_guard` = false exists only so the
  // simulation can show what libraft 0.15 does without it (RECKON_SIM_UNGUARDED).
  void attach(struct raft* r, bool install_io_guard = true);

  struct raft_fsm* raft_fsm() {
    return fsm_.fsm();
  }
  FsmAdapter& fsm() { return fsm_; }
  Proposer& proposer() { return proposer_; }
  struct raft* raft() const {
    return raft_;
  }

  // Call after libraft ran callbacks (one loop turn / one fixture step), in this order:
  // commit what the state machine applied, deliver request completions, observe leadership.
  // Returns a leadership event if role, term or leader changed. On becoming leader it proposes
  // a barrier so entries of earlier terms commit and apply without waiting for a new command.
  std::optional<LeadershipEvent> settle();

  // After raft_close() completed: make the state machine write synchronously (and finish what
  // it has in flight), fail requests libraft never called back, deliver, and report the node
  // unavailable.
  std::optional<LeadershipEvent> closed(const Status& why);

  const LeadershipEvent& leadership() const { return tracker_.current(); }
  const GuardedIo& io_guard() const { return io_guard_; }
  GuardedIo& io_guard() { return io_guard_; }

  // Role, term, leader, indexes and members read from the raft instance.
  NodeStatus status() const;

 private:
  struct raft* raft_ = nullptr;
  GuardedIo io_guard_;
  FsmAdapter fsm_;
  Proposer proposer_;
  LeadershipTracker tracker_;
};

}  // namespace reckon::consensus
