// bench append / bench read: closed-loop load from N client threads for a fixed duration, with
// a live progress line on stderr and one result record (JSON with --json, a table otherwise).
// The delivery modes (bench subscribe, bench consume) are in commands_bench_delivery.cc.
//
// Each client thread owns a reckon::Client (its own gRPC channel: separate HTTP/2 connections
// scale better than one shared channel) unless --shared-client is given, and issues one call at
// a time; every call's latency goes into the thread's LatencyHistogram.
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "bench_support.h"
#include "commands.h"
#include "option_checks.h"

namespace reckon::cli {

namespace {

struct BenchArgs {
  int clients = 4;
  double duration_s = 10;
  int batch = 1;
  int size = 100;
  int streams = 1000;
  bool shared_client = false;
  // append only: drive the in-flight appends asynchronously over `connections` channels
  bool async = false;
  int connections = 4;
  double rate = 0;  // > 0: open loop at this many appends/s (implies --async)
  bool multiplex = false;  // async/rate: one AppendSession call per connection
  // read only
  std::string mode = "all";  // all | streams
  std::string stream_prefix = "bench-";
  uint64_t prefill = 0;
};

// Runs `body(worker_index, histogram, deadline)` on `clients` threads and returns the merged
// histogram and the measured wall time.
template <typename Body>
std::pair<LatencyHistogram, double> run_workers(int clients, double duration_s, Body body) {
  std::vector<LatencyHistogram> histograms(static_cast<size_t>(clients));
  auto start = SteadyClock::now();
  auto deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                              std::chrono::duration<double>(duration_s));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] { body(i, histograms[static_cast<size_t>(i)], deadline); });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  LatencyHistogram all;
  for (const auto& h : histograms) all.merge(h);
  return {std::move(all), elapsed};
}

Json result_json(const std::string& mode, const BenchArgs& a, const BenchTally& tally,
                 const LatencyHistogram& h, double elapsed, bool appends) {
  uint64_t events = tally.events.load();
  uint64_t calls = tally.calls.load();
  Json j;
  j["mode"] = mode;
  j["events_per_s"] = round_to(elapsed > 0 ? static_cast<double>(events) / elapsed : 0, 1);
  j["appends_per_s"] = appends ? round_to(elapsed > 0 ? static_cast<double>(calls) / elapsed : 0, 1)
                               : 0.0;
  if (!appends) j["reads_per_s"] = round_to(elapsed > 0 ? static_cast<double>(calls) / elapsed : 0, 1);
  add_latency(j, h);
  j["events"] = events;
  j["calls"] = calls;
  j["errors"] = tally.errors.load();
  j["duration_s"] = round_to(elapsed, 3);
  j["clients"] = a.clients;
  j["batch"] = a.batch;
  j["size"] = a.size;
  j["streams"] = a.streams;
  j["shared_client"] = a.shared_client;
  return j;
}

int run_bench_append(Session& s, const BenchArgs& a) {
  ClientPool pool;
  if (Status st = pool.open(s, a.clients, a.shared_client); !st) return report_error(st);
  const std::string prefix = "bench-" + run_id() + "-";
  const std::string payload = make_payload(a.size);
  BenchTally shared;
  auto progress = start_progress("bench append", shared);
  auto [hist, elapsed] = run_workers(a.clients, a.duration_s, [&](int w, LatencyHistogram& h,
                                                                  SteadyClock::time_point deadline) {
    Client& client = pool.at(w);
    uint64_t k = static_cast<uint64_t>(w);
    while (SteadyClock::now() < deadline) {
      std::vector<NewEvent> events(static_cast<size_t>(a.batch));
      for (auto& e : events) {
        e.event_type = "BenchEvent";
        e.data = payload;
      }
      std::string stream = prefix + std::to_string(k % static_cast<uint64_t>(a.streams));
      k += static_cast<uint64_t>(a.clients);
      auto t0 = SteadyClock::now();
      auto r = client.append(stream, kExpectAny, std::move(events));
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0);
      if (!r) {
        shared.fail(r.status());
        // An unreachable server fails fast; do not spin.
        if (SteadyClock::now() + std::chrono::milliseconds(10) < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        continue;
      }
      h.record(static_cast<uint64_t>(us.count()));
      shared.calls.fetch_add(1, std::memory_order_relaxed);
      shared.events.fetch_add(static_cast<uint64_t>(a.batch), std::memory_order_relaxed);
    }
  });
  progress->stop();
  return finish(s, result_json("append", a, shared, hist, elapsed, /*appends=*/true), shared);
}

// Bookkeeping of the asynchronous modes: completions arrive on gRPC's threads.
struct AsyncTally {
  BenchTally shared;
  std::mutex mu;  // guards hist and in_flight
  std::condition_variable idle;
  LatencyHistogram hist;
  int in_flight = 0;

  void completed(const Result<std::vector<AppendResult>>& r, SteadyClock::time_point since, int batch) {
    if (r) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - since);
      {
        std::lock_guard lock(mu);
        hist.record(static_cast<uint64_t>(us.count()));
      }
      shared.calls.fetch_add(1, std::memory_order_relaxed);
      shared.events.fetch_add(static_cast<uint64_t>(batch), std::memory_order_relaxed);
    } else {
      shared.fail(r.status());
    }
  }
  void retire() {
    std::lock_guard lock(mu);
    if (--in_flight == 0) idle.notify_all();
  }
  void wait_idle() {
    std::unique_lock lock(mu);
    idle.wait(lock, [&] { return in_flight == 0; });
  }
};

// --async: `clients` appends are kept in flight with the client's asynchronous API over
// `connections` channels; each completion records its latency and issues the next append.
// No thread per client, so the client side costs far less CPU (it shares the machine with the
// server in these benchmarks).
int run_bench_append_async(Session& s, const BenchArgs& a) {
  ClientPool pool;
  if (Status st = pool.open(s, std::max(1, std::min(a.connections, a.clients)), false, a.multiplex); !st) {
    return report_error(st);
  }
  const std::string prefix = "bench-" + run_id() + "-";
  const std::string payload = make_payload(a.size);
  AsyncTally tally;
  auto progress = start_progress("bench append", tally.shared);
  auto start = SteadyClock::now();
  auto deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                              std::chrono::duration<double>(a.duration_s));

  // Issues one append for in-flight slot `slot`; its completion issues the next one.
  std::function<void(int, uint64_t)> issue = [&](int slot, uint64_t k) {
    auto t0 = SteadyClock::now();
    pool.at(slot).append_multi_async(
        bench_append(prefix + std::to_string(k % static_cast<uint64_t>(a.streams)), a.batch, payload),
        std::nullopt, [&, slot, k, t0](Result<std::vector<AppendResult>> r) {
          tally.completed(r, t0, a.batch);
          if (r && SteadyClock::now() < deadline) return issue(slot, k + static_cast<uint64_t>(a.clients));
          tally.retire();
        });
  };
  tally.in_flight = a.clients;
  for (int i = 0; i < a.clients; ++i) issue(i, static_cast<uint64_t>(i));
  tally.wait_idle();
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  progress->stop();
  Json result = result_json("append", a, tally.shared, tally.hist, elapsed, /*appends=*/true);
  result["async"] = true;
  result["multiplex"] = a.multiplex;
  result["connections"] = std::min(a.connections, a.clients);
  return finish(s, result, tally.shared);
}

// --rate R: open loop. A driver thread sends R appends per second on schedule, whatever the
// server's answers, with at most --clients in flight (a send that would exceed it is counted
// in "late"). Latency runs from the scheduled send time, so a stalled server shows up in the
// percentiles instead of silently slowing the load (no coordinated omission).
int run_bench_append_rate(Session& s, const BenchArgs& a) {
  ClientPool pool;
  if (Status st = pool.open(s, std::max(1, a.connections), false, a.multiplex); !st) {
    return report_error(st);
  }
  const std::string prefix = "bench-" + run_id() + "-";
  const std::string payload = make_payload(a.size);
  AsyncTally tally;
  uint64_t late = 0;
  auto progress = start_progress("bench append", tally.shared);
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                                    std::chrono::duration<double>(a.duration_s));
  const auto interval = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(1.0 / a.rate));
  uint64_t k = 0;
  for (auto next = start; next < deadline; next += interval, ++k) {
    std::this_thread::sleep_until(next);
    {
      std::lock_guard lock(tally.mu);
      if (tally.in_flight >= a.clients) {
        ++late;
        continue;
      }
      ++tally.in_flight;
    }
    const auto scheduled = next;
    pool.at(static_cast<int>(k)).append_multi_async(
        bench_append(prefix + std::to_string(k % static_cast<uint64_t>(a.streams)), a.batch, payload),
        std::nullopt, [&, scheduled](Result<std::vector<AppendResult>> r) {
          tally.completed(r, scheduled, a.batch);
          tally.retire();
        });
  }
  tally.wait_idle();
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  progress->stop();
  Json result = result_json("append", a, tally.shared, tally.hist, elapsed, /*appends=*/true);
  result["target_rate"] = a.rate;
  result["multiplex"] = a.multiplex;
  result["late"] = late;
  return finish(s, result, tally.shared);
}

int run_bench_read(Session& s, const BenchArgs& a) {
  if (a.mode != "all" && a.mode != "streams") {
    return report_usage_error("--mode must be 'all' or 'streams'");
  }
  ClientPool pool;
  if (Status st = pool.open(s, a.clients, a.shared_client); !st) return report_error(st);

  std::string prefix = a.stream_prefix;
  if (a.prefill > 0) {
    prefix = "bench-" + run_id() + "-";
    std::cerr << "prefilling " << with_thousands(a.prefill) << " events...\n";
    if (auto r = prefill(pool.at(0), prefix, a.streams, a.size, a.prefill); !r) {
      return report_error(r.status());
    }
  }

  // The streams to read in "streams" mode.
  std::vector<std::string> streams;
  if (a.mode == "streams") {
    ListStreamsOptions o;
    o.prefix = prefix;
    o.limit = 1000;
    while (streams.size() < 10'000) {
      auto page = pool.at(0).list_streams(o);
      if (!page) return report_error(page.status());
      for (auto& info : page->streams) streams.push_back(info.stream_id);
      if (page->next_after.empty() || page->streams.empty()) break;
      o.after = page->next_after;
    }
    if (streams.empty()) {
      return report_error(Status::not_found("no stream with prefix '" + prefix +
                                            "' to read; use --prefill N"));
    }
  } else {
    ReadAllOptions probe;
    probe.max_count = 1;
    auto r = pool.at(0).read_all(probe);
    if (!r) return report_error(r.status());
    if (r->events.empty()) {
      return report_error(Status::not_found("the store holds no event to read; use --prefill N"));
    }
  }

  BenchTally shared;
  auto progress = start_progress("bench read " + a.mode, shared);
  auto [hist, elapsed] = run_workers(a.clients, a.duration_s, [&](int w, LatencyHistogram& h,
                                                                  SteadyClock::time_point deadline) {
    Client& client = pool.at(w);
    Position from = kStartPosition;
    uint64_t k = static_cast<uint64_t>(w);
    while (SteadyClock::now() < deadline) {
      uint64_t got = 0;
      Position last = 0;
      auto visitor = [&](const Event& e) {
        ++got;
        last = e.position;
        return true;
      };
      auto t0 = SteadyClock::now();
      Status st;
      if (a.mode == "all") {
        ReadAllOptions o;
        o.from_position = from;
        o.max_count = static_cast<uint64_t>(a.batch);
        st = client.read_all_streaming(o, visitor);
      } else {
        ReadStreamOptions o;
        o.max_count = static_cast<uint64_t>(a.batch);
        st = client.read_streaming(streams[k++ % streams.size()], o, visitor);
      }
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0);
      if (!st) {
        shared.fail(st);
        if (SteadyClock::now() + std::chrono::milliseconds(10) < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        continue;
      }
      // Page through $all and wrap around at its end.
      from = got < static_cast<uint64_t>(a.batch) ? kStartPosition : last + 1;
      h.record(static_cast<uint64_t>(us.count()));
      shared.calls.fetch_add(1, std::memory_order_relaxed);
      shared.events.fetch_add(got, std::memory_order_relaxed);
    }
  });
  progress->stop();
  BenchArgs shown = a;
  if (a.mode == "streams") shown.streams = static_cast<int>(streams.size());
  return finish(s, result_json("read-" + a.mode, shown, shared, hist, elapsed, /*appends=*/false),
                shared);
}

void add_common(CLI::App* sub, BenchArgs* a) {
  sub->add_option("--clients", a->clients, "Concurrent clients (threads)")
      ->check(integer_in_range(1, 4096))
      ->capture_default_str();
  sub->add_option("--duration", a->duration_s, "Seconds to run")
      ->check(number_in_range(0.001, 86400.0))
      ->capture_default_str();
  add_event_shape_options(sub, a->size, a->streams);
  sub->add_flag("--shared-client", a->shared_client, "All threads share one client");
}

}  // namespace

void add_bench_commands(CLI::App& app, Runner* selected) {
  auto* group = app.add_subcommand("bench", "Measure throughput and latency against a server");
  group->require_subcommand(1);

  auto ap = std::make_shared<BenchArgs>();
  auto* sub = group->add_subcommand("append", "Closed-loop durable appends");
  add_common(sub, ap.get());
  sub->add_option("--batch", ap->batch, "Events per append")
      ->check(integer_in_range(1, 10'000))
      ->capture_default_str();
  sub->add_flag("--async", ap->async,
                "Keep --clients appends in flight with the asynchronous client API instead of "
                "one thread per client");
  sub->add_flag("--multiplex", ap->multiplex,
                "With --async/--rate: send the appends over multiplexed AppendSession calls");
  sub->add_option("--rate", ap->rate,
                  "Open loop: this many appends/s on schedule (at most --clients in flight); "
                  "latency from the scheduled time")
      ->check(number_at_least(0));
  sub->add_option("--connections", ap->connections, "With --async/--rate: gRPC channels to spread over")
      ->check(integer_in_range(1, 1024))
      ->capture_default_str();
  sub->callback([ap, selected] {
    *selected = [ap](Session& s) {
      if (ap->rate > 0) return run_bench_append_rate(s, *ap);
      return ap->async ? run_bench_append_async(s, *ap) : run_bench_append(s, *ap);
    };
  });

  auto rd = std::make_shared<BenchArgs>();
  rd->clients = 1;
  rd->batch = 1000;
  rd->streams = 100;
  sub = group->add_subcommand("read", "Closed-loop reads: pages of $all (streaming) or of streams");
  add_common(sub, rd.get());
  sub->add_option("--batch", rd->batch, "Events per read call")
      ->check(integer_in_range(1, 100'000))
      ->capture_default_str();
  sub->add_option("--mode", rd->mode, "all: read $all page by page; streams: read whole streams")
      ->check(CLI::IsMember({"all", "streams"}))
      ->capture_default_str();
  sub->add_option("--stream-prefix", rd->stream_prefix, "streams mode: streams to read")
      ->capture_default_str();
  sub->add_option("--prefill", rd->prefill,
                  "Append this many events (over --streams streams) before measuring")
      ->check(integer_at_least(0))
      ->capture_default_str();
  sub->callback([rd, selected] {
    *selected = [rd](Session& s) { return run_bench_read(s, *rd); };
  });

  add_bench_delivery_commands(*group, selected);
}

}  // namespace reckon::cli
