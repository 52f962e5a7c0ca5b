// Real libuv nodes in one process: libraft's disk log in temp dirs and its TCP transport over
// 127.0.0.1, each node on its own loop thread. These prove what the simulation cannot: the
// loop/thread hand-off, the on-disk log across restarts, the TCP transport, start/stop.
//
// Waiting is always on a condition with a deadline (wait_for), never a fixed sleep.

#include "consensus/raft_node.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "consensus/segment_prefill.h"
#include "support/ports.h"
#include "support/temp_dir.h"
#include "unit/consensus/recording_state_machine.h"

namespace reckon::consensus {
namespace {

using namespace std::chrono_literals;
using testing::ApplyOutcome;
using testing::CommittedHistory;
using testing::PeerDirectory;
using testing::RecordingStateMachine;
using Clock = std::chrono::steady_clock;

constexpr auto kDeadline = 15s;

using reckon::testing::free_port;

template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);  // polling interval, not a settle delay
  }
  return true;
}

Result<ApplyOutcome> submit_and_wait(RaftNode& node, std::string command) {
  auto promise = std::make_shared<std::promise<Result<std::shared_ptr<void>>>>();
  auto future = promise->get_future();
  node.submit(std::move(command),
              [promise](Result<std::shared_ptr<void>> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(kDeadline) != std::future_status::ready) {
    return Status(ErrorCode::kTimeout, "submit did not complete");
  }
  auto r = future.get();
  if (!r.is_ok()) return r.status();
  return *static_cast<ApplyOutcome*>(r.value().get());
}

template <typename Call>
Status wait_status(Call call) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  call([promise](Status s) { promise->set_value(std::move(s)); });
  if (future.wait_for(kDeadline) != std::future_status::ready) {
    return Status(ErrorCode::kTimeout, "call did not complete");
  }
  return future.get();
}

// Counts completions of many in-flight submissions.
class Completions {
 public:
  RaftNode::SubmitDone callback() {
    return [this](Result<std::shared_ptr<void>> r) {
      std::lock_guard<std::mutex> lock(mu_);
      (r.is_ok() ? ok_ : failed_)++;
      if (!r.is_ok() && first_error_.is_ok()) first_error_ = r.status();
      cv_.notify_all();
    };
  }
  bool wait(size_t total, std::chrono::milliseconds timeout = kDeadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return ok_ + failed_ >= total; });
  }
  size_t ok() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ok_;
  }
  size_t failed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }
  Status first_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t ok_ = 0, failed_ = 0;
  Status first_error_;
};

// A group of nodes on 127.0.0.1. Each node's RecordingStateMachine outlives its RaftNode, the
// way a store's RocksDB state outlives a restart of its Raft layer.
class LocalCluster {
 public:
  explicit LocalCluster(size_t voters, size_t extra = 0) {
    for (size_t i = 0; i < voters + extra; i++) {
      Member m;
      m.id = i + 1;
      m.port = free_port();
      m.address = "127.0.0.1:" + std::to_string(m.port);
      m.machine = std::make_unique<RecordingStateMachine>(m.id, &peers_, &history_);
      members_.push_back(std::move(m));
    }
    for (size_t i = 0; i < voters; i++) initial_[members_[i].id] = members_[i].address;
  }

  ~LocalCluster() {
    for (auto& m : members_) m.node.reset();  // stop every node before the machines go
  }

  RaftOptions options(size_t i) const {
    RaftOptions o;
    o.node_id = members_[i].id;
    o.address = members_[i].address;
    o.data_dir = dir_.sub("node" + std::to_string(members_[i].id));
    if (initial_.count(o.node_id) != 0) o.initial_members = initial_;
    o.election_timeout = 250ms;
    o.heartbeat_timeout = 40ms;
    o.connect_retry_delay = 50ms;
    o.snapshot_threshold = snapshot_threshold;
    o.snapshot_trailing = snapshot_trailing;
    o.transfer_leadership_on_stop = transfer_on_stop;
    return o;
  }

  void start(size_t i) {
    auto node = RaftNode::start(options(i), *members_[i].machine);
    ASSERT_TRUE(node.is_ok()) << node.status().to_string();
    members_[i].node = std::move(node).value();
  }
  void start_all(size_t count) {
    for (size_t i = 0; i < count; i++) start(i);
  }
  void stop(size_t i) {
    ASSERT_TRUE(members_[i].node->stop().is_ok());
    members_[i].node.reset();
  }

  RaftNode& node(size_t i) { return *members_[i].node; }
  bool running(size_t i) const { return members_[i].node != nullptr; }
  RecordingStateMachine& machine(size_t i) { return *members_[i].machine; }
  void replace_machine(size_t i) {
    members_[i].machine =
        std::make_unique<RecordingStateMachine>(members_[i].id, &peers_, &history_);
  }
  const std::string& address(size_t i) const { return members_[i].address; }
  int port(size_t i) const { return members_[i].port; }
  uint64_t id(size_t i) const { return members_[i].id; }
  size_t size() const { return members_.size(); }
  CommittedHistory& history() { return history_; }

  // Index of the node every running voter agrees leads (same term, same leader id).
  int stable_leader(std::chrono::milliseconds timeout = kDeadline) {
    int found = -1;
    wait_for(
        [&] {
          found = -1;
          uint64_t term = 0, leader_id = 0;
          for (size_t i = 0; i < members_.size(); i++) {
            if (!running(i) || initial_.count(members_[i].id) == 0) continue;
            NodeStatus s = members_[i].node->status();
            if (s.leader_id == 0) return false;
            if (leader_id != 0 && (s.leader_id != leader_id || s.term != term)) return false;
            leader_id = s.leader_id;
            term = s.term;
            if (s.role == Role::kLeader) found = static_cast<int>(i);
          }
          return found >= 0;
        },
        timeout);
    return found;
  }

  // Waits until every running node's machine has applied at least `index`.
  bool all_applied(uint64_t index) {
    return wait_for([&] {
      for (size_t i = 0; i < members_.size(); i++) {
        if (running(i) && machine(i).applied_index() < index) return false;
      }
      return true;
    });
  }

  unsigned snapshot_threshold = 4096;
  unsigned snapshot_trailing = 16384;
  bool transfer_on_stop = true;

 private:
  struct Member {
    uint64_t id = 0;
    int port = 0;
    std::string address;
    std::unique_ptr<RecordingStateMachine> machine;
    std::unique_ptr<RaftNode> node;
  };
  reckon::testing::TempDir dir_;
  PeerDirectory peers_;
  CommittedHistory history_;
  std::vector<Member> members_;
  std::map<uint64_t, std::string> initial_;
};

void expect_healthy(LocalCluster& c) {
  EXPECT_TRUE(c.history().violations().empty());
  for (size_t i = 0; i < c.size(); i++) {
    auto problems = c.machine(i).problems();
    EXPECT_TRUE(problems.empty()) << "node " << c.id(i) << ": " << problems.front();
  }
}

TEST(RaftNode, SingleVoterGroupCommitsAndApplies) {
  LocalCluster c(1);
  c.start_all(1);
  ASSERT_EQ(c.stable_leader(), 0);

  uint64_t previous = 0;
  for (int k = 0; k < 20; k++) {
    auto r = submit_and_wait(c.node(0), "cmd-" + std::to_string(k));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_GT(r->index, previous);
    EXPECT_EQ(r->position, static_cast<uint64_t>(k + 1));
    previous = r->index;
  }
  auto entries = c.machine(0).entries();
  ASSERT_EQ(entries.size(), 20u);
  for (int k = 0; k < 20; k++) EXPECT_EQ(entries[k].command, "cmd-" + std::to_string(k));
  EXPECT_GT(c.machine(0).commits(), 0u);

  NodeStatus s = c.node(0).status();
  EXPECT_EQ(s.role, Role::kLeader);
  EXPECT_EQ(s.leader_id, 1u);
  EXPECT_EQ(s.leader_address, c.address(0));
  EXPECT_GE(s.commit_index, previous);
  EXPECT_EQ(s.state_machine_applied, previous);
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0], (Member{1, c.address(0), MemberRole::kVoter}));

  auto empty = submit_and_wait(c.node(0), "");
  EXPECT_EQ(empty.code(), ErrorCode::kInvalidArgument);
  auto huge = submit_and_wait(c.node(0), std::string(5 << 20, 'x'));
  EXPECT_EQ(huge.code(), ErrorCode::kLimitExceeded);
  EXPECT_TRUE(wait_status([&](RaftNode::Done d) { c.node(0).barrier(std::move(d)); }).is_ok());
  expect_healthy(c);
}

// libraft prepares its log segments through posix_fallocate(); segment_prefill makes them
// zero-filled in a node's directory, and the log written into them reads back after a restart.
TEST(RaftNode, LogSegmentsArePreparedZeroFilledAndHoldTheLogAcrossARestart) {
  const uint64_t before = segments_prefilled();
  LocalCluster c(1);
  c.start_all(1);
  ASSERT_EQ(c.stable_leader(), 0);
  for (int k = 0; k < 50; k++) {
    auto r = submit_and_wait(c.node(0), std::string(3000, static_cast<char>('a' + k % 26)));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  EXPECT_GT(segments_prefilled(), before);

  c.stop(0);
  c.replace_machine(0);  // a state machine without state: the whole log replays from disk
  c.start(0);
  ASSERT_EQ(c.stable_leader(), 0);
  ASSERT_TRUE(wait_status([&](RaftNode::Done d) { c.node(0).barrier(std::move(d)); }).is_ok());
  auto entries = c.machine(0).entries();
  ASSERT_EQ(entries.size(), 50u);
  for (int k = 0; k < 50; k++) {
    EXPECT_EQ(entries[k].command, std::string(3000, static_cast<char>('a' + k % 26)));
  }
}

TEST(RaftNode, ThreeNodesElectOneLeaderAndReplicateEveryCommand) {
  LocalCluster c(3);
  c.start_all(3);

  std::mutex mu;
  std::vector<std::vector<LeadershipEvent>> seen(3);
  std::vector<uint64_t> subscriptions;
  for (size_t i = 0; i < 3; i++) {
    subscriptions.push_back(c.node(i).subscribe([&, i](const LeadershipEvent& e) {
      std::lock_guard<std::mutex> lock(mu);
      seen[i].push_back(e);
    }));
  }

  int leader = c.stable_leader();
  ASSERT_GE(leader, 0);

  Completions done;
  const int kCommands = 200;
  for (int k = 0; k < kCommands; k++) {
    // Odd sizes: the Raft encoding pads entries to 8 bytes; lengths must survive.
    c.node(leader).submit("replicated-" + std::to_string(k) + std::string(k % 13, '.'),
                          done.callback());
  }
  ASSERT_TRUE(done.wait(kCommands));
  ASSERT_EQ(done.ok(), static_cast<size_t>(kCommands)) << done.first_error().to_string();
  const uint64_t last = c.machine(leader).applied_index();
  ASSERT_TRUE(c.all_applied(last));
  EXPECT_EQ(c.machine(0).entries(), c.machine(1).entries());
  EXPECT_EQ(c.machine(0).entries(), c.machine(2).entries());
  EXPECT_EQ(c.machine(0).size(), static_cast<size_t>(kCommands));

  // A follower refuses, naming the leader by id and Raft address.
  size_t follower = (static_cast<size_t>(leader) + 1) % 3;
  auto refused = submit_and_wait(c.node(follower), "to-a-follower");
  ASSERT_EQ(refused.code(), ErrorCode::kNotLeader);
  ASSERT_NE(refused.status().not_leader_info(), nullptr);
  EXPECT_EQ(refused.status().not_leader_info()->leader_id, c.id(leader));
  EXPECT_EQ(refused.status().not_leader_info()->address, c.address(leader));
  EXPECT_EQ(wait_status([&](RaftNode::Done d) { c.node(follower).barrier(std::move(d)); }).code(),
            ErrorCode::kNotLeader);

  // Every subscriber saw the same leader; the leader saw itself lead.
  {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < 3; i++) {
      ASSERT_FALSE(seen[i].empty());
      EXPECT_EQ(seen[i].back().leader_id, c.id(leader)) << "node " << i + 1;
      EXPECT_EQ(seen[i].back().leader_address, c.address(leader));
    }
    EXPECT_EQ(seen[leader].back().role, Role::kLeader);
    EXPECT_EQ(seen[follower].back().role, Role::kFollower);
  }
  for (size_t i = 0; i < 3; i++) c.node(i).unsubscribe(subscriptions[i]);

  NodeStatus s = c.node(leader).status();
  ASSERT_EQ(s.members.size(), 3u);
  for (auto& m : s.members) EXPECT_EQ(m.role, MemberRole::kVoter);
  expect_healthy(c);
}

// The process's connected TCP sockets with an end on one of `ports`, and whether each has
// TCP_NODELAY.
std::vector<bool> nodelay_of_connections_on(const std::set<int>& ports) {
  std::vector<bool> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(entry.path().filename().c_str());
    sockaddr_in local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (local.sin_family != AF_INET) continue;
    if (ports.count(ntohs(local.sin_port)) == 0 && ports.count(ntohs(peer.sin_port)) == 0) continue;
    int on = 0;
    socklen_t len = sizeof on;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) != 0) continue;
    out.push_back(on != 0);
  }
  return out;
}

// libraft's TCP transport leaves Nagle's algorithm on: each small AppendEntries sent while the
// previous one is unacknowledged then waits for the peer's delayed ACK (40 ms). Every Raft
// connection, accepted or connected, must have TCP_NODELAY.
TEST(RaftNode, PeerConnectionsHaveNagleOff) {
  LocalCluster c(3);
  c.start_all(3);
  const int leader = c.stable_leader();
  ASSERT_GE(leader, 0);
  for (int k = 0; k < 10; k++)
    ASSERT_TRUE(submit_and_wait(c.node(leader), "n" + std::to_string(k)).is_ok());
  const std::set<int> ports{c.port(0), c.port(1), c.port(2)};
  const auto flags = nodelay_of_connections_on(ports);
  ASSERT_GE(flags.size(), 4u);  // each leader-follower pair, both ends, at least
  for (bool on : flags) EXPECT_TRUE(on);
  expect_healthy(c);
}

TEST(RaftNode, CommandsQueuedInOneLoopTurnShareARaftRequestAndEachGetsItsOwnResult) {
  LocalCluster c(3);
  c.start_all(3);
  const int leader = c.stable_leader();
  ASSERT_GE(leader, 0);
  RaftNode& node = c.node(leader);
  const NodeStatus before = node.status();

  std::mutex mu;
  std::map<std::string, uint64_t> index_of;  // command -> the index its result names
  Completions done;
  auto record = [&](const std::string& command) {
    return [&, command, count = done.callback()](Result<std::shared_ptr<void>> r) {
      if (r.is_ok()) {
        std::lock_guard<std::mutex> lock(mu);
        index_of[command] = static_cast<ApplyOutcome*>(r.value().get())->index;
      }
      count(std::move(r));
    };
  };
  // Submitted from a completion, which runs on the loop thread, the burst waits in the queue
  // until the loop drains it: all in one turn.
  const size_t kBurst = 64;
  node.submit("opener", [&, count = record("opener")](Result<std::shared_ptr<void>> r) {
    for (size_t k = 0; k < kBurst; k++) {
      const std::string command = "burst-" + std::to_string(k);
      node.submit(command, record(command));
    }
    count(std::move(r));
  });
  ASSERT_TRUE(done.wait(kBurst + 1));
  ASSERT_EQ(done.ok(), kBurst + 1) << done.first_error().to_string();

  const NodeStatus after = node.status();
  EXPECT_EQ(after.commands_proposed - before.commands_proposed, kBurst + 1);
  EXPECT_EQ(after.apply_requests - before.apply_requests, 2u);  // the opener, then the burst
  // Every result names the entry that holds its own command.
  std::map<uint64_t, std::string> command_at;
  for (const auto& e : c.machine(leader).entries()) command_at[e.index] = e.command;
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(index_of.size(), kBurst + 1);
  for (const auto& [command, index] : index_of) EXPECT_EQ(command_at[index], command);
  ASSERT_TRUE(c.all_applied(c.machine(leader).applied_index()));
  EXPECT_EQ(c.machine(0).entries(), c.machine(1).entries());
  EXPECT_EQ(c.machine(0).entries(), c.machine(2).entries());
  expect_healthy(c);
}

TEST(RaftNode, StoppedLeaderIsReplacedAndRestartedNodeCatchesUpWithoutReapplying) {
  LocalCluster c(3);
  c.transfer_on_stop = false;  // a real election, as after a crash
  c.start_all(3);
  int leader = c.stable_leader();
  ASSERT_GE(leader, 0);
  for (int k = 0; k < 30; k++)
    ASSERT_TRUE(submit_and_wait(c.node(leader), "a" + std::to_string(k)).is_ok());
  ASSERT_TRUE(c.all_applied(c.machine(leader).applied_index()));

  const auto stopped_at = Clock::now();
  c.stop(leader);
  int next = c.stable_leader();
  ASSERT_GE(next, 0);
  ASSERT_NE(next, leader);
  std::printf("failover after stopping the leader: new leader in %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopped_at)
                      .count()));
  for (int k = 0; k < 30; k++)
    ASSERT_TRUE(submit_and_wait(c.node(next), "b" + std::to_string(k)).is_ok());

  // Restart the old leader on its data dir, with the state machine state it persisted.
  const uint64_t calls_before = c.machine(leader).apply_calls();
  const size_t size_before = c.machine(leader).size();
  c.start(leader);
  ASSERT_TRUE(c.all_applied(c.machine(next).applied_index()));
  EXPECT_EQ(c.machine(leader).entries(), c.machine(next).entries());
  // Only the 30 new commands were applied: the 30 old ones, replayed from the Raft log, were
  // skipped because the state machine had them.
  EXPECT_EQ(c.machine(leader).apply_calls() - calls_before, c.machine(leader).size() - size_before);
  EXPECT_EQ(c.machine(leader).size(), 60u);
  expect_healthy(c);
}

TEST(RaftNode, RestartReplaysTheLogButSkipsWhatTheStateMachineHolds) {
  LocalCluster c(1);
  c.start_all(1);
  ASSERT_EQ(c.stable_leader(), 0);
  for (int k = 0; k < 25; k++)
    ASSERT_TRUE(submit_and_wait(c.node(0), "r" + std::to_string(k)).is_ok());
  const uint64_t applied = c.machine(0).applied_index();
  c.stop(0);

  // Same persisted state machine: the log replays, nothing is applied twice.
  c.start(0);
  ASSERT_EQ(c.stable_leader(), 0);
  ASSERT_TRUE(wait_status([&](RaftNode::Done d) { c.node(0).barrier(std::move(d)); }).is_ok());
  EXPECT_EQ(c.machine(0).apply_calls(), 25u);
  EXPECT_GE(c.node(0).status().last_applied, applied);
  auto r = submit_and_wait(c.node(0), "after-restart");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->position, 26u);
  c.stop(0);

  // A state machine that lost its state gets every command again from the log: the skipping
  // above is what kept the first one from double-applying.
  c.replace_machine(0);
  c.start(0);
  ASSERT_EQ(c.stable_leader(), 0);
  ASSERT_TRUE(wait_status([&](RaftNode::Done d) { c.node(0).barrier(std::move(d)); }).is_ok());
  EXPECT_EQ(c.machine(0).size(), 26u);
  expect_healthy(c);
}

TEST(RaftNode, RestartFromALocalSnapshotVerifiesTheStateMachineAndSkipsTheTrailingLog) {
  LocalCluster c(1);
  c.snapshot_threshold = 16;
  c.snapshot_trailing = 4;
  c.start_all(1);
  ASSERT_EQ(c.stable_leader(), 0);
  for (int k = 0; k < 40; k++) {
    ASSERT_TRUE(submit_and_wait(c.node(0), "l" + std::to_string(k)).is_ok());
  }
  EXPECT_GT(c.machine(0).snapshots(), 0u);
  c.stop(0);

  // raft_start() loads the snapshot and hands it to restore_state(): the state machine is past
  // it, checks the digest, and the log entries behind it replay as skips.
  const uint64_t restores = c.machine(0).restores();
  c.start(0);
  ASSERT_EQ(c.stable_leader(), 0);
  ASSERT_TRUE(wait_status([&](RaftNode::Done d) { c.node(0).barrier(std::move(d)); }).is_ok());
  EXPECT_EQ(c.machine(0).restores(), restores + 1);
  EXPECT_EQ(c.machine(0).apply_calls(), 40u);
  auto r = submit_and_wait(c.node(0), "after-snapshot-restart");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->position, 41u);
  expect_healthy(c);
}

// Making a snapshot durable (a RocksDB WAL sync in reckond: up to tens of milliseconds) runs on
// libuv's pool, not the Raft loop: commands keep committing while it is held, and libraft takes
// the snapshot (letting its log go) only after it returns.
TEST(RaftNode, SnapshotsAreMadeDurableOffTheLoopWhileCommandsKeepCommitting) {
  LocalCluster c(1);
  c.snapshot_threshold = 16;
  c.snapshot_trailing = 4;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, released = false;
  std::thread::id durable_thread;
  c.machine(0).on_make_snapshot_durable = [&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!entered) {
      entered = true;
      durable_thread = std::this_thread::get_id();
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return released; });
    }
    return Status::ok();
  };
  c.start_all(1);
  ASSERT_EQ(c.stable_leader(), 0);
  int k = 0;
  for (; k < 40; k++) {
    ASSERT_TRUE(submit_and_wait(c.node(0), "s" + std::to_string(k)).is_ok());
    std::lock_guard<std::mutex> lock(mu);
    if (entered) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_TRUE(entered) << "no snapshot was taken";
  }
  // The first snapshot is held on the pool: the loop still commits and applies.
  for (int more = 0; more < 10; more++) {
    auto r = submit_and_wait(c.node(0), "during-" + std::to_string(more));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_FALSE(released);
    EXPECT_NE(durable_thread, c.machine(0).snapshot_thread()) << "made durable on the loop thread";
    released = true;
    cv.notify_all();
  }
  for (int more = 0; more < 20; more++) {
    ASSERT_TRUE(submit_and_wait(c.node(0), "after-" + std::to_string(more)).is_ok());
  }
  EXPECT_GT(c.machine(0).snapshots(), 1u);
  c.stop(0);
  // The snapshots taken that way restart like any other.
  c.start(0);
  ASSERT_EQ(c.stable_leader(), 0);
  ASSERT_TRUE(wait_status([&](RaftNode::Done d) { c.node(0).barrier(std::move(d)); }).is_ok());
  EXPECT_EQ(c.machine(0).restores(), 1u);
  expect_healthy(c);
}

TEST(RaftNode, LaggingNodeCatchesUpThroughALogicalSnapshot) {
  LocalCluster c(3);
  c.snapshot_threshold = 32;
  c.snapshot_trailing = 8;
  c.start_all(3);
  int leader = c.stable_leader();
  ASSERT_GE(leader, 0);
  size_t lagging = (static_cast<size_t>(leader) + 1) % 3;
  c.stop(lagging);

  // Bursts with pauses: libraft takes a snapshot only when it applies an entry while no other
  // snapshot is being written, so a single burst leaves the log long; several leave it
  // truncated far past the stopped node's last entry.
  Completions done;
  for (int round = 0; round < 10; round++) {
    for (int k = 0; k < 40; k++) {
      c.node(leader).submit("s" + std::to_string(round) + "-" + std::to_string(k), done.callback());
    }
    ASSERT_TRUE(done.wait(40 * (round + 1)));
    ASSERT_TRUE(
        wait_status([&](RaftNode::Done d) { c.node(leader).barrier(std::move(d)); }).is_ok());
  }
  ASSERT_EQ(done.ok(), 400u) << done.first_error().to_string();
  EXPECT_GT(c.machine(leader).snapshots(), 3u);

  c.start(lagging);  // its log ends far behind the leader's snapshot: InstallSnapshot
  ASSERT_TRUE(c.all_applied(c.machine(leader).applied_index()));
  EXPECT_GT(c.machine(lagging).fetched(), 0u);
  EXPECT_EQ(c.machine(lagging).entries(), c.machine(leader).entries());
  expect_healthy(c);
}

TEST(RaftNode, NewMemberJoinsAsStandbyIsPromotedAndRemoved) {
  LocalCluster c(1, 1);
  c.start_all(2);  // node 2 has no initial configuration: it waits to be added
  ASSERT_EQ(c.stable_leader(), 0);
  for (int k = 0; k < 10; k++)
    ASSERT_TRUE(submit_and_wait(c.node(0), "m" + std::to_string(k)).is_ok());

  RaftNode& leader = c.node(0);
  ASSERT_TRUE(wait_status([&](RaftNode::Done d) {
                leader.add_member(2, c.address(1), std::move(d));
              }).is_ok());
  ASSERT_TRUE(wait_status([&](RaftNode::Done d) {
                leader.assign_role(2, MemberRole::kStandby, std::move(d));
              }).is_ok());
  ASSERT_TRUE(c.all_applied(c.machine(0).applied_index()));
  EXPECT_EQ(c.machine(1).entries(), c.machine(0).entries());

  ASSERT_TRUE(wait_status([&](RaftNode::Done d) {
                leader.assign_role(2, MemberRole::kVoter, std::move(d));
              }).is_ok());
  NodeStatus s = leader.status();
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[1], (Member{2, c.address(1), MemberRole::kVoter}));
  ASSERT_TRUE(submit_and_wait(leader, "with-two-voters").is_ok());
  ASSERT_TRUE(c.all_applied(c.machine(0).applied_index()));

  EXPECT_EQ(wait_status([&](RaftNode::Done d) {
              leader.add_member(2, c.address(1), std::move(d));
            }).code(),
            ErrorCode::kAlreadyExists);
  ASSERT_TRUE(
      wait_status([&](RaftNode::Done d) { leader.remove_member(2, std::move(d)); }).is_ok());
  EXPECT_EQ(leader.status().members.size(), 1u);
  ASSERT_TRUE(submit_and_wait(leader, "alone-again").is_ok());
  expect_healthy(c);
}

TEST(RaftNode, LeadershipTransfersToTheChosenVoterAndOnStop) {
  LocalCluster c(3);
  c.start_all(3);
  int leader = c.stable_leader();
  ASSERT_GE(leader, 0);
  size_t target = (static_cast<size_t>(leader) + 2) % 3;
  ASSERT_TRUE(wait_status([&](RaftNode::Done d) {
                c.node(leader).transfer_leadership(c.id(target), std::move(d));
              }).is_ok());
  EXPECT_EQ(c.stable_leader(), static_cast<int>(target));
  ASSERT_TRUE(submit_and_wait(c.node(target), "after-transfer").is_ok());

  // stop() on a leader hands leadership over before closing.
  const auto stopping = Clock::now();
  c.stop(target);
  int next = c.stable_leader();
  ASSERT_GE(next, 0);
  std::printf(
      "graceful leader stop: new leader in %lld ms\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopping).count()));
  ASSERT_TRUE(submit_and_wait(c.node(next), "after-stop").is_ok());
  expect_healthy(c);
}

TEST(RaftNode, StopCompletesEveryPendingCallbackExactlyOnce) {
  LocalCluster c(1);
  c.start_all(1);
  ASSERT_EQ(c.stable_leader(), 0);
  Completions done;
  const size_t kCommands = 5000;
  for (size_t k = 0; k < kCommands; k++) c.node(0).submit("p" + std::to_string(k), done.callback());
  c.stop(0);
  ASSERT_TRUE(done.wait(kCommands, 1ms));  // all completed by the time stop() returned
  EXPECT_EQ(done.ok() + done.failed(), kCommands);
  EXPECT_EQ(done.ok(), c.machine(0).size());  // acknowledged = applied

  // Calls on a stopped node complete at once.
  // (The node object is gone; a fresh stopped node is exercised through stop() twice.)
  c.start(0);
  EXPECT_TRUE(c.node(0).stop().is_ok());
  EXPECT_TRUE(c.node(0).stop().is_ok());
  auto late = submit_and_wait(c.node(0), "late");
  EXPECT_EQ(late.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(c.node(0).status().role, Role::kUnavailable);
}

// A state machine that writes in the background (like the store's, which hands each turn's
// RocksDB write to a pool thread): no completion may reach its caller before the state it
// follows is visible, or a client could read older state than its acknowledged write.
TEST(RaftNode, PipelinedWritesHoldCompletionsUntilTheirStateIsVisible) {
  LocalCluster c(1);
  c.machine(0).pipeline_writes(2ms);
  c.start_all(1);
  ASSERT_EQ(c.stable_leader(), 0);

  RecordingStateMachine& machine = c.machine(0);
  std::atomic<size_t> early{0};
  Completions done;
  const size_t kCommands = 300;
  const size_t kWave = 30;
  for (size_t k = 0; k < kCommands; k++) {
    // Waves, so commands keep arriving while earlier turns are being written: before a wave
    // starts, the one two waves back has completed (with group commit a whole burst of
    // submissions could otherwise land in one turn on a busy machine).
    if (k % kWave == 0 && k >= 2 * kWave) {
      ASSERT_TRUE(done.wait(k - kWave));
    }
    auto record = done.callback();
    c.node(0).submit("w" + std::to_string(k), [&machine, &early, record](Result<std::shared_ptr<void>> r) {
      if (r.is_ok() && machine.visible_index() < static_cast<ApplyOutcome*>(r->get())->index) early++;
      record(std::move(r));
    });
  }
  ASSERT_TRUE(done.wait(kCommands));
  EXPECT_EQ(done.ok(), kCommands) << done.first_error().to_string();
  EXPECT_EQ(early.load(), 0u);
  // Batched: far fewer background writes than commands, and more than one.
  EXPECT_GT(machine.background_writes(), 1u);
  EXPECT_LT(machine.background_writes(), kCommands);

  // A barrier (what require-leader reads wait for) also completes only once everything before
  // it is visible.
  c.node(0).submit("last", [](Result<std::shared_ptr<void>>) {});
  EXPECT_TRUE(wait_status([&](RaftNode::Done d) {
                c.node(0).barrier([&machine, d = std::move(d)](Status st) {
                  if (machine.visible_index() < machine.applied_index()) st = Status::internal("barrier early");
                  d(st);
                });
              }).is_ok());

  // Stopping with writes in flight and completions held back completes every one of them,
  // after the state machine drained.
  Completions stopped;
  for (size_t k = 0; k < 2000; k++) c.node(0).submit("s" + std::to_string(k), stopped.callback());
  c.stop(0);
  ASSERT_TRUE(stopped.wait(2000, 1ms));
  EXPECT_EQ(machine.visible_index(), machine.applied_index());
  EXPECT_EQ(done.ok() + stopped.ok() + 1, machine.size());  // acknowledged = applied
  expect_healthy(c);
}

TEST(RaftNode, StartRefusesBadOptionsAndReleasesEverythingOnFailure) {
  RecordingStateMachine machine(1);
  reckon::testing::TempDir dir;
  RaftOptions o;
  o.node_id = 1;
  o.address = "127.0.0.1:" + std::to_string(free_port());
  o.data_dir = dir.sub("raft");
  o.initial_members = {{2, "127.0.0.1:1"}};
  EXPECT_EQ(RaftNode::start(o, machine).code(), ErrorCode::kInvalidArgument);
  o.initial_members = {{1, "127.0.0.1:2"}};
  EXPECT_EQ(RaftNode::start(o, machine).code(), ErrorCode::kInvalidArgument);
  o.node_id = 0;
  EXPECT_EQ(RaftNode::start(o, machine).code(), ErrorCode::kInvalidArgument);

  // The address is taken: raft_start fails, and start() cleans up after itself.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  o.node_id = 1;
  o.address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  o.initial_members = {{1, o.address}};
  auto busy = RaftNode::start(o, machine);
  EXPECT_FALSE(busy.is_ok());
  std::printf("start on a busy port: %s\n", busy.status().to_string().c_str());
  ::close(fd);
}

TEST(RaftNode, ThroughputProbe) {
  auto probe = [](LocalCluster& c, size_t voters, size_t total, size_t window) {
    c.start_all(voters);
    int leader = c.stable_leader();
    EXPECT_GE(leader, 0);
    if (leader < 0) return;
    RaftNode& node = c.node(leader);
    const std::string payload(100, 'p');
    // Sequential: one command in flight, so every command pays a full commit (fsync).
    const size_t sequential = 100;
    auto t0 = Clock::now();
    for (size_t k = 0; k < sequential; k++) ASSERT_TRUE(submit_and_wait(node, payload).is_ok());
    double seq_secs = std::chrono::duration<double>(Clock::now() - t0).count();

    // Pipelined: up to `window` commands in flight.
    std::mutex mu;
    std::condition_variable cv;
    size_t in_flight = 0, completed = 0, failed = 0;
    t0 = Clock::now();
    for (size_t k = 0; k < total; k++) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return in_flight < window; });
        in_flight++;
      }
      node.submit(payload, [&](Result<std::shared_ptr<void>> r) {
        std::lock_guard<std::mutex> lock(mu);
        in_flight--;
        completed++;
        failed += !r.is_ok();
        cv.notify_all();
      });
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, 60s, [&] { return completed == total; });
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_EQ(failed, 0u);
    std::printf(
        "throughput, %zu voter(s), 100-byte commands: sequential %.0f/s (%.2f ms each); "
        "%zu in flight %.0f/s (%zu commands in %.2fs)\n",
        voters, sequential / seq_secs, 1000 * seq_secs / sequential, window, total / secs, total,
        secs);
  };
  {
    LocalCluster c(1);
    probe(c, 1, 50000, 1024);
  }
  {
    LocalCluster c(3);
    probe(c, 3, 30000, 1024);
  }
}

}  // namespace
}  // namespace reckon::consensus
