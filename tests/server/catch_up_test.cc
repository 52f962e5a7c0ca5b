// Bulk catch-up end to end: three reckond processes in cluster mode with a tiny trailing Raft
// log; a node that was down while thousands of events were written comes back behind the
// leader's snapshot and fetches the state over reckon.v1.Replication/FetchState.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "server_test_util.h"

namespace reckon::testing {
namespace {

using namespace std::chrono_literals;

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(BulkCatchUp, ANodeRestartedBehindTheTruncatedLogCatchesUpOverGrpc) {
  TempDir dir;
  std::string peers;
  std::vector<std::string> raft;
  for (int id = 1; id <= 3; ++id) {
    auto port = pick_free_port();
    ASSERT_TRUE(port.is_ok());
    raft.push_back("127.0.0.1:" + std::to_string(*port));
    peers += (id > 1 ? "," : "") + std::to_string(id) + "=" + raft.back();
  }
  std::vector<std::unique_ptr<ServerProcess>> nodes;
  for (int id = 1; id <= 3; ++id) {
    nodes.push_back(std::make_unique<ServerProcess>(
        reckond_bin(), dir.sub("node" + std::to_string(id)),
        std::vector<std::string>{"--mode", "cluster", "--node-id", std::to_string(id),
                                 "--raft-listen", raft[id - 1], "--peers", peers,
                                 "--snapshot-threshold", "64", "--snapshot-trailing", "16"}));
    ASSERT_TRUE(nodes.back()->start().is_ok()) << nodes.back()->log_tail();
  }
  auto probe = connect_client(nodes[0]->grpc_address());
  ASSERT_TRUE(probe.is_ok());
  std::string leader_address;
  ASSERT_TRUE(eventually(
      [&] {
        auto st = (*probe)->cluster_status();
        if (st.is_ok()) leader_address = st->leader;
        return !leader_address.empty();
      },
      20s));
  auto leader = connect_client(leader_address);
  ASSERT_TRUE(leader.is_ok());
  size_t behind = 0;
  while (nodes[behind]->grpc_address() == leader_address) ++behind;

  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        (*leader)->append("acct-" + std::to_string(i), kExpectAny, make_events(10)).is_ok());
  ASSERT_TRUE(nodes[behind]->stop().is_ok());
  const char* env = std::getenv("RECKON_CATCHUP_EVENTS");  // larger runs measure the rate
  const int kEvents = env ? std::atoi(env) : 3000;
  for (int i = 0; i < kEvents / 10; ++i) {
    auto r = (*leader)->append("acct-" + std::to_string(i % 20), kExpectAny, make_events(10));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  auto leader_state = (*leader)->cluster_status();
  ASSERT_TRUE(leader_state.is_ok());
  const Position target = leader_state->last_position;

  const auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(nodes[behind]->start().is_ok()) << nodes[behind]->log_tail();
  auto follower = connect_client(nodes[behind]->grpc_address());
  ASSERT_TRUE(follower.is_ok());
  ASSERT_TRUE(eventually(
      [&] {
        auto st = (*follower)->cluster_status();
        return st.is_ok() && st->last_position >= target;
      },
      60s))
      << nodes[behind]->log_tail();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count();
  std::printf("caught up %d events over gRPC in %.3f s after restart\n", kEvents, secs);
  EXPECT_NE(read_file(nodes[behind]->log_path()).find("caught up from node"), std::string::npos)
      << nodes[behind]->log_tail();

  // Reads on the caught-up node (no leader needed) see every event, and later writes apply.
  ASSERT_TRUE((*leader)->append("acct-0", kExpectAny, make_events(5)).is_ok());
  ASSERT_TRUE(eventually(
      [&] {
        auto st = (*follower)->cluster_status();
        return st.is_ok() && st->last_position == target + 5;
      },
      20s));
  ReadAllOptions all;
  all.from_position = target - 100;
  all.max_count = 4096;
  auto events = (*follower)->read_all(all);
  ASSERT_TRUE(events.is_ok()) << events.status().to_string();
  ASSERT_EQ(events->events.size(), 106u);  // from target - 100 inclusive
  EXPECT_EQ(events->events.back().position, target + 5);
}

}  // namespace
}  // namespace reckon::testing
