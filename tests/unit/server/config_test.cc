// reckond's flags: cluster options, their validation, and the replication options they give.
#include "server/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/cluster_health.h"

namespace reckon::server {
namespace {

Result<ServerConfig> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "reckond");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  bool help = false;
  return parse_server_args(static_cast<int>(argv.size()), argv.data(), help);
}

const std::string kPeers = "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003";

TEST(ServerConfig, SingleModeIsAOneVoterGroupOnAnyPort) {
  auto c = parse({"--data-dir", "/tmp/x"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  const auto& r = c->stores.front().options.replication;
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->node_id, 1u);
  EXPECT_EQ(r->initial_members, (std::map<uint64_t, std::string>{{1, "127.0.0.1:0"}}));
  EXPECT_EQ(r->client_address, "127.0.0.1:2113");
  EXPECT_TRUE(r->pipelined_writes);

  auto pipelined = parse({"--data-dir", "/tmp/x", "--pipelined-writes"});
  ASSERT_TRUE(pipelined.is_ok()) << pipelined.status().to_string();
  EXPECT_TRUE(pipelined->stores.front().options.replication->pipelined_writes);
  auto unpipelined = parse({"--data-dir", "/tmp/x", "--no-pipelined-writes"});
  ASSERT_TRUE(unpipelined.is_ok()) << unpipelined.status().to_string();
  EXPECT_FALSE(unpipelined->stores.front().options.replication->pipelined_writes);
}

TEST(ServerConfig, ClusterFlagsOfTheIssue) {
  auto c = parse({"--mode", "cluster", "--node-id", "2", "--raft-listen", "127.0.0.1:7002", "--peers", kPeers,
                  "--listen", "127.0.0.1:2213", "--advertise", "10.0.0.2:2213"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  const auto& r = *c->stores.front().options.replication;
  EXPECT_EQ(r.node_id, 2u);
  EXPECT_EQ(r.raft_address, "127.0.0.1:7002");
  EXPECT_EQ(r.initial_members.size(), 3u);
  EXPECT_EQ(r.initial_members.at(3), "127.0.0.1:7003");
  EXPECT_EQ(r.client_address, "10.0.0.2:2213");
  EXPECT_EQ(r.election_timeout.count(), 250);
}

TEST(ServerConfig, JoiningNodeStartsWithoutMembers) {
  auto c = parse({"--mode", "cluster", "--node-id", "4", "--raft-listen", "127.0.0.1:7004", "--join"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_TRUE(c->stores.front().options.replication->initial_members.empty());
}

TEST(ServerConfig, BadClusterConfigurationsAreRefusedWithAReason) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--mode", "cluster", "--node-id", "2", "--peers", kPeers}, "--raft-listen"},
      {{"--mode", "cluster", "--node-id", "4", "--raft-listen", "127.0.0.1:7004", "--peers", kPeers}, "must include this node"},
      {{"--mode", "cluster", "--node-id", "2", "--raft-listen", "127.0.0.1:7999", "--peers", kPeers}, "but --raft-listen is"},
      {{"--mode", "cluster", "--node-id", "2", "--raft-listen", "127.0.0.1:7002", "--peers", "2=127.0.0.1"}, "ID=HOST:PORT"},
      {{"--mode", "cluster", "--node-id", "2", "--raft-listen", "127.0.0.1:7002", "--peers", "x=127.0.0.1:7002"}, "ID=HOST:PORT"},
      {{"--mode", "cluster", "--node-id", "2", "--raft-listen", "127.0.0.1:7002",
        "--peers", "2=127.0.0.1:7002,2=127.0.0.1:7003"}, "twice"},
      {{"--mode", "cluster", "--node-id", "2", "--raft-listen", "127.0.0.1:7002", "--peers", kPeers, "--join"}, "--join"},
      {{"--node-id", "0"}, "node_id"},
      {{"--election-timeout-ms", "100", "--heartbeat-timeout-ms", "100"}, "heartbeat"},
      {{"--raft-listen", "nowhere"}, "raft_listen"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.args);
    ASSERT_FALSE(r.is_ok()) << c.says;
    EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
}

TEST(ClusterHealthReport, ReplicaStatusBecomesANodeReport) {
  ReplicaStatus s;
  s.node_id = 2;
  s.role = "follower";
  s.term = 7;
  s.leader_id = 1;
  s.commit_index = 40;
  s.applied_index = 39;
  s.last_log_index = 41;
  s.members = {{1, "h:1", "h:11", "voter", std::nullopt},
               {2, "h:2", "h:12", "voter", std::nullopt},
               {4, "h:4", "", "standby", std::nullopt}};
  health::NodeReport r = report_from_replica(s);
  EXPECT_EQ(r.node_id, 2u);
  EXPECT_EQ(r.address, "h:2");
  EXPECT_EQ(r.role, health::NodeRole::kFollower);
  EXPECT_EQ(r.term, 7u);
  EXPECT_EQ(r.leader_id, 1u);
  EXPECT_EQ(r.applied_index, 39u);
  ASSERT_EQ(r.members.size(), 3u);
  EXPECT_EQ(r.members[2].role, health::MemberRole::kStandby);
}

}  // namespace
}  // namespace reckon::server
