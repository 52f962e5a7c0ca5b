#include "consensus/raft_errors.h"

#include <string>

#include "consensus/libraft.h"

namespace reckon::consensus {

Status raft_error_status(int raft_code, std::string_view what, std::string_view detail) {
  std::string message(what);
  message += ": ";
  message += raft_strerror(raft_code);
  if (!detail.empty()) {
    message += " (";
    message += detail;
    message += ")";
  }
  switch (raft_code) {
    case RAFT_NOTLEADER:
      return Status::not_leader(0, "");
    case RAFT_LEADERSHIPLOST:
      // The entry may still be committed by the next leader: the outcome is unknown, and only
      // an idempotent retry (same event ids) is safe.
      return {ErrorCode::kUnavailable, message + "; the command may still be committed"};
    case RAFT_SHUTDOWN:
    case RAFT_NOCONNECTION:
    case RAFT_BUSY:
    case RAFT_CANTCHANGE:
    case RAFT_NOMEM:
      return {ErrorCode::kUnavailable, message};
    case RAFT_IOERR:
    case RAFT_NOSPACE:
    case RAFT_UNAUTHORIZED:
      return {ErrorCode::kIoError, message};
    case RAFT_CORRUPT:
      return {ErrorCode::kCorruption, message};
    case RAFT_CANCELED:
      return {ErrorCode::kCancelled, message};
    case RAFT_TOOBIG:
    case RAFT_TOOMANY:
      return {ErrorCode::kLimitExceeded, message};
    case RAFT_NOTFOUND:
      return {ErrorCode::kNotFound, message};
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
      return {ErrorCode::kAlreadyExists, message};
    case RAFT_BADID:
    case RAFT_BADROLE:
    case RAFT_MALFORMED:
    case RAFT_INVALID:
    case RAFT_NAMETOOLONG:
    case RAFT_CANTBOOTSTRAP:
      return {ErrorCode::kInvalidArgument, message};
    default:
      return {ErrorCode::kInternal, message};
  }
}

Status not_leader_status(struct raft* r) {
  raft_id id = 0;
  const char* address = nullptr;
  raft_leader(r, &id, &address);
  if (id == r->id) {
    // We are the leader but cannot take the command (a leadership transfer is under way):
    // pointing the caller back at us would only loop.
    return Status::not_leader(0, "");
  }
  return Status::not_leader(id, address != nullptr ? address : "");
}

int to_raft_role(MemberRole role) {
  switch (role) {
    case MemberRole::kVoter:
      return RAFT_VOTER;
    case MemberRole::kStandby:
      return RAFT_STANDBY;
    case MemberRole::kSpare:
      return RAFT_SPARE;
  }
  return RAFT_SPARE;
}

MemberRole from_raft_role(int raft_role) {
  switch (raft_role) {
    case RAFT_VOTER:
      return MemberRole::kVoter;
    case RAFT_STANDBY:
      return MemberRole::kStandby;
    default:
      return MemberRole::kSpare;
  }
}

}  // namespace reckon::consensus
