// Proposer: the client requests a replica makes to its raft instance — commands (raft_apply),
// barriers, membership changes, leadership transfers — and the translation of their outcomes
// into Status / Result values.
//
// Shared by RaftNode and the simulation tests, like FsmAdapter. Every request's `done` is called
// exactly once: completions are queued and run by deliver(), which the owner calls once per loop
// turn after FsmAdapter::commit_if_needed(), so a caller never learns of a result before the
// state machine has committed it. A state machine that writes in the background
// (ReplicatedStateMachine::answerable_index) may hold completions back further: each is marked
// with the index the state machine had applied when it was queued, and runs, in queue order,
// once that index is answerable. Requests libraft never called back (it was closed first) are
// completed by abandon_all().
//
// Group commit: each command is its own raft_apply of one entry. libraft 0.15 calls a
// raft_apply callback when the *first* entry of the request is applied, so multi-entry requests
// cannot report per-entry results; many single-entry requests in flight are batched by libraft's
// disk writer (one write and fsync for everything queued while the previous write ran) and by
// its AppendEntries pipeline.
//
// Thread-safety: loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/libraft.h"
#include "consensus/node_state.h"
#include "consensus/state_machine.h"
#include "reckon/status.h"

namespace reckon::consensus {

class Proposer {
 public:
  using ApplyDone = std::function<void(Result<std::shared_ptr<void>>)>;
  using Done = std::function<void(Status)>;

  Proposer() = default;
  ~Proposer();
  Proposer(const Proposer&) = delete;
  Proposer& operator=(const Proposer&) = delete;

  void attach(struct raft* r) { raft_ = r; }
  // Completions wait until `machine` shows the effects they follow (optional).
  void hold_until_visible(const ReplicatedStateMachine* machine) { machine_ = machine; }

  // Appends `command` as one log entry if this replica is the leader; `done` gets the state
  // machine's apply() result once committed and applied here, or NotLeader / Unavailable /...
  void propose(std::string_view command, ApplyDone done);

  // Completes once every entry before it is applied on this node (leader only).
  void barrier(Done done);

  // Membership (leader only). New members join as spares (libraft's raft_add).
  void add_member(uint64_t id, const std::string& address, Done done);
  void assign_role(uint64_t id, MemberRole role, Done done);
  void remove_member(uint64_t id, Done done);

  // id 0 = let libraft pick the most up-to-date voter. OK once another node leads.
  void transfer_leadership(uint64_t id, Done done);

  // Requests handed to libraft and not yet called back.
  size_t outstanding() const { return outstanding_.size(); }
  // Completions waiting for deliver().
  size_t ready() const { return ready_.size(); }

  // Runs queued completions whose effects are visible (including any queued while running
  // them), in queue order.
  void deliver();

  // After raft_close() has completed: completes every request libraft never called back, and
  // frees every request's memory.
  void abandon_all(const Status& why);

 private:
  enum class Kind : uint8_t { kApply, kBarrier, kChange, kTransfer };
  struct Request {
    Proposer* owner = nullptr;
    uint64_t seq = 0;
    Kind kind = Kind::kApply;
    uint64_t target = 0;  // transfer: requested id
    struct raft_apply apply {};
    struct raft_barrier barrier {};
    struct raft_change change {};
    struct raft_transfer transfer {};
    ApplyDone apply_done;
    Done done;
  };

  Request* track(Kind kind);
  void finish(Request* req, Status status);
  void finish_apply(Request* req, Result<std::shared_ptr<void>> result);
  void fail_now(Done done, Status status);
  void queue(std::function<void()> completion);
  Status sync_failure(int rv, std::string_view what);

  static void on_apply(struct raft_apply* req, int status, void* result);
  static void on_barrier(struct raft_barrier* req, int status);
  static void on_change(struct raft_change* req, int status);
  static void on_transfer(struct raft_transfer* req);

  struct raft* raft_ = nullptr;
  uint64_t next_seq_ = 1;
  // Ordered by submission so abandon_all() is deterministic (the simulation replays exactly).
  std::map<uint64_t, std::unique_ptr<Request>> outstanding_;
  // Completed transfers whose memory libraft may still touch; freed by abandon_all().
  std::vector<std::unique_ptr<Request>> retired_;
  struct Completion {
    uint64_t visible_at = 0;  // the state machine's applied index when queued
    std::function<void()> run;
  };
  const ReplicatedStateMachine* machine_ = nullptr;
  std::deque<Completion> ready_;
};

}  // namespace reckon::consensus
