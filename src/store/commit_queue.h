// CommitQueue: group commit for the embedded (single-process) write path. Writer threads
// submit encoded commands; the first waiting writer becomes the committer, applies every
// queued command into one ApplyBatch and commits it with a single synced write, then wakes the
// others with their own results. Concurrent writers thus share one fsync, and apply stays
// strictly sequential, exactly as a Raft apply loop will be.
//
// After a failed commit (disk full, EIO) the queue refuses writes with Unavailable until the
// store is reopened: RocksDB cannot tell whether the failed batch reached the disk, and reopening
// recovers a consistent state from the WAL.
// Thread-safety: submit() may be called from any number of threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "storage/state_machine.h"

namespace reckon::store {

class CommitQueue {
 public:
  CommitQueue(storage::StateMachine& machine, bool sync, size_t max_group)
      : machine_(machine), sync_(sync), max_group_(max_group == 0 ? 1 : max_group) {}

  storage::CommandResult submit(std::string command);

  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  uint64_t commands() const { return commands_.load(std::memory_order_relaxed); }

  // Refuse further writes (store closing).
  void close();

 private:
  struct Writer {
    std::string command;
    storage::CommandResult result;
    bool done = false;
    std::condition_variable cv;
  };

  storage::StateMachine& machine_;
  const bool sync_;
  const size_t max_group_;
  std::mutex mu_;
  std::deque<Writer*> queue_;
  Status failed_;  // set once a commit failed or the store closed
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> commands_{0};
};

}  // namespace reckon::store
