#include "wire/status_mapping.h"

#include <charconv>

namespace reckon::wire {

grpc::StatusCode grpc_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return grpc::StatusCode::OK;
    case ErrorCode::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorCode::kLimitExceeded: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ErrorCode::kWrongExpectedVersion: return grpc::StatusCode::FAILED_PRECONDITION;
    case ErrorCode::kStreamNotFound: return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kStreamDeleted: return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kConditionFailed: return grpc::StatusCode::FAILED_PRECONDITION;
    case ErrorCode::kIdempotencyConflict: return grpc::StatusCode::ALREADY_EXISTS;
    case ErrorCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case ErrorCode::kNotLeader: return grpc::StatusCode::FAILED_PRECONDITION;
    case ErrorCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case ErrorCode::kTimeout: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case ErrorCode::kCancelled: return grpc::StatusCode::CANCELLED;
    case ErrorCode::kIoError: return grpc::StatusCode::INTERNAL;
    case ErrorCode::kCorruption: return grpc::StatusCode::DATA_LOSS;
    case ErrorCode::kUnimplemented: return grpc::StatusCode::UNIMPLEMENTED;
    case ErrorCode::kInternal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

grpc::Status to_grpc(const Status& s, grpc::ServerContext& ctx) {
  if (s.is_ok()) return grpc::Status::OK;
  ctx.AddTrailingMetadata(kErrorTrailer, std::string(error_code_name(s.code())));
  if (const auto* w = s.wrong_expected_version_info()) {
    ctx.AddTrailingMetadata(kStreamTrailer, w->stream_id);
    ctx.AddTrailingMetadata(kExpectedTrailer, std::to_string(w->expected));
    ctx.AddTrailingMetadata(kCurrentTrailer, std::to_string(w->current));
  }
  if (const auto* n = s.not_leader_info()) {
    ctx.AddTrailingMetadata(kLeaderIdTrailer, std::to_string(n->leader_id));
    ctx.AddTrailingMetadata(kLeaderAddressTrailer, n->address);
  }
  return grpc::Status(grpc_code_for(s.code()), s.message());
}

namespace {

std::string trailer(const std::multimap<grpc::string_ref, grpc::string_ref>& t, const char* key) {
  auto it = t.find(key);
  return it == t.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

int64_t to_int(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

ErrorCode code_from_name(const std::string& name, grpc::StatusCode fallback) {
  for (int i = 1; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    auto code = static_cast<ErrorCode>(i);
    if (error_code_name(code) == name) return code;
  }
  // A peer that is not reckond (or a transport error): map the gRPC code.
  switch (fallback) {
    case grpc::StatusCode::INVALID_ARGUMENT: return ErrorCode::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND: return ErrorCode::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS: return ErrorCode::kAlreadyExists;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return ErrorCode::kLimitExceeded;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return ErrorCode::kTimeout;
    case grpc::StatusCode::CANCELLED: return ErrorCode::kCancelled;
    case grpc::StatusCode::UNAVAILABLE: return ErrorCode::kUnavailable;
    case grpc::StatusCode::DATA_LOSS: return ErrorCode::kCorruption;
    case grpc::StatusCode::UNIMPLEMENTED: return ErrorCode::kUnimplemented;
    default: return ErrorCode::kInternal;
  }
}

}  // namespace

void to_detail(const Status& s, v1::ErrorDetail* out) {
  out->set_code(std::string(error_code_name(s.code())));
  out->set_message(s.message());
  if (const auto* w = s.wrong_expected_version_info()) {
    out->set_stream_id(w->stream_id);
    out->set_expected_version(w->expected);
    out->set_current_version(w->current);
  }
  if (const auto* n = s.not_leader_info()) {
    out->set_leader_id(n->leader_id);
    out->set_leader_address(n->address);
  }
}

Status from_detail(const v1::ErrorDetail& d) {
  ErrorCode code = code_from_name(d.code(), grpc::StatusCode::INTERNAL);
  if (code == ErrorCode::kWrongExpectedVersion) {
    return Status::wrong_expected_version(d.stream_id(), d.expected_version(), d.current_version());
  }
  if (code == ErrorCode::kNotLeader) return Status::not_leader(d.leader_id(), d.leader_address());
  return Status(code, d.message());
}

Status from_grpc(const grpc::Status& s, const std::multimap<grpc::string_ref, grpc::string_ref>& t) {
  if (s.ok()) return Status::ok();
  ErrorCode code = code_from_name(trailer(t, kErrorTrailer), s.error_code());
  if (code == ErrorCode::kWrongExpectedVersion) {
    return Status::wrong_expected_version(trailer(t, kStreamTrailer),
                                          to_int(trailer(t, kExpectedTrailer)),
                                          to_int(trailer(t, kCurrentTrailer)));
  }
  if (code == ErrorCode::kNotLeader) {
    return Status::not_leader(static_cast<uint64_t>(to_int(trailer(t, kLeaderIdTrailer))),
                              trailer(t, kLeaderAddressTrailer));
  }
  return Status(code, s.error_message());
}

}  // namespace reckon::wire
