// LeaderWorker on a real embedded store (its own leader, no Raft): the lag it reports per
// subscription, in events and in seconds, against a manual clock.
#include "subscriptions_runtime/leader_worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "reckon/clock.h"
#include "reckon/store.h"
#include "support/store_test_util.h"
#include "support/temp_dir.h"

namespace reckon::subscriptions_runtime {
namespace {

constexpr int64_t kStartUs = 1'700'000'000'000'000;  // the manual clock's start
constexpr int64_t kSecondUs = 1'000'000;

// Keeps the last lag reported per subscription.
class LagObserver final : public DeliveryObserver {
 public:
  struct Lag {
    uint64_t events = 0;
    double seconds = 0;
  };
  void subscription_created(const std::string&) override {}
  void subscription_deleted(const std::string&) override {}
  void delivered(const std::string&, const std::string&, uint64_t) override {}
  void acked(const std::string&, const std::string&, uint64_t) override {}
  void parked(const std::string&, const std::string&, uint64_t) override {}
  void leader_elected(const std::string&) override {}
  void leader_lost(const std::string&) override {}
  void lag(const std::string&, const std::string& subscription, uint64_t events,
           double seconds) override {
    std::lock_guard lock(mu_);
    last_[subscription] = Lag{events, seconds};
    cv_.notify_all();
  }

  // Waits (at most 10 s) until `subscription` reports this lag; false with the last one seen.
  bool wait_for(const std::string& subscription, uint64_t events, double seconds, Lag* seen) {
    std::unique_lock lock(mu_);
    bool ok = cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      auto it = last_.find(subscription);
      return it != last_.end() && it->second.events == events && it->second.seconds == seconds;
    });
    *seen = last_[subscription];
    return ok;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Lag> last_;
};

class SilentSink final : public ConsumerSink {
 public:
  void deliver(const Event& event, uint32_t) override {
    std::lock_guard lock(mu_);
    got_.insert(event.position);
    cv_.notify_all();
  }
  void end(const std::string&, const std::string&) override {}
  bool wait_for_count(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return got_.size() >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<Position> got_;
};

TEST(LeaderWorker, LagInSecondsIsTheAgeOfTheOldestEventAfterTheCheckpoint) {
  testing::TempDir dir;
  auto clock = std::make_shared<ManualClock>(kStartUs);
  StoreOptions o;
  o.data_dir = dir.path();
  o.sync_writes = false;
  o.clock = clock;
  auto opened = LocalStore::open_local(o);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  LocalStore& store = **opened;

  NewSubscription n;
  n.type = SubscriptionType::kStream;
  n.selector = "$all";
  n.name = "lagging";
  auto sub = store.create_subscription(n);
  ASSERT_TRUE(sub.is_ok()) << sub.status().to_string();
  // Two events at t0, three at t0 + 3 s; then 10 s pass. One stream each: all five go out at
  // once (per-stream ordering) and can be acked out of order.
  std::vector<Position> positions;
  for (int i = 0; i < 5; ++i) {
    if (i == 2) clock->advance_us(3 * kSecondUs);
    auto r = store.append("s-" + std::to_string(i), kExpectAny, testing::make_events(1));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    positions.push_back(r->position);
  }
  clock->set_us(kStartUs + 10 * kSecondUs);

  SilentSink sink;  // outlives the worker, which ends it when its pool stops
  LagObserver observer;
  LeaderWorkerOptions wo;
  wo.checkpoint_interval = std::chrono::milliseconds(5);
  wo.clock = clock;
  LeaderWorker worker(store, "default", &observer, wo);
  worker.start();

  // Nothing consumed: behind by all 5 events, the oldest appended 10 s ago.
  LagObserver::Lag seen;
  EXPECT_TRUE(observer.wait_for("lagging", 5, 10.0, &seen))
      << seen.events << " events, " << seen.seconds << " s";

  // The first two handled: the oldest unhandled event is the third, appended 7 s ago.
  auto pool = worker.pool_for(sub->key);
  ASSERT_TRUE(pool.is_ok()) << pool.status().to_string();
  auto consumer = (*pool)->attach(&sink, 0);
  ASSERT_TRUE(consumer.is_ok());
  ASSERT_TRUE(sink.wait_for_count(positions.size()));
  (*pool)->ack(*consumer, {positions[0], positions[1]});
  EXPECT_TRUE(observer.wait_for("lagging", 3, 7.0, &seen))
      << seen.events << " events, " << seen.seconds << " s";
  // Acked out of order: the checkpoint, and so the lag, stays at the third event.
  (*pool)->ack(*consumer, {positions[3], positions[4]});
  clock->advance_us(kSecondUs);
  EXPECT_TRUE(observer.wait_for("lagging", 3, 8.0, &seen))
      << seen.events << " events, " << seen.seconds << " s";
  // All handled: caught up, 0 however old the events are.
  (*pool)->ack(*consumer, {positions[2]});
  EXPECT_TRUE(observer.wait_for("lagging", 0, 0.0, &seen))
      << seen.events << " events, " << seen.seconds << " s";
  worker.stop();
}

}  // namespace
}  // namespace reckon::subscriptions_runtime
