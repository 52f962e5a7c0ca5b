// ThreadPool: a fixed set of named worker threads draining one task queue. Used for a store's
// reader and writer pools. shutdown() (or the destructor) runs every queued task, then joins.
// Thread-safety: post() from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace reckon::server {

class ThreadPool {
 public:
  ThreadPool(std::string name, int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False when the pool is shutting down (the task is not run).
  bool post(std::function<void()> task);
  void shutdown();
  size_t queued() const;
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void run();
  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace reckon::server
