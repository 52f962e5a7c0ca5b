// Persistent subscriptions end to end against a real reckond (single mode = a one-voter Raft
// group, so the leader worker runs): records over gRPC, the default subscription, each
// selector type, dispatch strategies, nack/retry/park/replay, consumer crash, checkpoints, and
// per-stream order with retries over several consumers.
#include <condition_variable>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "server/server_test_util.h"

namespace reckon::testing {
namespace {

using namespace std::chrono_literals;

class PersistentSubscriptionTest : public SharedServerTest {
 protected:
  Subscription MustCreate(SubscriptionType type, const std::string& selector, const std::string& name,
                          SubscriptionOptions options = {}, uint32_t pool_size = 1) {
    NewSubscription n;
    n.type = type;
    n.selector = selector;
    n.name = name;
    n.pool_size = pool_size;
    n.start_from = client().stats().last_position;  // only events appended by the test
    n.options = options;
    auto s = client().create_subscription(n);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return s.is_ok() ? *s : Subscription{};
  }

  static ConsumeOptions WithDeadline(std::chrono::milliseconds d = 20s) {
    ConsumeOptions o;
    o.deadline = std::chrono::system_clock::now() + d;
    return o;
  }

  // Consumes and acks until `n` events arrived; returns them in arrival order.
  std::vector<DeliveredEvent> ConsumeN(const std::string& name, size_t n, ConsumeOptions o = WithDeadline()) {
    std::vector<DeliveredEvent> got;
    Status s = client().consume(name, o, [&](const DeliveredEvent& d) {
      got.push_back(d);
      return got.size() >= n ? ConsumeAction::kStop : ConsumeAction::kAck;
    });
    EXPECT_TRUE(s.is_ok()) << s.to_string() << " after " << got.size() << " of " << n << " events";
    return got;
  }

  static std::set<Position> Positions(const std::vector<DeliveredEvent>& events) {
    std::set<Position> out;
    for (const auto& d : events) out.insert(d.event.position);
    return out;
  }
};

TEST_F(PersistentSubscriptionTest, DefaultAllEventsSubscriptionExistsAfterStart) {
  ASSERT_TRUE(eventually([&] {
    auto s = client().get_subscription_by_name("all-events");
    return s.is_ok() && s->type == SubscriptionType::kStream && s->selector == "$all" && s->pool_size == 1;
  }));
  auto st = client().cluster_status();
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  EXPECT_TRUE(st->is_active);
}

TEST_F(PersistentSubscriptionTest, RecordsOverTheWire) {
  const std::string name = unique_name("records");
  auto created = MustCreate(SubscriptionType::kEventType, "OrderPlaced", name);
  auto got = client().get_subscription(created.key);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got->name, name);
  EXPECT_TRUE(*client().subscription_exists(created.key));
  auto list = client().list_subscriptions();
  ASSERT_TRUE(list.is_ok());
  EXPECT_TRUE(std::any_of(list->begin(), list->end(), [&](const Subscription& s) { return s.key == created.key; }));
  NewSubscription bad;
  bad.type = SubscriptionType::kEventPayload;
  bad.selector = "not json";
  bad.name = unique_name("bad");
  EXPECT_EQ(client().create_subscription(bad).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(client().delete_subscription(created.key).is_ok());
  EXPECT_EQ(client().get_subscription(created.key).code(), ErrorCode::kNotFound);
  EXPECT_EQ(client().delete_subscription(created.key).code(), ErrorCode::kNotFound);
}

TEST_F(PersistentSubscriptionTest, EachTypeDeliversExactlyTheMatchingEvents) {
  const std::string p = unique_name("typ");
  const std::string type_a = p + "-A", type_b = p + "-B", tag = p + "-tag";
  auto s_stream = MustCreate(SubscriptionType::kStream, p + "-orders-1", p + "-by-stream");
  auto s_type = MustCreate(SubscriptionType::kEventType, type_b, p + "-by-type");
  auto s_pattern = MustCreate(SubscriptionType::kEventPattern, p + "-orders-*", p + "-by-pattern");
  auto s_payload = MustCreate(SubscriptionType::kEventPayload, "{\"k\":\"" + p + "\",\"n\":{\"$gt\":5}}", p + "-by-payload");
  auto s_tags = MustCreate(SubscriptionType::kTags, "{\"any\":[\"" + tag + "\"]}", p + "-by-tags");

  std::set<Position> want_stream, want_type, want_pattern, want_payload, want_tags;
  for (int i = 0; i < 10; ++i) {
    const std::string stream = p + (i % 2 ? "-orders-1" : (i % 3 ? "-orders-2" : "-other"));
    const std::string type = i % 3 ? type_a : type_b;
    std::vector<std::string> tags;
    if (i % 4 == 0) tags.push_back(tag);
    auto r = MustAppend(stream, kExpectAny, {make_event(type, "{\"k\":\"" + p + "\",\"n\":" + std::to_string(i) + "}", tags)});
    Position pos = r.first_position;
    if (stream == p + "-orders-1") want_stream.insert(pos);
    if (type == type_b) want_type.insert(pos);
    if (stream.rfind(p + "-orders-", 0) == 0) want_pattern.insert(pos);
    if (i > 5) want_payload.insert(pos);
    if (!tags.empty()) want_tags.insert(pos);
  }
  EXPECT_EQ(Positions(ConsumeN(s_stream.name, want_stream.size())), want_stream);
  EXPECT_EQ(Positions(ConsumeN(s_type.name, want_type.size())), want_type);
  EXPECT_EQ(Positions(ConsumeN(s_pattern.name, want_pattern.size())), want_pattern);
  EXPECT_EQ(Positions(ConsumeN(s_payload.name, want_payload.size())), want_payload);
  EXPECT_EQ(Positions(ConsumeN(s_tags.name, want_tags.size())), want_tags);
}

// Two consumers attached at once; returns which consumer got which events.
std::map<int, std::vector<Event>> ConsumeWithTwo(const std::string& endpoint, const std::string& name, size_t total) {
  std::mutex mu;
  std::map<int, std::vector<Event>> got;
  size_t count = 0;
  std::vector<std::shared_ptr<ConsumeStopper>> stoppers = {std::make_shared<ConsumeStopper>(),
                                                           std::make_shared<ConsumeStopper>()};
  auto worker = [&](int id) {
    auto c = connect_client(endpoint);
    ASSERT_TRUE(c.is_ok());
    ConsumeOptions o;
    o.max_in_flight = 2;
    o.deadline = std::chrono::system_clock::now() + 15s;
    o.stopper = stoppers[id];
    (void)(*c)->consume(name, o, [&](const DeliveredEvent& d) {
      std::lock_guard<std::mutex> lock(mu);
      // After the stop, the leaving consumer's in-flight events go to the other one: not counted.
      if (count >= total) return ConsumeAction::kLeave;
      got[id].push_back(d.event);
      if (++count >= total) {
        for (auto& s : stoppers) s->stop();  // ends the other consumer too
      }
      return ConsumeAction::kAck;
    });
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  return got;
}

TEST_F(PersistentSubscriptionTest, StrategiesWithTwoConsumers) {
  for (auto strategy : {DeliveryStrategy::kRoundRobin, DeliveryStrategy::kSingle, DeliveryStrategy::kPinned}) {
    SCOPED_TRACE(std::string(delivery_strategy_name(strategy)));
    const std::string p = unique_name("strat");
    SubscriptionOptions o;
    o.strategy = strategy;
    o.max_in_flight = 2;
    auto sub = MustCreate(SubscriptionType::kEventPattern, p + "-*", p, o);
    // Both consumers attach before the events exist.
    std::map<int, std::vector<Event>> got;
    std::thread consumers([&] { got = ConsumeWithTwo(server().grpc_address(), sub.name, 40); });
    std::this_thread::sleep_for(500ms);  // let both attach: the test is about sharing
    for (int i = 0; i < 40; ++i) MustAppend(p + "-s" + std::to_string(i % 4), kExpectAny, {make_event("E")});
    consumers.join();
    size_t total = got[0].size() + got[1].size();
    EXPECT_GE(total, 40u);
    if (strategy == DeliveryStrategy::kRoundRobin) {
      EXPECT_GT(got[0].size(), 5u);
      EXPECT_GT(got[1].size(), 5u);
    } else if (strategy == DeliveryStrategy::kSingle) {
      EXPECT_TRUE(got[0].empty() || got[1].empty()) << got[0].size() << " / " << got[1].size();
    } else {
      std::map<std::string, std::set<int>> owners;
      for (auto& [id, events] : got)
        for (auto& e : events) owners[e.stream_id].insert(id);
      for (auto& [stream, ids] : owners) EXPECT_EQ(ids.size(), 1u) << stream;
      // Per stream, in version order.
      for (auto& [id, events] : got) {
        std::map<std::string, int64_t> last;
        for (auto& e : events) {
          auto it = last.find(e.stream_id);
          if (it != last.end()) {
            EXPECT_GT(e.version, it->second);
          }
          last[e.stream_id] = e.version;
        }
      }
    }
  }
}

TEST_F(PersistentSubscriptionTest, NackRetryRedeliversThenParksAtTheLimitAndReplayDeliversAgain) {
  const std::string p = unique_name("park");
  SubscriptionOptions o;
  o.max_retries = 3;
  auto sub = MustCreate(SubscriptionType::kStream, p, p, o);
  auto bad = MustAppend(p, kExpectAny, {make_event("Poison")});
  auto good = MustAppend(p, kExpectAny, {make_event("Fine")});

  // Every delivery of the poison event is nacked (retry); the third attempt is the last one
  // allowed: the consumer leaves without answering and the event is parked. Per-stream order:
  // the next event of the stream waits meanwhile.
  std::vector<uint32_t> attempts;
  Status s = client().consume(sub.name, WithDeadline(), [&](const DeliveredEvent& d) {
    EXPECT_EQ(d.event.position, bad.first_position) << "delivered while the poison event was outstanding";
    attempts.push_back(d.attempt);
    return attempts.size() >= 3 ? ConsumeAction::kStop : ConsumeAction::kRetry;
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(attempts, (std::vector<uint32_t>{1, 2, 3}));

  ASSERT_TRUE(eventually([&] {
    auto parked = client().list_parked(sub.key, {});
    return parked.is_ok() && parked->size() == 1 && parked->front().position == bad.first_position &&
           parked->front().attempts == 3;
  })) << "the event was not parked";
  // Parked counts as handled: the checkpoint passes it.
  ASSERT_TRUE(eventually([&] {
    auto g = client().get_subscription(sub.key);
    return g.is_ok() && g->checkpoint >= bad.first_position;
  }));

  auto replayed = client().replay_parked(sub.key, {});
  ASSERT_TRUE(replayed.is_ok()) << replayed.status().to_string();
  EXPECT_EQ(*replayed, 1u);
  auto sentinel = MustAppend(p, kExpectAny, {make_event("Sentinel")});
  std::vector<DeliveredEvent> again;
  s = client().consume(sub.name, WithDeadline(), [&](const DeliveredEvent& d) {
    again.push_back(d);
    return d.event.position == sentinel.first_position ? ConsumeAction::kStop : ConsumeAction::kAck;
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  // The event released by the park went out first; the replay (out of order by nature) waited
  // for it, and held back the stream's next event until it was acked.
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].event.position, good.first_position);
  EXPECT_EQ(again[1].event.position, bad.first_position);
  EXPECT_EQ(again[1].attempt, 1u);
  EXPECT_EQ(again[2].event.position, sentinel.first_position);
  // Acked after the replay: no longer parked.
  EXPECT_TRUE(eventually([&] {
    auto parked = client().list_parked(sub.key, {});
    return parked.is_ok() && parked->empty();
  }));
}

TEST_F(PersistentSubscriptionTest, NackParkAndSkip) {
  const std::string p = unique_name("nack");
  auto sub = MustCreate(SubscriptionType::kStream, p, p);
  auto a = MustAppend(p, kExpectAny, {make_event("A")});
  auto b = MustAppend(p, kExpectAny, {make_event("B")});
  auto c = MustAppend(p, kExpectAny, {make_event("C")});
  std::vector<Position> seen;
  Status s = client().consume(sub.name, WithDeadline(), [&](const DeliveredEvent& d) {
    seen.push_back(d.event.position);
    if (d.event.position == a.first_position) return ConsumeAction::kPark;
    if (d.event.position == b.first_position) return ConsumeAction::kSkip;
    return seen.size() >= 3 ? ConsumeAction::kStop : ConsumeAction::kAck;
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(seen, (std::vector<Position>{a.first_position, b.first_position, c.first_position}));
  ASSERT_TRUE(eventually([&] {
    auto parked = client().list_parked(sub.key, {});
    return parked.is_ok() && parked->size() == 1 && parked->front().position == a.first_position;
  }));
}

TEST_F(PersistentSubscriptionTest, ConsumerCrashRedeliversUnackedEventsOnReattach) {
  const std::string p = unique_name("crash");
  auto sub = MustCreate(SubscriptionType::kEventPattern, p + "-*", p);
  std::set<Position> appended;
  // Five streams: all five events are out at once (per-stream ordering).
  for (int i = 0; i < 5; ++i) {
    appended.insert(MustAppend(p + "-" + std::to_string(i), kExpectAny, {make_event("E")}).first_position);
  }
  // First consumer: takes everything and goes away without a single ack.
  std::set<Position> first;
  Status s = client().consume(sub.name, WithDeadline(), [&](const DeliveredEvent& d) {
    first.insert(d.event.position);
    return first.size() >= 5 ? ConsumeAction::kStop : ConsumeAction::kLeave;
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(first, appended);
  // The second attach gets them all again, as redeliveries.
  auto again = ConsumeN(sub.name, 5);
  EXPECT_EQ(Positions(again), appended);
  for (const auto& d : again) EXPECT_GE(d.attempt, 2u);
}

// Three consumers (round_robin) share a subscription over a few busy streams and nack about one
// delivery in five (retry). What each stream's events went through, in the order the handlers
// ran: never two of a stream at once, and the successful processings in version order.
TEST_F(PersistentSubscriptionTest, PerStreamOrderHoldsAcrossConsumersAndRetries) {
  const std::string p = unique_name("order");
  SubscriptionOptions o;
  o.max_in_flight = 4;
  o.max_retries = 50;  // nothing is parked
  auto sub = MustCreate(SubscriptionType::kEventPattern, p + "-*", p, o);
  ASSERT_EQ(sub.options.ordering, DeliveryOrdering::kPerStream) << "the default";
  constexpr int kStreams = 4, kPerStream = 25;
  for (int v = 0; v < kPerStream; ++v) {
    for (int k = 0; k < kStreams; ++k) MustAppend(p + "-" + std::to_string(k), kExpectAny, {make_event("E")});
  }
  constexpr size_t kTotal = kStreams * kPerStream;

  std::mutex mu;
  std::map<std::string, int> running;                   // handlers busy with the stream now
  std::map<std::string, std::vector<int64_t>> handled;  // versions acked, in handler order
  size_t acked = 0, retried = 0;
  int most_at_once = 0;
  std::vector<std::shared_ptr<ConsumeStopper>> stoppers;
  for (int i = 0; i < 3; ++i) stoppers.push_back(std::make_shared<ConsumeStopper>());
  auto consumer = [&](int id) {
    auto c = connect_client(server().grpc_address());
    ASSERT_TRUE(c.is_ok());
    ConsumeOptions co = WithDeadline(30s);
    co.stopper = stoppers[id];
    uint64_t seen = 0;
    (void)(*c)->consume(sub.name, co, [&](const DeliveredEvent& d) {
      const std::string& stream = d.event.stream_id;
      {
        std::lock_guard<std::mutex> lock(mu);
        most_at_once = std::max(most_at_once, ++running[stream]);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200 * (id + 1)));  // some work
      const bool retry = (++seen + static_cast<uint64_t>(id)) % 5 == 0;
      std::lock_guard<std::mutex> lock(mu);
      --running[stream];
      if (retry) {
        ++retried;
        return ConsumeAction::kRetry;
      }
      handled[stream].push_back(d.event.version);
      if (++acked >= kTotal) {
        for (auto& s : stoppers) s->stop();
      }
      return ConsumeAction::kAck;
    });
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(consumer, i);
  for (auto& t : threads) t.join();

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(acked, kTotal);
  EXPECT_GT(retried, 0u);
  EXPECT_EQ(most_at_once, 1) << "two events of one stream were processed at once";
  ASSERT_EQ(handled.size(), static_cast<size_t>(kStreams));
  for (const auto& [stream, versions] : handled) {
    std::vector<int64_t> want(kPerStream);
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(versions, want) << stream;
  }
}

// Answers given from another thread (ConsumeOptions::answers) while the handler leaves events
// unanswered reach the server: under per-stream order each one releases the next event.
TEST_F(PersistentSubscriptionTest, AnswersGivenOutsideTheHandlerReachTheServer) {
  const std::string stream = unique_name("outside");
  MustCreate(SubscriptionType::kStream, stream, stream + "-sub");
  for (int i = 0; i < 5; ++i) MustAppend(stream, kExpectAny, {make_event("E", "{}")});

  ConsumeOptions o = WithDeadline();
  o.answers = std::make_shared<ConsumeAnswers>();
  o.stopper = std::make_shared<ConsumeStopper>();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Position> delivered;
  std::thread answerer([&] {
    size_t answered = 0;
    while (answered < 5) {
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, 10s, [&] { return delivered.size() > answered; })) break;
      const Position p = delivered[answered++];
      lock.unlock();
      std::this_thread::sleep_for(5ms);  // well after the handler returned
      EXPECT_TRUE(o.answers->answer(p, ConsumeAction::kAck));
    }
    // Stop only once the last ack is in: stop() cancels the call, and answers still queued
    // then would be lost (the events come back later: at-least-once).
    EXPECT_TRUE(eventually([&] {
      auto sub = client().get_subscription_by_name(stream + "-sub");
      std::lock_guard<std::mutex> lock(mu);
      return sub.is_ok() && !delivered.empty() && sub->checkpoint >= delivered.back();
    }));
    o.stopper->stop();
  });
  Status s = client().consume(stream + "-sub", o, [&](const DeliveredEvent& d) {
    std::lock_guard<std::mutex> lock(mu);
    delivered.push_back(d.event.position);
    cv.notify_all();
    return ConsumeAction::kLeave;
  });
  answerer.join();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  ASSERT_EQ(delivered.size(), 5u) << "each answer released the stream's next event";
  EXPECT_FALSE(o.answers->answer(delivered.back(), ConsumeAction::kAck)) << "nothing attached any more";
}

TEST_F(PersistentSubscriptionTest, MetricsCountDeliveriesAndAcks) {
  const std::string p = unique_name("metrics");
  auto sub = MustCreate(SubscriptionType::kStream, p, p);
  MustAppend(p, kExpectAny, {make_event("E")});
  MustAppend(p, kExpectAny, {make_event("E")});
  ConsumeN(sub.name, 2);
  ASSERT_TRUE(eventually([&] {
    auto r = http_get("127.0.0.1", server().http_port(), "/metrics");
    return r.is_ok() &&
           r->body.find("reckon_subscription_delivered_total{store=") != std::string::npos &&
           r->body.find("subscription=\"" + p + "\"") != std::string::npos &&
           r->body.find("reckon_subscription_lag_events") != std::string::npos &&
           r->body.find("reckon_subscription_lag_seconds{store=") != std::string::npos &&
           r->body.find("reckon_leader_elected_total") != std::string::npos;
  }));
}

// A Consume that fails is counted under its own error code (it was counted as Cancelled).
TEST_F(PersistentSubscriptionTest, AFailedConsumeIsCountedUnderItsErrorCode) {
  // The value of the first series starting with `prefix` (0 when absent).
  auto counter = [&](const std::string& prefix) -> double {
    auto r = http_get("127.0.0.1", server().http_port(), "/metrics");
    if (!r.is_ok()) return -1;
    const size_t at = r->body.find(prefix);
    if (at == std::string::npos) return 0;
    const size_t value = r->body.find("} ", at);
    return std::stod(r->body.substr(value + 2, r->body.find('\n', value) - value - 2));
  };
  const std::string not_found = R"(reckon_errors_total{code="NotFound",method="Consume")";
  const double before = counter(not_found);
  Status s = client().consume(unique_name("no-such-subscription"), WithDeadline(5s),
                              [](const DeliveredEvent&) { return ConsumeAction::kAck; });
  ASSERT_EQ(s.code(), ErrorCode::kNotFound) << s.to_string();
  EXPECT_TRUE(eventually([&] { return counter(not_found) == before + 1; }))
      << "NotFound errors of Consume: " << counter(not_found) << ", before " << before;
}

// Own server: it is restarted.
TEST(PersistentSubscriptionRestartTest, CheckpointNeverGoesBackwardsAndSurvivesARestart) {
  TempDir dir;
  ServerProcess server(reckond_bin(), dir.sub("node"));
  ASSERT_TRUE(server.start().is_ok());
  auto client = connect_client(server.grpc_address());
  ASSERT_TRUE(client.is_ok());
  Client& c = **client;
  NewSubscription n;
  n.type = SubscriptionType::kStream;
  n.selector = "orders";
  n.name = "restart";
  auto sub = c.create_subscription(n);
  ASSERT_TRUE(sub.is_ok()) << sub.status().to_string();
  Position last = 0;
  for (int i = 0; i < 20; ++i) last = c.append("orders", kExpectAny, {make_event("E")})->first_position;

  // Consume and ack everything while sampling the checkpoint: it never decreases.
  std::atomic<bool> done{false};
  std::vector<Position> samples;
  std::thread sampler([&] {
    auto other = connect_client(server.grpc_address());
    while (!done.load()) {
      if (auto g = (*other)->get_subscription(sub->key)) samples.push_back(g->checkpoint);
      std::this_thread::sleep_for(10ms);
    }
  });
  size_t got = 0;
  ConsumeOptions o;
  o.deadline = std::chrono::system_clock::now() + 20s;
  // 19 acked; the 20th is left unanswered by the stop.
  Status s = c.consume("restart", o, [&](const DeliveredEvent&) {
    return ++got >= 20 ? ConsumeAction::kStop : ConsumeAction::kAck;
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_TRUE(eventually([&] {
    auto g = c.get_subscription(sub->key);
    return g.is_ok() && g->checkpoint == last - 1;
  }));
  done = true;
  sampler.join();
  for (size_t i = 1; i < samples.size(); ++i) EXPECT_GE(samples[i], samples[i - 1]);

  ASSERT_TRUE(server.restart().is_ok());
  auto g = c.get_subscription(sub->key);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(g->checkpoint, last - 1);
  std::vector<Position> after;
  o.deadline = std::chrono::system_clock::now() + 20s;
  s = c.consume("restart", o, [&](const DeliveredEvent& d) {
    after.push_back(d.event.position);
    return ConsumeAction::kStop;
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0], last);  // resumes after the checkpoint: the unacked event, nothing older
}

}  // namespace
}  // namespace reckon::testing
