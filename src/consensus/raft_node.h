// RaftNode: one member of a replicated group — libraft 0.15 with its libuv disk log and TCP
// transport, on its own loop thread, driving a ReplicatedStateMachine.
//
// Who calls what:
//  - start() formats or reopens the Raft log in options.data_dir, bootstraps the initial
//    configuration exactly once (first start of an initial member; libraft refuses a second
//    bootstrap), and starts the loop thread.
//  - Any thread: submit(), barrier(), membership and leadership calls, subscribe(), status(),
//    stop(). They hand work to the loop through a mutex-protected queue plus uv_async_send();
//    the loop proposes everything queued in one turn, so many commands are in flight at once
//    (group commit: libraft writes and fsyncs them together).
//  - The loop thread calls the state machine (see state_machine.h) and every callback: `done`
//    callbacks and leadership subscribers run on the loop thread and must not block. Exceptions:
//    a call refused up front (node stopped, too many pending, command too large) calls `done`
//    on the calling thread before returning, and subscribe() delivers the current state on the
//    calling thread before returning.
//  - Every `done` is called exactly once, including at stop() (Unavailable).
//
// Not leader: submit() on a follower completes with Status::not_leader(leader_id,
// leader_raft_address) — a Raft address; mapping it to a client address is the server's job.
// Leadership lost before commit: Unavailable "may still be committed" (retry idempotently).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "consensus/node_state.h"
#include "consensus/state_machine.h"
#include "reckon/status.h"

namespace reckon::consensus {

struct RaftOptions {
  uint64_t node_id = 0;  // > 0, unique in the cluster, never reused
  std::string address;   // Raft listen address, IPv4 "host:port"; peers dial it
  std::string data_dir;  // the Raft log (created if missing); one node per directory
  // The configuration to bootstrap on first start, id -> Raft address, all voters. Every
  // initial member passes the same map. Empty: this node joins an existing cluster and waits to
  // be added with add_member() on the leader.
  std::map<uint64_t, std::string> initial_members;

  std::chrono::milliseconds election_timeout{1000};  // randomized in [1x, 2x) by libraft
  std::chrono::milliseconds heartbeat_timeout{100};
  bool pre_vote = true;  // a partitioned node rejoining does not depose a healthy leader
  // A logical snapshot every `snapshot_threshold` applied entries; `snapshot_trailing` entries
  // stay in the log behind it so slightly lagging followers catch up from the log, not a
  // snapshot (which costs them a bulk fetch).
  unsigned snapshot_threshold = 4096;
  unsigned snapshot_trailing = 16384;
  std::chrono::milliseconds connect_retry_delay{250};  // libraft's default is 1 s
  // A leader that got no answer to an InstallSnapshot resends after this long; libraft's
  // default (30 s) leaves a follower whose snapshot message was lost behind for that long.
  std::chrono::milliseconds install_snapshot_timeout{5000};

  size_t max_pending_commands = 65536;  // submitted, not yet done; more = Unavailable
  size_t max_command_bytes = 4 << 20;   // larger = LimitExceeded
  // stop() on a leader first hands leadership to the most up-to-date voter (bounded by two
  // election timeouts), so a planned restart costs a round trip, not an election timeout.
  bool transfer_leadership_on_stop = true;
};

class RaftNode {
 public:
  using SubmitDone = std::function<void(Result<std::shared_ptr<void>>)>;
  using Done = std::function<void(Status)>;
  using LeadershipCallback = std::function<void(const LeadershipEvent&)>;

  // Opens the log, bootstraps if needed, starts listening and the loop thread. `machine` must
  // outlive the node.
  static Result<std::unique_ptr<RaftNode>> start(const RaftOptions& options,
                                                 ReplicatedStateMachine& machine);

  ~RaftNode();  // stop(); must not run on the loop thread (i.e. inside a callback)
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // Replicates `command`; `done` gets the state machine's apply() result on this node.
  void submit(std::string command, SubmitDone done);

  // Completes when every entry committed before it is applied here; leader only (NotLeader
  // otherwise). Use before a read that must see all acknowledged writes (read-index style).
  void barrier(Done done);

  // Leader only. id 0 = the most up-to-date voter.
  void transfer_leadership(uint64_t id, Done done);

  // Leader only. add_member adds a spare (no log, no vote); assign_role(kStandby) makes it
  // replicate, assign_role(kVoter) promotes it once caught up.
  void add_member(uint64_t id, std::string address, Done done);
  void assign_role(uint64_t id, MemberRole role, Done done);
  void remove_member(uint64_t id, Done done);

  // Leadership events: `callback` gets the current state at once (on the calling thread), then
  // every change of role, term or leader (on the loop thread), and a final kUnavailable at
  // stop(). After unsubscribe() returns it is not called again.
  uint64_t subscribe(LeadershipCallback callback);
  void unsubscribe(uint64_t subscription);

  // A consistent snapshot read on the loop thread (blocks the caller for one loop turn).
  NodeStatus status() const;

  // Hands off leadership if configured, closes libraft and the loop, joins the thread, fails
  // whatever is still pending with Unavailable. Idempotent; returns the first close's outcome.
  Status stop();

  uint64_t id() const;
  const std::string& address() const;
  bool on_loop_thread() const;

  struct Loop;  // the loop thread's state (raft_node.cc)

 private:
  explicit RaftNode(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace reckon::consensus
