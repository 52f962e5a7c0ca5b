// A store whose writes go through Raft (store/replicated_log): one-voter groups, adoption of an
// existing local store, and a three-node group in one process (real RocksDB dirs, real Raft
// over loopback).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <filesystem>
#include <fstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reckon/store.h"
#include "support/ports.h"
#include "support/store_test_util.h"
#include "support/temp_dir.h"

namespace reckon {
namespace {

using namespace std::chrono_literals;
using testing::free_port;
using testing::make_events;
using testing::TempDir;

template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

StoreOptions replicated_options(const std::string& dir, uint64_t id, std::map<uint64_t, std::string> members,
                                std::string client_address = {}) {
  StoreOptions o;
  o.data_dir = dir;
  ReplicationOptions r;
  r.node_id = id;
  r.raft_address = members.at(id);
  r.initial_members = std::move(members);
  r.client_address = std::move(client_address);
  r.election_timeout = 300ms;
  r.heartbeat_timeout = 50ms;
  o.replication = r;
  return o;
}

StoreOptions single_voter(const std::string& dir) {
  return replicated_options(dir, 1, {{1, "127.0.0.1:0"}});
}

TEST(ReplicatedStore, SingleVoterAppendsReadsAndReopens) {
  TempDir dir;
  StoreOptions o = single_voter(dir.path());
  {
    auto store = LocalStore::open_local(o);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_NE((*store)->replication(), nullptr);
    ASSERT_TRUE(wait_for([&] { return (*store)->replication()->is_leader(); }));
    auto r = (*store)->append("orders-1", kExpectNoStream, make_events(3));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->first_version, 0);
    EXPECT_EQ(r->last_version, 2);
    auto wrong = (*store)->append("orders-1", kExpectNoStream, make_events(1));
    EXPECT_EQ(wrong.code(), ErrorCode::kWrongExpectedVersion);
  }
  auto store = LocalStore::open_local(o);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  // The log replays on restart, but nothing is applied twice.
  EXPECT_EQ(*(*store)->get_version("orders-1"), 2);
  ASSERT_TRUE(wait_for([&] { return (*store)->replication()->is_leader(); }));
  auto r = (*store)->append("orders-1", 2, make_events(1));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->first_version, 3);
  auto all = (*store)->read_all(ReadAllOptions{});
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(all->events.size(), 4u);
}

TEST(ReplicatedStore, AdoptsALocalStoreAndLocalOpenIsThenRefused) {
  TempDir dir;
  StoreOptions local;
  local.data_dir = dir.path();
  {
    auto store = LocalStore::open_local(local);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->append("s", kExpectAny, make_events(5)).is_ok());
  }
  StoreOptions o = single_voter(dir.path());
  {
    auto store = LocalStore::open_local(o);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE(wait_for([&] { return (*store)->replication()->is_leader(); }));
    auto r = (*store)->append("s", 4, make_events(1));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->first_version, 5);
    EXPECT_EQ(r->position, 6u);
  }
  auto refused = LocalStore::open_local(local);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.code(), ErrorCode::kInvalidArgument);
  // And through Raft again it holds everything.
  auto store = LocalStore::open_local(o);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(*(*store)->get_version("s"), 5);
}

TEST(ReplicatedStore, ManyConcurrentAppendsAcrossLocalSnapshots) {
  TempDir dir;
  StoreOptions o = single_voter(dir.path());
  o.replication->snapshot_threshold = 64;
  o.replication->snapshot_trailing = 16;
  constexpr int kThreads = 8, kPerThread = 100;
  {
    auto store = LocalStore::open_local(o);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE(wait_for([&] { return (*store)->replication()->is_leader(); }));
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto r = (*store)->append("stream-" + std::to_string(t), i - 1 < 0 ? kExpectNoStream : i - 1,
                                    make_events(1));
          if (!r.is_ok()) failures++;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
  }
  // Reopen: Raft restores from its local snapshot, the trailing log is skipped.
  auto store = LocalStore::open_local(o);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(*(*store)->get_version("stream-" + std::to_string(t)), kPerThread - 1);
  EXPECT_EQ((*store)->last_position(), Position(kThreads * kPerThread));
}

struct Cluster {
  TempDir dir;
  std::map<uint64_t, std::string> members;
  std::map<uint64_t, std::string> clients;
  std::map<uint64_t, std::unique_ptr<LocalStore>> nodes;

  explicit Cluster(int n) {
    for (uint64_t id = 1; id <= uint64_t(n); ++id) {
      members[id] = "127.0.0.1:" + std::to_string(free_port());
      clients[id] = "127.0.0.1:" + std::to_string(20000 + id);  // advertised only
    }
  }
  Status start(uint64_t id) {
    auto s = LocalStore::open_local(
        replicated_options(dir.sub("node" + std::to_string(id)), id, members, clients[id]));
    if (!s.is_ok()) return s.status();
    nodes[id] = std::move(s).value();
    return Status::ok();
  }
  uint64_t leader() {
    for (auto& [id, n] : nodes) {
      if (n && n->replication()->is_leader()) return id;
    }
    return 0;
  }
};

TEST(ReplicatedStore, ThreeNodesReplicateRedirectAndFailOver) {
  Cluster c(3);
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(c.start(id).is_ok());
  uint64_t leader = 0;
  ASSERT_TRUE(wait_for([&] { return (leader = c.leader()) != 0; }));

  auto r = c.nodes[leader]->append("acct-1", kExpectNoStream, make_events(2));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();

  // Every node applies it (reads on any node).
  for (auto& [id, n] : c.nodes) {
    ASSERT_TRUE(wait_for([&] { return n->get_version("acct-1").value_or(-1) == 1; })) << "node " << id;
  }

  // A follower refuses writes, naming the leader's client address (registered by the leader).
  uint64_t follower = leader == 1 ? 2 : 1;
  ASSERT_TRUE(wait_for([&] {
    auto w = c.nodes[follower]->append("acct-2", kExpectAny, make_events(1));
    const NotLeaderInfo* info = w.status().not_leader_info();
    return info && info->leader_id == leader && info->address == c.clients[leader];
  }));

  // Status on a follower lists every member with its client address once registered there.
  auto st = c.nodes[follower]->replication()->status();
  EXPECT_EQ(st.role, "follower");
  EXPECT_EQ(st.leader_id, leader);
  EXPECT_EQ(st.leader_client_address, c.clients[leader]);
  EXPECT_EQ(st.members.size(), 3u);

  // The leader goes away; another takes over and accepts writes; nothing acknowledged is lost.
  c.nodes[leader].reset();
  uint64_t next = 0;
  ASSERT_TRUE(wait_for([&] { return (next = c.leader()) != 0; }));
  ASSERT_NE(next, leader);
  ASSERT_TRUE(wait_for([&] { return c.nodes[next]->append("acct-1", 1, make_events(1)).is_ok(); }));
  EXPECT_EQ(*c.nodes[next]->get_version("acct-1"), 2);

  // The old leader comes back on its data and converges.
  ASSERT_TRUE(c.start(leader).is_ok());
  ASSERT_TRUE(wait_for([&] { return c.nodes[leader]->get_version("acct-1").value_or(-1) == 2; }));
  EXPECT_EQ(c.nodes[leader]->last_position(), c.nodes[next]->last_position());
}

TEST(ReplicatedStore, BarrierOnLeaderAndNotLeaderElsewhere) {
  Cluster c(3);
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(c.start(id).is_ok());
  uint64_t leader = 0;
  ASSERT_TRUE(wait_for([&] { return (leader = c.leader()) != 0; }));
  std::promise<Status> on_leader, on_follower;
  c.nodes[leader]->replication()->barrier([&](Status s) { on_leader.set_value(s); });
  c.nodes[leader == 1 ? 2 : 1]->replication()->barrier([&](Status s) { on_follower.set_value(s); });
  EXPECT_TRUE(on_leader.get_future().get().is_ok());
  EXPECT_EQ(on_follower.get_future().get().code(), ErrorCode::kNotLeader);
}

}  // namespace
}  // namespace reckon

namespace reckon {
namespace {

// Writes `bytes` to a TCP address and closes the connection.
void send_garbage(const std::string& address, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    (void)!::write(fd, bytes.data(), bytes.size());
  }
  ::close(fd);
}

TEST(ReplicatedStore, GarbageOnTheRaftPortChangesNothing) {
  Cluster c(3);
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(c.start(id).is_ok());
  uint64_t leader = 0;
  ASSERT_TRUE(wait_for([&] { return (leader = c.leader()) != 0; }));
  std::string noise(4096, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 2654435761u) >> 13);
  const std::string fake_handshake = std::string("\x01\0\0\0\0\0\0\0", 8) + std::string(8, '\xff') + noise;
  for (int round = 0; round < 4; ++round) {
    for (auto& [id, address] : c.members) {
      send_garbage(address, round % 2 ? noise : fake_handshake);
    }
  }
  // Every node still serves, the group still commits, and nothing was applied from the noise.
  ASSERT_TRUE(wait_for([&] {
    uint64_t l = c.leader();
    return l != 0 && c.nodes[l]->append("after-noise", kExpectAny, make_events(1)).is_ok();
  }));
  for (auto& [id, n] : c.nodes) {
    ASSERT_TRUE(wait_for([&] { return n->last_position() == 1; })) << "node " << id;
  }
}

TEST(ReplicatedStore, CorruptedRaftSegmentIsAClearErrorNotACrash) {
  TempDir dir;
  StoreOptions o = single_voter(dir.path());
  {
    auto store = LocalStore::open_local(o);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE(wait_for([&] { return (*store)->replication()->is_leader(); }));
    for (int i = 0; i < 20; ++i) ASSERT_TRUE((*store)->append("s", kExpectAny, make_events(1)).is_ok());
  }
  // Flip bytes in the middle of every closed or open segment (not the metadata files).
  int corrupted = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path() + "/raft")) {
    const std::string name = f.path().filename().string();
    if (name.rfind("metadata", 0) == 0 || name.rfind("snapshot", 0) == 0 || f.file_size() < 64) continue;
    std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    for (std::streamoff at = 16; at < 4096 && at < std::streamoff(f.file_size()); at += 64) {
      io.seekp(at);
      io.put('\x5a');
    }
    ++corrupted;
  }
  ASSERT_GT(corrupted, 0);
  // Either the log refuses to load (Corruption / IoError named), or — when the damage hit only
  // what the state machine already holds — the store opens with everything acknowledged.
  auto reopened = LocalStore::open_local(o);
  if (reopened.is_ok()) {
    EXPECT_EQ(*(*reopened)->get_version("s"), 19);
  } else {
    EXPECT_TRUE(reopened.code() == ErrorCode::kCorruption || reopened.code() == ErrorCode::kIoError)
        << reopened.status().to_string();
    EXPECT_FALSE(reopened.status().message().empty());
  }
}

}  // namespace
}  // namespace reckon
