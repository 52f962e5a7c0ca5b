// ReplicaStateMachine: the store's storage::StateMachine as the consensus layer's
// ReplicatedStateMachine — what every replica of a Raft group runs behind its FsmAdapter.
// store::ReplicatedLog owns one per node (with a libuv RaftNode in front); the storage
// simulation (tests/unit/store/storage_simulation_test.cc) runs one per simulated server behind
// libraft's fixture. Same code in both.
//
// What it adds to the storage state machine:
//  - group commit per Raft loop turn: apply() stages into one ApplyBatch, commit_applied()
//    writes it unsynced (the Raft log is the durable record: after a crash the log replays
//    everything above the persisted applied index);
//  - pipelining (set_pipelined_writes): given a LoopOffload (RaftNode's), a turn's batch is
//    written on a pool thread while the loop goes on: the next turns stage on top of it
//    (storage begin_after) and are written, as one batch, when it is done. One write is in
//    flight at a time. Results are answered as soon as their command is staged
//    (answerable_index), before the write lands: the Raft log already holds the command
//    durably, and readers wait for the writes themselves (await_readable), so whoever was
//    answered still reads what it did. Staging itself waits for the loop's next poll
//    (LoopOffload::after_next_poll): libraft starts its next log write just before it hands
//    over committed entries, and a write the kernel cannot take without blocking only reaches
//    the thread pool from that poll, so the staging then overlaps the write instead of
//    delaying it;
//  - logical snapshots (SnapshotPoint: applied index, last position, digest, member directory),
//    taken after a WAL sync because Raft truncates its log behind them;
//  - restore: at or past the snapshot it checks the digest and keeps its state; behind it runs
//    the catch-up hook (the bulk transfer from a peer, store/bulk_catch_up) and reloads. With an
//    offload the catch-up runs on a pool thread and restore returns at once: the loop goes on
//    voting and storing entries, and the commands committed meanwhile are applied (and
//    answered) once the store is caught up;
//  - fail-stop: a RocksDB write that failed, or a catch-up that failed or was left half done,
//    leaves this replica behind its Raft log, which cannot be undone in place — every later
//    apply answers Unavailable and nothing more is written; a restart replays from the last
//    good commit (and catches up again if needed);
//  - the committed member directory (node id -> client address), copied for other threads.
//
// Threading: the ReplicatedStateMachine methods run on the Raft loop thread only (libuv loop,
// or the simulation's thread). member_directory(), member_address(), failed_status(),
// set_catch_up(), commits() and commands() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/state_machine.h"
#include "storage/state_machine.h"

namespace reckon::store {

// What a logical Raft snapshot says about the state machine (docs/CONSENSUS.md, "Snapshot
// format" and "Bulk catch-up").
struct SnapshotPoint {
  uint64_t applied_index = 0;
  Position last_position = 0;
  uint64_t digest = 0;
  std::map<uint64_t, std::string> members;  // node id -> client address
};
std::string encode_snapshot_point(const SnapshotPoint& p);
Result<SnapshotPoint> decode_snapshot_point(std::string_view bytes);

class ReplicaStateMachine final : public consensus::ReplicatedStateMachine {
 public:
  // Brings the storage behind `machine` up to (at least) `target.applied_index` by fetching a
  // peer's state; returns once the storage holds it (the state machine reloads afterwards).
  using CatchUp = std::function<Status(const SnapshotPoint& target)>;

  // `machine` must be loaded and outlive this object. `on_commit` runs on the loop thread after
  // each commit and each completed catch-up, with the new last position (live tails).
  ReplicaStateMachine(storage::StateMachine& machine, std::function<void(Position)> on_commit);
  ReplicaStateMachine(const ReplicaStateMachine&) = delete;
  ReplicaStateMachine& operator=(const ReplicaStateMachine&) = delete;

  // ---- consensus::ReplicatedStateMachine (loop thread) ----
  std::shared_ptr<void> apply(std::string_view command, uint64_t index) override;
  uint64_t applied_index() const override;
  void commit_applied() override;
  Result<std::string> snapshot_state() override;
  Status make_snapshot_durable() override;  // thread-safe: a RocksDB WAL sync
  Status restore_state(std::string_view state) override;
  void set_offload(consensus::LoopOffload* offload) override { offload_ = offload; }
  // With an offload: write turns in the background (pipelining). The catch-up uses the offload
  // either way. Set before the Raft node starts.
  void set_pipelined_writes(bool on) { pipelined_writes_ = on; }
  uint64_t visible_index() const override;
  uint64_t answerable_index() const override;
  void drain() override;

  // ---- any thread ----
  // Readers call this before reading the store: it returns once every command answered ahead
  // of its write (above) when it was called is written to RocksDB, so a read sees every command
  // whose result was answered before it began. Usually immediate: it waits only while a write
  // is in flight. Unavailable if this replica fail-stopped before then (a read must not miss
  // an answered command; the restart replays it).
  Status await_readable() const;
  // Without a catch-up, a replica behind a snapshot fails its restore (and fail-stops).
  void set_catch_up(CatchUp catch_up);
  // The committed directory, plus the addresses of snapshots this replica restored from.
  std::map<uint64_t, std::string> member_directory() const;
  std::optional<std::string> member_address(uint64_t id) const;
  // OK, or the Unavailable status every apply answers once this replica fail-stopped.
  Status failed_status() const;
  // Called once, on the loop thread, when this replica fail-stops.
  void set_on_fail_stop(std::function<void()> callback);
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  uint64_t commands() const { return commands_.load(std::memory_order_relaxed); }

  storage::StateMachine& machine() const { return machine_; }

 private:
  // Staged applies, the bytes they point into and the results handed out for them.
  struct Turn {
    uint64_t seq = 0;
    storage::ApplyBatch batch;
    std::deque<std::string> commands;  // a deque never moves its strings
    std::vector<std::shared_ptr<storage::CommandResult>> results;
    // Set by the pool thread when the write is done (guarded by write_mu_).
    bool written = false;
    Status write_status;
  };

  // A bulk catch-up running on the offload (restore_state returned at once).
  struct CatchUpRun {
    uint64_t seq = 0;
    // The snapshot's point, and at least that and where this replica was. Raised (under
    // write_mu_) when another snapshot arrives while fetching; the fetch then goes on to it.
    SnapshotPoint target;
    SnapshotPoint wanted;
    // Set by the pool thread (guarded by write_mu_).
    bool done = false;
    Status outcome;
  };
  // A committed command not staged yet: while catching up (deferred_), or until the loop's next
  // poll (queued_).
  struct Deferred {
    std::string command;
    uint64_t index = 0;
    std::shared_ptr<storage::CommandResult> result;
  };

  void stage(std::string_view command, uint64_t index,
             const std::shared_ptr<storage::CommandResult>& result);
  void stage_queued();                    // stages queued_, in order
  void commit_staged();                   // writes (or starts writing) what is staged
  uint64_t staged_applied_index() const;  // applied_index() without queued_
  // After a catch-up's fetch: reload and verify (fail-stop if it failed).
  Status caught_up(const SnapshotPoint& target, const SnapshotPoint& wanted, Status fetched);
  void finish_catch_up(uint64_t seq);  // loop thread, after the pool thread fetched
  void fail_stop(Status why);  // keeps the first reason
  void start_write();                      // seals open_ and hands it to the offload
  void finish_write(uint64_t seq);         // loop thread, after the pool thread wrote `seq`
  void wait_written(const Turn& turn);     // blocks until the pool thread is done with it
  void conclude(Turn& turn, Status written);  // publish, or fail-stop
  void note_published(uint64_t index);        // readers may go up to `index`
  bool answers_early() const;                 // results answered before their write lands

  storage::StateMachine& machine_;
  std::function<void(Position)> on_commit_;
  consensus::LoopOffload* offload_ = nullptr;
  bool pipelined_writes_ = false;

  // Loop thread only.
  std::unique_ptr<Turn> open_;     // being applied into
  std::unique_ptr<Turn> writing_;  // sealed, being written (open_ is staged on top of it)
  uint64_t next_seq_ = 1;
  uint64_t failed_index_ = 0;      // after a failed write: the highest index it answered
  std::unique_ptr<CatchUpRun> catching_up_;
  std::vector<Deferred> deferred_;  // while catching_up_
  // Applied but not staged yet: staged after the loop's next poll (commit_applied).
  std::vector<Deferred> queued_;
  bool staging_armed_ = false;

  std::mutex write_mu_;
  std::condition_variable write_cv_;

  mutable std::mutex mu_;                    // guards what other threads read
  std::map<uint64_t, std::string> members_;  // committed directory copy
  Status failed_;                            // set once this replica fail-stopped
  CatchUp catch_up_;
  std::function<void()> on_fail_stop_;

  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> commands_{0};

  // For await_readable(): the highest index staged to be answered before its write (stored by
  // the loop before the answer) and the highest index written and published; readable_cv_ signals
  // progress and fail-stops.
  std::atomic<uint64_t> staged_index_{0};
  std::atomic<uint64_t> published_index_{0};
  mutable std::mutex readable_mu_;
  mutable std::condition_variable readable_cv_;
  bool stopped_ = false;  // guarded by readable_mu_: fail-stopped, waiting readers give up
};

}  // namespace reckon::store
