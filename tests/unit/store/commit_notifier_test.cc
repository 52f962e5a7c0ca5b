#include "store/commit_notifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace reckon::store {
namespace {

// Collects wake-ups; waits for them with a deadline.
struct Wakeups {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<WaitOutcome> seen;
  CommitNotifier::Callback callback() {
    return [this](WaitOutcome o) {
      std::lock_guard lock(mu);
      seen.push_back(o);
      cv.notify_all();
    };
  }
  bool wait_for(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return seen.size() >= n; });
  }
};

TEST(CommitNotifier, WakesAtOnceWhenAlreadyPast) {
  CommitNotifier n(10);
  Wakeups w;
  n.wait(9, std::chrono::seconds(10), w.callback());
  ASSERT_TRUE(w.wait_for(1));
  EXPECT_EQ(w.seen[0], WaitOutcome::kAdvanced);
}

TEST(CommitNotifier, WakesWhenAPublishedPositionPassesTheWaiter) {
  CommitNotifier n(10);
  Wakeups w;
  n.wait(10, std::chrono::seconds(10), w.callback());
  n.wait(12, std::chrono::seconds(10), w.callback());
  n.published(10);  // not past either waiter
  n.published(11);  // past the first only
  ASSERT_TRUE(w.wait_for(1));
  EXPECT_FALSE(w.wait_for(2, std::chrono::milliseconds(50)));
  n.published(13);
  ASSERT_TRUE(w.wait_for(2));
  EXPECT_EQ(w.seen[1], WaitOutcome::kAdvanced);
  EXPECT_EQ(n.last_position(), 13u);
}

TEST(CommitNotifier, TimesOutWithoutCommits) {
  CommitNotifier n(0);
  Wakeups w;
  auto start = std::chrono::steady_clock::now();
  n.wait(0, std::chrono::milliseconds(30), w.callback());
  ASSERT_TRUE(w.wait_for(1));
  EXPECT_EQ(w.seen[0], WaitOutcome::kTimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
}

TEST(CommitNotifier, CloseWakesEveryWaiterAndLaterWaitsEndAtOnce) {
  CommitNotifier n(0);
  Wakeups w;
  for (int i = 0; i < 5; ++i) n.wait(0, std::chrono::seconds(30), w.callback());
  n.close();
  ASSERT_TRUE(w.wait_for(5));
  for (auto o : w.seen) EXPECT_EQ(o, WaitOutcome::kClosed);
  n.wait(0, std::chrono::seconds(30), w.callback());
  ASSERT_TRUE(w.wait_for(6));
  EXPECT_EQ(w.seen[5], WaitOutcome::kClosed);
}

TEST(CommitNotifier, CancelledWaiterIsNeverCalled) {
  CommitNotifier n(0);
  Wakeups w;
  uint64_t id = n.wait(0, std::chrono::milliseconds(20), w.callback());
  n.cancel(id);
  n.published(5);
  EXPECT_FALSE(w.wait_for(1, std::chrono::milliseconds(100)));
}

TEST(CommitNotifier, EveryWaiterIsWokenExactlyOnceUnderConcurrency) {
  CommitNotifier n(0);
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        n.wait(static_cast<Position>(t * 500 + i), std::chrono::seconds(30),
               [&](WaitOutcome) { calls.fetch_add(1); });
      }
    });
  }
  std::thread publisher([&] {
    for (Position p = 1; p <= 2001; ++p) n.published(p);
  });
  for (auto& t : threads) t.join();
  publisher.join();
  n.published(5000);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (calls.load() < 2000 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  EXPECT_EQ(calls.load(), 2000);
}

}  // namespace
}  // namespace reckon::store
