#include "latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace reckon::cli {

namespace {
constexpr int kSubBits = 8;                      // values below 256 have their own bucket
constexpr uint64_t kLinear = 1u << kSubBits;     // 256
constexpr uint64_t kHalf = kLinear / 2;          // 128 sub-buckets per octave above that
constexpr size_t kBuckets = kLinear + (64 - kSubBits + 1) * kHalf;
}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

size_t LatencyHistogram::bucket_of(uint64_t v) {
  if (v < kLinear) return static_cast<size_t>(v);
  int msb = 63 - std::countl_zero(v);        // >= kSubBits
  int shift = msb - (kSubBits - 1);          // >= 1
  uint64_t sub = v >> shift;                 // in [kHalf, kLinear)
  return kLinear + static_cast<size_t>(shift - 1) * kHalf + static_cast<size_t>(sub - kHalf);
}

uint64_t LatencyHistogram::value_of(size_t bucket) {
  if (bucket < kLinear) return bucket;
  size_t rel = bucket - kLinear;
  int shift = static_cast<int>(rel / kHalf) + 1;
  uint64_t sub = kHalf + rel % kHalf;
  uint64_t low = sub << shift;
  uint64_t width = uint64_t{1} << shift;
  return low + width / 2;
}

void LatencyHistogram::record(uint64_t micros) {
  ++counts_[bucket_of(micros)];
  ++count_;
  sum_ += micros;
  max_ = std::max(max_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(value_of(i), max_);
  }
  return max_;
}

}  // namespace reckon::cli
