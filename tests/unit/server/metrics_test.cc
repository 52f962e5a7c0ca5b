#include "server/metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace reckon::metrics {
namespace {

TEST(Metrics, RenderIsExactForCountersGaugesAndHistogramsWithLabels) {
  Registry r;
  r.counter("reckon_errors_total", "Errors by code", {{"code", "WrongExpectedVersion"}}).inc(3);
  r.counter("reckon_errors_total", "Errors by code", {{"code", "a\\b\"c\nd"}}).inc();
  r.gauge("reckon_connections", "Open connections\nper node \\ total").set(2.5);
  Histogram& h =
      r.histogram("reckon_append_seconds", "Append latency", {0.25, 1, 2.5}, {{"store", "main"}});
  for (double v : {0.125, 0.25, 2.0, 4.0}) h.observe(v);

  EXPECT_EQ(r.render(),
            "# HELP reckon_append_seconds Append latency\n"
            "# TYPE reckon_append_seconds histogram\n"
            "reckon_append_seconds_bucket{store=\"main\",le=\"0.25\"} 2\n"
            "reckon_append_seconds_bucket{store=\"main\",le=\"1\"} 2\n"
            "reckon_append_seconds_bucket{store=\"main\",le=\"2.5\"} 3\n"
            "reckon_append_seconds_bucket{store=\"main\",le=\"+Inf\"} 4\n"
            "reckon_append_seconds_sum{store=\"main\"} 6.375\n"
            "reckon_append_seconds_count{store=\"main\"} 4\n"
            "# HELP reckon_connections Open connections\\nper node \\\\ total\n"
            "# TYPE reckon_connections gauge\n"
            "reckon_connections 2.5\n"
            "# HELP reckon_errors_total Errors by code\n"
            "# TYPE reckon_errors_total counter\n"
            "reckon_errors_total{code=\"WrongExpectedVersion\"} 3\n"
            "reckon_errors_total{code=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(Metrics, UnlabelledHistogramRendersOnlyLeOnBuckets) {
  Registry r;
  r.histogram("h_seconds", "", {1}).observe(0.5);
  EXPECT_EQ(r.render(),
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"1\"} 1\n"
            "h_seconds_bucket{le=\"+Inf\"} 1\n"
            "h_seconds_sum 0.5\n"
            "h_seconds_count 1\n");
}

TEST(Metrics, SeriesAreSortedAndLabelsAreSortedByName) {
  Registry r;
  r.counter("c_total", "c", {{"z", "1"}, {"a", "2"}}).inc();
  r.counter("c_total", "c", {{"a", "1"}, {"z", "9"}}).inc(2);
  EXPECT_EQ(r.render(),
            "# HELP c_total c\n"
            "# TYPE c_total counter\n"
            "c_total{a=\"1\",z=\"9\"} 2\n"
            "c_total{a=\"2\",z=\"1\"} 1\n");
}

TEST(Metrics, SameNameAndLabelsReturnTheSameMetricWhateverTheLabelOrder) {
  Registry r;
  Counter& a = r.counter("x_total", "x", {{"a", "1"}, {"b", "2"}});
  Counter& b = r.counter("x_total", "ignored: first help wins", {{"b", "2"}, {"a", "1"}});
  Counter& other = r.counter("x_total", "x", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.inc();
  b.inc(4);
  EXPECT_EQ(a.value(), 5u);
  EXPECT_EQ(other.value(), 0u);
  EXPECT_NE(r.render().find("# HELP x_total x\n"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsFromEightThreadsSumCorrectly) {
  Registry r;
  Counter& c = r.counter("ops_total", "ops");
  Gauge& g = r.gauge("level", "level");
  Histogram& h = r.histogram("lat_seconds", "lat", latency_buckets_seconds());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        g.add(1);
        h.observe(t % 2 == 0 ? 0.001953125 : 20.0);  // exact in binary: sums are exact
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(g.value(), double{kThreads} * kPerThread);
  Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(s.cumulative.back(), s.count);
  EXPECT_EQ(s.sum, kThreads / 2 * kPerThread * (0.001953125 + 20.0));
  EXPECT_EQ(s.cumulative[4], s.count / 2);  // le="0.0025"
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInclusiveUpperBounds) {
  Registry r;
  Histogram& h = r.histogram("h", "h", {1, 2, 5, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(h.upper_bounds(), (std::vector<double>{1, 2, 5}));  // a trailing +Inf is implicit
  for (double v : {0.5, 1.0, 1.5, 2.0, 2.0, 4.9, 5.0, 7.0, -3.0}) h.observe(v);
  h.observe(std::nan(""));  // ignored
  Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{3, 6, 8, 9}));
  EXPECT_EQ(s.count, 9u);
  EXPECT_DOUBLE_EQ(s.sum, 0.5 + 1 + 1.5 + 2 + 2 + 4.9 + 5 + 7 - 3);
}

TEST(Metrics, GaugeCallbackIsEvaluatedAtRenderUntilCleared) {
  Registry r;
  Gauge& g = r.gauge("queue_length", "q", {{"pool", "writer"}});
  g.set(1);
  int calls = 0;
  g.set_callback([&] { return static_cast<double>(++calls * 10); });
  EXPECT_NE(r.render().find("queue_length{pool=\"writer\"} 10\n"), std::string::npos);
  EXPECT_NE(r.render().find("queue_length{pool=\"writer\"} 20\n"), std::string::npos);
  g.clear_callback();
  EXPECT_NE(r.render().find("queue_length{pool=\"writer\"} 1\n"), std::string::npos);
  EXPECT_EQ(calls, 2);
}

TEST(Metrics, ThrowingGaugeCallbackRendersNaN) {
  Registry r;
  r.gauge("g", "g").set_callback([]() -> double { throw std::runtime_error("boom"); });
  EXPECT_NE(r.render().find("g NaN\n"), std::string::npos);
}

TEST(Metrics, ValuesAreFormattedLikePrometheusClients) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(0.00025), "0.00025");
  EXPECT_EQ(format_value(0.00001), "1e-05");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(10), "10");
  EXPECT_EQ(format_value(123456), "123456");
  EXPECT_EQ(format_value(1e6), "1e+06");
  EXPECT_EQ(format_value(1234567), "1.234567e+06");
  EXPECT_EQ(format_value(-0.5), "-0.5");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1e300), "1e+300");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Metrics, LatencyBucketsCoverTenthOfMillisecondToTenSeconds) {
  Registry r;
  r.histogram("l", "l", latency_buckets_seconds()).observe(0.0001);
  std::string out = r.render();
  EXPECT_NE(out.find("l_bucket{le=\"0.0001\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("l_bucket{le=\"10\"} 1\n"), std::string::npos);
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
}

TEST(MetricsDeathTest, MisuseAbortsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry r;
  r.counter("requests_total", "r");
  EXPECT_DEATH(r.gauge("requests_total", "r"), "is a counter, requested as a gauge");
  EXPECT_DEATH(r.counter("bad-name", "r"), "invalid metric name");
  EXPECT_DEATH(r.counter("ok_total", "r", {{"__reserved", "x"}}), "invalid label name");
  EXPECT_DEATH(r.counter("ok_total", "r", {{"a", "x"}, {"a", "y"}}), "given twice");
  EXPECT_DEATH(r.histogram("h", "h", {1, 2}, {{"le", "1"}}), "reserved");
  EXPECT_DEATH(r.histogram("h", "h", {2, 1}), "strictly increasing");
  r.histogram("h2", "h", {1, 2});
  EXPECT_DEATH(r.histogram("h2", "h", {1, 3}), "other buckets");
}

}  // namespace
}  // namespace reckon::metrics
