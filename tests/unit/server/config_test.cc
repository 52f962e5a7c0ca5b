// reckond's flags: cluster options, their validation, and the replication options they give.
#include "server/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "server/cluster_health.h"
#include "support/temp_dir.h"

namespace reckon::server {
namespace {

Result<ServerConfig> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "reckond");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  bool help = false;
  return parse_server_args(static_cast<int>(argv.size()), argv.data(), help);
}

// Writes `text` to a file in `dir` and returns its path.
std::string write_config(const testing::TempDir& dir, const std::string& text) {
  const std::string path = dir.sub("reckond.json");
  std::ofstream(path) << text;
  return path;
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

TEST(ServerConfig, ConfigFileSetsEveryStoreOption) {
  testing::TempDir dir;
  const std::string path = write_config(dir, R"({"stores":[{"store_id":"s","options":{
      "create_if_missing":false, "block_cache_bytes":1001, "memtable_budget_bytes":1002,
      "stream_head_cache_entries":1003, "max_commands_per_commit":1004, "sync_writes":false,
      "max_event_bytes":1005, "max_append_bytes":1006, "max_events_per_append":1007,
      "max_stream_id_bytes":1008, "max_event_type_bytes":1009, "max_tags_per_event":1010,
      "max_tag_bytes":1011, "max_read_count":1012}}]})");
  ServerConfig c;
  ASSERT_TRUE(load_config_file(path, c).is_ok()) << load_config_file(path, c).to_string();
  ASSERT_EQ(c.stores.size(), 1u);
  const StoreOptions& o = c.stores[0].options;
  EXPECT_FALSE(o.create_if_missing);
  EXPECT_EQ(o.block_cache_bytes, 1001u);
  EXPECT_EQ(o.memtable_budget_bytes, 1002u);
  EXPECT_EQ(o.stream_head_cache_entries, 1003u);
  EXPECT_EQ(o.max_commands_per_commit, 1004u);
  EXPECT_FALSE(o.sync_writes);
  EXPECT_EQ(o.limits.max_event_bytes, 1005u);
  EXPECT_EQ(o.limits.max_append_bytes, 1006u);
  EXPECT_EQ(o.limits.max_events_per_append, 1007u);
  EXPECT_EQ(o.limits.max_stream_id_bytes, 1008u);
  EXPECT_EQ(o.limits.max_event_type_bytes, 1009u);
  EXPECT_EQ(o.limits.max_tags_per_event, 1010u);
  EXPECT_EQ(o.limits.max_tag_bytes, 1011u);
  EXPECT_EQ(o.limits.max_read_count, 1012u);
}

TEST(ServerConfig, UnknownConfigKeysAreRefusedByName) {
  testing::TempDir dir;
  struct Case {
    std::string file;
    std::string says;
  };
  const std::vector<Case> cases = {
      {R"({"listen":"127.0.0.1:1","log_levl":"info"})", "unknown key 'log_levl'"},
      {R"({"stores":[{"store_id":"a"},{"store_id":"b","reader_pool_sise":2}]})",
       "unknown key 'reader_pool_sise' in stores[1]"},
      {R"({"stores":[{"options":{"max_event_byte":10}}]})",
       "unknown key 'max_event_byte' in stores[0].options"},
      {R"({"stores":[{"options":{"block_cache_bytes":-1}}]})",
       "'block_cache_bytes' in stores[0].options must not be negative"},
      {R"({"stores":[{"reader_pool_size":"two"}]})", "'reader_pool_size' in stores[0]"},
  };
  for (const auto& c : cases) {
    const std::string path = write_config(dir, c.file);
    ServerConfig config;
    Status st = load_config_file(path, config);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << c.file;
    EXPECT_NE(st.message().find(c.says), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
    // reckond's path: parse_server_args returns the same refusal (main exits 2 on it).
    auto parsed = parse({"--config", path});
    ASSERT_FALSE(parsed.is_ok()) << c.file;
    EXPECT_NE(parsed.status().message().find(c.says), std::string::npos) << parsed.status().message();
  }
}

// Every store flag, with a value other than its default, and where it must land.
struct StoreFlagCase {
  std::vector<std::string> args;
  std::function<bool(const StoreConfig&)> applied;
};

std::vector<StoreFlagCase> store_flag_cases(const std::string& data_dir) {
  return {
      {{"--store-id", "s2"}, [](const StoreConfig& s) { return s.store_id == "s2"; }},
      {{"--data-dir", data_dir}, [=](const StoreConfig& s) { return s.data_dir == data_dir; }},
      {{"--timeout-ms", "77"}, [](const StoreConfig& s) { return s.timeout_ms == 77; }},
      {{"--writer-pool-size", "7"}, [](const StoreConfig& s) { return s.writer_pool_size == 7; }},
      {{"--reader-pool-size", "7"}, [](const StoreConfig& s) { return s.reader_pool_size == 7; }},
      {{"--gateway-pool-size", "7"}, [](const StoreConfig& s) { return s.gateway_pool_size == 7; }},
      {{"--no-create-if-missing"}, [](const StoreConfig& s) { return !s.options.create_if_missing; }},
      {{"--block-cache-bytes", "2001"},
       [](const StoreConfig& s) { return s.options.block_cache_bytes == 2001; }},
      {{"--memtable-budget-bytes", "2002"},
       [](const StoreConfig& s) { return s.options.memtable_budget_bytes == 2002; }},
      {{"--stream-head-cache-entries", "2003"},
       [](const StoreConfig& s) { return s.options.stream_head_cache_entries == 2003; }},
      {{"--max-commands-per-commit", "2004"},
       [](const StoreConfig& s) { return s.options.max_commands_per_commit == 2004; }},
      {{"--no-sync-writes"}, [](const StoreConfig& s) { return !s.options.sync_writes; }},
      {{"--max-event-bytes", "2005"},
       [](const StoreConfig& s) { return s.options.limits.max_event_bytes == 2005; }},
      {{"--max-append-bytes", "2006"},
       [](const StoreConfig& s) { return s.options.limits.max_append_bytes == 2006; }},
      {{"--max-events-per-append", "2007"},
       [](const StoreConfig& s) { return s.options.limits.max_events_per_append == 2007; }},
      {{"--max-stream-id-bytes", "2008"},
       [](const StoreConfig& s) { return s.options.limits.max_stream_id_bytes == 2008; }},
      {{"--max-event-type-bytes", "2009"},
       [](const StoreConfig& s) { return s.options.limits.max_event_type_bytes == 2009; }},
      {{"--max-tags-per-event", "2010"},
       [](const StoreConfig& s) { return s.options.limits.max_tags_per_event == 2010; }},
      {{"--max-tag-bytes", "2011"},
       [](const StoreConfig& s) { return s.options.limits.max_tag_bytes == 2011; }},
      {{"--max-read-count", "2012"},
       [](const StoreConfig& s) { return s.options.limits.max_read_count == 2012; }},
      {{"--raft-listen", "127.0.0.1:7555"},
       [](const StoreConfig& s) { return s.raft_listen == "127.0.0.1:7555"; }},
      {{"--raft-dir", "/tmp/r"}, [](const StoreConfig& s) { return s.raft_dir == "/tmp/r"; }},
      {{"--election-timeout-ms", "300"}, [](const StoreConfig& s) { return s.election_timeout_ms == 300; }},
      {{"--heartbeat-timeout-ms", "20"}, [](const StoreConfig& s) { return s.heartbeat_timeout_ms == 20; }},
      {{"--snapshot-threshold", "99"}, [](const StoreConfig& s) { return s.snapshot_threshold == 99; }},
      {{"--snapshot-trailing", "98"}, [](const StoreConfig& s) { return s.snapshot_trailing == 98; }},
      {{"--no-pipelined-writes"}, [](const StoreConfig& s) { return !s.pipelined_writes; }},
      {{"--discovery-dns", "x.local"}, [](const StoreConfig& s) { return s.discovery_dns == "x.local"; }},
      {{"--mode", "cluster", "--raft-listen", "127.0.0.1:7001", "--peers", "1=127.0.0.1:7001"},
       [](const StoreConfig& s) { return s.mode == "cluster" && s.peers == "1=127.0.0.1:7001"; }},
      {{"--mode", "cluster", "--raft-listen", "127.0.0.1:7001", "--join"},
       [](const StoreConfig& s) { return s.join; }},
  };
}

TEST(ServerConfig, EveryStoreFlagSetsTheDefaultStore) {
  for (const auto& c : store_flag_cases("/tmp/flag-dir")) {
    auto parsed = parse(c.args);
    ASSERT_TRUE(parsed.is_ok()) << c.args[0] << ": " << parsed.status().to_string();
    EXPECT_TRUE(c.applied(parsed->stores.front())) << c.args[0];
  }
}

TEST(ServerConfig, EveryStoreFlagOverridesTheConfigFilesFirstStore) {
  testing::TempDir dir;
  const std::string path = write_config(dir, R"({"stores":[
      {"store_id":"first","data_dir":"/tmp/first","options":{"block_cache_bytes":1000}},
      {"store_id":"second","data_dir":"/tmp/second"}]})");
  for (const auto& c : store_flag_cases("/tmp/flag-dir")) {
    std::vector<std::string> args = {"--config", path};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto parsed = parse(args);
    ASSERT_TRUE(parsed.is_ok()) << c.args[0] << ": " << parsed.status().to_string();
    ASSERT_EQ(parsed->stores.size(), 2u);
    EXPECT_TRUE(c.applied(parsed->stores[0])) << c.args[0] << " is not applied to the file's first store";
    EXPECT_EQ(parsed->stores[1].store_id, "second") << "store flags leave the other stores alone";
  }
  // A flag not given leaves the file's value.
  auto plain = parse({"--config", path});
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(plain->stores[0].options.block_cache_bytes, 1000u);
}

TEST(ServerConfig, HelpListsEveryStoreOptionFlag) {
  bool help = false;
  std::vector<std::string> args = {"reckond", "--help"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto r = parse_server_args(static_cast<int>(argv.size()), argv.data(), help);
  ASSERT_TRUE(help);
  for (const char* flag :
       {"--create-if-missing", "--block-cache-bytes", "--memtable-budget-bytes", "--stream-head-cache-entries",
        "--max-commands-per-commit", "--sync-writes", "--max-event-bytes", "--max-append-bytes",
        "--max-events-per-append", "--max-stream-id-bytes", "--max-event-type-bytes",
        "--max-tags-per-event", "--max-tag-bytes", "--max-read-count"}) {
    EXPECT_NE(r.status().message().find(flag), std::string::npos) << flag;
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
