// bench subscribe / bench consume: delivery of catch-up and persistent subscriptions, measured
// against a running server (docs/PERFORMANCE.md, "Subscription delivery").
//
// Each runs in one of two ways:
//   live (--rate R, the default)  an open-loop writer makes R single-event appends per second
//       (asynchronous, over multiplexed AppendSession calls on --connections channels, at most
//       kWriterInFlight unanswered; a send beyond that is skipped and counted as `late`) for
//       --duration seconds while the subscribers or consumers receive. The latency of a
//       delivery is its receipt time minus the moment its append was acknowledged to the writer
//       (one process, one steady clock; 0 when the event arrives first: the subscriber can be
//       told before the writer). send_p50_ms... measure from the append's scheduled send
//       instead, the append included. events_per_s is the rate of acknowledged appends,
//       delivered_per_s the rate of deliveries.
//   backlog (--prefill N)  N events are appended first; then every subscriber reads them from
//       history (catch-up), or the consumers share them out (persistent). events_per_s is the
//       delivery rate while draining; the latency fields hold each subscriber's or consumer's
//       time to drain (first to last: from the moment the receivers start).
//
// Every subscriber and consumer has its own client (its own connection) and thread. Receipt
// times are kept per receiver and matched with the writer's acknowledgements after the run, so
// measuring adds no lock to the delivery path.
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "bench_support.h"
#include "commands.h"
#include "option_checks.h"

namespace reckon::cli {
namespace {

constexpr int kWriterInFlight = 1024;
constexpr const char* kStopEventType = "BenchStop";

struct DeliveryArgs {
  double duration_s = 5;
  double rate = 1000;    // live: appends per second
  uint64_t prefill = 0;  // > 0: backlog run
  int size = 100;
  int streams = 1000;
  int connections = 1;  // the live writer's channels
  int receivers = 1;    // --subscribers / --consumers
  // consume only
  uint32_t max_in_flight = 0;  // per consumer; 0 = the subscription's default
  uint32_t pool_size = 1;
  std::string strategy = "round-robin";
  std::string ordering = "per-stream";
};

// What one subscriber or consumer received. Written by its own thread only; the counters are
// read live by the progress line and the main thread, the rest after the thread ended.
struct Receiver {
  std::vector<std::pair<Position, SteadyClock::time_point>> got;  // live runs: every receipt
  std::atomic<uint64_t> count{0};  // measured events received (redeliveries included)
  std::atomic<bool> ready{false};  // caught up (subscribe) or got a warm-up event (consume)
  std::atomic<bool> done{false};   // backlog: reached the last event
  std::atomic<bool> ended{false};  // its subscribe()/consume() returned
  SteadyClock::time_point last{};  // receipt of the last measured event
  Status status;                   // what subscribe()/consume() returned
};

using Receivers = std::vector<std::unique_ptr<Receiver>>;

Receivers make_receivers(int n) {
  Receivers rx;
  for (int i = 0; i < n; ++i) rx.push_back(std::make_unique<Receiver>());
  return rx;
}

uint64_t total_received(const Receivers& rx) {
  uint64_t n = 0;
  for (const auto& r : rx) n += r->count.load(std::memory_order_relaxed);
  return n;
}

// The first error a receiver ended with (Ok when none failed).
Status first_receiver_error(const Receivers& rx) {
  for (const auto& r : rx) {
    if (r->ended.load() && !r->status.is_ok()) return r->status;
  }
  return Status::ok();
}

// Waits (polling: a condition variable signalled per event would cost more than it measures)
// until `done()` or `deadline`; returns done().
bool wait_for(const std::function<bool()>& done, SteadyClock::time_point deadline) {
  while (!done()) {
    if (SteadyClock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// "label: 3.0s  appended 3,000  delivered 3,000  1,000 delivered/s  0 errors".
std::unique_ptr<ProgressLine> delivery_progress(const std::string& label, const BenchTally& tally,
                                                const Receivers& rx, bool show_appended) {
  struct Last {
    double t = 0;
    uint64_t delivered = 0;
  };
  auto last = std::make_shared<Last>();
  return std::make_unique<ProgressLine>([=, &tally, &rx](double elapsed, bool final) {
    const uint64_t delivered = total_received(rx);
    double dt = final ? elapsed : elapsed - last->t;
    uint64_t delta = final ? delivered : delivered - last->delivered;
    double rate = dt > 0 ? static_cast<double>(delta) / dt : 0;
    last->t = elapsed;
    last->delivered = delivered;
    std::string appended =
        show_appended ? "  appended " + with_thousands(tally.events.load(std::memory_order_relaxed))
                      : "";
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s: %5.1fs%s  delivered %s  %s delivered/s  %s errors",
                  label.c_str(), elapsed, appended.c_str(), with_thousands(delivered).c_str(),
                  with_thousands(static_cast<uint64_t>(rate)).c_str(),
                  with_thousands(tally.errors.load(std::memory_order_relaxed)).c_str());
    return std::string(buf);
  });
}

// When each of the live writer's appends was due (its scheduled send time) and acknowledged,
// by position.
class AckLog {
 public:
  struct Times {
    SteadyClock::time_point scheduled, acked;
  };
  void add(Position p, SteadyClock::time_point scheduled, SteadyClock::time_point acked) {
    std::lock_guard lock(mu_);
    acks_.emplace(p, Times{scheduled, acked});
  }
  // Only once the writer has returned.
  const std::unordered_map<Position, Times>& acks() const { return acks_; }

 private:
  std::mutex mu_;
  std::unordered_map<Position, Times> acks_;
};

// The live writer: `rate` single-event appends per second on schedule for `duration_s`, to
// streams prefix + k. Records every acknowledged position in `log` and counts appends in
// `tally`; returns once every append it sent was answered. Returns the seconds it ran.
double run_writer(ClientPool& pool, const DeliveryArgs& a, const std::string& prefix,
                  const std::string& event_type, AckLog& log, BenchTally& tally, uint64_t& late) {
  const std::string payload = make_payload(a.size);
  std::mutex mu;
  std::condition_variable idle;
  int in_flight = 0;
  const auto start = SteadyClock::now();
  const auto deadline = after_seconds(start, a.duration_s);
  const auto interval = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(1.0 / a.rate));
  uint64_t k = 0;
  for (auto next = start; next < deadline; next += interval, ++k) {
    std::this_thread::sleep_until(next);
    {
      std::lock_guard lock(mu);
      if (in_flight >= kWriterInFlight) {
        ++late;
        continue;
      }
      ++in_flight;
    }
    const auto scheduled = next;
    pool.at(static_cast<int>(k))
        .append_multi_async(
            bench_append(prefix + std::to_string(k % static_cast<uint64_t>(a.streams)), 1, payload,
                         event_type),
            std::nullopt, [&, scheduled](Result<std::vector<AppendResult>> r) {
              const auto now = SteadyClock::now();
              if (r && !r->empty()) {
                log.add(r->front().position, scheduled, now);
                tally.calls.fetch_add(1, std::memory_order_relaxed);
                tally.events.fetch_add(1, std::memory_order_relaxed);
              } else {
                tally.fail(r ? Status::internal("append returned no result") : r.status());
              }
              std::lock_guard lock(mu);
              if (--in_flight == 0) idle.notify_all();
            });
  }
  std::unique_lock lock(mu);
  idle.wait(lock, [&] { return in_flight == 0; });
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// Delivery latencies of a live run: from the append's acknowledgement (the figure of
// issue 4), and from its scheduled send (the whole way, append included).
struct Latencies {
  LatencyHistogram from_ack, from_send;
};

// Adds every receipt of an acknowledged event. Returns how many deliveries matched.
uint64_t add_latencies(const Receiver& r, const AckLog& log, Latencies& out) {
  uint64_t matched = 0;
  auto micros = [](SteadyClock::duration d) {
    return static_cast<uint64_t>(
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
  };
  for (const auto& [pos, at] : r.got) {
    auto it = log.acks().find(pos);
    if (it == log.acks().end()) continue;
    ++matched;
    out.from_ack.record(micros(at - it->second.acked));
    out.from_send.record(micros(at - it->second.scheduled));
  }
  return matched;
}

void join_all(std::vector<std::thread>& threads) {
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

// ---------------------------------------------------------------- bench subscribe

// Live: subscribers on $all from the end, filtered to this run's streams.
int run_subscribe_live(Session& s, const DeliveryArgs& a) {
  ClientPool readers, writers;
  if (Status st = readers.open(s, a.receivers, false); !st) return report_error(st);
  if (Status st = writers.open(s, a.connections, false, /*multiplex=*/true); !st)
    return report_error(st);
  const std::string prefix = "bench-" + run_id() + "-";
  Receivers rx = make_receivers(a.receivers);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < a.receivers; ++i) {
    threads.emplace_back([&, i] {
      Receiver& r = *rx[static_cast<size_t>(i)];
      SubscribeOptions o;
      o.start = SubscribeOptions::Start::kEnd;
      o.filter.stream_prefixes = {prefix};
      r.status = readers.at(i).subscribe(o, [&](const SubscriptionMessage& m) {
        const auto now = SteadyClock::now();
        if (m.kind == SubscriptionMessage::Kind::kCaughtUp) r.ready.store(true);
        if (m.kind == SubscriptionMessage::Kind::kEvent && m.event.event_type != kStopEventType) {
          r.got.emplace_back(m.event.position, now);
          r.last = now;
          r.count.fetch_add(1, std::memory_order_relaxed);
        }
        return !stop.load();
      });
      r.ended.store(true);
    });
  }
  // Ends the subscriptions: each returns at its next message, which the stop event makes
  // immediate (otherwise the next heartbeat, within a second).
  auto end_subscribers = [&] {
    stop.store(true);
    (void)writers.at(0).append(prefix + "stop", kExpectAny,
                               std::move(bench_append("", 1, "{}", kStopEventType)[0].events));
    join_all(threads);
  };
  const bool started = wait_for(
      [&] {
        return std::all_of(rx.begin(), rx.end(),
                           [](const auto& r) { return r->ready.load() || r->ended.load(); });
      },
      SteadyClock::now() + std::chrono::seconds(30));
  if (!started || !first_receiver_error(rx).is_ok()) {
    Status why = first_receiver_error(rx);
    end_subscribers();
    return report_error(why.is_ok() ? Status::unavailable("the subscriptions did not start") : why);
  }

  BenchTally tally;
  AckLog log;
  uint64_t late = 0;
  auto progress = delivery_progress("bench subscribe", tally, rx, /*show_appended=*/true);
  const double elapsed = run_writer(writers, a, prefix, "BenchEvent", log, tally, late);
  // Bounded wait for the last acknowledged events to arrive everywhere.
  const uint64_t acked = log.acks().size();
  wait_for(
      [&] {
        return std::all_of(rx.begin(), rx.end(), [&](const auto& r) {
          return r->count.load() >= acked || r->ended.load();
        });
      },
      SteadyClock::now() + std::chrono::seconds(5));
  progress->stop();
  end_subscribers();

  Latencies lat;
  uint64_t delivered = 0, missing = 0;
  for (const auto& r : rx) {
    uint64_t matched = add_latencies(*r, log, lat);
    delivered += matched;
    missing += acked - std::min(acked, matched);
  }
  Json result = core_result("subscribe", tally, lat.from_ack, elapsed);
  add_latency(result, lat.from_send, "send_");
  result["delivered_per_s"] =
      round_to(elapsed > 0 ? static_cast<double>(delivered) / elapsed : 0, 1);
  result["target_rate"] = a.rate;
  result["subscribers"] = a.receivers;
  result["delivered"] = delivered;
  result["missing"] = missing;
  result["late"] = late;
  result["size"] = a.size;
  result["streams"] = a.streams;
  result["connections"] = a.connections;
  if (Status st = first_receiver_error(rx); !st.is_ok()) tally.fail(st);
  if (missing > 0)
    tally.fail(Status::internal(std::to_string(missing) +
                                " deliveries of acknowledged events never arrived"));
  return finish(s, result, tally);
}

// Backlog: --prefill events, then every subscriber reads them from $all history.
int run_subscribe_catch_up(Session& s, const DeliveryArgs& a) {
  ClientPool readers;
  if (Status st = readers.open(s, a.receivers, false); !st) return report_error(st);
  const std::string prefix = "bench-" + run_id() + "-";
  std::cerr << "prefilling " << with_thousands(a.prefill) << " events...\n";
  auto range = prefill(readers.at(0), prefix, a.streams, a.size, a.prefill);
  if (!range) return report_error(range.status());

  BenchTally tally;
  Receivers rx = make_receivers(a.receivers);
  auto progress = delivery_progress("bench subscribe catch-up", tally, rx, /*show_appended=*/false);
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < a.receivers; ++i) {
    threads.emplace_back([&, i] {
      Receiver& r = *rx[static_cast<size_t>(i)];
      SubscribeOptions o;
      o.start = SubscribeOptions::Start::kAfter;
      o.after_position = range->first - 1;
      r.status = readers.at(i).subscribe(o, [&](const SubscriptionMessage& m) {
        if (m.kind != SubscriptionMessage::Kind::kEvent) return true;
        r.count.fetch_add(1, std::memory_order_relaxed);
        if (m.event.position < range->last) return true;
        r.last = SteadyClock::now();
        r.done.store(true);
        return false;
      });
      r.ended.store(true);
    });
  }
  join_all(threads);
  progress->stop();

  LatencyHistogram drain;  // per subscriber: start -> last event
  double elapsed = 0;
  for (const auto& r : rx) {
    if (!r->done.load()) {
      tally.fail(r->status.is_ok() ? Status::internal("a subscriber ended before the last event")
                                   : r->status);
      continue;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(r->last - start).count();
    drain.record(static_cast<uint64_t>(us));
    elapsed = std::max(elapsed, static_cast<double>(us) / 1e6);
  }
  const uint64_t delivered = total_received(rx);
  tally.events.store(delivered);
  tally.calls.store(static_cast<uint64_t>(a.receivers));
  Json result = core_result("subscribe-catch-up", tally, drain, elapsed);
  result["per_subscriber_events_per_s"] =
      round_to(elapsed > 0 ? static_cast<double>(delivered) / a.receivers / elapsed : 0, 1);
  result["subscribers"] = a.receivers;
  result["prefilled"] = a.prefill;
  result["delivered"] = delivered;
  result["size"] = a.size;
  return finish(s, result, tally, /*failed_outright=*/delivered == 0);
}

// ---------------------------------------------------------------- bench consume

// A persistent subscription of this run: event type `type`, only events appended from now on.
Result<Subscription> create_bench_subscription(Client& client, const DeliveryArgs& a,
                                               const std::string& name, const std::string& type) {
  RECKON_ASSIGN_OR_RETURN(auto st, parse_delivery_strategy(underscored(a.strategy)));
  NewSubscription n;
  n.type = SubscriptionType::kEventType;
  n.selector = type;
  n.name = name;
  n.pool_size = a.pool_size;
  n.start_from = kEndPosition;
  n.options.strategy = st;
  RECKON_ASSIGN_OR_RETURN(n.options.ordering, parse_delivery_ordering(underscored(a.ordering)));
  if (a.max_in_flight > 0) n.options.max_in_flight = a.max_in_flight;
  return client.create_subscription(n);
}

// Consumers on their own threads, acking every event; `warmup_stream`'s events only mark the
// consumer ready.
class ConsumerGroup {
 public:
  ConsumerGroup(ClientPool& clients, const DeliveryArgs& a, std::string key,
                std::string warmup_stream)
      : rx_(make_receivers(a.receivers)) {
    for (int i = 0; i < a.receivers; ++i) stoppers_.push_back(std::make_shared<ConsumeStopper>());
    for (int i = 0; i < a.receivers; ++i) {
      threads_.emplace_back([this, &clients, a, key, warmup_stream, i] {
        Receiver& r = *rx_[static_cast<size_t>(i)];
        ConsumeOptions o;
        o.stopper = stoppers_[static_cast<size_t>(i)];
        o.max_in_flight = a.max_in_flight;
        r.status = clients.at(i).consume(key, o, [&](const DeliveredEvent& d) {
          const auto now = SteadyClock::now();
          if (d.event.stream_id == warmup_stream) {
            r.ready.store(true);
            return ConsumeAction::kAck;
          }
          r.got.emplace_back(d.event.position, now);
          r.last = now;
          if (d.attempt == 1) {
            first_deliveries_.fetch_add(1, std::memory_order_relaxed);
          } else {
            redeliveries_.fetch_add(1, std::memory_order_relaxed);
          }
          r.count.fetch_add(1, std::memory_order_relaxed);
          return ConsumeAction::kAck;
        });
        r.ended.store(true);
      });
    }
  }
  ~ConsumerGroup() { stop(); }

  void stop() {
    for (auto& s : stoppers_) s->stop();
    join_all(threads_);
  }
  const Receivers& receivers() const { return rx_; }
  uint64_t first_deliveries() const { return first_deliveries_.load(); }
  uint64_t redeliveries() const { return redeliveries_.load(); }
  bool all_ended() const {
    return std::all_of(rx_.begin(), rx_.end(), [](const auto& r) { return r->ended.load(); });
  }

 private:
  Receivers rx_;
  std::vector<std::shared_ptr<ConsumeStopper>> stoppers_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> first_deliveries_{0};
  std::atomic<uint64_t> redeliveries_{0};
};

Json consume_fields(Json j, const DeliveryArgs& a, const ConsumerGroup& group) {
  j["consumers"] = a.receivers;
  j["max_in_flight"] = a.max_in_flight;
  j["pool_size"] = a.pool_size;
  j["strategy"] = a.strategy;
  j["ordering"] = a.ordering;
  j["redelivered"] = group.redeliveries();
  Json per = Json::array();
  for (const auto& r : group.receivers()) per.push_back(r->count.load());
  j["per_consumer"] = per;
  j["size"] = a.size;
  return j;
}

int run_consume(Session& s, const DeliveryArgs& a) {
  const bool live = a.prefill == 0;
  ClientPool consumers, writers;
  if (Status st = consumers.open(s, a.receivers, false); !st) return report_error(st);
  if (Status st = writers.open(s, a.connections, false, /*multiplex=*/true); !st)
    return report_error(st);
  const std::string id = run_id();
  const std::string prefix = "bench-" + id + "-";
  const std::string type = "BenchEvent-" + id;
  auto sub = create_bench_subscription(consumers.at(0), a, "bench-" + id, type);
  if (!sub) return report_error(sub.status());
  // The subscription goes with the run, whatever happens.
  struct Cleanup {
    Client& client;
    std::string key;
    ~Cleanup() { (void)client.delete_subscription(key); }
  } cleanup{consumers.at(0), sub->key};

  PositionRange backlog;
  if (!live) {
    std::cerr << "prefilling " << with_thousands(a.prefill) << " events...\n";
    auto range = prefill(writers.at(0), prefix, a.streams, a.size, a.prefill, type);
    if (!range) return report_error(range.status());
    backlog = *range;
  }

  BenchTally tally;
  const auto start = SteadyClock::now();
  ConsumerGroup group(consumers, a, sub->key, prefix + "warmup");
  const Receivers& rx = group.receivers();
  if (live) {
    // Warm-up: events until every consumer got one (attached and served), so the measured
    // latencies hold no attach time. single and pinned may never serve them all: 3 s at most.
    const auto deadline = SteadyClock::now() + std::chrono::seconds(3);
    while (SteadyClock::now() < deadline && !group.all_ended() &&
           !std::all_of(rx.begin(), rx.end(), [](const auto& r) { return r->ready.load(); })) {
      (void)writers.at(0).append(prefix + "warmup", kExpectAny,
                                 std::move(bench_append("", 1, "{}", type)[0].events));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  auto progress = delivery_progress("bench consume", tally, rx, /*show_appended=*/live);
  double elapsed = 0;
  AckLog log;
  uint64_t late = 0;
  uint64_t expected = a.prefill;
  if (live) {
    elapsed = run_writer(writers, a, prefix, type, log, tally, late);
    expected = log.acks().size();
  }
  // Until every measured event was delivered once (or no progress for 10 s).
  uint64_t seen = 0;
  auto last_progress = SteadyClock::now();
  while (group.first_deliveries() < expected && !group.all_ended()) {
    if (group.first_deliveries() != seen) {
      seen = group.first_deliveries();
      last_progress = SteadyClock::now();
    } else if (SteadyClock::now() - last_progress > std::chrono::seconds(live ? 5 : 10)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  group.stop();
  progress->stop();

  LatencyHistogram hist;
  std::unordered_set<Position> received;
  for (const auto& r : rx) {
    for (const auto& g : r->got) received.insert(g.first);
  }
  uint64_t missing = 0;
  Json result;
  if (live) {
    Latencies lat;
    for (const auto& r : rx) add_latencies(*r, log, lat);
    for (const auto& [pos, at] : log.acks()) missing += received.count(pos) ? 0 : 1;
    result = core_result("consume", tally, lat.from_ack, elapsed);
    add_latency(result, lat.from_send, "send_");
    const uint64_t delivered = total_received(rx);
    result["delivered_per_s"] =
        round_to(elapsed > 0 ? static_cast<double>(delivered) / elapsed : 0, 1);
    result["target_rate"] = a.rate;
    result["delivered"] = delivered;
    result["late"] = late;
  } else {
    for (const auto& r : rx) {
      if (r->got.empty()) continue;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(r->last - start).count();
      hist.record(static_cast<uint64_t>(us));
      elapsed = std::max(elapsed, static_cast<double>(us) / 1e6);
    }
    for (Position p = backlog.first; p <= backlog.last; ++p) missing += received.count(p) ? 0 : 1;
    tally.events.store(received.size());
    tally.calls.store(total_received(rx));
    result = core_result("consume-backlog", tally, hist, elapsed);
    result["prefilled"] = a.prefill;
    result["delivered"] = total_received(rx);
  }
  result["missing"] = missing;
  result = consume_fields(std::move(result), a, group);
  if (Status st = first_receiver_error(rx); !st.is_ok()) tally.fail(st);
  if (missing > 0)
    tally.fail(Status::internal(std::to_string(missing) + " events were never delivered"));
  return finish(s, result, tally, /*failed_outright=*/received.empty());
}

void add_delivery_common(CLI::App* sub, DeliveryArgs* a) {
  sub->add_option("--rate", a->rate, "Live run: single-event appends per second")
      ->check(number_above(0))
      ->capture_default_str();
  sub->add_option("--duration", a->duration_s, "Live run: seconds of appending")
      ->check(number_in_range(0.001, 86400.0))
      ->capture_default_str();
  sub->add_option("--prefill", a->prefill,
                  "Backlog run: append this many events first, then measure their delivery")
      ->check(integer_at_least(0));
  add_event_shape_options(sub, a->size, a->streams);
  sub->add_option("--connections", a->connections, "Live run: the writer's gRPC channels")
      ->check(integer_in_range(1, 64))
      ->capture_default_str();
}

}  // namespace

void add_bench_delivery_commands(CLI::App& bench, Runner* selected) {
  auto sb = std::make_shared<DeliveryArgs>();
  auto* sub = bench.add_subcommand("subscribe",
                                   "Catch-up subscriptions: append-ack to receipt latency (--rate) "
                                   "or history throughput (--prefill)");
  add_delivery_common(sub, sb.get());
  sub->add_option("--subscribers", sb->receivers,
                  "Subscribers on $all, each with its own connection")
      ->check(integer_in_range(1, 10'000))
      ->capture_default_str();
  sub->callback([sb, selected] {
    *selected = [sb](Session& s) {
      return sb->prefill > 0 ? run_subscribe_catch_up(s, *sb) : run_subscribe_live(s, *sb);
    };
  });

  auto cs = std::make_shared<DeliveryArgs>();
  sub = bench.add_subcommand("consume",
                             "Persistent subscription: append-ack to receipt latency (--rate) or "
                             "backlog throughput (--prefill)");
  add_delivery_common(sub, cs.get());
  sub->add_option("--consumers", cs->receivers,
                  "Consumers, each with its own connection; every event is acked")
      ->check(integer_in_range(1, 1'000))
      ->capture_default_str();
  sub->add_option("--max-in-flight", cs->max_in_flight,
                  "Unacknowledged events per consumer (0 = the subscription's default, 100)")
      ->capture_default_str();
  sub->add_option("--pool-size", cs->pool_size, "Emitters of the benchmark's subscription")
      ->check(integer_in_range(1, 1024))
      ->capture_default_str();
  sub->add_option("--strategy", cs->strategy, "round-robin|single|pinned")
      ->check(CLI::IsMember({"round-robin", "single", "pinned"}))
      ->capture_default_str();
  sub->add_option("--ordering", cs->ordering, "per-stream (a stream's next event waits for its previous one) | none")
      ->check(CLI::IsMember({"per-stream", "none"}))
      ->capture_default_str();
  sub->callback([cs, selected] { *selected = [cs](Session& s) { return run_consume(s, *cs); }; });
}

}  // namespace reckon::cli
