// ReplicatedStateMachine: what the consensus layer drives. It knows commands only as bytes; the
// state machine gives them meaning. Every replica calls apply() with the same committed
// commands in the same order, so a deterministic state machine ends in the same state on every
// node.
//
// Contract (see docs/CONSENSUS.md, "State machine contract"):
//  - apply(command, index) is called once per committed command, in log order, with strictly
//    increasing indexes (barrier and configuration entries consume indexes too, so there are
//    gaps). It must not fail: a command the state machine rejects (wrong expected version,
//    undecodable bytes) is a *result*, returned as the value; every replica must reach the same
//    verdict. The returned pointer goes back to whoever submitted the command, if that happened
//    on this node; the consensus layer never looks inside.
//  - applied_index() is the highest index whose effects the state machine holds. It is
//    persisted by the state machine itself, atomically with the data, so after a restart the
//    entries the Raft log replays with index <= applied_index() are skipped, never applied twice.
//  - commit_applied() is called after a run of apply() calls (one turn of the Raft loop) and
//    before their results are delivered: a state machine that stages applies into one write
//    batch commits it here. It need not fsync: the Raft log is the durable record and replays
//    everything above applied_index() after a crash.
//  - snapshot_state() returns a *logical* snapshot: small bytes naming how far the state
//    machine is (applied index, high-water marks, a digest), not the data. Raft then truncates
//    its log behind that point, so before returning the state machine must make everything up
//    to applied_index() durable (e.g. RocksDB FlushWAL(sync)).
//  - restore_state(state) is given such bytes from the leader (InstallSnapshot) or from the
//    local snapshot at startup. If the state machine is already at or past that point it
//    verifies and keeps its state; if it is behind, it must bring itself up to that point
//    (bulk fetch from a peer) before returning, or fail (the leader retries later).
//
//  - Pipelined commits (optional): given a LoopOffload, commit_applied() may hand the write to
//    another thread and return at once; the next turn's apply() calls then stage on top of the
//    state being written. visible_index() says how far readers can see. The consensus layer
//    delivers a request's completion (command result, barrier, ...) only once
//    answerable_index() has reached the index the state machine had applied when the
//    completion was queued. By default that is visible_index(), so a caller never reads older
//    state than its own acknowledged write; a state machine whose readers wait for its
//    background writes themselves may answer as soon as a command is applied.
//
// Threading: every method is called on the Raft loop thread of the node that owns the state
// machine, one call at a time. Calls must not block for long: while they run the node neither
// votes nor heartbeats.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "reckon/status.h"

namespace reckon::consensus {

// Runs work off the Raft loop thread, then a continuation back on it; the replica settles
// (delivers completions) after the continuation. RaftNode provides one backed by libuv's thread
// pool; the simulation provides none, so its state machines commit synchronously.
class LoopOffload {
 public:
  virtual ~LoopOffload() = default;
  virtual void run(std::function<void()> work, std::function<void()> then_on_loop) = 0;
  // Runs `fn` on the loop thread once the loop has polled for I/O again (before it settles),
  // so I/O that became ready meanwhile is handled first; by default (no loop) at once.
  virtual void after_next_poll(std::function<void()> fn) { fn(); }
};

class ReplicatedStateMachine {
 public:
  virtual ~ReplicatedStateMachine() = default;

  // Applies one committed command; `index` is its Raft log index.
  virtual std::shared_ptr<void> apply(std::string_view command, uint64_t index) = 0;

  // Highest index applied and persisted with the state machine's data (0 = nothing yet).
  virtual uint64_t applied_index() const = 0;

  // Makes the effects of the apply() calls since the last commit_applied() visible (and
  // written, not necessarily synced). Default: apply() already wrote them.
  virtual void commit_applied() {}

  // Logical snapshot: applied index, high-water marks, digest. An error skips this snapshot:
  // the log is kept.
  virtual Result<std::string> snapshot_state() = 0;

  // Makes the state the last snapshot_state() described durable; Raft lets its log go behind
  // the snapshot only after this succeeded (an error skips the snapshot). Runs on a worker
  // thread when the Raft I/O can run work off the loop — the loop keeps applying meanwhile, so
  // it must be safe against apply()/commit_applied() — else on the loop right after
  // snapshot_state(). Default: snapshot_state() already made it durable.
  virtual Status make_snapshot_durable() { return Status::ok(); }

  // Brings the state machine to (at least) the point described by a snapshot_state() result.
  virtual Status restore_state(std::string_view state) = 0;

  // ---- Pipelined commits (see the contract above); the defaults commit synchronously ----
  // nullptr: commit synchronously from now on (the node is closing).
  virtual void set_offload(LoopOffload* offload) { (void)offload; }
  // Highest index whose effects readers can see.
  virtual uint64_t visible_index() const { return applied_index(); }
  // Highest index whose results may be answered (see the contract above).
  virtual uint64_t answerable_index() const { return visible_index(); }
  // Finishes any write in flight and writes everything staged, before returning; afterwards
  // visible_index() == applied_index().
  virtual void drain() {}
};

}  // namespace reckon::consensus
