#include "store/commit_queue.h"

#include <pthread.h>

#include <future>

namespace reckon::store {

CommitQueue::CommitQueue(storage::StateMachine& machine, bool sync, size_t max_group)
    : machine_(machine), sync_(sync), max_group_(max_group == 0 ? 1 : max_group) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "committer");
    run();
  });
}

CommitQueue::~CommitQueue() { close(); }

void CommitQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void CommitQueue::submit_async(std::string command, Callback done) {
  Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      refused = Status::unavailable("store is closed");
    } else if (!failed_.is_ok()) {
      refused = failed_;
    } else {
      queue_.push_back(Pending{std::move(command), std::move(done)});
      if (queue_.size() == 1) wake_.notify_one();
      return;
    }
  }
  done(storage::CommandResult{refused, {}});
}

void CommitQueue::run() {
  std::vector<Pending> group, overflow;
  std::vector<storage::CommandResult> results;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing and drained
      group.swap(queue_);
      if (group.size() > max_group_) {
        // Keep the excess queued, in order, for the next round.
        overflow.assign(std::make_move_iterator(group.begin() + max_group_),
                        std::make_move_iterator(group.end()));
        group.resize(max_group_);
        overflow.insert(overflow.end(), std::make_move_iterator(queue_.begin()),
                        std::make_move_iterator(queue_.end()));
        queue_.swap(overflow);
        overflow.clear();
      }
    }
    results.clear();
    storage::ApplyBatch batch = machine_.begin();
    uint64_t index = machine_.committed().applied_index;
    for (auto& p : group) results.push_back(machine_.apply(p.command, ++index, batch));
    Status s = machine_.commit(batch, sync_);
    if (s.is_ok()) {
      commits_.fetch_add(1, std::memory_order_relaxed);
      commands_.fetch_add(group.size(), std::memory_order_relaxed);
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      failed_ = Status::unavailable("writes refused after a failed commit (reopen the store): " +
                                    s.to_string());
      for (auto& r : results) r = storage::CommandResult{s, {}};
    }
    for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
    group.clear();
    // After the writers' answers: live tails see the events once they are acknowledged.
    if (s.is_ok() && on_commit_) on_commit_(machine_.committed().last_position);
    if (!s.is_ok()) {
      // Fail everything still queued; later submits are refused at the door.
      std::vector<Pending> rest;
      {
        std::lock_guard<std::mutex> lock(mu_);
        rest.swap(queue_);
      }
      for (auto& p : rest) p.done(storage::CommandResult{failed_, {}});
    }
  }
}

}  // namespace reckon::store
