// LatencyHistogram: HDR-style log-linear buckets of microsecond latencies (128 sub-buckets per
// power of two, so any percentile is within 0.8% of the true value), fixed memory whatever the
// number of samples. One per bench worker thread; merged at the end. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace reckon::cli {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void record(uint64_t micros);
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The value at quantile q in [0, 1] (0 when empty), in microseconds.
  uint64_t percentile(double q) const;

 private:
  static size_t bucket_of(uint64_t v);
  static uint64_t value_of(size_t bucket);  // the middle of the bucket's range

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace reckon::cli
