// What the `reckon bench` modes share: run names, payloads, the error tally, one client per
// worker, the live progress line, the result record and the prefill. The append and read modes
// are in commands_bench.cc, the delivery modes (subscribe, consume) in
// commands_bench_delivery.cc; every mode prints one result record with the same core fields
// (events_per_s, p50_ms, p99_ms, p999_ms, mean_ms, max_ms, events, errors, duration_s).
//
// Thread-safety: BenchTally may be used from any thread; the rest belongs to the command's
// thread.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "latency_histogram.h"
#include "output.h"
#include "progress.h"
#include "reckon/client.h"
#include "session.h"

namespace reckon::cli {

using SteadyClock = std::chrono::steady_clock;

// A JSON object of `size` bytes (at least 2): {"p":"xxxx"}.
std::string make_payload(int size);
// --size (JSON bytes per event) and --streams (streams to spread events over), as every append
// workload takes them.
void add_event_shape_options(CLI::App* sub, int& size, int& streams);
// A short id unique to this run (hex milliseconds), for stream and subscription names.
std::string run_id();
double round_to(double v, int decimals);
SteadyClock::time_point after_seconds(SteadyClock::time_point from, double seconds);

// Counts what the workers did, and keeps the first error.
struct BenchTally {
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> errors{0};
  std::mutex mu;
  Status first_error;
  void fail(const Status& st) {
    errors.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu);
    if (first_error.is_ok()) first_error = st;
  }
};

// One client per worker, or one shared by all.
class ClientPool {
 public:
  Status open(Session& s, int n, bool shared, bool multiplex = false);
  Client& at(int i) { return *clients_[static_cast<size_t>(i) % clients_.size()]; }
  size_t size() const { return clients_.size(); }

 private:
  std::vector<std::unique_ptr<Client>> clients_;
};

// "label: 3.0s  12,000 events  4,000 events/s  0 errors", from tally.events.
std::unique_ptr<ProgressLine> start_progress(const std::string& label, BenchTally& tally);

// The fields every mode reports: rates, latency percentiles (ms) of `h`, counts, duration.
Json core_result(const std::string& mode, const BenchTally& tally, const LatencyHistogram& h,
                 double elapsed);
// Adds p50_ms, p99_ms, p999_ms, mean_ms, max_ms of `h`, each name after `prefix`.
void add_latency(Json& j, const LatencyHistogram& h, const std::string& prefix = "");

// Prints the result; when every call failed (or `failed_outright`), the first error decides
// the exit code, otherwise failed calls only warn on stderr.
int finish(Session& s, const Json& result, BenchTally& tally, bool failed_outright = false);

// The positions a prefill wrote: every event in [first, last] is one of them (nothing else
// was appended meanwhile on a quiet server).
struct PositionRange {
  Position first = 0;
  Position last = 0;
};

// Appends `count` events of type `event_type` and `size` bytes to `streams` streams named
// prefix + k, 500 per call.
Result<PositionRange> prefill(Client& client, const std::string& prefix, int streams, int size,
                              uint64_t count, const std::string& event_type = "BenchEvent");

// One benchmark append of `batch` events of `event_type` to `stream`.
std::vector<StreamAppend> bench_append(const std::string& stream, int batch,
                                       const std::string& payload,
                                       const std::string& event_type = "BenchEvent");

}  // namespace reckon::cli
