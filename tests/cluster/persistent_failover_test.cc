// Persistent subscriptions across leader changes, with real reckond processes: a consumer
// keeps consuming through a kill -9 of the leader and through a leadership transfer (it
// re-attaches to the new leader), nothing is lost, first deliveries keep per-stream order, the
// replicated checkpoint never goes backwards on any node, and exactly the leader runs the
// emitter pools (is_active).
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cluster/cluster_test_util.h"

namespace reckon::testing {
namespace {

using namespace std::chrono_literals;

struct Delivery {
  Uuid event_id;
  std::string stream_id;
  int64_t version = -1;
  Position position = 0;
  std::string endpoint;  // the consumer client's endpoint when it arrived
};

// A consumer (auto-ack) on its own thread over every endpoint of the cluster.
class Consumer {
 public:
  Consumer(std::vector<std::string> endpoints, std::string name) {
    client_ = TestCluster::client_of(std::move(endpoints), 6, 3'000);
    stopper_ = std::make_shared<ConsumeStopper>();
    thread_ = std::thread([this, name] {
      ConsumeOptions o;
      o.stopper = stopper_;
      o.deadline = std::chrono::system_clock::now() + 90s;  // bounded even if the test hangs
      result_ = client_->consume(name, o, [this](const DeliveredEvent& d) {
        std::lock_guard<std::mutex> lock(mu_);
        deliveries_.push_back({d.event.event_id, d.event.stream_id, d.event.version,
                               d.event.position, client_->current_endpoint()});
        return ConsumeAction::kAck;
      });
    });
  }
  ~Consumer() { stop(); }
  Status stop() {
    if (thread_.joinable()) {
      stopper_->stop();
      thread_.join();
    }
    return result_;
  }
  std::vector<Delivery> deliveries() {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }
  bool received_all(const std::set<Uuid>& ids) {
    std::set<Uuid> seen;
    for (const auto& d : deliveries()) seen.insert(d.event_id);
    return std::includes(seen.begin(), seen.end(), ids.begin(), ids.end());
  }

 private:
  std::unique_ptr<Client> client_;
  std::shared_ptr<ConsumeStopper> stopper_;
  std::thread thread_;
  Status result_;
  std::mutex mu_;
  std::vector<Delivery> deliveries_;
};

// Samples the subscription's checkpoint on every node (each read from that node alone) and
// notes any sample lower than an earlier one of the same node.
class CheckpointSampler {
 public:
  CheckpointSampler(std::map<uint64_t, std::string> addresses, std::string key)
      : key_(std::move(key)) {
    thread_ = std::thread([this, addresses] {
      std::map<uint64_t, std::unique_ptr<Client>> clients;
      while (!done_.load()) {
        for (const auto& [id, address] : addresses) {
          auto& c = clients[id];
          if (!c) c = TestCluster::client_of({address}, 1, 500);
          auto s = c->get_subscription(key_);
          if (!s) {
            if (s.code() == ErrorCode::kUnavailable) c.reset();  // a restarted node: fresh channel
            continue;
          }
          std::lock_guard<std::mutex> lock(mu_);
          auto it = last_.find(id);
          if (it != last_.end() && s->checkpoint < it->second) {
            violations_.push_back("node " + std::to_string(id) + ": " + std::to_string(it->second) +
                                  " -> " + std::to_string(s->checkpoint));
          }
          last_[id] = s->checkpoint;
          ++samples_;
        }
        std::this_thread::sleep_for(20ms);  // sampling interval
      }
    });
  }
  ~CheckpointSampler() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> violations() {
    std::lock_guard<std::mutex> lock(mu_);
    return violations_;
  }
  size_t samples() {
    std::lock_guard<std::mutex> lock(mu_);
    return samples_;
  }

 private:
  std::string key_;
  std::atomic<bool> done_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<uint64_t, Position> last_;
  std::vector<std::string> violations_;
  size_t samples_ = 0;
};

// is_active is true on exactly the leader and false on every other running node.
bool only_leader_active(TestCluster& cluster, uint64_t leader) {
  for (uint64_t id : cluster.running_ids()) {
    auto st = cluster.status_of(id);
    if (!st) return false;
    if (st->is_active != (id == leader)) return false;
  }
  return true;
}

Subscription create_on_cluster(Client& c, SubscriptionType type, const std::string& selector,
                               const std::string& name) {
  NewSubscription n;
  n.type = type;
  n.selector = selector;
  n.name = name;
  Result<Subscription> s = Status::unavailable("not tried");
  wait_until(
      [&] {
        s = c.create_subscription(n);
        return s.is_ok();
      },
      milliseconds(10'000), milliseconds(100));
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? *s : Subscription{};
}

std::map<uint64_t, std::string> node_addresses(TestCluster& cluster) {
  std::map<uint64_t, std::string> out;
  for (uint64_t id : cluster.ids()) out[id] = cluster.node(id).address();
  return out;
}

// First deliveries (by event id) of each stream arrive in version order.
void expect_first_deliveries_in_stream_order(const std::vector<Delivery>& deliveries) {
  std::set<Uuid> seen;
  std::map<std::string, int64_t> last;
  for (const auto& d : deliveries) {
    if (!seen.insert(d.event_id).second) continue;
    auto it = last.find(d.stream_id);
    if (it != last.end()) {
      EXPECT_GT(d.version, it->second) << d.stream_id << " at position " << d.position;
    }
    last[d.stream_id] = d.version;
  }
}

Position checkpoint_on(TestCluster& cluster, uint64_t id, const std::string& key) {
  auto c = cluster.direct_client(id, 3, 2'000);
  auto s = c->get_subscription(key);
  return s.is_ok() ? s->checkpoint : 0;
}

TEST(PersistentFailover, ConsumerFollowsTheNewLeaderAfterKill9AndNothingIsLost) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  const uint64_t leader = cluster.wait_for_leader();
  ASSERT_NE(leader, 0u) << "no agreed leader";
  auto client = TestCluster::client_of(cluster.addresses());
  ASSERT_TRUE(client);

  // The first leader creates the default subscription; only it runs the pools.
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = client->get_subscription_by_name("all-events");
        return s.is_ok() && s->type == SubscriptionType::kStream && s->selector == "$all";
      },
      milliseconds(10'000)))
      << "no all-events subscription";
  ASSERT_TRUE(wait_until([&] { return only_leader_active(cluster, leader); }, milliseconds(10'000)))
      << "is_active is not true on exactly the leader " << leader;

  const std::string type = "FailoverEvent";
  Subscription sub = create_on_cluster(*client, SubscriptionType::kEventType, type, "failover");
  ASSERT_FALSE(sub.key.empty());
  CheckpointSampler sampler(node_addresses(cluster), sub.key);
  Consumer consumer(cluster.addresses(), "failover");

  constexpr int kEvents = 160;
  constexpr int kStreams = 4;
  std::set<Uuid> written;
  Position last_position = 0;
  const auto started = Clock::now();
  for (int i = 0; i < kEvents; ++i) {
    if (i == kEvents / 2) {
      // Mid-way, and only once the consumer has certainly been delivered something.
      ASSERT_TRUE(wait_until([&] { return !consumer.deliveries().empty(); }, milliseconds(10'000)));
      cluster.kill9(leader);
    }
    NewEvent e = make_event_with_id(Uuid::v7(), type, "{\"i\":" + std::to_string(i) + "}");
    const Uuid id = *e.event_id;
    auto r = append_until_acknowledged(*client, "failover-" + std::to_string(i % kStreams), {e},
                                       milliseconds(15'000));
    ASSERT_TRUE(r.is_ok()) << "event " << i << ": " << r.status().to_string();
    written.insert(id);
    last_position = std::max(last_position, r->position);
  }
  std::cerr << "appended " << kEvents << " events in " << ms_since(started) << " ms\n";

  const uint64_t new_leader = cluster.wait_for_leader();
  ASSERT_NE(new_leader, 0u);
  ASSERT_NE(new_leader, leader);
  ASSERT_TRUE(wait_until([&] { return consumer.received_all(written); }, milliseconds(30'000)))
      << "the consumer did not receive every event after the failover";
  // Acks are flushed into the replicated checkpoint (the consumer is still attached).
  ASSERT_TRUE(
      wait_until([&] { return checkpoint_on(cluster, new_leader, sub.key) >= last_position; },
                 milliseconds(15'000)))
      << "checkpoint " << checkpoint_on(cluster, new_leader, sub.key) << " < " << last_position;
  ASSERT_TRUE(consumer.stop().is_ok());

  auto deliveries = consumer.deliveries();
  std::cerr << deliveries.size() << " deliveries of " << written.size() << " events\n";
  expect_first_deliveries_in_stream_order(deliveries);
  // After the failover the consumer talks to the new leader.
  ASSERT_FALSE(deliveries.empty());
  EXPECT_EQ(deliveries.back().endpoint, cluster.node(new_leader).address());
  ASSERT_TRUE(
      wait_until([&] { return only_leader_active(cluster, new_leader); }, milliseconds(10'000)))
      << "is_active is not true on exactly the new leader " << new_leader;

  // The killed node comes back and catches up with the checkpoint as well.
  ASSERT_TRUE(cluster.restart(leader).is_ok());
  for (uint64_t id : cluster.ids()) {
    EXPECT_TRUE(wait_until([&] { return checkpoint_on(cluster, id, sub.key) >= last_position; },
                           milliseconds(15'000)))
        << "node " << id << " checkpoint " << checkpoint_on(cluster, id, sub.key) << " < "
        << last_position;
  }
  ASSERT_TRUE(wait_until([&] { return only_leader_active(cluster, cluster.agreed_leader()); },
                         milliseconds(10'000)));
  sampler.stop();
  EXPECT_GT(sampler.samples(), 10u);
  for (const auto& v : sampler.violations()) ADD_FAILURE() << "checkpoint went backwards on " << v;
}

TEST(PersistentFailover, LeadershipTransferMovesTheConsumerAndDeactivatesTheOldLeader) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.start(3).is_ok());
  const uint64_t leader = cluster.wait_for_leader();
  ASSERT_NE(leader, 0u) << "no agreed leader";
  auto client = TestCluster::client_of(cluster.addresses());
  ASSERT_TRUE(client);
  ASSERT_TRUE(
      wait_until([&] { return only_leader_active(cluster, leader); }, milliseconds(10'000)));

  const std::string type = "TransferEvent";
  Subscription sub = create_on_cluster(*client, SubscriptionType::kEventType, type, "transfer");
  ASSERT_FALSE(sub.key.empty());
  CheckpointSampler sampler(node_addresses(cluster), sub.key);
  Consumer consumer(cluster.addresses(), "transfer");

  std::set<Uuid> written;
  Position last_position = 0;
  auto write = [&](int from, int count) {
    for (int i = from; i < from + count; ++i) {
      NewEvent e = make_event_with_id(Uuid::v7(), type, "{\"i\":" + std::to_string(i) + "}");
      const Uuid id = *e.event_id;
      auto r = append_until_acknowledged(*client, "transfer-" + std::to_string(i % 3), {e},
                                         milliseconds(15'000));
      ASSERT_TRUE(r.is_ok()) << "event " << i << ": " << r.status().to_string();
      written.insert(id);
      last_position = std::max(last_position, r->position);
    }
  };
  write(0, 30);
  ASSERT_TRUE(wait_until([&] { return consumer.received_all(written); }, milliseconds(15'000)));
  // Attached to the old leader.
  EXPECT_EQ(consumer.deliveries().back().endpoint, cluster.node(leader).address());

  Status transferred = client->transfer_leadership(0);
  ASSERT_TRUE(transferred.is_ok()) << transferred.to_string();
  uint64_t new_leader = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        new_leader = cluster.agreed_leader();
        return new_leader != 0 && new_leader != leader;
      },
      milliseconds(10'000)))
      << "leadership did not move";
  // The deposed leader stops its pools; the new one runs them.
  ASSERT_TRUE(
      wait_until([&] { return only_leader_active(cluster, new_leader); }, milliseconds(10'000)))
      << "is_active is not true on exactly the new leader " << new_leader;
  auto old_status = cluster.status_of(leader);
  ASSERT_TRUE(old_status.is_ok());
  EXPECT_FALSE(old_status->is_active);

  const size_t before = consumer.deliveries().size();
  write(30, 30);
  ASSERT_TRUE(wait_until([&] { return consumer.received_all(written); }, milliseconds(20'000)))
      << "events lost after the transfer";
  ASSERT_TRUE(
      wait_until([&] { return checkpoint_on(cluster, new_leader, sub.key) >= last_position; },
                 milliseconds(15'000)));
  ASSERT_TRUE(consumer.stop().is_ok());
  auto deliveries = consumer.deliveries();
  ASSERT_GT(deliveries.size(), before);
  // Re-attached: everything after the transfer came through the new leader.
  EXPECT_EQ(deliveries.back().endpoint, cluster.node(new_leader).address());
  expect_first_deliveries_in_stream_order(deliveries);
  for (uint64_t id : cluster.ids()) {
    EXPECT_TRUE(wait_until([&] { return checkpoint_on(cluster, id, sub.key) >= last_position; },
                           milliseconds(10'000)))
        << "node " << id;
  }
  sampler.stop();
  for (const auto& v : sampler.violations()) ADD_FAILURE() << "checkpoint went backwards on " << v;
}

}  // namespace
}  // namespace reckon::testing
