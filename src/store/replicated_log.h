// ReplicatedLog: the store's commands go through a Raft group (consensus::RaftNode) and every
// replica applies the committed ones to its storage::StateMachine. Single mode is a group of
// one voter; cluster mode 3 or 5; the code path is the same.
//
// The Raft log is the durable record: the state machine commits each loop turn's applies in
// one unsynced RocksDB write (after a crash the log replays everything above the persisted
// applied index), and before a Raft snapshot lets the log go it syncs RocksDB. Snapshots are
// logical: {applied index, last position, digest, member directory}.
//
// A RocksDB write that fails on the apply path (disk full, EIO) leaves this replica behind its
// Raft log, which cannot be undone in place: the log fail-stops — every later command and
// apply answers Unavailable, nothing more is written — and a restart replays from the last
// good commit.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "consensus/raft_node.h"
#include "consensus/state_machine.h"
#include "reckon/options.h"
#include "reckon/replication.h"
#include "storage/state_machine.h"
#include "store/command_log.h"

namespace reckon::store {

// What a logical Raft snapshot says about the state machine.
struct SnapshotPoint {
  uint64_t applied_index = 0;
  Position last_position = 0;
  uint64_t digest = 0;
  std::map<uint64_t, std::string> members;  // node id -> client address
};
std::string encode_snapshot_point(const SnapshotPoint& p);
Result<SnapshotPoint> decode_snapshot_point(std::string_view bytes);

class ReplicatedLog final : public CommandLog,
                            public Replication,
                            private consensus::ReplicatedStateMachine {
 public:
  // Brings a replica behind a snapshot up to (at least) `target` by fetching from a peer;
  // returns once the state machine's storage holds it. Installed by the server.
  using CatchUp = std::function<Status(const SnapshotPoint& target)>;

  // `machine` must be loaded and outlive the log. `on_commit` runs on the Raft loop thread
  // after each commit with the new last position (live tails).
  static Result<std::unique_ptr<ReplicatedLog>> open(storage::StateMachine& machine,
                                                     const std::string& data_dir,
                                                     const ReplicationOptions& options,
                                                     std::function<void(Position)> on_commit);
  ~ReplicatedLog() override;

  // ---- CommandLog ----
  void submit_async(std::string command, Callback done) override;
  void close() override;
  uint64_t commits() const override { return commits_.load(std::memory_order_relaxed); }
  uint64_t commands() const override { return commands_.load(std::memory_order_relaxed); }

  // ---- Replication ----
  uint64_t node_id() const override { return options_.node_id; }
  ReplicaStatus status() override;
  bool is_leader() override;
  void barrier(std::function<void(Status)> done) override;
  uint64_t subscribe_leadership(std::function<void(const LeadershipChange&)> callback) override;
  void unsubscribe_leadership(uint64_t id) override;
  void set_member_address(uint64_t id, std::string client_address,
                          std::function<void(Status)> done) override;
  void add_member(uint64_t id, std::string raft_address, std::function<void(Status)> done) override;
  void promote_member(uint64_t id, std::function<void(Status)> done) override;
  void remove_member(uint64_t id, std::function<void(Status)> done) override;
  void transfer_leadership(uint64_t id, std::function<void(Status)> done) override;

  std::map<uint64_t, std::string> member_directory() const override;
  Result<std::unique_ptr<StateExport>> open_state_export(uint64_t after_position) override;

  // Replaces the catch-up; the default (with options.fetch_state) is store/bulk_catch_up.
  void set_catch_up(CatchUp catch_up);

 private:
  ReplicatedLog(storage::StateMachine& machine, ReplicationOptions options,
                std::function<void(Position)> on_commit);

  // ---- consensus::ReplicatedStateMachine (Raft loop thread) ----
  std::shared_ptr<void> apply(std::string_view command, uint64_t index) override;
  uint64_t applied_index() const override;
  void commit_applied() override;
  Result<std::string> snapshot_state() override;
  Status restore_state(std::string_view state) override;

  Status translate(Status s) const;  // NotLeader: Raft address -> client address
  LeadershipChange to_change(const consensus::LeadershipEvent& e) const;
  Status bulk_catch_up(const SnapshotPoint& target);
  void on_leadership(const consensus::LeadershipEvent& e);
  Status failed_status() const;

  storage::StateMachine& machine_;
  const ReplicationOptions options_;
  std::function<void(Position)> on_commit_;
  std::unique_ptr<consensus::RaftNode> node_;
  uint64_t own_subscription_ = 0;

  // Loop thread only: the turn's staged applies and the bytes they point into.
  std::optional<storage::ApplyBatch> batch_;
  std::deque<std::string> batch_commands_;
  std::vector<std::shared_ptr<storage::CommandResult>> batch_results_;

  mutable std::mutex mu_;  // guards what other threads read
  std::map<uint64_t, std::string> members_;  // committed directory copy
  Status failed_;                            // set once a commit failed (fail-stop)
  CatchUp catch_up_;

  std::atomic<bool> closing_{false};  // ends a running catch-up
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> commands_{0};
};

}  // namespace reckon::store
