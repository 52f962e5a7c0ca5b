// EmitterPool on a real embedded store: a pool without consumers must stay idle while events are
// appended (regression: the default all-events pool used to wake at every commit and walk its
// pending map, burning two cores under load); message timeouts redeliver and park, in-flight
// limits hold, retries and a leaving consumer's events go out again (the pool keeps its
// outstanding events in per-state indexes: these pin down what the indexes must preserve), and
// per-stream ordering holds a stream's later events back while one of its events is outstanding
// (retries, timeouts, several consumers), without holding back other streams.
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

// Events of each stream that consumers hold unanswered, across consumers: the most one stream
// ever had at once, and the versions of each stream in the order they were handed out (the
// pool delivers under its lock, so that order is the pool's). A sink forgets an event before
// the test answers the pool, so the gauge never runs below what the pool counts as outstanding.
class StreamGauge {
 public:
  void delivered(const std::string& stream, int64_t version) {
    std::lock_guard lock(mu_);
    most_ = std::max(most_, ++held_[stream]);
    versions_[stream].push_back(version);
  }
  std::map<std::string, std::vector<int64_t>> versions() {
    std::lock_guard lock(mu_);
    return versions_;
  }
  void answered(const std::string& stream) {
    std::lock_guard lock(mu_);
    --held_[stream];
  }
  int most() {
    std::lock_guard lock(mu_);
    return most_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> held_;
  std::map<std::string, std::vector<int64_t>> versions_;
  int most_ = 0;
};

// A consumer that records every delivery and checks its in-flight limit as events arrive (the
// pool calls deliver() with its lock held: nothing here calls back into the pool).
class RecordingSink final : public ConsumerSink {
 public:
  explicit RecordingSink(size_t limit, StreamGauge* gauge = nullptr) : limit_(limit), gauge_(gauge) {}

  struct Delivery {
    Position position;
    uint32_t attempt;
    std::string stream;
    int64_t version;
  };

  void deliver(const Event& event, uint32_t attempt) override {
    std::lock_guard lock(mu_);
    deliveries_.push_back({event.position, attempt, event.stream_id, event.version});
    if (outstanding_.emplace(event.position, event.stream_id).second && gauge_) gauge_->delivered(event.stream_id, event.version);
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
    std::vector<Position> out;
    for (const auto& [position, stream] : outstanding_) {
      out.push_back(position);
      if (gauge_) gauge_->answered(stream);
    }
    outstanding_.clear();
    return out;
  }
  std::vector<Position> outstanding_positions() {
    std::lock_guard lock(mu_);
    std::vector<Position> out;
    for (const auto& entry : outstanding_) out.push_back(entry.first);
    return out;
  }
  void answer(Position position) {
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(position);
    if (it == outstanding_.end()) return;
    if (gauge_) gauge_->answered(it->second);
    outstanding_.erase(it);
  }
  bool got(Position position) {
    std::lock_guard lock(mu_);
    return got_locked(position);
  }

  size_t delivered() const { return deliveries_.size(); }  // under wait()'s lock, or after
  size_t delivered_count() {
    std::lock_guard lock(mu_);
    return deliveries_.size();
  }
  bool got_locked(Position position) const {  // under wait()'s lock
    return std::any_of(deliveries_.begin(), deliveries_.end(), [&](const Delivery& d) { return d.position == position; });
  }
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
  StreamGauge* const gauge_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Delivery> deliveries_;
  std::map<Position, std::string> outstanding_;  // position -> stream
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
  // Appends n events (one per append, over `streams` streams s-0, s-1, ...); returns their
  // positions.
  std::vector<Position> append(int n, int streams = 3) {
    std::vector<Position> out;
    for (int i = 0; i < n; ++i) out.push_back(append_to("s-" + std::to_string(i % streams)));
    return out;
  }
  Position append_to(const std::string& stream) {
    auto r = store_->append(stream, kExpectAny, testing::make_events(1));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r ? r->position : 0;
  }
  uint64_t attach(RecordingSink& sink) {
    auto id = pool_->attach(&sink, static_cast<uint32_t>(sink.limit()));
    EXPECT_TRUE(id.is_ok()) << id.status().to_string();
    return id.is_ok() ? *id : 0;
  }
  // Waits (at most 10 s) until the pool's checkpoint reaches `position`.
  bool checkpoint_reaches(Position position) {
    return eventually([&] { return pool_->checkpoint() >= position; });
  }
  // Waits (at most 10 s) until `pred()` holds.
  template <typename Pred>
  static bool eventually(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  // Sinks live in the fixture: the pool ends its consumers when it stops, in TearDown.
  RecordingSink& make_sink(size_t limit, StreamGauge* gauge = nullptr) { return sinks_.emplace_back(limit, gauge); }

  testing::TempDir dir_;
  std::unique_ptr<LocalStore> store_;
  std::string key_;
  std::deque<RecordingSink> sinks_;  // declared before pool_: destroyed after it
  std::shared_ptr<EmitterPool> pool_;
};

// Type and tag selectors are served by their index: a selective subscription over a large
// store reads only the events it delivers. Other selectors scan $all. (Ordering none: every
// match goes out at once, without waiting for acks.)
class EmitterPoolSelective : public EmitterPoolDelivery {
 protected:
  static SubscriptionOptions unordered() {
    SubscriptionOptions o;
    o.ordering = DeliveryOrdering::kNone;
    return o;
  }
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
  start(unordered(), SubscriptionType::kEventType, "Wanted");
  const auto wanted = fill();
  ASSERT_EQ(wanted.size(), 3u);
  RecordingSink& sink = make_sink(10);
  attach(sink);
  expect_delivered(sink, wanted);
  EXPECT_EQ(pool_->events_examined(), wanted.size());
}

TEST_F(EmitterPoolSelective, TagSelectorReadsTheTagIndex) {
  start(unordered(), SubscriptionType::kTags, "vip");
  const auto wanted = fill();
  RecordingSink& sink = make_sink(10);
  attach(sink);
  expect_delivered(sink, wanted);
  EXPECT_EQ(pool_->events_examined(), wanted.size());
}

TEST_F(EmitterPoolSelective, PatternSelectorScansAll) {
  start(unordered(), SubscriptionType::kEventPattern, "w-?");
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
  auto positions = append(60, 20);  // per-stream ordering: enough streams to fill both
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
  // Acked as they come: a stream's next event waits for the one before it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (staying.deliveries().size() < positions.size() && std::chrono::steady_clock::now() < deadline) {
    staying.wait([&] { return staying.outstanding() > 0; });
    pool_->ack(staying_id, staying.take_outstanding());
  }
  pool_->ack(staying_id, staying.take_outstanding());  // the last ones delivered
  ASSERT_EQ(staying.deliveries().size(), positions.size());
  for (const auto& d : staying.deliveries()) {
    const bool was_held = std::find(held.begin(), held.end(), d.position) != held.end();
    EXPECT_EQ(d.attempt, was_held ? 2u : 1u) << "position " << d.position;
  }
  EXPECT_TRUE(checkpoint_reaches(positions.back()));
}

// ---- Per-stream ordering (the default): a stream's next event waits while one is outstanding.

class EmitterPoolOrdering : public EmitterPoolDelivery {
 protected:
  // A consumer answers: its sink forgets the event first, so the sink never counts fewer
  // outstanding events than the pool does.
  void ack(RecordingSink& sink, uint64_t consumer, Position position) {
    sink.answer(position);
    pool_->ack(consumer, {position});
  }
  void nack(RecordingSink& sink, uint64_t consumer, Position position, NackAction action) {
    sink.answer(position);
    pool_->nack(consumer, {position}, action, "");
  }
  // The positions `sink` got, in delivery order.
  static std::vector<Position> positions_of(RecordingSink& sink) {
    std::vector<Position> out;
    for (const auto& d : sink.deliveries()) out.push_back(d.position);
    return out;
  }
  // Waits (at most 10 s) until the subscription has `n` parked events.
  bool parked_becomes(size_t n) {
    return eventually([&] {
      auto parked = store_->list_parked(key_);
      return parked.is_ok() && parked->size() == n;
    });
  }
};

TEST_F(EmitterPoolOrdering, ANackedEventHoldsItsStreamBackUntilTheRetryIsAcked) {
  start(SubscriptionOptions{});
  const Position v1 = append_to("S"), v2 = append_to("S"), t1 = append_to("T");
  RecordingSink& sink = make_sink(10);
  uint64_t id = attach(sink);
  // T's event gets past S's second one: the emitter has looked at v2 and held it back.
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 2; }));
  EXPECT_EQ(positions_of(sink), (std::vector<Position>{v1, t1}));
  nack(sink, id, v1, NackAction::kRetry);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 3; }));
  EXPECT_EQ(sink.deliveries()[2].position, v1) << "the retry, not v2";
  EXPECT_EQ(sink.deliveries()[2].attempt, 2u);
  // Other streams keep flowing meanwhile.
  ack(sink, id, t1);
  const Position t2 = append_to("T");
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 4; }));
  EXPECT_EQ(sink.deliveries()[3].position, t2);
  EXPECT_FALSE(sink.got(v2)) << "v2 went out while v1 was being retried";
  // The retry is acked: now v2.
  ack(sink, id, v1);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 5; }));
  EXPECT_EQ(sink.deliveries()[4].position, v2);
  EXPECT_EQ(sink.deliveries()[4].attempt, 1u);
  pool_->ack(id, sink.take_outstanding());
  EXPECT_TRUE(checkpoint_reaches(t2));
}

TEST_F(EmitterPoolOrdering, ATimedOutEventHoldsItsStreamBackUntilTheRetryIsAcked) {
  SubscriptionOptions o;
  o.message_timeout_ms = 100;
  o.max_retries = 50;  // the test acks long before any parking
  start(o);
  const Position v1 = append_to("S"), v2 = append_to("S"), t1 = append_to("T");
  RecordingSink& sink = make_sink(10);
  uint64_t id = attach(sink);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 2; }));
  ack(sink, id, t1);
  // v1 is left unanswered: it times out and comes back, as often as it takes, and v2 waits.
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 4; }));
  for (const auto& d : sink.deliveries()) {
    EXPECT_TRUE(d.position == v1 || d.position == t1) << "v2 went out while v1 was outstanding";
  }
  const size_t before_ack = sink.delivered_count();
  ack(sink, id, v1);
  ASSERT_TRUE(sink.wait([&] { return sink.got_locked(v2); }));
  auto d = sink.deliveries();
  size_t at = 0;
  while (d[at].position != v2) ++at;
  EXPECT_GE(at, before_ack) << "v2 was handed out before v1 was acked";
  EXPECT_EQ(d[at].attempt, 1u);
  ack(sink, id, v2);
  EXPECT_TRUE(checkpoint_reaches(t1));
}

// A's delivery of v1 timed out and v1 went to B: A's late ack must not release the stream
// while B still works on v1 (v2 would then run beside it).
TEST_F(EmitterPoolOrdering, ALateAckFromAnEarlierDeliveryDoesNotReleaseTheStream) {
  SubscriptionOptions o;
  o.message_timeout_ms = 1000;  // B answers well within it
  o.max_retries = 50;
  start(o);
  const Position v1 = append_to("S"), v2 = append_to("S");
  RecordingSink& a = make_sink(10);
  RecordingSink& b = make_sink(10);
  uint64_t a_id = attach(a);
  uint64_t b_id = attach(b);
  ASSERT_TRUE(b.wait([&] { return b.got_locked(v1); })) << "the retry goes to the next consumer in turn";
  ASSERT_TRUE(a.got(v1));
  ack(a, a_id, v1);  // late
  const Position t1 = append_to("T");
  ASSERT_TRUE(eventually([&] { return a.got(t1) || b.got(t1); }));
  EXPECT_FALSE(a.got(v2) || b.got(v2)) << "v2 went out while B was still working on v1";
  ack(b, b_id, v1);
  EXPECT_TRUE(eventually([&] { return a.got(v2) || b.got(v2); }));
}

TEST_F(EmitterPoolOrdering, RoundRobinNeverHasTwoEventsOfOneStreamOutAtOnce) {
  start(SubscriptionOptions{});
  auto positions = append(90, 6);
  StreamGauge gauge;
  RecordingSink& a = make_sink(4, &gauge);
  RecordingSink& b = make_sink(4, &gauge);
  uint64_t a_id = attach(a);
  uint64_t b_id = attach(b);
  // Both consumers answer as they go, alternately, with a retry now and then.
  std::set<Position> acked;
  uint64_t turn = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (acked.size() < positions.size() && std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (auto [sink, id] : {std::pair{&a, a_id}, std::pair{&b, b_id}}) {
      for (Position p : sink->take_outstanding()) {
        any = true;
        if (++turn % 7 == 0) {
          pool_->nack(id, {p}, NackAction::kRetry, "");
        } else {
          pool_->ack(id, {p});
          acked.insert(p);
        }
      }
    }
    if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(acked.size(), positions.size());
  EXPECT_EQ(gauge.most(), 1) << "two events of one stream were out at once";
  EXPECT_FALSE(a.deliveries().empty());
  EXPECT_FALSE(b.deliveries().empty());
  // Over both consumers, each stream went out in version order: a retry repeats the version
  // before, never one that was already passed.
  auto versions = gauge.versions();
  ASSERT_EQ(versions.size(), 6u);
  for (const auto& [stream, vs] : versions) {
    EXPECT_TRUE(std::is_sorted(vs.begin(), vs.end())) << stream;
    EXPECT_EQ(std::set<int64_t>(vs.begin(), vs.end()).size(), 15u) << stream;
  }
  EXPECT_TRUE(checkpoint_reaches(positions.back()));
}

TEST_F(EmitterPoolOrdering, AStreamHeldBackDoesNotHoldBackTheOthers) {
  start(SubscriptionOptions{});
  const Position stuck = append_to("S");
  std::vector<Position> held;
  for (int i = 0; i < 5; ++i) held.push_back(append_to("S"));
  auto others = append(30, 10);  // streams s-0 .. s-9
  RecordingSink& sink = make_sink(100);
  uint64_t id = attach(sink);
  // Nobody answers `stuck`; everything else is acked as it comes.
  std::set<Position> acked;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (acked.size() < others.size() && std::chrono::steady_clock::now() < deadline) {
    sink.wait([&] { return sink.outstanding() > 1; });
    for (Position p : sink.outstanding_positions()) {
      if (p == stuck) continue;
      ack(sink, id, p);
      acked.insert(p);
    }
  }
  EXPECT_EQ(acked, std::set<Position>(others.begin(), others.end()));
  for (Position p : held) EXPECT_FALSE(sink.got(p)) << p;
  EXPECT_EQ(pool_->checkpoint(), stuck - 1) << "held-back events are outstanding";
  // Held-back events take no in-flight slot: the one event out is `stuck`.
  EXPECT_EQ(sink.outstanding_positions(), std::vector<Position>{stuck});
}

TEST_F(EmitterPoolOrdering, HeldBackEventsTakeNoInFlightSlot) {
  start(SubscriptionOptions{});
  const Position s1 = append_to("S");
  append_to("S");
  append_to("S");
  const Position t1 = append_to("T");
  RecordingSink& sink = make_sink(2);
  attach(sink);
  // A limit of 2: S's first event and T's; S's later ones, held back, do not fill the window.
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 2; }));
  EXPECT_EQ(sink.outstanding_positions(), (std::vector<Position>{s1, t1}));
}

TEST_F(EmitterPoolOrdering, ParkingReleasesTheStream) {
  SubscriptionOptions o;
  o.max_retries = 2;
  start(o);
  const Position v1 = append_to("S"), v2 = append_to("S"), v3 = append_to("S");
  RecordingSink& sink = make_sink(10);
  uint64_t id = attach(sink);
  // v1 parked by the consumer: once parked (durably), v2 goes out.
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 1; }));
  nack(sink, id, v1, NackAction::kPark);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 2; }));
  EXPECT_EQ(sink.deliveries()[1].position, v2);
  auto parked = store_->list_parked(key_);
  ASSERT_TRUE(parked.is_ok());
  ASSERT_EQ(parked->size(), 1u) << "v2 went out before v1 was parked";
  // v2 retried up to the limit: parked too, then v3.
  for (uint32_t attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_TRUE(sink.wait([&] { return sink.outstanding() == 1; }));
    EXPECT_EQ(sink.deliveries().back().position, v2);
    EXPECT_EQ(sink.deliveries().back().attempt, attempt);
    nack(sink, id, v2, NackAction::kRetry);
  }
  ASSERT_TRUE(sink.wait([&] { return sink.got_locked(v3); }));
  EXPECT_EQ(store_->list_parked(key_)->size(), 2u);
  pool_->ack(id, {v3});
  EXPECT_TRUE(checkpoint_reaches(v3));
}

TEST_F(EmitterPoolOrdering, AReplayedEventWaitsForItsStreamAndHoldsBackLaterOnes) {
  start(SubscriptionOptions{});
  const Position v1 = append_to("S"), v2 = append_to("S");
  RecordingSink& sink = make_sink(10);
  uint64_t id = attach(sink);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 1; }));
  nack(sink, id, v1, NackAction::kPark);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 2; }));  // v2, in flight
  auto replayed = pool_->replay_parked({v1});
  ASSERT_TRUE(replayed.is_ok());
  EXPECT_EQ(*replayed, 1u);
  const Position v3 = append_to("S");
  const Position t1 = append_to("T");
  ASSERT_TRUE(sink.wait([&] { return sink.got_locked(t1); }));
  EXPECT_EQ(sink.delivered_count(), 3u) << "the replay went out while v2 was outstanding";
  // v2 acked: the replayed v1 (out of order by nature), and v3 only after it.
  ack(sink, id, v2);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 4; }));
  EXPECT_EQ(sink.deliveries()[3].position, v1);
  EXPECT_FALSE(sink.got(v3));
  ack(sink, id, v1);
  ASSERT_TRUE(sink.wait([&] { return sink.got_locked(v3); }));
  pool_->ack(id, sink.take_outstanding());
  EXPECT_TRUE(checkpoint_reaches(t1));
  EXPECT_TRUE(parked_becomes(0)) << "unparked once handled";
}

TEST_F(EmitterPoolOrdering, OrderingNoneKeepsDeliveringPastARetry) {
  SubscriptionOptions o;
  o.ordering = DeliveryOrdering::kNone;
  start(o);
  const Position v1 = append_to("S"), v2 = append_to("S");
  StreamGauge gauge;
  RecordingSink& sink = make_sink(10, &gauge);
  uint64_t id = attach(sink);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 2; }));
  EXPECT_EQ(positions_of(sink), (std::vector<Position>{v1, v2})) << "both at once";
  EXPECT_EQ(gauge.most(), 2);
  nack(sink, id, v1, NackAction::kRetry);
  ASSERT_TRUE(sink.wait([&] { return sink.delivered() >= 3; }));
  EXPECT_EQ(sink.deliveries()[2].position, v1) << "the retry goes out after v2";
  pool_->ack(id, sink.take_outstanding());
  EXPECT_TRUE(checkpoint_reaches(v2));
}

}  // namespace
}  // namespace reckon::subscriptions_runtime
