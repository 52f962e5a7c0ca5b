#include "store/commit_notifier.h"

#include <pthread.h>

#include <vector>

namespace reckon::store {

CommitNotifier::CommitNotifier(Position last_position) : last_(last_position) {
  timer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tail-timer");
    run_timer();
  });
}

CommitNotifier::~CommitNotifier() {
  close();
  if (timer_.joinable()) timer_.join();
}

template <typename Pick>
std::vector<CommitNotifier::Callback> CommitNotifier::take_locked(Pick pick) {
  std::vector<Callback> out;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (pick(it->second)) {
      out.push_back(std::move(it->second.done));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

uint64_t CommitNotifier::wait(Position after, std::chrono::milliseconds timeout, Callback done) {
  WaitOutcome immediate;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_ && last_ <= after) {
      uint64_t id = next_id_++;
      waiters_.emplace(id, Waiter{after, std::chrono::steady_clock::now() + timeout, std::move(done)});
      timer_cv_.notify_one();
      return id;
    }
    immediate = closed_ ? WaitOutcome::kClosed : WaitOutcome::kAdvanced;
  }
  done(immediate);
  return 0;
}

void CommitNotifier::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  waiters_.erase(id);
}

void CommitNotifier::published(Position last_position) {
  std::vector<Callback> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_position <= last_) return;
    last_ = last_position;
    if (waiters_.empty()) return;
    ready = take_locked([&](const Waiter& w) { return w.after < last_position; });
  }
  for (auto& cb : ready) cb(WaitOutcome::kAdvanced);
}

void CommitNotifier::close() {
  std::vector<Callback> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    all = take_locked([](const Waiter&) { return true; });
  }
  timer_cv_.notify_one();
  for (auto& cb : all) cb(WaitOutcome::kClosed);
}

Position CommitNotifier::last_position() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void CommitNotifier::run_timer() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    auto next = std::chrono::steady_clock::time_point::max();
    for (const auto& [id, w] : waiters_) next = std::min(next, w.deadline);
    if (next == std::chrono::steady_clock::time_point::max()) {
      timer_cv_.wait(lock);
    } else {
      timer_cv_.wait_until(lock, next);
    }
    if (closed_) break;
    auto now = std::chrono::steady_clock::now();
    auto expired = take_locked([&](const Waiter& w) { return w.deadline <= now; });
    if (expired.empty()) continue;
    lock.unlock();
    for (auto& cb : expired) cb(WaitOutcome::kTimedOut);
    lock.lock();
  }
}

}  // namespace reckon::store
