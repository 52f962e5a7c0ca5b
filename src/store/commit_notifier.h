// CommitNotifier: lets readers wait — without holding a thread — for the store's last position
// to move past a point (live tails of subscriptions). The committer calls published() after
// every successful commit; waiters are called back once, from the committer thread or the
// notifier's timer thread, with why they were woken. Callbacks must not block.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "reckon/store.h"

namespace reckon::store {

class CommitNotifier {
 public:
  using Callback = std::function<void(WaitOutcome)>;

  explicit CommitNotifier(Position last_position);
  ~CommitNotifier();

  // Calls `done` once: kAdvanced as soon as the last position is > `after` (at once if it
  // already is), kTimedOut after `timeout`, kClosed when the notifier closes. Returns an id
  // for cancel().
  uint64_t wait(Position after, std::chrono::milliseconds timeout, Callback done);
  // Drops a waiter that has not been woken yet (a callback already running still completes).
  void cancel(uint64_t id);
  void published(Position last_position);
  // Wakes every waiter with kClosed; later waits get kClosed at once.
  void close();
  Position last_position() const;

 private:
  struct Waiter {
    Position after;
    std::chrono::steady_clock::time_point deadline;
    Callback done;
  };
  void run_timer();
  // Removes and returns the waiters selected by `pick`; call with mu_ held.
  template <typename Pick>
  std::vector<Callback> take_locked(Pick pick);

  mutable std::mutex mu_;
  std::condition_variable timer_cv_;
  Position last_ = 0;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Waiter> waiters_;
  std::thread timer_;
};

}  // namespace reckon::store
