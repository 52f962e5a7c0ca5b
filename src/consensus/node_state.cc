#include "consensus/node_state.h"

namespace reckon::consensus {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kUnavailable:
      return "unavailable";
    case Role::kFollower:
      return "follower";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
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

}  // namespace reckon::consensus
