// The vocabulary of a replica's state, shared by the consensus layer's pieces and its users:
// roles, members, leadership events and a status snapshot. Plain values; safe to copy between
// threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace reckon::consensus {

// The Raft role of this node. kUnavailable: not started, or stopped.
enum class Role : uint8_t { kUnavailable = 0, kFollower, kCandidate, kLeader };

// A member's role in the cluster configuration (libraft's RAFT_VOTER / RAFT_STANDBY /
// RAFT_SPARE). Standbys replicate the log but do not vote; spares do neither.
enum class MemberRole : uint8_t { kVoter = 0, kStandby, kSpare };

std::string_view role_name(Role role);
std::string_view member_role_name(MemberRole role);

struct Member {
  uint64_t id = 0;
  std::string address;  // Raft (peer) address, host:port
  MemberRole role = MemberRole::kVoter;

  bool operator==(const Member&) const = default;
};

// Published whenever this node's role, term or known leader changes. A leader handing off
// leadership (transfer_leadership, stop) reports role kLeader with leader_id 0 until the
// transfer ends: it no longer accepts commands.
struct LeadershipEvent {
  Role role = Role::kUnavailable;
  uint64_t term = 0;
  uint64_t leader_id = 0;      // 0 = no known leader
  std::string leader_address;  // Raft address of the leader, empty if unknown

  bool operator==(const LeadershipEvent&) const = default;
};

struct NodeStatus {
  uint64_t id = 0;
  std::string address;
  Role role = Role::kUnavailable;
  uint64_t term = 0;
  uint64_t leader_id = 0;
  std::string leader_address;
  uint64_t commit_index = 0;  // highest index known committed
  uint64_t last_applied = 0;  // highest index Raft handed to the state machine (or skipped)
  uint64_t last_index = 0;    // highest index in the local log
  uint64_t state_machine_applied = 0;  // ReplicatedStateMachine::visible_index(): what reads see
  std::vector<Member> members;         // current configuration (possibly uncommitted)
  // On the leader: member id -> the highest log index it knows that member stores (its own
  // included). Empty on other roles.
  std::map<uint64_t, uint64_t> match_index;
  // How often GuardedIo corrected a libraft 0.15 replication defect on this node (diagnostic;
  // docs/CONSENSUS.md, "libraft 0.15 defects").
  uint64_t libraft_corrections = 0;
  // Commands this node proposed, and the raft_apply requests that carried them (group commit:
  // every command queued in one loop turn goes in one request).
  uint64_t commands_proposed = 0;
  uint64_t apply_requests = 0;
  // Failed Raft log writes, and the last one's error while none succeeded since (GuardedIo).
  uint64_t log_write_failures = 0;
  std::string log_write_error;
};

}  // namespace reckon::consensus
