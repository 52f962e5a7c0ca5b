#include "store/commit_queue.h"

#include <vector>

namespace reckon::store {

void CommitQueue::close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_.is_ok()) failed_ = Status::unavailable("store is closed");
}

storage::CommandResult CommitQueue::submit(std::string command) {
  Writer w;
  w.command = std::move(command);
  std::unique_lock<std::mutex> lock(mu_);
  if (!failed_.is_ok()) return {failed_, {}};
  queue_.push_back(&w);
  while (!w.done && &w != queue_.front()) w.cv.wait(lock);
  if (w.done) return std::move(w.result);

  // This writer leads: take the queue's head as one group.
  std::vector<Writer*> group;
  for (auto* q : queue_) {
    if (group.size() == max_group_) break;
    group.push_back(q);
  }
  Status failed = failed_;
  lock.unlock();

  if (failed.is_ok()) {
    storage::ApplyBatch batch = machine_.begin();
    uint64_t index = machine_.committed().applied_index;
    for (Writer* g : group) g->result = machine_.apply(g->command, ++index, batch);
    Status s = machine_.commit(batch, sync_);
    if (!s.is_ok()) {
      failed = Status::unavailable("writes refused after a failed commit (reopen the store): " +
                                   s.to_string());
      for (Writer* g : group) g->result = {s, {}};
    } else {
      commits_.fetch_add(1, std::memory_order_relaxed);
      commands_.fetch_add(group.size(), std::memory_order_relaxed);
    }
  } else {
    for (Writer* g : group) g->result = {failed, {}};
  }

  lock.lock();
  if (!failed.is_ok() && failed_.is_ok()) failed_ = failed;
  for (Writer* g : group) {
    queue_.pop_front();
    g->done = true;
    if (g != &w) g->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  return std::move(w.result);
}

}  // namespace reckon::store
