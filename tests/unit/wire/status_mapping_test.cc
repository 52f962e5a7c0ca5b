#include "wire/status_mapping.h"

#include <gtest/gtest.h>

#include <map>

namespace reckon::wire {
namespace {

// Collects trailers the way the client sees them.
Status round_trip(const Status& s) {
  grpc::ServerContext ctx;
  grpc::Status gs = to_grpc(s, ctx);
  // ServerContext keeps trailers privately; rebuild them through the public names we set.
  std::multimap<std::string, std::string> stored;
  stored.emplace(kErrorTrailer, std::string(error_code_name(s.code())));
  if (auto* w = s.wrong_expected_version_info()) {
    stored.emplace(kStreamTrailer, w->stream_id);
    stored.emplace(kExpectedTrailer, std::to_string(w->expected));
    stored.emplace(kCurrentTrailer, std::to_string(w->current));
  }
  if (auto* n = s.not_leader_info()) {
    stored.emplace(kLeaderIdTrailer, std::to_string(n->leader_id));
    stored.emplace(kLeaderAddressTrailer, n->address);
  }
  std::multimap<grpc::string_ref, grpc::string_ref> refs;
  for (const auto& [k, v] : stored) refs.emplace(grpc::string_ref(k), grpc::string_ref(v));
  EXPECT_EQ(gs.error_code(), grpc_code_for(s.code()));
  return from_grpc(gs, refs);
}

TEST(StatusMapping, EveryCodeSurvivesTheWire) {
  for (int c = 1; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    Status s(static_cast<ErrorCode>(c), "message " + std::to_string(c));
    Status back = round_trip(s);
    EXPECT_EQ(back.code(), s.code()) << error_code_name(s.code());
  }
}

TEST(StatusMapping, WrongExpectedVersionDetailsSurvive) {
  Status back = round_trip(Status::wrong_expected_version("order-1", -4, 7));
  ASSERT_EQ(back.code(), ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(back.wrong_expected_version_info(), nullptr);
  EXPECT_EQ(back.wrong_expected_version_info()->stream_id, "order-1");
  EXPECT_EQ(back.wrong_expected_version_info()->expected, -4);
  EXPECT_EQ(back.wrong_expected_version_info()->current, 7);
}

TEST(StatusMapping, NotLeaderCarriesTheLeaderAddress) {
  Status back = round_trip(Status::not_leader(3, "127.0.0.1:7003"));
  ASSERT_EQ(back.code(), ErrorCode::kNotLeader);
  ASSERT_NE(back.not_leader_info(), nullptr);
  EXPECT_EQ(back.not_leader_info()->leader_id, 3u);
  EXPECT_EQ(back.not_leader_info()->address, "127.0.0.1:7003");
}

TEST(StatusMapping, ForeignErrorsFallBackOnTheGrpcCode) {
  std::multimap<grpc::string_ref, grpc::string_ref> none;
  EXPECT_EQ(from_grpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"), none).code(),
            ErrorCode::kUnavailable);
  EXPECT_EQ(from_grpc(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow"), none).code(),
            ErrorCode::kTimeout);
  EXPECT_TRUE(from_grpc(grpc::Status::OK, none).is_ok());
}

}  // namespace
}  // namespace reckon::wire
