// Fault test of a 3-node cluster: concurrent clients append with their own event ids (expected
// version any, re-sent with the same ids whenever the outcome is unknown, following leaders)
// while the test kills -9 and restarts one node at a time. After healing, every node must hold
// every acknowledged append at the position it was acknowledged with, dense positions, gapless
// stream versions, no event twice, and the same log and state digest as the others.
//
// RECKON_FAULT_SECONDS (default 15) sets how long nodes are killed; RECKON_FAULT_SEED replays a
// schedule of victims and pauses. Raft snapshots are frequent (every 1000 entries, 250 kept
// behind; RECKON_FAULT_SNAPSHOT_THRESHOLD=N changes it, RECKON_FAULT_SNAPSHOTS=0 turns them off),
// so a node down for a while under load usually comes back behind the leader's snapshot and
// catches up in bulk — several times a run. (They were off for a while after a restarted node
// failed to catch up in CI: its catch-up blocked its Raft loop, and a cluster that also lost
// the node it fetched from could not elect a leader. The catch-up now runs off the loop.)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>

#include "cluster/cluster_test_util.h"
#include "support/small_disk.h"

namespace reckon::testing {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

struct Acknowledged {
  std::string stream;
  std::vector<Uuid> ids;
  AppendResult result;
  Clock::time_point started;
  Clock::time_point acknowledged;
};

class AckLog {
 public:
  void add(Acknowledged a) {
    std::lock_guard<std::mutex> lock(mu_);
    acks_.push_back(std::move(a));
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return acks_.size();
  }
  // The first acknowledgement of an append sent after `t` (it was committed by a leader
  // elected after t, if t is when the old leader died).
  std::optional<Clock::time_point> first_started_after(Clock::time_point t) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<Clock::time_point> first;
    for (const auto& a : acks_) {
      if (a.started > t && (!first || a.acknowledged < *first)) first = a.acknowledged;
    }
    return first;
  }
  std::vector<Acknowledged> all() const {
    std::lock_guard<std::mutex> lock(mu_);
    return acks_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Acknowledged> acks_;
};

// One client thread: appends 1-3 events to one of `streams` streams until stopped. An append
// whose outcome is unknown is re-sent with the same ids until acknowledged.
void run_appender(int index, std::vector<std::string> endpoints, const std::atomic<bool>& stop, AckLog& log,
                  std::atomic<int>& failures) {
  auto client = TestCluster::client_of(std::move(endpoints), 4, 2'000);
  std::mt19937_64 rng(static_cast<uint64_t>(index) * 7919 + 1);
  int n = 0;
  while (!stop.load()) {
    Acknowledged a;
    a.stream = "fault-" + std::to_string(rng() % 6);
    std::vector<NewEvent> events;
    const int count = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < count; ++k) {
      Uuid id = Uuid::v7();
      a.ids.push_back(id);
      events.push_back(make_event_with_id(id, "Faulted", "{\"writer\":" + std::to_string(index) +
                                                              ",\"n\":" + std::to_string(n++) + "}"));
    }
    a.started = Clock::now();
    const auto give_up = a.started + milliseconds(30'000);
    while (true) {
      auto r = client->append(a.stream, kExpectAny, events);
      if (r) {
        a.result = *r;
        a.acknowledged = Clock::now();
        log.add(std::move(a));
        break;
      }
      const ErrorCode code = r.code();
      const bool unknown = code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout ||
                           code == ErrorCode::kNotLeader || code == ErrorCode::kCancelled;
      if (!unknown || Clock::now() > give_up) {
        ADD_FAILURE() << "writer " << index << ": append to " << a.stream << " failed: " << r.status().to_string();
        failures.fetch_add(1);
        return;
      }
      std::this_thread::sleep_for(milliseconds(20));  // retry pacing
    }
  }
}

TEST(ClusterFault, ConcurrentIdempotentAppendsSurviveKillingOneNodeAtATime) {
  const int seconds = env_int("RECKON_FAULT_SECONDS", 15);
  const uint64_t seed = static_cast<uint64_t>(env_int("RECKON_FAULT_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
  std::cout << "[ fault ] " << seconds << " s, RECKON_FAULT_SEED=" << seed << "\n";
  std::mt19937_64 rng(seed);

  std::vector<std::string> args;
  const int threshold = env_int("RECKON_FAULT_SNAPSHOT_THRESHOLD", 1000);
  args = {"--snapshot-threshold", std::to_string(threshold), "--snapshot-trailing",
          std::to_string(std::max(1, threshold / 4))};
  if (env_int("RECKON_FAULT_SNAPSHOTS", 1) == 0) args = {"--snapshot-threshold", "1000000000"};
  TestCluster cluster(args);
  ASSERT_TRUE(cluster.start(3).is_ok());
  ASSERT_NE(cluster.wait_for_leader(), 0u);

  AckLog log;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  // Writers stop and are joined however the test body ends (an ASSERT returns early).
  struct StopWriters {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~StopWriters() {
      stop.store(true);
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } stop_writers{stop, writers};
  for (int i = 0; i < 4; ++i) {
    writers.emplace_back(run_appender, i, cluster.addresses(), std::cref(stop), std::ref(log), std::ref(failures));
  }

  // The driver runs on this thread: restarted nodes die with the thread that started them.
  std::vector<int64_t> failovers;
  int kills = 0;
  // Elections while every node was up and caught up (between a recovery and the next kill):
  // spurious ones, from heartbeats that came late under load. Reported, not asserted: they
  // cost availability, not safety.
  int calm_elections = 0;
  auto highest_term = [&] {
    uint64_t term = 0;
    for (uint64_t id : cluster.ids()) {
      if (auto st = cluster.status_of(id)) term = std::max(term, st->term);
    }
    return term;
  };
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  for (int round = 0; Clock::now() < end && failures.load() == 0; ++round) {
    // Let the writers make progress first (liveness: one node down must not stop writes).
    const uint64_t calm_term = highest_term();
    const size_t before = log.size();
    ASSERT_TRUE(wait_until([&] { return log.size() >= before + 20; }, milliseconds(15'000)))
        << "no progress with every node up (round " << round << ")";
    std::this_thread::sleep_for(milliseconds(rng() % 400));  // random point in the load
    // Every other round the leader dies; otherwise any node (which may be the leader too).
    uint64_t victim = 1 + rng() % 3;
    if (round % 2 == 0) {
      if (uint64_t leader = cluster.agreed_leader(); leader != 0) victim = leader;
    }
    const bool was_leader = cluster.agreed_leader() == victim;
    if (const uint64_t t = highest_term(); calm_term != 0 && t > calm_term) calm_elections += int(t - calm_term);
    cluster.kill9(victim);
    ++kills;
    const auto killed_at = Clock::now();
    ASSERT_TRUE(wait_until([&] { return log.first_started_after(killed_at).has_value(); }, milliseconds(15'000)))
        << "no acknowledged write after killing node " << victim;
    if (was_leader) failovers.push_back(std::chrono::duration_cast<milliseconds>(
                                            *log.first_started_after(killed_at) - killed_at).count());
    // Stay down for a while under load, then come back on the same data dir and ports.
    const auto down = milliseconds(200 + rng() % 1300);
    std::this_thread::sleep_for(down);  // the fault schedule itself, not a wait for a state
    Status restarted = cluster.restart(victim);
    ASSERT_TRUE(restarted.is_ok()) << "node " << victim << ": " << restarted.to_string();
    // Back means caught up: a node still replaying is as good as down for the next kill.
    uint64_t target = 0;
    for (uint64_t id : cluster.ids()) {
      if (auto st = cluster.status_of(id); st && id != victim) target = std::max(target, st->commit_index);
    }
    const bool caught_up = wait_until([&] {
      auto st = cluster.status_of(victim);
      return st && st->applied_index >= target;
    }, milliseconds(15'000));
    if (!caught_up) {
      for (uint64_t id : cluster.ids()) {
        auto st = cluster.status_of(id);
        std::cerr << "node " << id << ": "
                  << (st ? st->role + " term " + std::to_string(st->term) + " leader " + std::to_string(st->leader_id) +
                               " commit " + std::to_string(st->commit_index) + " applied " +
                               std::to_string(st->applied_index) + " last_position " +
                               std::to_string(st->last_position)
                         : st.status().to_string())
                  << "\n";
      }
    }
    ASSERT_TRUE(caught_up) << "node " << victim << " did not catch up to " << target << " after its restart";
  }
  stop.store(true);
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);

  std::sort(failovers.begin(), failovers.end());
  std::cout << "[ fault ] " << kills << " kills, " << log.size() << " acknowledged appends; leader failovers (ms):";
  for (int64_t f : failovers) std::cout << " " << f;
  std::cout << "; elections with every node up: " << calm_elections << "\n";

  // Heal: everything up, one more write through the leader, then convergence.
  ASSERT_NE(cluster.wait_for_leader(), 0u);
  auto client = TestCluster::client_of(cluster.addresses(), 6, 3'000);
  ASSERT_TRUE(client->append("fault-final", kExpectNoStream, {make_event_with_id(Uuid::v7(), "Final")}).is_ok());
  auto common = cluster.wait_for_convergence();
  ASSERT_TRUE(common.has_value()) << "nodes did not converge";

  const auto acks = log.all();
  std::vector<Uuid> reference;  // event ids by position, from the first node
  for (uint64_t id : cluster.ids()) {
    auto events = cluster.read_everything(id);
    ASSERT_TRUE(events.is_ok()) << "node " << id << ": " << events.status().to_string();
    ASSERT_EQ(events->size(), common->last_position) << "node " << id;
    std::map<std::string, int64_t> next_version;
    std::set<Uuid> seen;
    std::vector<Uuid> ids;
    for (size_t i = 0; i < events->size(); ++i) {
      const Event& e = (*events)[i];
      ASSERT_EQ(e.position, i + 1) << "node " << id << ": positions not dense";
      ASSERT_EQ(e.version, next_version[e.stream_id]++) << "node " << id << ": gap in " << e.stream_id;
      ASSERT_TRUE(seen.insert(e.event_id).second) << "node " << id << ": event at " << e.position << " twice";
      ids.push_back(e.event_id);
    }
    for (const auto& a : acks) {
      for (size_t k = 0; k < a.ids.size(); ++k) {
        const Position p = a.result.first_position + k;
        ASSERT_TRUE(p >= 1 && p <= events->size()) << "node " << id << ": acknowledged position " << p << " missing";
        const Event& e = (*events)[p - 1];
        ASSERT_EQ(e.event_id, a.ids[k]) << "node " << id << ": acknowledged event not at position " << p;
        ASSERT_EQ(e.stream_id, a.stream);
        ASSERT_EQ(e.version, a.result.first_version + static_cast<int64_t>(k));
      }
    }
    if (reference.empty()) {
      reference = ids;
    } else {
      ASSERT_TRUE(ids == reference) << "node " << id << " holds a different log";
    }
  }
}

// A follower that was down while the leader took snapshots and dropped the log behind them
// comes back through an InstallSnapshot, fetching what it lacks from a peer in bulk
// (docs/CONSENSUS.md "Bulk catch-up"), within seconds.
TEST(ClusterFault, FollowerRestartedBehindTheLeadersSnapshotCatchesUp) {
  TestCluster cluster({"--snapshot-threshold", "64", "--snapshot-trailing", "16"});
  ASSERT_TRUE(cluster.start(3).is_ok());
  const uint64_t leader = cluster.wait_for_leader();
  ASSERT_NE(leader, 0u);
  auto client = TestCluster::client_of(cluster.addresses(), 6, 3'000);
  for (int k = 0; k < 20; ++k) {
    ASSERT_TRUE(client->append("before", kExpectAny, {make_event_with_id(Uuid::v7(), "Before")}).is_ok());
  }
  const uint64_t follower = leader == 1 ? 2 : 1;
  cluster.kill9(follower);
  for (int k = 0; k < 300; ++k) {
    auto r = client->append("while-down-" + std::to_string(k % 5), kExpectAny, {make_event_with_id(Uuid::v7(), "Down")});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  ASSERT_TRUE(cluster.restart(follower).is_ok());
  const auto restarted_at = Clock::now();
  auto common = cluster.wait_for_convergence(milliseconds(3'000));
  ASSERT_TRUE(common.has_value()) << "the restarted follower did not catch up within 3 s";
  std::cout << "[ snapshot catch-up ] " << ms_since(restarted_at) << " ms\n";
  EXPECT_EQ(common->last_position, 320u);
}

// A follower whose Raft log disk fills up: the majority keeps acknowledging writes, the full
// node refuses rather than corrupts, and once space is back a restart rejoins it and it
// converges with every acknowledged append.
TEST(ClusterFault, AFollowerWhoseDiskFillsRejoinsAndConvergesOnceSpaceIsBack) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  // No Raft snapshots: the log must grow until the disk is full.
  TestCluster cluster({"--snapshot-threshold", "1000000"});
  auto dir = cluster.data_dir(3);
  ASSERT_TRUE(dir.is_ok()) << dir.status().to_string();
  SmallDisk disk(*dir + "/raft", "30m");  // three prepared 8 MiB segments and a little more
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here";
  ASSERT_TRUE(cluster.start(3).is_ok());
  uint64_t leader = cluster.wait_for_leader();
  ASSERT_NE(leader, 0u);
  auto client = TestCluster::client_of(cluster.addresses(), 6, 5'000);
  if (leader == 3) {
    ASSERT_TRUE(client->transfer_leadership(1).is_ok());
    leader = cluster.wait_for_leader();
    ASSERT_NE(leader, 3u);
  }

  // ~40 MiB of log: node 3 runs out of space on the way; the other two do not.
  const std::string payload = "{\"p\":\"" + std::string(4000, 'x') + "\"}";
  std::vector<Uuid> acked;
  for (int k = 0; k < 1000; ++k) {
    std::vector<NewEvent> events;
    for (int i = 0; i < 10; ++i) events.push_back(make_event_with_id(Uuid::v7(), "Fill", payload));
    std::vector<Uuid> ids;
    for (const auto& e : events) ids.push_back(*e.event_id);
    auto r = client->append("fill-" + std::to_string(k % 7), kExpectAny, std::move(events));
    ASSERT_TRUE(r.is_ok()) << "append " << k << ": " << r.status().to_string();
    acked.insert(acked.end(), ids.begin(), ids.end());
  }
  // Node 3 fell behind, and says why: in its status and, through its health checker, its log.
  std::optional<ClusterStatus> full;
  ASSERT_TRUE(wait_until([&] {
    auto st = cluster.status_of(3);
    if (st && !st->log_write_error.empty()) full = *st;
    return full.has_value();
  }, milliseconds(10'000))) << "node 3 never reported a failed log write\n" << cluster.node(3).process->log_tail(3000);
  std::cout << "[ full node ] " << full->log_write_failures << " failed log writes, last: " << full->log_write_error
            << "; last position " << full->last_position << " of " << acked.size() << "\n";
  EXPECT_GT(full->log_write_failures, 0u);
  EXPECT_LT(full->last_position, acked.size());
  EXPECT_TRUE(wait_until([&] {
    return cluster.node(3).process->log_tail(20'000).find("cannot write its Raft log") != std::string::npos;
  }, milliseconds(10'000))) << cluster.node(3).process->log_tail(3000);
  auto metrics = http_get("127.0.0.1", cluster.node(3).process->http_port(), "/metrics");
  ASSERT_TRUE(metrics.is_ok());
  EXPECT_EQ(metrics->body.find(R"(reckon_raft_log_write_failures{store="default"} 0)"), std::string::npos)
      << "the failed log writes are not counted in /metrics";
  // Nodes 1 and 2 hold everything.
  auto status1 = cluster.status_of(1), status2 = cluster.status_of(2);
  ASSERT_TRUE(status1 && status2);
  EXPECT_TRUE(status1->log_write_error.empty() && status2->log_write_error.empty());

  // Space comes back; a restart rejoins node 3 and it catches up.
  ASSERT_TRUE(disk.grow());
  cluster.kill9(3);
  ASSERT_TRUE(cluster.restart(3).is_ok());
  auto common = cluster.wait_for_convergence(milliseconds(30'000));
  ASSERT_TRUE(common.has_value()) << "node 3 did not converge after space came back";
  EXPECT_EQ(common->last_position, acked.size());
  auto events = cluster.read_everything(3);
  ASSERT_TRUE(events.is_ok()) << events.status().to_string();
  ASSERT_EQ(events->size(), acked.size());
  for (size_t i = 0; i < acked.size(); ++i) {
    ASSERT_EQ((*events)[i].event_id, acked[i]) << "position " << i + 1;
    ASSERT_EQ((*events)[i].position, i + 1);
  }
  auto healed = cluster.status_of(3);
  ASSERT_TRUE(healed.is_ok());
  EXPECT_TRUE(healed->log_write_error.empty()) << healed->log_write_error;
}

}  // namespace
}  // namespace reckon::testing
