// CommandLog: where the store sends encoded commands to be applied. Two implementations share
// the storage state machine: CommitQueue (one process, group commit with a synced RocksDB
// write) and ReplicatedLog (a Raft group; single mode is a group of one voter). The store does
// not know which one it talks to.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "storage/command.h"

namespace reckon::store {

class CommandLog {
 public:
  using Callback = std::function<void(storage::CommandResult)>;
  virtual ~CommandLog() = default;

  // Applies `command` once it is durable (fsynced locally, or committed on a majority);
  // `done` gets this command's own result, on an internal thread, and must not block.
  virtual void submit_async(std::string command, Callback done) = 0;
  storage::CommandResult submit(std::string command);  // blocks until done

  // Stops accepting commands, finishes or fails what is in flight, stops internal threads.
  virtual void close() = 0;

  // Returns once every command answered so far can be read from the store (Unavailable if it
  // never will be). Immediate for a log that answers only after writing.
  virtual Status await_readable() const { return Status::ok(); }

  virtual uint64_t commits() const = 0;   // state machine commits since open
  virtual uint64_t commands() const = 0;  // commands applied since open
};

}  // namespace reckon::store
