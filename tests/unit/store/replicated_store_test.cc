// A store whose writes go through Raft (store/replicated_log): one-voter groups, adoption of an
// existing local store, and a three-node group in one process (real RocksDB dirs, real Raft
// over loopback).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
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

// Pipelined writes answer an append once Raft committed it and it was applied, before its
// RocksDB write lands; every read must still see what was answered before it began. Writers
// read their own appends back at once, with every kind of read, while others keep the
// background writer busy.
TEST(ReplicatedStore, WithPipelinedWritesEveryAnsweredAppendIsReadableAtOnce) {
  TempDir dir;
  StoreOptions o = single_voter(dir.path());
  o.replication->pipelined_writes = true;
  auto store = LocalStore::open_local(o);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  LocalStore& s = **store;
  ASSERT_TRUE(wait_for([&] { return s.replication()->is_leader(); }));

  constexpr int kThreads = 8, kAppends = 150;
  std::atomic<int> unseen{0};
  std::mutex mu;
  std::string first_miss;
  auto miss = [&](const std::string& what) {
    unseen++;
    std::lock_guard<std::mutex> lock(mu);
    if (first_miss.empty()) first_miss = what;
  };
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      const std::string stream = "rw-" + std::to_string(t);
      for (int i = 0; i < kAppends; ++i) {
        auto r = s.append(stream, i == 0 ? kExpectNoStream : ExpectedVersion(i - 1), make_events(1));
        if (!r.is_ok()) return miss("append failed: " + r.status().to_string());
        auto version = s.get_version(stream);
        if (!version.is_ok() || *version != i) miss(stream + ": get_version after append " + std::to_string(i));
        ReadStreamOptions from;
        from.from_version = i;
        auto events = s.read(stream, from);
        if (!events.is_ok() || events->events.empty() || events->events.front().version != i) {
          miss(stream + ": read after append " + std::to_string(i));
        }
        ReadAllOptions all;
        all.from_position = r->position;
        auto tail = s.read_all(all);
        if (!tail.is_ok() || tail->events.empty() || tail->events.front().position != r->position) {
          miss(stream + ": read_all after append " + std::to_string(i));
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(unseen.load(), 0) << first_miss;
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
  unsigned snapshot_threshold = 8192, snapshot_trailing = 65536;
  std::chrono::milliseconds catch_up_timeout = 20s;
  // Bulk catch-up in one process: a node's FetchState reads the peer's store directly.
  std::mutex mu;  // guards `nodes` against the Raft loops of catching-up nodes
  std::atomic<int> fetches{0};
  // Fault injection: the next transfer fails after this many chunks (-1: none).
  std::atomic<int> cut_after_chunks{-1};
  std::vector<uint64_t> fetched_after;  // guarded by mu
  std::atomic<bool> peers_unreachable{false};

  explicit Cluster(int n) {
    for (uint64_t id = 1; id <= uint64_t(n); ++id) {
      members[id] = "127.0.0.1:" + std::to_string(free_port());
      clients[id] = "127.0.0.1:" + std::to_string(20000 + id);  // advertised only
    }
  }
  Status fetch(const std::string& address, uint64_t after, const StateChunkSink& sink) {
    fetches++;
    if (peers_unreachable) return Status::unavailable("unreachable (injected)");
    LocalStore* peer = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      fetched_after.push_back(after);
      for (auto& [id, a] : clients) {
        if (a == address && nodes.count(id) && nodes[id]) peer = nodes[id].get();
      }
    }
    if (peer == nullptr) return Status::unavailable("no node at " + address);
    const int cut = cut_after_chunks.exchange(-1);
    if (cut < 0) return peer->replication()->export_state(after, sink);
    int sent = 0;
    return peer->replication()->export_state(after, [&](std::string_view chunk) {
      if (sent++ == cut) return Status::unavailable("connection lost (injected)");
      return sink(chunk);
    });
  }
  Status start(uint64_t id, bool join = false) {
    StoreOptions o = replicated_options(dir.sub("node" + std::to_string(id)), id, members, clients[id]);
    if (join) o.replication->initial_members.clear();
    o.replication->snapshot_threshold = snapshot_threshold;
    o.replication->snapshot_trailing = snapshot_trailing;
    o.replication->catch_up_timeout = catch_up_timeout;
    o.replication->catch_up_retry_delay = 100ms;
    o.replication->fetch_state = [this](const std::string& address, uint64_t after, const StateChunkSink& sink) {
      return fetch(address, after, sink);
    };
    auto s = LocalStore::open_local(o);
    if (!s.is_ok()) return s.status();
    std::lock_guard<std::mutex> lock(mu);
    nodes[id] = std::move(s).value();
    return Status::ok();
  }
  void stop(uint64_t id) {
    std::unique_ptr<LocalStore> gone;
    {
      std::lock_guard<std::mutex> lock(mu);
      gone = std::move(nodes[id]);
    }
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

// Writes `events` events on the leader in appends of 10 over 20 streams, plus state that
// cannot be derived from events (metadata, a delete, aggregate snapshots, a subscription).
void write_history(LocalStore& leader, int events, int salt) {
  for (int i = 0; i < events / 10; ++i) {
    auto r = leader.append("acct-" + std::to_string(i % 20), kExpectAny,
                           make_events(10, "Deposited" + std::to_string(salt)));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  StreamMetadata m;
  m.max_count = 5 + salt;
  ASSERT_TRUE(leader.set_stream_metadata("acct-3", m).is_ok());
  ASSERT_TRUE(leader.save_snapshot(Snapshot{"acct-4", 7, "{\"balance\":" + std::to_string(salt) + "}", "", 0}).is_ok());
  ASSERT_TRUE(leader.delete_stream("acct-" + std::to_string(10 + salt), kExpectAny).is_ok());
}

void expect_same_state(LocalStore& a, LocalStore& b) {
  EXPECT_EQ(a.last_position(), b.last_position());
  for (int s = 0; s < 20; ++s) {
    const std::string stream = "acct-" + std::to_string(s);
    auto ia = a.stream_info(stream), ib = b.stream_info(stream);
    ASSERT_EQ(ia.code(), ib.code()) << stream;
    if (!ia.is_ok()) continue;
    EXPECT_EQ(ia->last_version, ib->last_version) << stream;
    EXPECT_EQ(ia->state, ib->state) << stream;
    EXPECT_EQ(ia->metadata.max_count, ib->metadata.max_count) << stream;
  }
  auto sa = a.load_snapshot("acct-4"), sb = b.load_snapshot("acct-4");
  ASSERT_TRUE(sa.is_ok() && sb.is_ok());
  EXPECT_EQ(sa->data, sb->data);
  auto ra = a.read_all(ReadAllOptions{}), rb = b.read_all(ReadAllOptions{});
  ASSERT_TRUE(ra.is_ok() && rb.is_ok());
  ASSERT_EQ(ra->events.size(), rb->events.size());
  for (size_t i = 0; i < ra->events.size(); ++i) EXPECT_EQ(ra->events[i].event_id, rb->events[i].event_id);
}

// Same applied index: a delete or metadata change moves no position.
bool converged(LocalStore& a, LocalStore& b) {
  // An answered command may still be on its way to RocksDB (pipelined writes), and the applied
  // index counts published commands only: a read first waits until a node published all it
  // answered.
  (void)a.last_position();
  (void)b.last_position();
  return a.replication()->status().applied_index == b.replication()->status().applied_index;
}

int catch_up_events() {
  const char* n = std::getenv("RECKON_CATCHUP_EVENTS");  // larger runs measure the rate
  return n ? std::atoi(n) : 3000;
}

TEST(ReplicatedStore, AFollowerBehindTheTruncatedLogCatchesUpInBulkAndAppliesOnTop) {
  Cluster c(3);
  c.snapshot_threshold = 64;
  c.snapshot_trailing = 16;
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(c.start(id).is_ok());
  uint64_t leader = 0;
  ASSERT_TRUE(wait_for([&] { return (leader = c.leader()) != 0; }));
  write_history(*c.nodes[leader], 100, 0);
  const uint64_t behind = leader == 1 ? 2 : 1;
  ASSERT_TRUE(wait_for([&] { return c.nodes[behind]->last_position() == c.nodes[leader]->last_position(); }));

  c.stop(behind);
  const int events = catch_up_events();
  write_history(*c.nodes[leader], events, 1);  // far more entries than the trailing log keeps
  const Position target = c.nodes[leader]->last_position();

  const auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.start(behind).is_ok());
  ASSERT_TRUE(wait_for([&] { return c.nodes[behind]->last_position() >= target; }, 60s));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count();
  std::printf("caught up %d events in %.3f s after restart (%.0f events/s)\n", events, secs, events / secs);
  EXPECT_GT(c.fetches.load(), 0);  // the log alone could not have brought it back

  // Entries after the snapshot apply on top of the fetched state.
  write_history(*c.nodes[leader], 100, 2);
  ASSERT_TRUE(wait_for([&] { return converged(*c.nodes[behind], *c.nodes[leader]); }));
  expect_same_state(*c.nodes[leader], *c.nodes[behind]);

  // And it restarts on its caught-up state without fetching again.
  const int fetches = c.fetches.load();
  c.stop(behind);
  ASSERT_TRUE(c.start(behind).is_ok());
  write_history(*c.nodes[leader], 10, 3);
  ASSERT_TRUE(wait_for([&] { return converged(*c.nodes[behind], *c.nodes[leader]); }));
  EXPECT_EQ(c.fetches.load(), fetches);
  expect_same_state(*c.nodes[leader], *c.nodes[behind]);
}

TEST(ReplicatedStore, ATransferCutMidwayIsResumedAfterTheEventsAlreadyReceived) {
  Cluster c(3);
  c.snapshot_threshold = 64;
  c.snapshot_trailing = 16;
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(c.start(id).is_ok());
  uint64_t leader = 0;
  ASSERT_TRUE(wait_for([&] { return (leader = c.leader()) != 0; }));
  write_history(*c.nodes[leader], 100, 0);
  const uint64_t behind = leader == 1 ? 2 : 1;
  ASSERT_TRUE(wait_for([&] { return converged(*c.nodes[behind], *c.nodes[leader]); }));
  c.stop(behind);
  // ~6 MiB of events: several 1 MiB chunks.
  for (int i = 0; i < 300; ++i) {
    std::vector<NewEvent> events;
    for (int k = 0; k < 10; ++k) {
      events.push_back(testing::make_event("Big", "{\"pad\":\"" + std::string(2000, 'p') + "\"}"));
    }
    ASSERT_TRUE(c.nodes[leader]->append("big-" + std::to_string(i % 5), kExpectAny, std::move(events)).is_ok());
  }
  write_history(*c.nodes[leader], 100, 1);
  const Position held = c.nodes[leader]->last_position();  // before the restart: the old state's
  c.cut_after_chunks = 3;  // header + 2 event chunks, then the connection drops
  ASSERT_TRUE(c.start(behind).is_ok());
  ASSERT_TRUE(wait_for([&] { return converged(*c.nodes[behind], *c.nodes[leader]); }, 60s));
  expect_same_state(*c.nodes[leader], *c.nodes[behind]);
  std::lock_guard<std::mutex> lock(c.mu);
  ASSERT_GE(c.fetched_after.size(), 2u);
  // What it held when it went down, or more: entries the leader's log still held when the
  // node came back may reach it before the snapshot that starts the fetch.
  EXPECT_GE(c.fetched_after[0], 100u);
  EXPECT_GT(c.fetched_after[1], c.fetched_after[0]);  // resumed, not restarted
  EXPECT_LT(c.fetched_after[1], held);
}

// A 3-node cluster with frequent snapshots whose node `behind` stopped after 100 events and
// missed `missed` more: restarting it needs a bulk catch-up. Call with ASSERT_NO_FATAL_FAILURE.
void stop_one_behind_a_snapshot(Cluster& c, int missed, uint64_t& leader, uint64_t& behind) {
  c.snapshot_threshold = 64;
  c.snapshot_trailing = 16;
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(c.start(id).is_ok());
  ASSERT_TRUE(wait_for([&] { return (leader = c.leader()) != 0; }));
  behind = leader == 1 ? 2 : 1;
  write_history(*c.nodes[leader], 100, 0);
  ASSERT_TRUE(wait_for([&] { return converged(*c.nodes[behind], *c.nodes[leader]); }));
  c.stop(behind);
  write_history(*c.nodes[leader], missed, 1);
}

TEST(ReplicatedStore, ClosingAStoreEndsARunningCatchUpAndARestartFinishesIt) {
  Cluster c(3);
  uint64_t leader = 0, behind = 0;
  ASSERT_NO_FATAL_FAILURE(stop_one_behind_a_snapshot(c, 3000, leader, behind));
  c.peers_unreachable = true;
  ASSERT_TRUE(c.start(behind).is_ok());
  ASSERT_TRUE(wait_for([&] { return c.fetches.load() >= 2; }));  // retrying (timeout 20 s)
  const auto closing = std::chrono::steady_clock::now();
  c.stop(behind);
  EXPECT_LT(std::chrono::steady_clock::now() - closing, 5s);
  c.peers_unreachable = false;
  ASSERT_TRUE(c.start(behind).is_ok());
  ASSERT_TRUE(wait_for([&] { return converged(*c.nodes[behind], *c.nodes[leader]); }, 60s));
  expect_same_state(*c.nodes[leader], *c.nodes[behind]);
}

// A replica fetching in bulk keeps doing its Raft duties: it stores and acknowledges new entries
// (applying them once caught up), so it still counts for commits. Before the catch-up moved off
// the Raft loop, a fetch that could not finish (here: no peer reachable) blocked the loop, and a
// cluster that then lost its third node stopped committing until the fetch gave up.
TEST(ReplicatedStore, AReplicaCatchingUpStillCountsForCommits) {
  Cluster c(3);
  uint64_t leader = 0, behind = 0;
  ASSERT_NO_FATAL_FAILURE(stop_one_behind_a_snapshot(c, 2000, leader, behind));
  const uint64_t third = 6 - leader - behind;
  c.peers_unreachable = true;
  ASSERT_TRUE(c.start(behind).is_ok());
  ASSERT_TRUE(wait_for([&] { return c.fetches.load() >= 2; }));  // stuck fetching (timeout 20 s)

  c.stop(third);  // from now on every commit needs the catching-up replica
  const auto start = std::chrono::steady_clock::now();
  auto r = c.nodes[leader]->append("during-catch-up", kExpectNoStream, make_events(3));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

  // Once a peer is reachable it catches up and applies what it stored meanwhile on top.
  c.peers_unreachable = false;
  ASSERT_TRUE(wait_for([&] { return converged(*c.nodes[behind], *c.nodes[leader]); }, 60s));
  expect_same_state(*c.nodes[leader], *c.nodes[behind]);
  EXPECT_EQ(c.nodes[behind]->get_version("during-catch-up").value_or(-1), 2);
}

// A replica whose catch-up failed answers every write Unavailable until restarted; elected
// leader, it would hold the group's writes hostage. It hands leadership on instead (before,
// the group accepted no writes while it led).
TEST(ReplicatedStore, AFailStoppedReplicaDoesNotKeepTheLeadership) {
  Cluster c(3);
  c.catch_up_timeout = 300ms;
  uint64_t leader = 0, behind = 0;
  ASSERT_NO_FATAL_FAILURE(stop_one_behind_a_snapshot(c, 2000, leader, behind));
  c.peers_unreachable = true;
  ASSERT_TRUE(c.start(behind).is_ok());
  ASSERT_TRUE(wait_for([&] { return c.fetches.load() >= 2; }));
  std::this_thread::sleep_for(600ms);  // past the catch-up timeout: the replica fail-stopped
  c.peers_unreachable = false;

  // Hand it the leadership; it must give it away again, and the group take writes.
  std::promise<Status> moved;
  c.nodes[leader]->replication()->transfer_leadership(behind, [&](Status s) { moved.set_value(s); });
  (void)moved.get_future().wait_for(5s);
  uint64_t now = 0;
  ASSERT_TRUE(wait_for([&] {
    now = c.leader();
    return now != 0 && now != behind && c.nodes[now]->append("after", kExpectAny, make_events(1)).is_ok();
  }, 10s));
  auto st = c.nodes[behind]->replication()->status();
  EXPECT_NE(st.role, "leader");
}

TEST(ReplicatedStore, ANewNodeJoinsAsStandbyBulkSyncsAndIsPromoted) {
  Cluster c(4);
  c.snapshot_threshold = 64;
  c.snapshot_trailing = 16;
  c.members.erase(4);  // the first three form the group
  const std::string raft4 = "127.0.0.1:" + std::to_string(free_port());
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(c.start(id).is_ok());
  uint64_t leader = 0;
  ASSERT_TRUE(wait_for([&] { return (leader = c.leader()) != 0; }));
  write_history(*c.nodes[leader], 1000, 0);

  c.members[4] = raft4;
  ASSERT_TRUE(c.start(4, /*join=*/true).is_ok());
  std::promise<Status> added;
  c.nodes[leader]->replication()->add_member(4, raft4, [&](Status s) { added.set_value(s); });
  ASSERT_TRUE(added.get_future().get().is_ok());
  ASSERT_TRUE(wait_for([&] { return c.nodes[4]->last_position() == c.nodes[leader]->last_position(); }, 60s));
  EXPECT_GT(c.fetches.load(), 0);
  std::promise<Status> promoted;
  c.nodes[leader]->replication()->promote_member(4, [&](Status s) { promoted.set_value(s); });
  ASSERT_TRUE(promoted.get_future().get().is_ok());
  write_history(*c.nodes[leader], 100, 1);
  ASSERT_TRUE(wait_for([&] { return converged(*c.nodes[4], *c.nodes[leader]); }));
  expect_same_state(*c.nodes[leader], *c.nodes[4]);
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

// libraft 0.15, finding a corrupt segment while a snapshot exists, renames every segment to
// `corrupt-<time>-<name>` and starts from the snapshot alone: a replica silently forgets
// entries it stored and acknowledged (and would vote as if it never had them). The store must
// refuse to start instead, name the segment, and leave the log as it found it, so that putting
// the segment back (or replacing the node) is possible; with the segment repaired it opens.
TEST(ReplicatedStore, ACorruptSegmentBehindASnapshotIsRefusedNotSilentlyDropped) {
  TempDir dir;
  StoreOptions o = single_voter(dir.path());
  o.replication->snapshot_threshold = 16;
  o.replication->snapshot_trailing = 8;
  for (int session = 0; session < 3; ++session) {  // each restart closes the open segments
    auto store = LocalStore::open_local(o);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE(wait_for([&] { return (*store)->replication()->is_leader(); }));
    for (int i = 0; i < 40; ++i) ASSERT_TRUE((*store)->append("s", kExpectAny, make_events(1)).is_ok());
  }
  const std::string raft_dir = dir.path() + "/raft";
  auto listing = [&] {
    std::set<std::string> names;
    for (const auto& f : std::filesystem::directory_iterator(raft_dir)) names.insert(f.path().filename().string());
    return names;
  };
  // The newest closed segment holds entries after the last snapshot.
  std::string newest;
  for (const auto& name : listing()) {
    if (name.size() == 33 && name[16] == '-' && name > newest) newest = name;
  }
  ASSERT_FALSE(newest.empty()) << "no closed segment";
  const std::string path = raft_dir + "/" + newest;
  std::string original;
  {
    std::ifstream in(path, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(original.size(), 200u);
  {
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(original.size() / 2));
    io.put('\x5a').put('\xa5').put('\x5a');
  }
  const auto before = listing();

  auto refused = LocalStore::open_local(o);
  ASSERT_FALSE(refused.is_ok()) << "a corrupt segment was dropped without a word";
  EXPECT_EQ(refused.code(), ErrorCode::kCorruption) << refused.status().to_string();
  std::cout << "[ corrupt segment ] " << refused.status().to_string() << "\n";
  EXPECT_NE(refused.status().message().find(newest), std::string::npos) << refused.status().to_string();
  EXPECT_EQ(listing(), before) << "the log directory was changed";

  {  // The operator repairs the segment (here: the original bytes): the store opens whole.
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << original;
  }
  auto repaired = LocalStore::open_local(o);
  ASSERT_TRUE(repaired.is_ok()) << repaired.status().to_string();
  EXPECT_EQ(*(*repaired)->get_version("s"), 119);
}

}  // namespace
}  // namespace reckon
