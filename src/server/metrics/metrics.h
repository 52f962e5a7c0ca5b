// Metrics: a registry of Prometheus metrics (counters, gauges, histograms) with labels, rendered
// in the Prometheus text exposition format 0.0.4 for reckond's /metrics endpoint.
//
// Use: look a metric up once by family name + label values and keep the reference; the hot path
// (Counter::inc, Gauge::set/add, Histogram::observe) is then a few relaxed atomic operations —
// no map lookup, no lock.
//
//   metrics::Registry registry;
//   metrics::Counter& wev = registry.counter("reckon_errors_total", "Errors returned, by code",
//                                            {{"code", "WrongExpectedVersion"}});
//   wev.inc();
//   metrics::Histogram& latency = registry.histogram(
//       "reckon_append_seconds", "Append latency", metrics::latency_buckets_seconds());
//   latency.observe(0.0021);
//   std::string body = registry.render();  // serve with Registry::kContentType
//
// Lifetime: metrics are never removed; references stay valid as long as the Registry.
// Asking twice for the same name and labels returns the same metric. Label order does not
// matter: labels are kept sorted by name.
//
// Programming errors abort the process with a message on stderr, since they are fixed once in
// code and never depend on input: an invalid metric or label name, a repeated label name, the
// reserved label "le" on a histogram, a name already registered with another type, or a
// histogram registered again with other buckets (or unsorted/NaN buckets). Label values may be
// any string; they are escaped on output. The HELP text of the first registration wins.
//
// Thread-safety: everything here may be used from any thread. Registry lookups and render()
// take the registry mutex; render() evaluates gauge callbacks after releasing it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reckon::metrics {

// Label name → value pairs, e.g. {{"code", "WrongExpectedVersion"}, {"store", "main"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. Padded to a cache line so that hot counters registered
// together do not slow each other down.
class alignas(64) Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  Counter() = default;
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down, either set by the program or computed at scrape time by a
// callback (e.g. a queue length or RocksDB property read when /metrics is served).
class alignas(64) Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void inc() { add(1); }
  void dec() { add(-1); }

  // The callback's result if one is set, else the last set/added value.
  double value() const;

  // From now on value() (and render()) call `fn` instead of reading the stored value. The
  // callback runs on the scraping thread; it must not call set_callback/clear_callback on the
  // same gauge. After clear_callback() (or a new set_callback) returns, the previous callback
  // is not running and will not run again, so its owner can then be destroyed.
  void set_callback(std::function<double()> fn);
  void clear_callback() { set_callback(nullptr); }

 private:
  friend class Registry;
  Gauge() = default;
  std::atomic<double> value_{0};
  std::atomic<bool> has_callback_{false};
  mutable std::mutex callback_mu_;
  std::function<double()> callback_;  // guarded by callback_mu_
};

// Counts observations into fixed buckets (upper bounds, inclusive, given at registration; the
// +Inf bucket is implicit) and sums them. observe() is lock-free. A scrape racing observe() may
// see an observation in its bucket but not yet in the sum; _count always equals the +Inf bucket.
// NaN observations are ignored.
class Histogram {
 public:
  void observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;  // without the implicit +Inf
    std::vector<uint64_t> cumulative;  // one per upper bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  friend class Registry;
  explicit Histogram(std::vector<double> bounds);
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

// 0.0001 s … 10 s in 1-2.5-5 steps: storage and request latencies.
std::vector<double> latency_buckets_seconds();
// start, start*factor, … (`count` bounds); start > 0, factor > 1.
std::vector<double> exponential_buckets(double start, double factor, int count);

class Registry {
 public:
  // The Content-Type of render()'s output.
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // `buckets`: strictly increasing upper bounds; a trailing +Inf is allowed and dropped.
  Histogram& histogram(std::string_view name, std::string_view help,
                       const std::vector<double>& buckets, const Labels& labels = {});

  // All metrics in the text exposition format 0.0.4: families sorted by name, each with one
  // HELP and one TYPE line, series sorted by their labels.
  std::string render() const;

 private:
  enum class Kind : uint8_t { kCounter, kGauge, kHistogram };
  struct Family;
  // Finds or creates the family; aborts if it exists with another kind or other buckets.
  Family& family_locked(std::string_view name, std::string_view help, Kind kind,
                        const std::vector<double>* buckets);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // guarded by mu_
};

// Exposed for tests and for other text renderers.
std::string escape_label_value(std::string_view v);  // \ " and newline
std::string escape_help(std::string_view v);         // \ and newline
std::string format_value(double v);                  // shortest round-trip, +Inf, -Inf, NaN

}  // namespace reckon::metrics
