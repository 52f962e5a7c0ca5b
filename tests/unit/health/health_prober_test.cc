#include "health/health_prober.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "unit/health/cluster_fixture.h"

namespace reckon::health {
namespace {

using namespace std::chrono_literals;
using namespace reckon::health::testing;
using discovery::Peer;

// A cluster whose nodes' answers the test changes while the prober runs.
class FakeCluster {
 public:
  void set(uint64_t id, Result<NodeReport> answer) {
    std::lock_guard lock(mu_);
    answers_.insert_or_assign(id, std::move(answer));
  }
  Result<NodeReport> answer(uint64_t id) {
    std::lock_guard lock(mu_);
    ++fetches_[id];
    auto it = answers_.find(id);
    if (it == answers_.end()) return Status::unavailable("no such node");
    return it->second;
  }
  // Peers are asked by address, as a real RPC would: "10.0.0.<id>:7001".
  Result<NodeReport> answer_at(const std::string& address) {
    return answer(std::stoull(address.substr(7, address.find(':') - 7)));
  }
  int fetches(uint64_t id) {
    std::lock_guard lock(mu_);
    return fetches_[id];
  }

 private:
  std::mutex mu_;
  std::map<uint64_t, Result<NodeReport>> answers_;
  std::map<uint64_t, int> fetches_;
};

// Records the findings callback; waits on it with a deadline.
class FindingsLog {
 public:
  HealthProber::OnFindingsChange callback() {
    return [this](const HealthSnapshot& s) {
      std::lock_guard lock(mu_);
      history_.push_back(s.findings);
      cv_.notify_all();
    };
  }
  // Waits until the latest findings satisfy `pred`.
  template <typename Pred>
  bool wait_until(Pred pred, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return !history_.empty() && pred(history_.back()); });
  }
  size_t changes() {
    std::lock_guard lock(mu_);
    return history_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<Finding>> history_;
};

bool has(const std::vector<Finding>& findings, FindingCode code) {
  for (const Finding& f : findings) {
    if (f.code == code) return true;
  }
  return false;
}

ProberOptions options(uint64_t local_id, std::chrono::milliseconds interval = 10ms) {
  ProberOptions o;
  o.local_node_id = local_id;
  o.interval = interval;
  return o;
}

std::vector<Peer> three_peers() {
  return {{1, "10.0.0.1:7001", ""}, {2, "10.0.0.2:7001", ""}, {3, "10.0.0.3:7001", ""}};
}

struct Harness {
  FakeCluster cluster;
  FindingsLog log;
  std::unique_ptr<HealthProber> prober;

  void start(std::chrono::milliseconds interval = 10ms,
             std::function<std::vector<Peer>()> peers = three_peers) {
    auto p = HealthProber::start(
        options(1, interval), [this] { return cluster.answer(1); }, std::move(peers),
        [this](const Peer& peer, std::chrono::milliseconds) {
          return cluster.answer_at(peer.raft_address);
        },
        log.callback());
    ASSERT_TRUE(p.is_ok()) << p.status().to_string();
    prober = std::move(p).value();
  }
};

TEST(HealthProber, RunsOnItsOwnAndFollowsTheClusterThroughSplitBrainAndRecovery) {
  Harness h;
  h.cluster.set(1, leader(1, 5));
  h.cluster.set(2, follower(2, 5, 1));
  h.cluster.set(3, follower(3, 5, 1));
  h.start();
  ASSERT_TRUE(h.log.wait_until([](const auto& f) { return f.empty(); }));
  // Rounds keep coming without anyone asking.
  ASSERT_TRUE(h.prober->wait_for_round(5, 5s));

  h.cluster.set(3, leader(3, 5));
  ASSERT_TRUE(h.log.wait_until([](const auto& f) { return has(f, FindingCode::kSplitBrain); }));

  h.cluster.set(3, follower(3, 6, 0, 100, 100, {1, 2, 3, 4}));
  h.cluster.set(2, follower(2, 6, 0));
  ASSERT_TRUE(h.log.wait_until([](const auto& f) {
    return has(f, FindingCode::kMembershipDivergent) && !has(f, FindingCode::kSplitBrain);
  }));

  h.cluster.set(1, leader(1, 7, 9000));
  h.cluster.set(2, follower(2, 7, 1, 9000));
  h.cluster.set(3, follower(3, 7, 1, 9000, 10));
  ASSERT_TRUE(h.log.wait_until([](const auto& f) {
    return f.size() == 1 && f[0].code == FindingCode::kNodeLagging &&
           f[0].node_ids == std::vector<uint64_t>{3};
  }));

  h.cluster.set(3, follower(3, 7, 1, 9000, 9000));
  ASSERT_TRUE(h.log.wait_until([](const auto& f) { return f.empty(); }));
}

TEST(HealthProber, CallbackOnlyWhenFindingsChange) {
  Harness h;
  h.cluster.set(1, leader(1, 5));
  h.cluster.set(2, follower(2, 5, 1));
  h.cluster.set(3, follower(3, 5, 1));
  h.start();
  ASSERT_TRUE(h.prober->wait_for_round(10, 5s));
  EXPECT_EQ(h.log.changes(), 1u);  // the first round, then nothing changed
}

TEST(HealthProber, TracksReachabilityLatencyAndFailureStreaks) {
  Harness h;
  h.cluster.set(1, leader(1, 5));
  h.cluster.set(2, follower(2, 5, 1));
  h.cluster.set(3, Status::unavailable("deadline exceeded"));
  h.start();
  ASSERT_TRUE(h.prober->wait_for_round(3, 5s));
  HealthSnapshot s = h.prober->snapshot();
  ASSERT_EQ(s.nodes.size(), 3u);
  EXPECT_TRUE(s.nodes[0].local);
  EXPECT_EQ(s.nodes[0].node_id, 1u);
  EXPECT_TRUE(s.nodes[1].reachable);
  EXPECT_GT(s.nodes[1].last_success_ms, 0);
  EXPECT_FALSE(s.nodes[2].reachable);
  EXPECT_GE(s.nodes[2].consecutive_failures, 3u);
  EXPECT_EQ(s.nodes[2].last_success_ms, 0);
  EXPECT_NE(s.nodes[2].error.find("deadline exceeded"), std::string::npos);
  ASSERT_EQ(s.findings.size(), 1u);
  EXPECT_EQ(s.findings[0].code, FindingCode::kNodeUnreachable);
  // The local node is asked through the local function, never fetched as a peer.
  EXPECT_EQ(h.cluster.fetches(1), h.cluster.fetches(2));

  h.cluster.set(3, follower(3, 5, 1));
  ASSERT_TRUE(h.log.wait_until([](const auto& f) { return f.empty(); }));
  s = h.prober->snapshot();
  EXPECT_EQ(s.nodes[2].consecutive_failures, 0u);
}

TEST(HealthProber, LocalFailureIsReportedAsUnreachable) {
  Harness h;
  h.cluster.set(2, follower(2, 5, 3));
  h.cluster.set(3, leader(3, 5));
  h.start();
  ASSERT_TRUE(
      h.log.wait_until([](const auto& f) { return has(f, FindingCode::kNodeUnreachable); }));
  EXPECT_FALSE(h.prober->snapshot().nodes[0].reachable);
}

TEST(HealthProber, DnsPeerLearnsItsIdFromItsReportAndIsNotCountedTwice) {
  Harness h;
  h.cluster.set(1, leader(1, 5));
  h.cluster.set(2, follower(2, 5, 1));
  h.cluster.set(3, follower(3, 5, 1));
  h.start(10ms, [] {
    // Node 2 known by announcement and again as an anonymous DNS address; node 1 (us) by DNS.
    return std::vector<Peer>{{2, "10.0.0.2:7001", ""},
                             {0, "10.0.0.2:7001", ""},
                             {0, "10.0.0.1:7001", ""},
                             {3, "10.0.0.3:7001", ""}};
  });
  ASSERT_TRUE(h.prober->wait_for_round(2, 5s));
  HealthSnapshot s = h.prober->snapshot();
  ASSERT_EQ(s.nodes.size(), 3u);
  EXPECT_EQ(s.nodes[1].node_id, 2u);
  EXPECT_EQ(s.nodes[2].node_id, 3u);
  EXPECT_TRUE(s.findings.empty());
}

TEST(HealthProber, ADuplicateThatAnswersWinsOverOneThatFails) {
  Harness h;
  h.cluster.set(1, leader(1, 5));
  h.cluster.set(2, follower(2, 5, 1));
  h.cluster.set(3, follower(3, 5, 1));
  h.start(10ms, [] {
    // Node 2's announced address is dead (nothing at .8); DNS has the address that works.
    return std::vector<Peer>{
        {2, "10.0.0.8:7001", ""}, {3, "10.0.0.3:7001", ""}, {0, "10.0.0.2:7001", ""}};
  });
  ASSERT_TRUE(h.prober->wait_for_round(2, 5s));
  HealthSnapshot s = h.prober->snapshot();
  ASSERT_EQ(s.nodes.size(), 3u);
  EXPECT_EQ(s.nodes[1].node_id, 2u);
  EXPECT_TRUE(s.nodes[1].reachable);
  EXPECT_EQ(s.nodes[1].address, "10.0.0.2:7001");
  EXPECT_TRUE(s.findings.empty());
}

TEST(HealthProber, FetchesPeersInParallel) {
  // Each fetch waits for the other to start: a sequential prober would time both out.
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  auto fetch = [&](const Peer& peer, std::chrono::milliseconds timeout) -> Result<NodeReport> {
    EXPECT_EQ(timeout, 500ms);
    std::unique_lock lock(mu);
    ++started;
    cv.notify_all();
    if (!cv.wait_for(lock, 5s, [&] { return started >= 2; })) {
      return Status::unavailable("peer fetched alone");
    }
    return follower(peer.node_id, 5, 1);
  };
  auto p = HealthProber::start(
      options(1, 1h), [] { return Result<NodeReport>(leader(1, 5)); }, three_peers, fetch);
  ASSERT_TRUE(p.is_ok());
  ASSERT_TRUE((*p)->wait_for_round(1, 10s));
  HealthSnapshot s = (*p)->snapshot();
  EXPECT_TRUE(s.nodes[1].reachable);
  EXPECT_TRUE(s.nodes[2].reachable);
}

TEST(HealthProber, ProbeNowRunsARoundBeforeTheInterval) {
  Harness h;
  h.cluster.set(1, leader(1, 5));
  h.start(1h);
  ASSERT_TRUE(h.prober->wait_for_round(1, 5s));
  EXPECT_FALSE(h.prober->wait_for_round(2, 20ms));
  h.prober->probe_now();
  EXPECT_TRUE(h.prober->wait_for_round(2, 5s));
}

TEST(HealthProber, StopsPromptlyAndRejectsBadOptions) {
  Harness h;
  h.cluster.set(1, leader(1, 5));
  h.start(1h);
  ASSERT_TRUE(h.prober->wait_for_round(1, 5s));
  auto start = std::chrono::steady_clock::now();
  h.prober->stop();
  h.prober->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_FALSE(h.prober->wait_for_round(2, 1s));

  auto local = [] { return Result<NodeReport>(leader(1, 5)); };
  auto peers = [] { return std::vector<Peer>{}; };
  auto fetch = [](const Peer&, std::chrono::milliseconds) {
    return Result<NodeReport>(Status::unavailable("x"));
  };
  EXPECT_EQ(HealthProber::start(options(0), local, peers, fetch).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(HealthProber::start(options(1, 0ms), local, peers, fetch).code(),
            ErrorCode::kInvalidArgument);
  ProberOptions no_timeout = options(1);
  no_timeout.fetch_timeout = 0ms;
  EXPECT_EQ(HealthProber::start(no_timeout, local, peers, fetch).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(HealthProber::start(options(1), local, peers, nullptr).code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace reckon::health
