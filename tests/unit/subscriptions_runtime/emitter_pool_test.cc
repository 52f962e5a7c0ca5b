// EmitterPool on a real embedded store: a pool without consumers must stay idle while events are
// appended (regression: the default all-events pool used to wake at every commit and walk its
// pending map, burning two cores under load); message timeouts redeliver and park, in-flight
// limits hold, retries and a leaving consumer's events go out again (the pool keeps its
// outstanding events in per-state indexes: these pin down what the indexes must preserve).
#include "subscriptions_runtime/emitter_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "reckon/store.h"
#include "support/store_test_util.h"
#include "support/temp_dir.h"

namespace reckon::subscriptions_runtime {
namespace {

TEST(EmitterPool, WithoutConsumersItStaysIdleWhileEventsAreAppended) {
  testing::TempDir dir;
  StoreOptions o;
  o.data_dir = dir.path();
  o.sync_writes = false;  // durability is not what this test is about
  auto store = LocalStore::open_local(o);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  NewSubscription n;
  n.type = SubscriptionType::kStream;
  n.selector = "$all";
  n.name = "idle";
  auto sub = (*store)->create_subscription(n);
  ASSERT_TRUE(sub.is_ok()) << sub.status().to_string();

  PoolContext ctx;
  ctx.store = store->get();
  ctx.store_id = "default";
  ctx.leading = std::make_shared<std::atomic<bool>>(true);
  auto pool = std::make_shared<EmitterPool>(*sub, ctx);
  ASSERT_TRUE(pool->start().is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the emitter settle
  const uint64_t before = pool->loop_passes();

  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE((*store)->append("s-" + std::to_string(i % 7), kExpectAny, testing::make_events(1)).is_ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // One commit per append: a pool that followed the live tail would pass ~200 times.
  EXPECT_LE(pool->loop_passes() - before, 5u);
  EXPECT_EQ(pool->checkpoint(), 0u) << "nothing was delivered, so nothing is checkpointed";
  pool->stop("", "test over");
}

// A consumer that records every delivery and checks its in-flight limit as events arrive (the
// pool calls deliver() with its lock held: nothing here calls back into the pool).
class RecordingSink final : public ConsumerSink {
 public:
  explicit RecordingSink(size_t limit) : limit_(limit) {}

  struct Delivery {
    Position position;
    uint32_t attempt;
  };

  void deliver(const Event& event, uint32_t attempt) override {
    std::lock_guard lock(mu_);
    deliveries_.push_back({event.position, attempt});
    outstanding_.insert(event.position);
    max_outstanding_ = std::max(max_outstanding_, outstanding_.size());
    cv_.notify_all();
  }
  void end(const std::string&, const std::string&) override {
    std::lock_guard lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }

  // Waits (at most 10 s) until `pred()` holds under the sink's lock.
  template <typename Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return pred(); });
  }
  // The positions delivered and not yet taken by the test; they count as answered from now on.
  std::vector<Position> take_outstanding() {
    std::lock_guard lock(mu_);
    std::vector<Position> out(outstanding_.begin(), outstanding_.end());
    outstanding_.clear();
    return out;
  }
  std::vector<Position> outstanding_positions() {
    std::lock_guard lock(mu_);
    return {outstanding_.begin(), outstanding_.end()};
  }
  void answer(Position position) {
    std::lock_guard lock(mu_);
    outstanding_.erase(position);
  }

  size_t delivered() const { return deliveries_.size(); }  // under wait()'s lock, or after
  size_t outstanding() const { return outstanding_.size(); }
  std::vector<Delivery> deliveries() {
    std::lock_guard lock(mu_);
    return deliveries_;
  }
  size_t max_outstanding() {
    std::lock_guard lock(mu_);
    return max_outstanding_;
  }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Delivery> deliveries_;
  std::set<Position> outstanding_;
  size_t max_outstanding_ = 0;
  bool ended_ = false;
};

// A store, one subscription on $all with the given options, and its running pool.
class EmitterPoolDelivery : public ::testing::Test {
 protected:
  void start(SubscriptionOptions options, SubscriptionType type = SubscriptionType::kStream,
             std::string selector = "$all") {
    StoreOptions o;
    o.data_dir = dir_.path();
    o.sync_writes = false;
    auto store = LocalStore::open_local(o);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    NewSubscription n;
    n.type = type;
    n.selector = std::move(selector);
    n.name = "delivery";
    n.options = options;
    auto sub = store_->create_subscription(n);
    ASSERT_TRUE(sub.is_ok()) << sub.status().to_string();
    key_ = sub->key;
    PoolContext ctx;
    ctx.store = store_.get();
    ctx.store_id = "default";
    ctx.leading = std::make_shared<std::atomic<bool>>(true);
    pool_ = std::make_shared<EmitterPool>(*sub, ctx);
    ASSERT_TRUE(pool_->start().is_ok());
  }
  void TearDown() override {
    if (pool_) pool_->stop("", "test over");
  }
  // Appends n events (one per append, over 3 streams); returns their positions.
  std::vector<Position> append(int n) {
    std::vector<Position> out;
    for (int i = 0; i < n; ++i) {
      auto r = store_->append("s-" + std::to_string(i % 3), kExpectAny, testing::make_events(1));
      EXPECT_TRUE(r.is_ok()) << r.status().to_string();
      if (r) out.push_back(r->position);
    }
    return out;
  }
  uint64_t attach(RecordingSink& sink) {
    auto id = pool_->attach(&sink, static_cast<uint32_t>(sink.limit()));
    EXPECT_TRUE(id.is_ok()) << id.status().to_string();
    return id.is_ok() ? *id : 0;
  }
  // Waits (at most 10 s) until the pool's checkpoint reaches `position`.
  bool checkpoint_reaches(Position position) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pool_->checkpoint() < position) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // Sinks live in the fixture: the pool ends its consumers when it stops, in TearDown.
  RecordingSink& make_sink(size_t limit) { return sinks_.emplace_back(limit); }

  testing::TempDir dir_;
  std::unique_ptr<LocalStore> store_;
  std::string key_;
  std::deque<RecordingSink> sinks_;  // declared before pool_: destroyed after it
  std::shared_ptr<EmitterPool> pool_;
};

// Type and tag selectors are served by their index: a selective subscription over a large
// store reads only the events it delivers. Other selectors scan $all.
class EmitterPoolSelective : public EmitterPoolDelivery {
 protected:
  // 2000 "Other" events, with 3 "Wanted" ones tagged "vip" among them; returns the wanted positions.
  std::vector<Position> fill() {
    std::vector<Position> wanted;
    for (int i = 0; i < 2003; ++i) {
      const bool w = i % 700 == 350;
      NewEvent e = testing::make_event(w ? "Wanted" : "Other", "{}");
      if (w) e.tags = {"vip"};
      auto r = store_->append("w-" + std::to_string(i % 5), kExpectAny, {e});
      EXPECT_TRUE(r.is_ok());
      if (r && w) wanted.push_back(r->position);
    }
    return wanted;
  }
  void expect_delivered(RecordingSink& sink, const std::vector<Position>& wanted) {
    ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= wanted.size(); }));
    std::vector<Position> got;
    for (auto& d : sink.deliveries()) got.push_back(d.position);
    EXPECT_EQ(got, wanted);
  }
};

TEST_F(EmitterPoolSelective, EventTypeSelectorReadsTheTypeIndex) {
  start(SubscriptionOptions{}, SubscriptionType::kEventType, "Wanted");
  const auto wanted = fill();
  ASSERT_EQ(wanted.size(), 3u);
  RecordingSink& sink = make_sink(10);
  attach(sink);
  expect_delivered(sink, wanted);
  EXPECT_EQ(pool_->events_examined(), wanted.size());
}

TEST_F(EmitterPoolSelective, TagSelectorReadsTheTagIndex) {
  start(SubscriptionOptions{}, SubscriptionType::kTags, "vip");
  const auto wanted = fill();
  RecordingSink& sink = make_sink(10);
  attach(sink);
  expect_delivered(sink, wanted);
  EXPECT_EQ(pool_->events_examined(), wanted.size());
}

TEST_F(EmitterPoolSelective, PatternSelectorScansAll) {
  start(SubscriptionOptions{}, SubscriptionType::kEventPattern, "w-?");
  fill();
  RecordingSink& sink = make_sink(10000);
  attach(sink);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 2003; }));
  EXPECT_GE(pool_->events_examined(), 2003u);
}

TEST_F(EmitterPoolDelivery, UnackedDeliveriesTimeOutAreRedeliveredAndParkedAtTheRetryLimit) {
  SubscriptionOptions o;
  o.message_timeout_ms = 50;
  o.max_retries = 3;
  start(o);
  auto positions = append(3);
  RecordingSink& sink = make_sink(10);
  attach(sink);
  // Never acked: every event goes out 3 times (attempts 1, 2, 3), then is parked.
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 9; }))
      << sink.delivered() << " deliveries";
  ASSERT_TRUE(checkpoint_reaches(positions.back())) << "parked events count as handled";
  std::map<Position, std::vector<uint32_t>> attempts;
  for (const auto& d : sink.deliveries()) attempts[d.position].push_back(d.attempt);
  ASSERT_EQ(attempts.size(), 3u);
  for (Position p : positions)
    EXPECT_EQ(attempts[p], (std::vector<uint32_t>{1, 2, 3})) << "position " << p;
  auto parked = store_->list_parked(key_);
  ASSERT_TRUE(parked.is_ok()) << parked.status().to_string();
  ASSERT_EQ(parked->size(), 3u);
  for (const auto& pe : *parked) {
    EXPECT_EQ(pe.attempts, 3u);
    EXPECT_NE(pe.reason.find("message timeout"), std::string::npos) << pe.reason;
  }
  EXPECT_EQ(sink.deliveries().size(), 9u) << "nothing is delivered after it is parked";
}

TEST_F(EmitterPoolDelivery, TimedOutDeliveriesGoToAConsumerThatAcks) {
  SubscriptionOptions o;
  o.message_timeout_ms = 100;
  o.max_retries = 20;
  start(o);
  auto positions = append(20);
  RecordingSink& silent = make_sink(100);
  RecordingSink& acking = make_sink(100);
  attach(silent);
  uint64_t acker = attach(acking);
  // `silent` never answers; everything it got times out and comes back, until `acking` acks it.
  std::set<Position> acked;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (acked.size() < positions.size() && std::chrono::steady_clock::now() < deadline) {
    acking.wait([&] { return acking.outstanding() > 0; });
    auto got = acking.take_outstanding();
    pool_->ack(acker, got);
    acked.insert(got.begin(), got.end());
  }
  EXPECT_EQ(acked, std::set<Position>(positions.begin(), positions.end()));
  ASSERT_TRUE(checkpoint_reaches(positions.back()));
  std::set<Position> silent_got;
  for (const auto& d : silent.deliveries()) silent_got.insert(d.position);
  EXPECT_FALSE(silent_got.empty()) << "round robin hands the silent consumer its share";
  for (const auto& d : acking.deliveries()) {
    if (silent_got.count(d.position)) {
      EXPECT_GE(d.attempt, 2u) << "redelivered after a timeout";
    }
  }
  auto parked = store_->list_parked(key_);
  ASSERT_TRUE(parked.is_ok());
  EXPECT_TRUE(parked->empty());
}

TEST_F(EmitterPoolDelivery, EachConsumerGetsAtMostItsInFlightLimit) {
  SubscriptionOptions o;  // message timeout 30 s: nothing is redelivered during the test
  start(o);
  auto positions = append(60);
  RecordingSink& small = make_sink(2);
  RecordingSink& large = make_sink(5);
  uint64_t small_id = attach(small);
  uint64_t large_id = attach(large);
  // Both fill up to their limits and then get nothing more until they ack.
  ASSERT_TRUE(small.wait([&] { return small.outstanding() >= 2; }));
  ASSERT_TRUE(large.wait([&] { return large.outstanding() >= 5; }));
  ASSERT_EQ(small.max_outstanding(), 2u);
  ASSERT_EQ(large.max_outstanding(), 5u);
  // Acking one event frees exactly one slot. (The sink forgets an event before the pool hears
  // the ack, so its count never runs below the pool's.)
  const Position first = small.outstanding_positions().front();
  small.answer(first);
  pool_->ack(small_id, {first});
  ASSERT_TRUE(small.wait([&] { return small.outstanding() == 2 && small.delivered() == 3; }));
  // Ack everything as it comes, until every event was acked once.
  std::set<Position> acked{first};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (acked.size() < positions.size() && std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (auto [sink, id] : {std::pair{&small, small_id}, std::pair{&large, large_id}}) {
      auto got = sink->take_outstanding();
      if (got.empty()) continue;
      pool_->ack(id, got);
      acked.insert(got.begin(), got.end());
      any = true;
    }
    if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(acked.size(), positions.size());
  ASSERT_TRUE(checkpoint_reaches(positions.back()));
  EXPECT_LE(small.max_outstanding(), 2u);
  EXPECT_LE(large.max_outstanding(), 5u);
  EXPECT_EQ(small.deliveries().size() + large.deliveries().size(), positions.size())
      << "no redelivery";
}

TEST_F(EmitterPoolDelivery, ARetriedEventGoesOutAgainBeforeNewerOnes) {
  SubscriptionOptions o;
  start(o);
  auto positions = append(5);
  RecordingSink& sink = make_sink(1);
  uint64_t id = attach(sink);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() == 1; }));
  pool_->nack(id, sink.take_outstanding(), NackAction::kRetry, "try again");
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() == 2; }));
  auto d = sink.deliveries();
  EXPECT_EQ(d[1].position, positions[0]);
  EXPECT_EQ(d[1].attempt, 2u);
  // Then the others, in position order.
  for (size_t i = 1; i < positions.size(); ++i) {
    pool_->ack(id, sink.take_outstanding());
    ASSERT_TRUE(sink.wait([&] { return sink.delivered() == i + 2; }));
    EXPECT_EQ(sink.deliveries().back().position, positions[i]);
  }
}

TEST_F(EmitterPoolDelivery, WhatALeavingConsumerHeldGoesToTheOthers) {
  SubscriptionOptions o;
  start(o);
  auto positions = append(6);
  RecordingSink& leaving = make_sink(3);
  uint64_t leaving_id = attach(leaving);
  ASSERT_TRUE(leaving.wait([&] { return leaving.outstanding() == 3; }));
  auto held = leaving.take_outstanding();
  RecordingSink& staying = make_sink(10);
  uint64_t staying_id = attach(staying);
  pool_->detach(leaving_id);
  ASSERT_TRUE(staying.wait([&] { return staying.delivered() == positions.size(); }));
  for (const auto& d : staying.deliveries()) {
    const bool was_held = std::find(held.begin(), held.end(), d.position) != held.end();
    EXPECT_EQ(d.attempt, was_held ? 2u : 1u) << "position " << d.position;
  }
  pool_->ack(staying_id, staying.take_outstanding());
  EXPECT_TRUE(checkpoint_reaches(positions.back()));
}

}  // namespace
}  // namespace reckon::subscriptions_runtime
