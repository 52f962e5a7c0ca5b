#include "bench_support.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "option_checks.h"

namespace reckon::cli {

void add_event_shape_options(CLI::App* sub, int& size, int& streams) {
  sub->add_option("--size", size, "Bytes of JSON data per event")
      ->check(integer_in_range(0, 16 << 20))
      ->capture_default_str();
  sub->add_option("--streams", streams, "Streams to spread events over")
      ->check(integer_in_range(1, 100'000'000))
      ->capture_default_str();
}

std::string make_payload(int size) {
  if (size < 9) return "{}";
  return "{\"p\":\"" + std::string(static_cast<size_t>(size) - 8, 'x') + "\"}";
}

std::string run_id() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx",
                static_cast<unsigned long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
  return buf;
}

double round_to(double v, int decimals) {
  double f = std::pow(10.0, decimals);
  return std::round(v * f) / f;
}

SteadyClock::time_point after_seconds(SteadyClock::time_point from, double seconds) {
  return from +
         std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
}

Status ClientPool::open(Session& s, int n, bool shared, bool multiplex) {
  int count = shared ? 1 : n;
  for (int i = 0; i < count; ++i) {
    ClientOptions o = s.client_options();
    o.multiplex_appends = multiplex;
    auto c = Client::connect(o);
    if (!c) return c.status();
    clients_.push_back(std::move(c).value());
  }
  return Status::ok();
}

std::unique_ptr<ProgressLine> start_progress(const std::string& label, BenchTally& tally) {
  struct Last {
    double t = 0;
    uint64_t events = 0;
  };
  auto last = std::make_shared<Last>();
  return std::make_unique<ProgressLine>([label, &tally, last](double elapsed, bool final) {
    uint64_t events = tally.events.load(std::memory_order_relaxed);
    // Live: the rate over the last period; final: the average over the whole run.
    double dt = final ? elapsed : elapsed - last->t;
    uint64_t delta = final ? events : events - last->events;
    double rate = dt > 0 ? static_cast<double>(delta) / dt : 0;
    last->t = elapsed;
    last->events = events;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: %5.1fs  %s events  %s events/s  %s errors", label.c_str(),
                  elapsed, with_thousands(events).c_str(),
                  with_thousands(static_cast<uint64_t>(rate)).c_str(),
                  with_thousands(tally.errors.load(std::memory_order_relaxed)).c_str());
    return std::string(buf);
  });
}

void add_latency(Json& j, const LatencyHistogram& h, const std::string& prefix) {
  j[prefix + "p50_ms"] = round_to(static_cast<double>(h.percentile(0.50)) / 1000.0, 3);
  j[prefix + "p99_ms"] = round_to(static_cast<double>(h.percentile(0.99)) / 1000.0, 3);
  j[prefix + "p999_ms"] = round_to(static_cast<double>(h.percentile(0.999)) / 1000.0, 3);
  j[prefix + "mean_ms"] = round_to(h.mean() / 1000.0, 3);
  j[prefix + "max_ms"] = round_to(static_cast<double>(h.max()) / 1000.0, 3);
}

Json core_result(const std::string& mode, const BenchTally& tally, const LatencyHistogram& h,
                 double elapsed) {
  const uint64_t events = tally.events.load();
  Json j;
  j["mode"] = mode;
  j["events_per_s"] = round_to(elapsed > 0 ? static_cast<double>(events) / elapsed : 0, 1);
  add_latency(j, h);
  j["events"] = events;
  j["calls"] = tally.calls.load();
  j["errors"] = tally.errors.load();
  j["duration_s"] = round_to(elapsed, 3);
  return j;
}

int finish(Session& s, const Json& result, BenchTally& tally, bool failed_outright) {
  s.out().record(result);
  if (tally.errors.load() > 0) {
    if (failed_outright || tally.calls.load() == 0) return report_error(tally.first_error);
    std::cerr << "warning: " << tally.errors.load()
              << " calls failed; first: " << tally.first_error.to_string() << "\n";
  }
  return kExitOk;
}

Result<PositionRange> prefill(Client& client, const std::string& prefix, int streams, int size,
                              uint64_t count, const std::string& event_type) {
  const std::string payload = make_payload(size);
  PositionRange range;
  uint64_t done = 0;
  uint64_t k = 0;
  // Appends of up to 500 events, small enough that every stream gets its share.
  const uint64_t chunk = std::clamp<uint64_t>(count / static_cast<uint64_t>(std::max(streams, 1)), 1, 500);
  while (done < count) {
    uint64_t n = std::min<uint64_t>(chunk, count - done);
    std::vector<NewEvent> events(n);
    for (auto& e : events) {
      e.event_type = event_type;
      e.data = payload;
    }
    auto r = client.append(prefix + std::to_string(k++ % static_cast<uint64_t>(streams)),
                           kExpectAny, std::move(events));
    if (!r) return r.status();
    if (range.first == 0) range.first = r->first_position;
    range.last = r->position;
    done += n;
  }
  return range;
}

std::vector<StreamAppend> bench_append(const std::string& stream, int batch,
                                       const std::string& payload, const std::string& event_type) {
  std::vector<StreamAppend> parts(1);
  parts[0].stream_id = stream;
  parts[0].expected = kExpectAny;
  parts[0].events.resize(static_cast<size_t>(batch));
  for (auto& e : parts[0].events) {
    e.event_type = event_type;
    e.data = payload;
  }
  return parts;
}

}  // namespace reckon::cli
