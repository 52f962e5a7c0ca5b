// End-to-end tests of a reckondb cluster: real reckond processes on 127.0.0.1 forming one Raft
// group. Formation and the member directory, writes through the leader and through a follower,
// require-leader reads, leader failover after kill -9 and the killed node's recovery,
// membership changes (join, promote, remove) and leadership transfer, through reckon::Client
// and the `reckon` CLI.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "cluster/cluster_test_util.h"

namespace reckon::testing {
namespace {

using nlohmann::json;

std::string describe(const ProgramResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\nstdout: " + r.out +
         "\nstderr: " + r.err;
}

std::vector<NewEvent> numbered_events(int from, int count) {
  std::vector<NewEvent> out;
  for (int k = from; k < from + count; ++k) {
    out.push_back(make_event_with_id(Uuid::v7(), "Numbered", "{\"k\":" + std::to_string(k) + "}"));
  }
  return out;
}

// Stream id -> event ids in version order, as node `id` holds them.
std::map<std::string, std::vector<Uuid>> streams_on(TestCluster& cluster, uint64_t id) {
  std::map<std::string, std::vector<Uuid>> out;
  auto all = cluster.read_everything(id);
  EXPECT_TRUE(all.is_ok()) << "node " << id << ": " << all.status().to_string();
  if (!all) return out;
  for (const Event& e : *all) {
    auto& ids = out[e.stream_id];
    EXPECT_EQ(e.version, static_cast<int64_t>(ids.size())) << "node " << id << " stream " << e.stream_id;
    ids.push_back(e.event_id);
  }
  return out;
}

// ---------------------------------------------------------------- formation

TEST(ClusterFormation, ThreeNodesElectOneLeaderAndEveryNodeListsEveryMemberWithItsClientAddress) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  const uint64_t leader = cluster.wait_for_leader();
  ASSERT_NE(leader, 0u) << "no agreed leader";

  // The registrar publishes each follower's client address through the leader: wait for it.
  bool listed = wait_until([&] {
    for (uint64_t id : cluster.ids()) {
      auto st = cluster.status_of(id);
      if (!st || st->members.size() != 3) return false;
      for (const auto& m : st->members) {
        if (m.address != cluster.node(m.node_id).address()) return false;
      }
    }
    return true;
  }, milliseconds(10'000));
  ASSERT_TRUE(listed) << "member directory incomplete";

  for (uint64_t id : cluster.ids()) {
    auto st = cluster.status_of(id);
    ASSERT_TRUE(st.is_ok());
    EXPECT_EQ(st->node_id, id);
    EXPECT_EQ(st->mode, "cluster");
    EXPECT_EQ(st->leader_id, leader);
    EXPECT_EQ(st->leader, cluster.node(leader).address());
    EXPECT_EQ(st->role, id == leader ? "leader" : "follower");
    for (const auto& m : st->members) {
      EXPECT_TRUE(m.voter) << "node " << m.node_id;
      EXPECT_EQ(m.raft_address, cluster.node(m.node_id).raft_address());
    }
  }

  // `reckon status --json` on a follower.
  const uint64_t follower = leader == 1 ? 2 : 1;
  auto r = run_cli({"--server", cluster.node(follower).address(), "--json", "status"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json j = json::parse(r.out);
  EXPECT_EQ(j.at("node_id"), follower);
  EXPECT_EQ(j.at("role"), "follower");
  EXPECT_EQ(j.at("leader"), cluster.node(leader).address());
  EXPECT_GT(j.at("term").get<uint64_t>(), 0u);
  ASSERT_EQ(j.at("members").size(), 3u);
  for (const auto& m : j.at("members")) {
    EXPECT_EQ(m.at("address"), cluster.node(m.at("node_id").get<uint64_t>()).address());
  }
}

// The leader reports each member's replication progress (match index and lag); a member that
// is down falls behind in it and catches up once back. Followers cannot know the others'
// progress and say so (null), rather than a made-up 0.
TEST(ClusterFormation, TheLeaderReportsEachMembersMatchIndexAndLag) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  const uint64_t leader = cluster.wait_for_leader();
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == 1 ? 2 : 1;
  const uint64_t down = leader == 3 ? 2 : 3;
  auto client = cluster.direct_client(leader, 3);
  for (int k = 0; k < 20; ++k) ASSERT_TRUE(client->append("s", kExpectAny, numbered_events(k, 1)).is_ok());

  auto leader_view = [&](uint64_t member) -> json {
    auto r = run_cli({"--server", cluster.node(leader).address(), "--json", "status"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    const json status = json::parse(r.out);
    for (const auto& m : status.at("members"))
      if (m.at("node_id").get<uint64_t>() == member) return m;
    ADD_FAILURE() << "node " << member << " is not in the leader's status: " << r.out;
    return json{{"match_index", nullptr}, {"lag", nullptr}};
  };
  // Every member holds the 20 acknowledged appends (and whatever the cluster wrote itself).
  ASSERT_TRUE(wait_until([&] {
    for (uint64_t id : cluster.ids()) {
      json m = leader_view(id);
      if (!m.at("match_index").is_number() || m.at("match_index").get<uint64_t>() < 20 || m.at("lag") != 0) return false;
    }
    return true;
  }, milliseconds(5'000))) << leader_view(down).dump();

  auto r = run_cli({"--server", cluster.node(follower).address(), "--json", "status"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json follower_status = json::parse(r.out);
  for (const auto& m : follower_status.at("members")) {
    EXPECT_TRUE(m.at("match_index").is_null()) << m.dump();
    EXPECT_TRUE(m.at("lag").is_null()) << m.dump();
  }

  cluster.kill9(down);
  const uint64_t match_when_down = leader_view(down).at("match_index").get<uint64_t>();
  for (int k = 20; k < 50; ++k) ASSERT_TRUE(client->append("s", kExpectAny, numbered_events(k, 1)).is_ok());
  json behind = leader_view(down);
  EXPECT_EQ(behind.at("match_index").get<uint64_t>(), match_when_down) << behind.dump();
  EXPECT_GE(behind.at("lag").get<uint64_t>(), 30u) << behind.dump();
  EXPECT_EQ(leader_view(follower).at("lag"), 0) << leader_view(follower).dump();

  ASSERT_TRUE(cluster.restart(down).is_ok());
  EXPECT_TRUE(wait_until([&] { return leader_view(down).at("lag") == 0; }, milliseconds(10'000)))
      << leader_view(down).dump();
}

// ---------------------------------------------------------------- replication

// Starts a 3-node cluster and waits until one of its followers names the leader's client
// address (its NotLeader answers carry it from then on).
void start_with_a_follower_naming_the_leader(TestCluster& cluster, uint64_t& leader,
                                             uint64_t& follower) {
  ASSERT_TRUE(cluster.start(3).is_ok());
  leader = cluster.wait_for_leader();
  ASSERT_NE(leader, 0u);
  follower = leader == 1 ? 2 : 1;
  ASSERT_TRUE(wait_until([&] {
    auto st = cluster.status_of(follower);
    return st && st->leader == cluster.node(leader).address();
  }, milliseconds(5'000)));
}

TEST(ClusterReplication, WritesOnTheLeaderAndThroughAFollowerReachEveryNode) {
  TestCluster cluster;
  uint64_t leader = 0, follower = 0;
  ASSERT_NO_FATAL_FAILURE(start_with_a_follower_naming_the_leader(cluster, leader, follower));

  auto on_leader = cluster.direct_client(leader, 3);
  auto a = on_leader->append("orders", kExpectNoStream, numbered_events(0, 5));
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->last_version, 4);

  // A client that knows only the follower follows its NotLeader answer to the leader.
  auto via_follower = cluster.direct_client(follower, 4);
  auto b = via_follower->append("invoices", kExpectNoStream, numbered_events(0, 3));
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->last_version, 2);
  EXPECT_EQ(via_follower->current_endpoint(), cluster.node(leader).address());
  auto c = via_follower->append("orders", 4, numbered_events(5, 1));
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();

  // Reads on every node converge.
  auto common = cluster.wait_for_convergence();
  ASSERT_TRUE(common.has_value());
  EXPECT_EQ(common->last_position, 9u);
  for (uint64_t id : cluster.ids()) {
    auto streams = streams_on(cluster, id);
    EXPECT_EQ(streams["orders"].size(), 6u) << "node " << id;
    EXPECT_EQ(streams["invoices"].size(), 3u) << "node " << id;
    auto direct = cluster.direct_client(id);
    auto r = direct->read("orders", ReadStreamOptions{});
    ASSERT_TRUE(r.is_ok()) << "node " << id << ": " << r.status().to_string();
    EXPECT_EQ(r->last_version, 5);
  }

  // require_leader: a follower refuses with NotLeader (naming the leader), the leader serves.
  ClientOptions o;
  o.endpoints = {cluster.node(follower).address()};
  o.require_leader_reads = true;
  o.max_attempts = 1;
  auto strict = Client::connect(o);
  ASSERT_TRUE(strict.is_ok());
  auto refused = (*strict)->read("orders", ReadStreamOptions{});
  ASSERT_EQ(refused.code(), ErrorCode::kNotLeader) << refused.status().to_string();
  ASSERT_NE(refused.status().not_leader_info(), nullptr);
  EXPECT_EQ(refused.status().not_leader_info()->leader_id, leader);
  EXPECT_EQ(refused.status().not_leader_info()->address, cluster.node(leader).address());
  o.endpoints = {cluster.node(leader).address()};
  auto strict_leader = Client::connect(o);
  ASSERT_TRUE(strict_leader.is_ok());
  auto served = (*strict_leader)->read("orders", ReadStreamOptions{});
  ASSERT_TRUE(served.is_ok()) << served.status().to_string();
  // The CLI: --require-leader against the follower is served (it follows to the leader).
  auto cli = run_cli({"--server", cluster.node(follower).address(), "--json", "--require-leader",
                      "read", "orders", "--count", "1"});
  EXPECT_EQ(cli.exit_code, 0) << describe(cli);
  EXPECT_NE(cli.out.find("\"stream_id\":\"orders\""), std::string::npos) << describe(cli);
  EXPECT_EQ(served->events.size(), 6u);
}

// The asynchronous appends (unary and multiplexed) follow NotLeader to the leader too: a
// follower ran nothing, so the client sends the same events (same ids) there.
TEST(ClusterReplication, AsyncAppendsThroughAFollowerFollowTheLeader) {
  TestCluster cluster;
  uint64_t leader = 0, follower = 0;
  ASSERT_NO_FATAL_FAILURE(start_with_a_follower_naming_the_leader(cluster, leader, follower));

  for (bool multiplex : {false, true}) {
    SCOPED_TRACE(multiplex ? "multiplexed" : "unary");
    ClientOptions o;
    o.endpoints = {cluster.node(follower).address()};
    o.max_attempts = 3;
    o.timeout_ms = 5'000;
    o.multiplex_appends = multiplex;
    auto client = Client::connect(o);
    ASSERT_TRUE(client.is_ok());
    constexpr int kAppends = 20;
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;
    std::vector<Status> failures;
    const std::string stream = multiplex ? "async-mux" : "async-unary";
    for (int i = 0; i < kAppends; i++) {
      std::vector<StreamAppend> parts;
      parts.push_back(StreamAppend{stream, kExpectAny, numbered_events(i, 1)});
      (*client)->append_multi_async(std::move(parts), std::nullopt,
                                    [&](Result<std::vector<AppendResult>> r) {
                                      std::lock_guard<std::mutex> lock(mu);
                                      if (!r.is_ok()) failures.push_back(r.status());
                                      done++;
                                      cv.notify_all();
                                    });
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done == kAppends; }));
    }
    for (const auto& f : failures) ADD_FAILURE() << f.to_string();
    EXPECT_EQ((*client)->current_endpoint(), cluster.node(leader).address());
    auto r = cluster.direct_client(leader)->read(stream, ReadStreamOptions{});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->events.size(), static_cast<size_t>(kAppends));  // each exactly once
  }
}

// ---------------------------------------------------------------- failover

TEST(ClusterFailover, LeaderKilledNewLeaderAcceptsWritesAndTheOldLeaderRecoversOnItsDataDir) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  const uint64_t old_leader = cluster.wait_for_leader();
  ASSERT_NE(old_leader, 0u);
  auto client = TestCluster::client_of(cluster.addresses(), 6, 2'000);

  std::map<std::string, std::vector<Uuid>> acknowledged;  // stream -> ids in version order
  auto write = [&](const std::string& stream, int k) -> Status {
    auto events = numbered_events(k, 2);
    auto r = append_until_acknowledged(*client, stream, events, milliseconds(15'000));
    if (!r) return r.status();
    for (const auto& e : events) acknowledged[stream].push_back(*e.event_id);
    return Status::ok();
  };
  for (int k = 0; k < 30; ++k) ASSERT_TRUE(write("s" + std::to_string(k % 3), k).is_ok());

  cluster.kill9(old_leader);
  const auto killed_at = Clock::now();
  ASSERT_TRUE(write("s0", 100).is_ok());
  const int64_t failover_ms = ms_since(killed_at);
  std::cout << "[ failover ] leader " << old_leader << " killed -> next acknowledged write: " << failover_ms
            << " ms\n";
  const uint64_t new_leader = cluster.wait_for_leader();
  ASSERT_NE(new_leader, 0u);
  EXPECT_NE(new_leader, old_leader);
  for (int k = 0; k < 30; ++k) ASSERT_TRUE(write("s" + std::to_string(k % 3), 200 + k).is_ok());

  // The killed node restarts on its data dir and ports and converges.
  const auto writes_done = Clock::now();
  ASSERT_TRUE(cluster.restart(old_leader).is_ok());
  const int64_t restart_ms = ms_since(writes_done);
  auto common = cluster.wait_for_convergence();
  ASSERT_TRUE(common.has_value());
  std::cout << "[ failover ] 30 writes after the failover: " << ms_since(killed_at) - failover_ms - ms_since(writes_done)
            << " ms; node " << old_leader << " healthy after " << restart_ms << " ms, converged after "
            << ms_since(writes_done) << " ms\n";
  EXPECT_EQ(common->last_position, 122u);  // 61 acknowledged appends of 2 events, each once
  for (uint64_t id : cluster.ids()) {
    auto streams = streams_on(cluster, id);
    EXPECT_EQ(streams, acknowledged) << "node " << id << " does not hold exactly the acknowledged writes";
  }
}

// A single call rides out a leader's death: followers keep naming the dead leader until they
// elect another (up to an election timeout), and a client that counted "NotLeader{dead
// leader}" and "connection refused" as attempts gave up after ~0.2 s with Unavailable. Neither
// the library call nor the CLI retries here; each must succeed on its own.
TEST(ClusterFailover, OneCallThroughSeveralEndpointsSucceedsAcrossALeaderKill) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  const uint64_t first_leader = cluster.wait_for_leader();
  ASSERT_NE(first_leader, 0u);
  ClientOptions defaults;  // the attempts and backoff users get
  auto client = TestCluster::client_of(cluster.addresses(), defaults.max_attempts, 10'000);
  ASSERT_TRUE(client->append("s", kExpectAny, numbered_events(0, 1)).is_ok());  // now on the leader

  cluster.kill9(first_leader);
  auto killed_at = Clock::now();
  auto r = client->append("s", kExpectAny, numbered_events(1, 1));
  ASSERT_TRUE(r.is_ok()) << "after " << ms_since(killed_at) << " ms: " << r.status().to_string();
  std::cout << "[ failover ] one client call across the leader's kill: " << ms_since(killed_at) << " ms\n";

  // The CLI, given every endpoint, right after the next leader is killed.
  ASSERT_TRUE(cluster.restart(first_leader).is_ok());
  const uint64_t second_leader = cluster.wait_for_leader();
  ASSERT_NE(second_leader, 0u);
  std::string servers;
  for (const auto& a : cluster.addresses()) servers += (servers.empty() ? "" : ",") + a;
  cluster.kill9(second_leader);
  killed_at = Clock::now();
  auto cli = run_cli({"--server", servers, "--json", "append", "s", "--type", "T", "--data", "{}"});
  EXPECT_EQ(cli.exit_code, 0) << describe(cli);
  std::cout << "[ failover ] one CLI append across the leader's kill: " << ms_since(killed_at) << " ms\n";
}

// Pre-vote: a follower that was cut off (here: paused past several election timeouts) asks
// before it campaigns, learns the others still follow a leader, and rejoins without forcing
// a new term on the cluster. Without pre-vote it would bump the term and depose the leader.
TEST(ClusterFailover, APausedFollowerRejoinsWithoutDisruptingTheLeader) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  const uint64_t leader = cluster.wait_for_leader();
  ASSERT_NE(leader, 0u);
  const uint64_t paused = leader == 1 ? 2 : 1;
  auto term_of = [&](uint64_t id) -> uint64_t {
    auto st = cluster.status_of(id);
    return st ? st->term : 0;
  };
  const uint64_t term = term_of(leader);
  ASSERT_GT(term, 0u);
  auto client = cluster.direct_client(leader, 3);

  ASSERT_EQ(::kill(cluster.node(paused).process->pid(), SIGSTOP), 0);
  for (int k = 0; k < 20; ++k) ASSERT_TRUE(client->append("while-paused", kExpectAny, numbered_events(k, 1)).is_ok());
  std::this_thread::sleep_for(milliseconds(3'000));  // several election timeouts
  ASSERT_EQ(::kill(cluster.node(paused).process->pid(), SIGCONT), 0);

  auto common = cluster.wait_for_convergence();
  ASSERT_TRUE(common.has_value()) << "the paused follower did not catch up";
  std::this_thread::sleep_for(milliseconds(1'000));  // time for a disruptive election, if any
  EXPECT_EQ(cluster.wait_for_leader(), leader);
  for (uint64_t id : cluster.ids()) EXPECT_EQ(term_of(id), term) << "node " << id;
}

// A client made after a node came back reaches it at once, whatever other clients of the
// process went through while it was down. (gRPC shares subchannels process-wide by default: a
// fresh client inherited the reconnect backoff of an older one and saw "connection refused"
// from a serving node for up to 14 s.)
TEST(ClusterFailover, AFreshClientReachesARestartedNodeAtOnce) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  ASSERT_NE(cluster.wait_for_leader(), 0u);
  const uint64_t victim = 3;
  auto old_client = cluster.direct_client(victim, 1, 500);
  ASSERT_TRUE(old_client->cluster_status().is_ok());
  cluster.kill9(victim);
  const auto down_until = Clock::now() + milliseconds(3'000);
  while (Clock::now() < down_until) {  // an old client keeps failing against the dead node
    EXPECT_FALSE(old_client->cluster_status().is_ok());
    std::this_thread::sleep_for(milliseconds(50));  // request pacing
  }
  ASSERT_TRUE(cluster.restart(victim).is_ok());
  const auto healthy_at = Clock::now();
  auto fresh = cluster.direct_client(victim, 1, 500);
  Status last;
  const bool reached = wait_until([&] {
    auto st = fresh->cluster_status();
    last = st.status();
    return st.is_ok();
  }, milliseconds(1'000));
  EXPECT_TRUE(reached) << "a new client could not reach the restarted node for 1 s: " << last.to_string();
  std::cout << "[ failover ] fresh client reached the restarted node " << ms_since(healthy_at) << " ms after it was healthy\n";
}

// ---------------------------------------------------------------- membership

// A 4th node joins a cluster that is taking writes and has long dropped its log behind Raft
// snapshots: it gets a snapshot, fetches the events from a peer in bulk, keeps up with the
// writes as a non-voter, and is promoted; every node then holds every acknowledged append.
TEST(ClusterMembership, ANewNodeJoinsALoadedClusterBehindASnapshotAndIsPromoted) {
  TestCluster cluster({"--snapshot-threshold", "64", "--snapshot-trailing", "16"});
  ASSERT_TRUE(cluster.start(3).is_ok());
  ASSERT_NE(cluster.wait_for_leader(), 0u);
  auto client = TestCluster::client_of(cluster.addresses(), 6, 10'000);
  for (int k = 0; k < 300; ++k) {
    ASSERT_TRUE(client->append("before-" + std::to_string(k % 7), kExpectAny, numbered_events(k, 2)).is_ok());
  }

  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::string writer_error;
  std::thread writer([&] {  // the load: one append at a time, for as long as the join takes
    auto c = TestCluster::client_of(cluster.addresses(), 6, 10'000);
    for (int k = 0; !stop.load(); ++k) {
      auto r = c->append("during-" + std::to_string(k % 5), kExpectAny, numbered_events(k, 1));
      if (!r) {
        writer_error = r.status().to_string();
        return;
      }
      acknowledged.fetch_add(1);
    }
  });
  auto stop_writer = [&] {
    stop = true;
    writer.join();
  };

  ASSERT_TRUE(cluster.start_joining(4).is_ok());
  const auto joined_at = Clock::now();
  auto added = client->add_member(4, cluster.node(4).raft_address());
  if (!added.is_ok()) stop_writer();
  ASSERT_TRUE(added.is_ok()) << added.to_string();
  Status promoted = client->promote_member(4);  // returns once libraft's catch-up rounds passed
  const int64_t promote_ms = ms_since(joined_at);
  stop_writer();
  ASSERT_TRUE(promoted.is_ok()) << promoted.to_string();
  ASSERT_TRUE(writer_error.empty()) << writer_error;
  EXPECT_GT(acknowledged.load(), 0);

  auto common = cluster.wait_for_convergence();
  ASSERT_TRUE(common.has_value()) << "node 4 did not converge";
  EXPECT_EQ(common->last_position, 600u + static_cast<uint64_t>(acknowledged.load()));
  std::cout << "[ join under load ] node 4 added and promoted in " << promote_ms << " ms while "
            << acknowledged.load() << " appends were acknowledged\n";
  for (uint64_t id : cluster.ids()) {
    auto st = cluster.status_of(id);
    ASSERT_TRUE(st.is_ok());
    bool four_votes = false;
    for (const auto& m : st->members) four_votes |= m.node_id == 4 && m.voter;
    EXPECT_TRUE(four_votes) << "node " << id << " does not list node 4 as a voter";
  }
  // It came in through the bulk fetch, not through a log its peers no longer have.
  std::ifstream log(cluster.node(4).process->log_path());
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("caught up from node"), std::string::npos) << cluster.node(4).process->log_tail();
  EXPECT_EQ(streams_on(cluster, 4), streams_on(cluster, cluster.wait_for_leader()));
}

TEST(ClusterMembership, JoinCatchUpPromoteRemoveAndTransferLeadership) {
  // Default snapshot settings: the joining node catches up through the log (the next test
  // joins one behind a snapshot).
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  ASSERT_NE(cluster.wait_for_leader(), 0u);
  // Promotion runs libraft's catch-up rounds: give membership calls time.
  auto client = TestCluster::client_of(cluster.addresses(), 6, 10'000);
  for (int k = 0; k < 100; ++k) {
    auto r = client->append("load-" + std::to_string(k % 4), kExpectAny, numbered_events(k, 3));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }

  // Join node 4 through the CLI, on a follower's address: the CLI follows to the leader.
  ASSERT_TRUE(cluster.start_joining(4).is_ok());
  uint64_t leader = cluster.wait_for_leader();
  const uint64_t follower = leader == 1 ? 2 : 1;
  auto r = run_cli({"--server", cluster.node(follower).address(), "--json", "cluster", "add", "4",
                    cluster.node(4).raft_address()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json j = json::parse(r.out);
  EXPECT_EQ(j.at("ok"), true);
  EXPECT_EQ(j.at("node_id"), 4);

  // Adding it again is refused with a named error, and changes nothing.
  r = run_cli({"--server", cluster.node(leader).address(), "cluster", "add", "4", cluster.node(4).raft_address()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("error: AlreadyExists"), std::string::npos) << describe(r);
  r = run_cli({"--server", cluster.node(leader).address(), "cluster", "add", "4"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  r = run_cli({"--server", cluster.node(leader).address(), "cluster", "promote", "zero"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);

  // It catches up (more writes meanwhile) as a non-voter.
  for (int k = 0; k < 20; ++k) ASSERT_TRUE(client->append("load-0", kExpectAny, numbered_events(k, 1)).is_ok());
  auto common = cluster.wait_for_convergence();
  ASSERT_TRUE(common.has_value()) << "node 4 did not catch up";
  auto member = [&](uint64_t on, uint64_t id) -> std::optional<ClusterMember> {
    auto st = cluster.status_of(on);
    if (!st) return std::nullopt;
    for (const auto& m : st->members) {
      if (m.node_id == id) return m;
    }
    return std::nullopt;
  };
  leader = cluster.wait_for_leader();
  auto four = member(leader, 4);
  ASSERT_TRUE(four.has_value());
  EXPECT_FALSE(four->voter);

  // Promote: it votes. The client's first endpoint is dead: the change was not sent there, so
  // the client moves on (to a follower, which sends it to the leader).
  auto dead = pick_free_port();
  ASSERT_TRUE(dead.is_ok());
  auto membership_client = TestCluster::client_of(
      {"127.0.0.1:" + std::to_string(*dead), cluster.node(leader == 1 ? 2 : 1).address()}, 6, 10'000);
  Status promoted = membership_client->promote_member(4);
  ASSERT_TRUE(promoted.is_ok()) << promoted.to_string();
  ASSERT_TRUE(wait_until([&] {
    for (uint64_t id : cluster.ids()) {
      auto m = member(id, 4);
      if (!m || !m->voter) return false;
    }
    return true;
  }, milliseconds(10'000))) << "node 4 not a voter everywhere";
  ASSERT_TRUE(wait_until([&] {
    auto m = member(leader, 4);
    return m && m->address == cluster.node(4).address();
  }, milliseconds(10'000))) << "node 4 did not register its client address";

  // Remove a follower other than 4: nobody lists it any more, writes go on.
  leader = cluster.wait_for_leader();
  uint64_t removed = 0;
  for (uint64_t id : {1, 2, 3}) {
    if (id != leader) removed = id;
  }
  Status removed_status = client->remove_member(removed);
  ASSERT_TRUE(removed_status.is_ok()) << removed_status.to_string();
  ASSERT_TRUE(wait_until([&] {
    for (uint64_t id : cluster.ids()) {
      if (id == removed) continue;
      if (member(id, removed).has_value()) return false;
    }
    return true;
  }, milliseconds(10'000))) << "node " << removed << " still listed";
  cluster.kill9(removed);
  for (int k = 0; k < 10; ++k) {
    auto w = client->append("after-remove", kExpectAny, numbered_events(k, 1));
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  }

  // Transfer leadership to a chosen node (through the CLI), then to "the best" one.
  uint64_t target = 4;
  if (leader == 4) target = removed == 1 ? 2 : 1;
  r = run_cli({"--server", cluster.node(target).address(), "--json", "cluster", "transfer",
               std::to_string(target)});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(wait_until([&] { return cluster.agreed_leader() == target; }, milliseconds(10'000)))
      << "leadership did not move to " << target;
  Status transferred = client->transfer_leadership(0);
  ASSERT_TRUE(transferred.is_ok()) << transferred.to_string();
  ASSERT_TRUE(wait_until([&] {
    uint64_t l = cluster.agreed_leader();
    return l != 0 && l != target;
  }, milliseconds(10'000)));
  auto w = client->append("after-transfer", kExpectNoStream, numbered_events(0, 1));
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  ASSERT_TRUE(cluster.wait_for_convergence().has_value());
}

}  // namespace
}  // namespace reckon::testing
