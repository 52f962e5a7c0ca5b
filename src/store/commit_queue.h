// CommitQueue: group commit for the embedded (single-process) write path. Any thread submits
// an encoded command with a completion callback; one committer thread takes everything queued,
// applies it into one ApplyBatch, commits it with a single synced write, then runs the
// callbacks with each command's own result. Concurrent writers thus share one fsync, and apply
// is strictly sequential on one thread — the shape the Raft apply loop will have.
//
// After a failed commit (disk full, EIO) the queue refuses writes with Unavailable until the
// store is reopened: RocksDB cannot tell whether the failed batch reached the disk, and reopening
// recovers a consistent state from the WAL.
//
// Thread-safety: submit()/submit_async() from any thread. Callbacks run on the committer thread
// and must not block. close() drains what is queued, then stops the thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/state_machine.h"
#include "store/command_log.h"

namespace reckon::store {

class CommitQueue final : public CommandLog {
 public:
  CommitQueue(storage::StateMachine& machine, bool sync, size_t max_group);
  ~CommitQueue() override;

  void submit_async(std::string command, Callback done) override;

  // Called on the committer thread after every successful commit with the new last position.
  // Set before the first submit.
  void on_commit(std::function<void(Position)> fn) { on_commit_ = std::move(fn); }

  // Commits what is queued, refuses anything after, and joins the committer thread.
  void close() override;

  uint64_t commits() const override { return commits_.load(std::memory_order_relaxed); }
  uint64_t commands() const override { return commands_.load(std::memory_order_relaxed); }

 private:
  struct Pending {
    std::string command;
    Callback done;
  };
  void run();

  storage::StateMachine& machine_;
  const bool sync_;
  const size_t max_group_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;
  bool closing_ = false;
  Status failed_;  // set once a commit failed; every later write gets it
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> commands_{0};
  std::function<void(Position)> on_commit_;
  std::thread thread_;
};

}  // namespace reckon::store
