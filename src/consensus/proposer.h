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
// Group commit: propose_all() hands every command queued in one loop turn to libraft as one
// multi-entry raft_apply, so they share one disk write and one AppendEntries message per
// follower (libraft sends a message per raft_apply call). Each command is still its own log
// entry with its own index. libraft 0.15 calls a raft_apply callback only when the *first* entry
// of the request is applied, so results do not come from that callback: FsmAdapter reports
// every applied entry (applied()), and a command gets the result of the entry at the index it
// was given, provided this replica still leads in the term it proposed in — a leader never
// replaces entries of its own term, so that entry is the command. Once it stops leading, every
// command still waiting is failed as of unknown outcome (like libraft's RAFT_LEADERSHIPLOST):
// the next leader may or may not commit it.
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

  // Several commands in one raft_apply (one entry each, consecutive indexes); each `done` is
  // called as for propose().
  struct Proposal {
    std::string_view command;
    ApplyDone done;
  };
  void propose_all(std::vector<Proposal>& proposals);

  // FsmAdapter calls this after each entry it applied (`value` = apply()'s result) or skipped
  // (`value` == nullptr: the state machine had already applied that index).
  void applied(uint64_t index, std::shared_ptr<void>* value);

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
  // Proposed commands waiting for their entry to be applied.
  size_t awaiting() const { return awaited_.size(); }
  // Commands libraft accepted, and the raft_apply requests that carried them.
  uint64_t commands_proposed() const { return commands_proposed_; }
  uint64_t apply_requests() const { return apply_requests_; }
  // Completions waiting for deliver().
  size_t ready() const { return ready_.size(); }

  // Runs queued completions whose effects are visible (including any queued while running
  // them), in queue order.
  void deliver();

  // After raft_close() has completed: completes every request libraft never called back and
  // every command still awaiting its entry, and frees every request's memory.
  void abandon_all(const Status& why);

 private:
  enum class Kind : uint8_t { kApply, kBarrier, kChange, kTransfer };
  struct Request {
    Proposer* owner = nullptr;
    uint64_t seq = 0;
    Kind kind = Kind::kApply;
    uint64_t target = 0;  // transfer: requested id
    uint64_t first_index = 0, last_index = 0;  // apply: the entries it appended
    struct raft_apply apply {};
    struct raft_barrier barrier {};
    struct raft_change change {};
    struct raft_transfer transfer {};
    Done done;  // not for kApply: its commands wait in awaited_
  };

  // A proposed command: the index and term of its entry, and who waits for its result.
  struct Awaited {
    uint64_t index = 0;
    uint64_t term = 0;
    ApplyDone done;
  };

  Request* track(Kind kind);
  void finish(Request* req, Status status);
  void complete(ApplyDone done, Result<std::shared_ptr<void>> result);
  // Fails the awaited commands with indexes in [first, last].
  void fail_awaited(uint64_t first, uint64_t last, const Status& why);
  // Fails every awaited command proposed in a term this replica no longer leads.
  void fail_stale_awaited();
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
  // In index order (a replica leads one term at a time and stale entries go first).
  std::deque<Awaited> awaited_;
  uint64_t commands_proposed_ = 0;
  uint64_t apply_requests_ = 0;
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
