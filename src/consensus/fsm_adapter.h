// FsmAdapter: libraft's C `struct raft_fsm` callbacks, bridged to a ReplicatedStateMachine.
//
// The one apply path of the consensus layer: RaftNode (libuv disk and TCP) and the deterministic
// simulation tests (raft/fixture.h, in-memory network and disk) both install an FsmAdapter, so
// what the simulation proves is what production runs.
//
// What it adds to the raw callbacks:
//  - the entry's index: libraft 0.15's apply callback gets only the bytes; the adapter reads
//    raft_last_applied()+1, which libraft advances after each entry (commands, barriers and
//    configuration changes alike);
//  - restart idempotency: entries with index <= machine.applied_index() are skipped, because the
//    state machine already persisted their effects (the Raft log replays from its last snapshot);
//  - a result hand-off: the value returned by apply() goes, with the entry's index, to the
//    Proposer, which gives it to the command proposed at that index, if any (followers: none);
//  - logical snapshots in a small versioned envelope (docs/CONSENSUS.md, "Snapshot format"),
//    made durable off the loop when the Raft I/O runs work on a pool (RaftNode's libuv I/O): a
//    WAL sync that can take tens of milliseconds then no longer stalls appends and heartbeats.
//
// Thread-safety: loop thread only (the thread driving the raft instance), except
// snapshot_async_cb, which libraft runs on its I/O's worker thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "consensus/libraft.h"
#include "consensus/state_machine.h"
#include "reckon/status.h"

namespace reckon::consensus {

class Proposer;

class FsmAdapter {
 public:
  explicit FsmAdapter(ReplicatedStateMachine& machine);
  FsmAdapter(const FsmAdapter&) = delete;
  FsmAdapter& operator=(const FsmAdapter&) = delete;

  // The struct to hand to raft_init() / raft_fixture_grow(). Stable for the adapter's life.
  struct raft_fsm* fsm() {
    return &fsm_;
  }

  // Must be called after raft_init() and before raft_start(): entry indexes come from `r`.
  void attach(struct raft* r);
  // Before raft_start(), for an I/O whose async_work runs work on a pool (libuv's): snapshots
  // are then made durable there (ReplicatedStateMachine::make_snapshot_durable) instead of on
  // the loop. Without it (the simulations' fixture I/O) they are made durable synchronously.
  void make_snapshots_durable_off_the_loop();

  ReplicatedStateMachine& machine() { return machine_; }
  const ReplicatedStateMachine& machine() const { return machine_; }

  // Calls machine.commit_applied() if apply() ran since the last call. The owner calls it once
  // per loop turn, before delivering the results of the commands applied in that turn.
  void commit_if_needed();

  // Where the results of applied entries go (Proposer::applied). Before raft_start().
  void report_results_to(Proposer* proposer) { proposer_ = proposer; }

  // Counters for tests and status.
  uint64_t applied() const { return applied_; }
  uint64_t skipped() const { return skipped_; }
  uint64_t snapshots_taken() const { return snapshots_taken_; }
  uint64_t restores() const { return restores_; }

  // Envelope around the state machine's snapshot bytes.
  static std::string wrap_snapshot(std::string_view machine_state);
  static Result<std::string_view> unwrap_snapshot(std::string_view bytes);

 private:
  static int apply_cb(struct raft_fsm* fsm, const struct raft_buffer* buf, void** result);
  static int snapshot_cb(struct raft_fsm* fsm, struct raft_buffer* bufs[], unsigned* n_bufs);
  static int snapshot_async_cb(struct raft_fsm* fsm, struct raft_buffer* bufs[], unsigned* n_bufs);
  static int snapshot_finalize_cb(struct raft_fsm* fsm, struct raft_buffer* bufs[], unsigned* n_bufs);
  static int restore_cb(struct raft_fsm* fsm, struct raft_buffer* buf);

  ReplicatedStateMachine& machine_;
  struct raft* raft_ = nullptr;
  struct raft_fsm fsm_ {};
  Proposer* proposer_ = nullptr;
  bool uncommitted_ = false;  // apply() ran since the last commit_applied()
  uint64_t applied_ = 0;
  uint64_t skipped_ = 0;
  uint64_t snapshots_taken_ = 0;
  uint64_t restores_ = 0;
};

}  // namespace reckon::consensus
