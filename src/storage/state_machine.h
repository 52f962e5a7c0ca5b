// StateMachine: the one deterministic function that changes a store. apply(command, index)
// decodes a command (storage/command.h), checks it against the current state (expected
// versions, idempotency, conditions) and stages every write in an ApplyBatch; commit() writes
// the batch, with the applied index and position high-water mark, as one atomic RocksDB write.
//
// Several commands may be applied into one batch before a commit (group commit): apply reads
// through the batch's pending state, so each command sees the effects of those before it. A
// command that fails stages nothing. Given the same committed state and the same commands,
// every replica produces the same bytes.
//
// Pipelining: a batch may be staged on top of another that is still being written
// (begin_after): lookups see the parent's pending state, then the committed state. The parent
// is written (write(), any thread) and then published (publish(), apply thread) before the
// child; publishing the parent detaches the child from it.
//
// Thread-safety: apply, begin*, publish and commit must be called by one thread at a time (the
// committer, or the Raft loop thread). write() may run on another thread at the same time, on
// a batch nobody applies into any more. Readers never touch the state machine; they read RocksDB.
#pragma once

#include <rocksdb/write_batch.h>

#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/command.h"
#include "storage/database.h"
#include "storage/head_cache.h"
#include "storage/recent_ids.h"
#include "storage/records.h"
#include "storage/uuid_hash.h"

namespace reckon::storage {

// Where an existing event id lives: enough to answer an idempotent retry.
struct EventLocation {
  Position position = 0;
  std::string stream_id;
  int64_t version = 0;
  int64_t created_us = 0;
};

class ApplyBatch {
 public:
  size_t commands() const { return commands_; }
  size_t bytes() const { return batch_.GetDataSize(); }
  bool members_changed() const { return members_.has_value(); }
  uint64_t applied_index() const { return state_.applied_index; }

 private:
  friend class StateMachine;
  // The batch this one was staged on top of, while that one is being written (nullptr once
  // it is published). Only its overlay maps and state are read, never written.
  const ApplyBatch* parent_ = nullptr;
  // Views into command bytes, which the caller keeps alive until the batch is committed.
  struct PendingEvent {
    Position position;
    std::string_view event_type;
    std::vector<std::string_view> tags;
  };
  // A client-supplied id staged in this batch; `stream_id` views the command's bytes.
  struct PendingId {
    Position position;
    std::string_view stream_id;
    int64_t version;
    int64_t created_us;
  };
  rocksdb::WriteBatch batch_;
  std::unordered_map<std::string, StreamHead> heads_;
  std::unordered_map<Uuid, PendingId, UuidHash> ids_;
  std::vector<PendingEvent> events_;  // for conditions checked later in the same batch
  // Subscriptions staged by earlier commands of this batch (nullopt = deleted).
  std::unordered_map<std::string, std::optional<Subscription>> subscriptions_;
  SystemState state_;
  size_t commands_ = 0;
  std::optional<std::map<uint64_t, std::string>> members_;  // set when a command changed them
};

class StateMachine {
 public:
  StateMachine(Database& db, size_t head_cache_entries);

  // Reads the committed SystemState and member directory, and forgets cached heads; call before
  // the first apply, and again after the storage was replaced underneath (a bulk catch-up).
  Status load();

  ApplyBatch begin() const;
  // A batch that continues from `parent`, which has been applied into for the last time and
  // is being (or about to be) written. `parent` must stay alive until it is published.
  ApplyBatch begin_after(const ApplyBatch& parent) const;
  // `command` must stay alive until the batch is committed or dropped.
  CommandResult apply(std::string_view command, uint64_t index, ApplyBatch& batch);
  // Writes the batch atomically (fsync when `sync`) and publishes it. On failure nothing of it
  // is published.
  Status commit(ApplyBatch& batch, bool sync);

  // commit() in two steps, for pipelining. write() touches only RocksDB and `batch` (safe on
  // another thread while the apply thread stages a child batch); publish() then makes the
  // written batch the committed state, and detaches `child` (the batch staged on top of it,
  // if any) from it. Batches must be written and published in the order they were begun.
  Status write(ApplyBatch& batch, bool sync) const;
  void publish(ApplyBatch& batch, ApplyBatch* child);

  const SystemState& committed() const { return state_; }
  // A bulk catch-up (storage/state_transfer.h) started and did not finish: the store holds no
  // state of the log and must catch up again before it applies anything.
  bool catch_up_pending() const { return catch_up_pending_; }
  Database& database() const { return db_; }
  // Cluster member directory (node id -> client address) as committed.
  const std::map<uint64_t, std::string>& members() const { return members_; }

  // Marks the store as driven by a Raft log, in one synced write. `rebase_index`: a store
  // written by the local group-commit path continues as a fresh one-voter log, so its applied
  // index (a local counter) restarts at 0; data, positions and digest are kept.
  Status mark_replicated(bool rebase_index);
  // Forces what is committed to disk (WAL fsync): before a Raft snapshot lets the log go.
  Status sync();

 private:
  Result<StreamHead> load_head(const std::string& stream, ApplyBatch& b);
  // Sets recent_ids_ from the largest id in the event-id index.
  Status load_id_floor();
  Result<std::optional<EventLocation>> find_event_id(const Uuid& id, ApplyBatch& b);

  CommandResult apply_append(DecodedCommand& c, ApplyBatch& b);
  Status apply_delete(const DecodedCommand& c, ApplyBatch& b);
  Status apply_set_metadata(const DecodedCommand& c, ApplyBatch& b);
  Status apply_snapshot(const DecodedCommand& c, ApplyBatch& b);
  void apply_member_address(const DecodedCommand& c, ApplyBatch& b);
  Status check_condition(const AppendCondition& cond, ApplyBatch& b);
  void stage_head(const std::string& stream, const StreamHead& head, ApplyBatch& b);

  // Persistent subscriptions (subscription_apply.cc).
  Result<std::optional<Subscription>> load_subscription(const std::string& key, ApplyBatch& b);
  void stage_subscription(const Subscription& s, ApplyBatch& b);
  CommandResult apply_create_subscription(const DecodedCommand& c, ApplyBatch& b);
  Status apply_delete_subscription(const DecodedCommand& c, ApplyBatch& b);
  Status apply_checkpoints(const DecodedCommand& c, ApplyBatch& b);
  Status apply_park(const DecodedCommand& c, ApplyBatch& b);

  Database& db_;
  HeadCache heads_;
  // Proves most new client ids absent without an index read; holds every id staged (apply
  // thread only). Reset by load() from the largest id in the index.
  RecentIds recent_ids_;
  // apply_append's buffers, kept to reuse their memory.
  std::vector<Uuid> ids_scratch_, sorted_ids_scratch_;
  std::string record_scratch_, index_value_scratch_, key_scratch_;
  SystemState state_;
  std::map<uint64_t, std::string> members_;
  bool catch_up_pending_ = false;
};

}  // namespace reckon::storage
