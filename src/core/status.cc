#include "reckon/status.h"

namespace reckon {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "Ok";
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kLimitExceeded: return "LimitExceeded";
    case ErrorCode::kWrongExpectedVersion: return "WrongExpectedVersion";
    case ErrorCode::kStreamNotFound: return "StreamNotFound";
    case ErrorCode::kStreamDeleted: return "StreamDeleted";
    case ErrorCode::kConditionFailed: return "ConditionFailed";
    case ErrorCode::kIdempotencyConflict: return "IdempotencyConflict";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kNotLeader: return "NotLeader";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kTimeout: return "Timeout";
    case ErrorCode::kCancelled: return "Cancelled";
    case ErrorCode::kIoError: return "IoError";
    case ErrorCode::kCorruption: return "Corruption";
    case ErrorCode::kUnimplemented: return "Unimplemented";
    case ErrorCode::kInternal: return "Internal";
  }
  return "Unknown";
}

Status Status::stream_not_found(std::string_view stream) {
  return {ErrorCode::kStreamNotFound, "stream '" + std::string(stream) + "' not found"};
}

Status Status::stream_deleted(std::string_view stream) {
  return {ErrorCode::kStreamDeleted, "stream '" + std::string(stream) + "' is deleted"};
}

static std::string expectation_text(int64_t v) {
  switch (v) {
    case -2: return "any";
    case -1: return "no-stream";
    case -4: return "stream-exists";
    default: return std::to_string(v);
  }
}

Status Status::wrong_expected_version(std::string stream, int64_t expected, int64_t current) {
  Status s(ErrorCode::kWrongExpectedVersion,
           "stream '" + stream + "' expected version " + expectation_text(expected) +
               ", current version " + std::to_string(current));
  s.details_ = WrongExpectedVersionInfo{std::move(stream), expected, current};
  return s;
}

Status Status::not_leader(uint64_t leader_id, std::string address) {
  Status s(ErrorCode::kNotLeader,
           address.empty() ? "not the leader; leader unknown" : "not the leader; leader is " + address);
  s.details_ = NotLeaderInfo{leader_id, std::move(address)};
  return s;
}

std::string Status::to_string() const {
  if (is_ok()) return "Ok";
  return std::string(error_code_name(code_)) + ": " + message_;
}

}  // namespace reckon
