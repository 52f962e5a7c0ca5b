// Finding: one problem the consistency checker saw. Codes are stable names for dashboards and
// alerts (docs/CLUSTER.md, "Checker findings"). Plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reckon::health {

enum class Severity : uint8_t { kInfo = 0, kWarning, kError, kCritical };

enum class FindingCode : uint8_t {
  kSplitBrain,           // two or more nodes claim leadership in one term
  kLeaderMismatch,       // a node follows a leader other than the one that claims the term
  kMembershipDivergent,  // nodes in one term hold different voter sets
  kNoLeader,             // no reachable node leads or knows a leader in the highest term
  kQuorumLost,           // fewer than a majority of voters are reachable and running
  kNodeUnreachable,      // fetching the node's report failed
  kNodeNotRunning,       // reachable, but its Raft node is not running
  kNodeLagging,          // commit or applied index too far behind the leader's commit
  kReplicationLag,       // the leader's match index for a member is too far behind its log
  kLogWriteFailing,      // the node cannot write its Raft log (a full disk, EIO)
};

std::string_view severity_name(Severity s);
std::string_view finding_code_name(FindingCode c);

struct Finding {
  Severity severity = Severity::kInfo;
  FindingCode code = FindingCode::kNodeUnreachable;
  std::vector<uint64_t> node_ids;  // the nodes involved, ascending
  std::string message;

  bool operator==(const Finding&) const = default;
};

}  // namespace reckon::health
