// Replication: a store driven by a Raft log (single mode = a one-voter group, cluster mode =
// 3 or 5 voters; the same code path). Options to open one, and the view of the cluster a
// replicated store gives its server. See docs/CLUSTER.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/status.h"

namespace reckon {

// Bulk catch-up (docs/CONSENSUS.md "Bulk catch-up"). The chunks are opaque bytes to the
// transport; a sink error ends the transfer.
using StateChunkSink = std::function<Status(std::string_view chunk)>;
// The transport a replica behind a Raft snapshot uses to fetch a peer's state: streams the
// chunks of the peer at `client_address` (Replication::export_state there, e.g. over gRPC) for
// events after `after_position` into `sink`, in order. Returns once the peer sent its last
// chunk, or with the first error.
using FetchState = std::function<Status(const std::string& client_address, uint64_t after_position,
                                        const StateChunkSink& sink)>;

struct ReplicationOptions {
  uint64_t node_id = 1;          // > 0, unique in the cluster, never reused
  std::string raft_address;      // Raft listen address "ip:port" (peers dial it)
  std::string raft_dir;          // the Raft log; empty = <data_dir>/raft
  std::string client_address;    // the gRPC address clients reach this node on
  // First formation: every initial member passes the same map (id -> Raft address) and the
  // group bootstraps exactly once. Empty = join an existing cluster (added by its leader).
  std::map<uint64_t, std::string> initial_members;

  std::chrono::milliseconds election_timeout{1000};  // randomized in [1x, 2x)
  std::chrono::milliseconds heartbeat_timeout{100};
  // Applied entries between logical snapshots. Each snapshot stalls the Raft loop ~30 ms (libraft
  // destroys a kernel AIO context there); 65536 keeps that off the p99 at 10k appends/s.
  unsigned snapshot_threshold = 65536;
  unsigned snapshot_trailing = 65536;  // entries kept behind a snapshot for lagging followers
  // Largest command the log takes; 0 = derived from the store's max_append_bytes.
  size_t max_command_bytes = 0;
  // Write each loop turn's applies to RocksDB on a pool thread while the Raft loop goes on.
  // A command is answered once committed and applied, before its write lands; reads wait for
  // the writes in flight, so whoever was answered reads what it did (docs/CONSENSUS.md,
  // "Pipelined commits"). It also keeps a slow or stalled RocksDB write from delaying
  // heartbeats and votes. Off: the loop writes each turn before answering it.
  bool pipelined_writes = true;

  // How this replica fetches what it lacks when it is behind a Raft snapshot (a follower
  // whose log was truncated away, a new node). Unset: such a replica cannot recover.
  FetchState fetch_state;
  // A catch-up tries every peer in turn, waits `catch_up_retry_delay` after a round that
  // failed, and gives up after `catch_up_timeout`.
  std::chrono::milliseconds catch_up_timeout{300000};
  std::chrono::milliseconds catch_up_retry_delay{500};
};

struct ReplicaMember {
  uint64_t id = 0;
  std::string raft_address;
  std::string client_address;  // empty until the member registered it
  std::string role;            // voter | standby | spare
  // Known on the leader only: the highest log index it knows this member stores.
  std::optional<uint64_t> match_index;
};

struct ReplicaStatus {
  uint64_t node_id = 0;
  std::string role;  // leader | follower | candidate | unavailable
  uint64_t term = 0;
  uint64_t leader_id = 0;  // 0 = unknown
  std::string leader_client_address;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;  // the state machine's (persisted with the data)
  // Raft's own: the highest entry it applied, commands and also the entries that carry no
  // command (barriers, configuration changes), which never move applied_index.
  uint64_t log_applied_index = 0;
  uint64_t last_log_index = 0;
  uint64_t libraft_corrections = 0;
  // Group commit on this node while it led: commands proposed and the Raft requests (one log
  // write and one message per follower each) that carried them.
  uint64_t commands_proposed = 0;
  uint64_t apply_requests = 0;
  // Raft log writes that failed on this node (a full disk, EIO), and the last one's error while
  // none has succeeded since: the node stores no new entries until it is restarted with the
  // fault removed (the other voters keep the cluster going).
  uint64_t log_write_failures = 0;
  std::string log_write_error;
  std::vector<ReplicaMember> members;
};

// Published on every change of role, term or known leader.
struct LeadershipChange {
  std::string role;  // as in ReplicaStatus
  uint64_t term = 0;
  uint64_t leader_id = 0;
  std::string leader_client_address;  // empty if not known (yet)
  bool is_leader = false;             // this node leads and accepts writes
};

// One bulk-catch-up export: a consistent view of a replica's committed state, cut into chunks
// (opaque bytes) read one at a time. Holds a RocksDB snapshot until destroyed; the store must
// outlive it. One thread at a time.
class StateExport {
 public:
  virtual ~StateExport() = default;
  // The next chunk; nullopt after the last one.
  virtual Result<std::optional<std::string>> next() = 0;
};

// What a replicated store offers beyond reckon::Store. Callbacks run on the Raft loop thread
// and must not block.
class Replication {
 public:
  virtual ~Replication() = default;
  virtual uint64_t node_id() const = 0;
  virtual ReplicaStatus status() = 0;
  virtual bool is_leader() = 0;
  // Completes once everything committed before it is applied here (leader only; NotLeader
  // elsewhere): reads after it see every acknowledged write.
  virtual void barrier(std::function<void(Status)> done) = 0;
  // Gets the current state at once, then every change; a final "unavailable" at close.
  virtual uint64_t subscribe_leadership(std::function<void(const LeadershipChange&)> callback) = 0;
  virtual void unsubscribe_leadership(uint64_t id) = 0;
  // The replicated member directory as applied here: node id -> client address.
  virtual std::map<uint64_t, std::string> member_directory() const = 0;
  // Records a member's client address in the replicated directory (leader only).
  virtual void set_member_address(uint64_t id, std::string client_address,
                                  std::function<void(Status)> done) = 0;
  // Membership (leader only): a new node joins as a non-voter, catches up, is promoted.
  virtual void add_member(uint64_t id, std::string raft_address, std::function<void(Status)> done) = 0;
  virtual void promote_member(uint64_t id, std::function<void(Status)> done) = 0;
  virtual void remove_member(uint64_t id, std::function<void(Status)> done) = 0;
  virtual void transfer_leadership(uint64_t id, std::function<void(Status)> done) = 0;  // 0 = best
  // The sending side of a bulk catch-up: this replica's committed state (one consistent
  // snapshot) with the events after `after_position`. Its first next() is Unavailable while
  // this replica is catching up itself.
  virtual Result<std::unique_ptr<StateExport>> open_state_export(uint64_t after_position) = 0;
  // The same, every chunk into `sink` on the calling thread.
  Status export_state(uint64_t after_position, const StateChunkSink& sink) {
    auto exp = open_state_export(after_position);
    if (!exp.is_ok()) return exp.status();
    while (true) {
      auto chunk = (*exp)->next();
      if (!chunk.is_ok()) return chunk.status();
      if (!*chunk) return Status::ok();
      Status s = sink(**chunk);
      if (!s.is_ok()) return s;
    }
  }
};

}  // namespace reckon
