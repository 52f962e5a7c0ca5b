#include "health/finding.h"
#include "health/node_report.h"

namespace reckon::health {

std::string_view node_role_name(NodeRole role) {
  switch (role) {
    case NodeRole::kUnavailable:
      return "unavailable";
    case NodeRole::kFollower:
      return "follower";
    case NodeRole::kCandidate:
      return "candidate";
    case NodeRole::kLeader:
      return "leader";
  }
  return "unknown";
}

std::string_view member_role_name(MemberRole role) {
  switch (role) {
    case MemberRole::kVoter:
      return "voter";
    case MemberRole::kStandby:
      return "standby";
    case MemberRole::kSpare:
      return "spare";
  }
  return "unknown";
}

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
    case Severity::kCritical:
      return "critical";
  }
  return "unknown";
}

std::string_view finding_code_name(FindingCode c) {
  switch (c) {
    case FindingCode::kSplitBrain:
      return "split_brain";
    case FindingCode::kLeaderMismatch:
      return "leader_mismatch";
    case FindingCode::kMembershipDivergent:
      return "membership_divergent";
    case FindingCode::kNoLeader:
      return "no_leader";
    case FindingCode::kQuorumLost:
      return "quorum_lost";
    case FindingCode::kNodeUnreachable:
      return "node_unreachable";
    case FindingCode::kNodeNotRunning:
      return "node_not_running";
    case FindingCode::kNodeLagging:
      return "node_lagging";
    case FindingCode::kReplicationLag:
      return "replication_lag";
    case FindingCode::kLogWriteFailing:
      return "log_write_failing";
  }
  return "unknown";
}

}  // namespace reckon::health
