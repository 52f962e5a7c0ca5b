// ReplicatedLog: the store's commands go through a Raft group (consensus::RaftNode) and every
// replica applies the committed ones to its storage::StateMachine. Single mode is a group of
// one voter; cluster mode 3 or 5; the code path is the same.
//
// The state machine side — unsynced commit per loop turn, logical snapshots {applied index,
// last position, digest, member directory} after a WAL sync, restore with the bulk catch-up,
// fail-stop after a failed write — is store::ReplicaStateMachine, which this log owns and
// hands to its RaftNode (the storage simulation drives the same class). Once the replica
// fail-stopped every command answers Unavailable too; a restart replays from the last good
// commit.
//
// This class adds the node: command submission, NotLeader translated to client addresses
// through the replicated member directory, leadership events, membership, and the default
// catch-up (store/bulk_catch_up over ReplicationOptions::fetch_state).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "consensus/raft_node.h"
#include "reckon/options.h"
#include "reckon/replication.h"
#include "storage/state_machine.h"
#include "store/command_log.h"
#include "store/replica_state_machine.h"

namespace reckon::store {

class ReplicatedLog final : public CommandLog, public Replication {
 public:
  // Brings a replica behind a snapshot up to (at least) `target` by fetching from a peer;
  // returns once the state machine's storage holds it. Installed by the server.
  using CatchUp = ReplicaStateMachine::CatchUp;

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
  Status await_readable() const override { return replica_.await_readable(); }
  uint64_t commits() const override { return replica_.commits(); }
  uint64_t commands() const override { return replica_.commands(); }

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

  Status translate(Status s) const;  // NotLeader: Raft address -> client address
  LeadershipChange to_change(const consensus::LeadershipEvent& e) const;
  Status bulk_catch_up(const SnapshotPoint& target);
  void on_leadership(const consensus::LeadershipEvent& e);
  void step_down_if_failed();

  storage::StateMachine& machine_;
  const ReplicationOptions options_;
  ReplicaStateMachine replica_;  // outlives node_, which applies to it
  std::unique_ptr<consensus::RaftNode> node_;
  uint64_t own_subscription_ = 0;

  std::atomic<bool> closing_{false};  // ends a running catch-up
};

}  // namespace reckon::store
