// What the deterministic simulations share (tests/unit/consensus/simulation_test.cc, the
// consensus layer over a recording state machine; tests/unit/store/storage_simulation_test.cc,
// the store's state machine over RocksDB), and the offload the store's unit tests drive by hand:
//   - env_u64: their RECKON_*SIM_* knobs;
//   - SeedCrashReport: the seed being played, printed if the process dies of a signal (libraft's
//     fixture asserts its safety checks; a bug may crash outright);
//   - ScriptedOffload: a consensus::LoopOffload whose jobs finish when the test says so.
// Test code only; single-threaded like the simulations.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "consensus/state_machine.h"

namespace reckon::testing {

inline uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// While alive, a fatal signal prints "<what> crashed (signal S) during seed N; reproduce with
// <seed_env>=N" before the process dies as it would have. `what` and `seed_env` must be string
// literals: the handler reads them.
class SeedCrashReport {
 public:
  SeedCrashReport(const char* what, const char* seed_env) {
    what_ = what;
    seed_env_ = seed_env;
    for (int sig : kSignals) previous_.push_back(signal(sig, &SeedCrashReport::on_crash));
  }
  ~SeedCrashReport() {
    seed_ = -1;
    for (size_t i = 0; i < previous_.size(); i++) signal(kSignals[i], previous_[i]);
  }
  SeedCrashReport(const SeedCrashReport&) = delete;
  SeedCrashReport& operator=(const SeedCrashReport&) = delete;

  void playing(uint64_t seed) { seed_ = static_cast<sig_atomic_t>(seed); }

 private:
  static constexpr int kSignals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};

  static void on_crash(int sig) {
    char buf[256];
    const int seed = static_cast<int>(seed_);
    int n = std::snprintf(buf, sizeof buf,
                          "\n*** %s crashed (signal %d) during seed %d; reproduce with %s=%d ***\n",
                          what_, sig, seed, seed_env_, seed);
    if (n > 0) (void)!write(2, buf, static_cast<size_t>(n));
    signal(sig, SIG_DFL);
    raise(sig);
  }

  static inline volatile sig_atomic_t seed_ = -1;
  static inline const char* what_ = "";
  static inline const char* seed_env_ = "";
  std::vector<void (*)(int)> previous_;
};

// Each job's work (the pool thread's part) runs when handed over, or, with defer_work(true),
// later: with finish_one(), work_one() or finish_work(). Its continuation (the loop's part)
// runs only with finish_one(), oldest first.
class ScriptedOffload : public consensus::LoopOffload {
 public:
  void run(std::function<void()> work, std::function<void()> then_on_loop) override {
    Job job{std::move(work), std::move(then_on_loop), false};
    if (!defer_work_) {
      job.work();
      job.worked = true;
    }
    jobs_.push_back(std::move(job));
  }

  void defer_work(bool on) { defer_work_ = on; }
  bool idle() const { return jobs_.empty(); }
  size_t pending() const { return jobs_.size(); }

  // The oldest job's work, if not done yet; its continuation stays queued.
  void work_one() {
    Job& job = jobs_.front();
    if (!job.worked) job.work();
    job.worked = true;
  }
  // The oldest job: its work if not done yet, then its continuation.
  void finish_one() {
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    if (!job.worked) job.work();
    job.then_on_loop();
  }
  // Every job's work, continuations left queued (a replica closing drains: it waits for the
  // work, never for the continuations).
  void finish_work() {
    for (auto& job : jobs_) {
      if (!job.worked) job.work();
      job.worked = true;
    }
  }
  void clear() { jobs_.clear(); }

 private:
  struct Job {
    std::function<void()> work, then_on_loop;
    bool worked = false;
  };
  std::deque<Job> jobs_;
  bool defer_work_ = false;
};

}  // namespace reckon::testing
