// Clock: the seam for wall time, so tests can control created_us and max_age.
// Implementations must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace reckon {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_us() = 0;  // microseconds since the Unix epoch
};

std::shared_ptr<Clock> system_clock();

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_us) : now_(start_us) {}
  int64_t now_us() override { return now_.load(); }
  void advance_us(int64_t delta) { now_ += delta; }
  void set_us(int64_t t) { now_ = t; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace reckon
