// The single mapping between reckon::Status and gRPC: status code + trailing metadata that
// carries the precise error code name and its details. The server encodes, the client decodes;
// decode(encode(s)) == s for every code and detail.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <string>

#include "reckon/status.h"
#include "reckon/v1/reckon.pb.h"

namespace reckon::wire {

inline constexpr const char* kErrorTrailer = "reckon-error";
inline constexpr const char* kStreamTrailer = "reckon-stream";
inline constexpr const char* kExpectedTrailer = "reckon-expected-version";
inline constexpr const char* kCurrentTrailer = "reckon-current-version";
inline constexpr const char* kLeaderIdTrailer = "reckon-leader-id";
inline constexpr const char* kLeaderAddressTrailer = "reckon-leader-address";

grpc::StatusCode grpc_code_for(ErrorCode code);

// Server side: adds the trailers to `ctx` and returns the gRPC status to finish with.
grpc::Status to_grpc(const Status& status, grpc::ServerContext& ctx);

// Client side: rebuilds the reckon::Status from a finished call.
Status from_grpc(const grpc::Status& status, const std::multimap<grpc::string_ref, grpc::string_ref>& trailers);

// In-band errors of multiplexed calls (reckon.v1.ErrorDetail), same codes and details.
void to_detail(const Status& status, v1::ErrorDetail* out);
Status from_detail(const v1::ErrorDetail& detail);

}  // namespace reckon::wire
