// NodeReport: what one node says about its Raft state, as the health checks consume it.
// A plain struct (no libraft, no gRPC) so the checker can be fed from anywhere: the local
// RaftNode::status(), a peer's admin endpoint, or a test table. Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reckon::health {

enum class NodeRole : uint8_t { kUnavailable = 0, kFollower, kCandidate, kLeader };
enum class MemberRole : uint8_t { kVoter = 0, kStandby, kSpare };

std::string_view node_role_name(NodeRole role);
std::string_view member_role_name(MemberRole role);

struct MemberReport {
  uint64_t id = 0;
  std::string address;
  MemberRole role = MemberRole::kVoter;
  // Highest index known replicated to this member; only the leader knows it (nullopt elsewhere).
  std::optional<uint64_t> match_index;

  bool operator==(const MemberReport&) const = default;
};

struct NodeReport {
  uint64_t node_id = 0;
  std::string address;  // Raft address
  NodeRole role = NodeRole::kUnavailable;
  uint64_t term = 0;
  uint64_t leader_id = 0;  // 0 = no known leader
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t last_log_index = 0;
  std::vector<MemberReport> members;  // the configuration this node holds
  // Set while the node's Raft log writes fail (a full disk, EIO): the last error.
  std::string log_write_error;

  bool operator==(const NodeReport&) const = default;
};

}  // namespace reckon::health
