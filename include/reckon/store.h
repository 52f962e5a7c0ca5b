// reckon::Store — the embedded event store: the whole API in-process.
//
// Every mutation is encoded as a command and applied by the deterministic state machine
// (src/storage/state_machine.h); an acknowledged write has been fsynced. Concurrent writers are
// grouped into one synced RocksDB write (group commit). Reads go straight to RocksDB and see
// every acknowledged write.
//
// Thread-safety: all methods may be called from any number of threads at once.
// Semantics of each call: docs/DATA_MODEL.md.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reckon/options.h"
#include "reckon/replication.h"
#include "reckon/status.h"
#include "reckon/subscriptions.h"
#include "reckon/types.h"

namespace reckon {

struct StoreStats {
  uint64_t applied_index = 0;
  Position last_position = 0;
  uint64_t digest = 0;           // of the applied state; equal on replicas at one applied_index
  uint64_t commits = 0;          // synced writes since open
  uint64_t commands = 0;         // commands applied since open
  uint64_t live_data_bytes = 0;  // RocksDB estimate
  uint64_t sst_bytes = 0;
  uint64_t memtable_bytes = 0;
  uint64_t block_cache_bytes = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating if allowed) the store in options.data_dir. Recovers after any crash.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);

  // ---- Appends ----
  // Appends events atomically; the expected-version check and every write are one step.
  // Re-sending the same event ids with the same expectation returns the original result.
  virtual Result<AppendResult> append(const std::string& stream_id, ExpectedVersion expected,
                                      std::vector<NewEvent> events) = 0;
  // All or nothing over several streams, each with its own expectation; optional condition.
  virtual Result<std::vector<AppendResult>> append_multi(
      std::vector<StreamAppend> appends, std::optional<AppendCondition> condition = {}) = 0;
  // Fails with ConditionFailed if an event matching `condition` exists after its position.
  virtual Result<AppendResult> append_if(const std::string& stream_id, ExpectedVersion expected,
                                         std::vector<NewEvent> events,
                                         AppendCondition condition) = 0;

  // Asynchronous append_multi, for servers: validation and encoding run on the calling thread;
  // `done` runs once the outcome is durable (on the committer thread: it must not block), or
  // at once on the calling thread for invalid input.
  using AppendCallback = std::function<void(Result<std::vector<AppendResult>>)>;
  virtual void append_multi_async(std::vector<StreamAppend> appends,
                                  std::optional<AppendCondition> condition,
                                  AppendCallback done) = 0;

  // ---- Reads ----
  virtual Result<ReadStreamResult> read(const std::string& stream_id,
                                        const ReadStreamOptions& options) = 0;
  virtual Result<ReadAllResult> read_all(const ReadAllOptions& options) = 0;
  virtual Result<ReadAllResult> read_by_event_types(const std::vector<std::string>& types,
                                                    const IndexReadOptions& options) = 0;
  virtual Result<ReadAllResult> read_by_tags(const std::vector<std::string>& tags,
                                             TagMatch match,
                                             const IndexReadOptions& options) = 0;
  // Streams every event of $all from `from` (inclusive) to the visitor without building pages;
  // the visitor returns false to stop. For exports and bulk transfer.
  virtual Status scan_all(Position from, const std::function<bool(const Event&)>& visitor) = 0;

  // ---- Stream state ----
  virtual Result<int64_t> get_version(const std::string& stream_id) = 0;  // -1 when absent
  virtual Result<bool> exists(const std::string& stream_id) = 0;
  virtual Result<StreamInfo> stream_info(const std::string& stream_id) = 0;
  virtual Result<ListStreamsResult> list_streams(const ListStreamsOptions& options) = 0;

  // Soft delete: reads say StreamDeleted; a later append continues after the old last version
  // and only the new events are readable.
  virtual Status delete_stream(const std::string& stream_id, ExpectedVersion expected) = 0;
  // Permanent: reads and appends fail with StreamDeleted forever.
  virtual Status tombstone_stream(const std::string& stream_id, ExpectedVersion expected) = 0;
  // Versions below `before_version` become unreadable.
  virtual Status truncate_before(const std::string& stream_id, int64_t before_version) = 0;
  virtual Status set_stream_metadata(const std::string& stream_id,
                                     const StreamMetadata& metadata) = 0;
  virtual Result<StreamMetadata> get_stream_metadata(const std::string& stream_id) = 0;

  // ---- Snapshots ----
  virtual Status save_snapshot(const Snapshot& snapshot) = 0;  // overwrites (stream, version)
  virtual Result<Snapshot> load_snapshot(const std::string& stream_id) = 0;  // latest
  virtual Result<Snapshot> load_snapshot_at(const std::string& stream_id, int64_t version) = 0;
  virtual Result<std::vector<Snapshot>> list_snapshots(const std::string& stream_id) = 0;
  virtual Status delete_snapshots(const std::string& stream_id) = 0;
  virtual Status delete_snapshot_at(const std::string& stream_id, int64_t version) = 0;
  virtual Result<bool> snapshot_exists(const std::string& stream_id) = 0;
  virtual Result<bool> snapshot_exists_at(const std::string& stream_id, int64_t version) = 0;

  // ---- Persistent subscriptions (records only; delivery is built on them) ----
  // Validates the selector (InvalidArgument, nothing stored), then stores the subscription
  // under its key, or re-attaches when the key exists: returns the stored record, with
  // pool_size and options updated to the given ones (checkpoint and created_us kept).
  virtual Result<Subscription> create_subscription(const NewSubscription& subscription) = 0;
  // Removes the subscription and its parked events; NotFound when absent.
  virtual Status delete_subscription(const std::string& key) = 0;
  // The one subscription of this type (aliases allowed) and name; NotFound when there is
  // none, InvalidArgument when several selectors share the name (delete by key then).
  virtual Status delete_subscription(SubscriptionType type, const std::string& name) = 0;
  virtual Result<Subscription> get_subscription(const std::string& key) = 0;  // NotFound
  virtual Result<std::vector<Subscription>> list_subscriptions() = 0;         // key order
  virtual Result<bool> subscription_exists(const std::string& key) = 0;
  // Advances checkpoints, many subscriptions in one replicated command. A position at or
  // below the stored checkpoint changes nothing; unknown keys are ignored.
  virtual Status checkpoint_subscriptions(const std::vector<SubscriptionCheckpoint>& checkpoints) = 0;
  // Parks events (position >= 1, reason, attempts); parking a position again overwrites it.
  virtual Status park_events(const std::string& key, const std::vector<ParkedEvent>& events) = 0;
  // Parked events in position order; NotFound when the subscription does not exist.
  virtual Result<std::vector<ParkedEvent>> list_parked(const std::string& key,
                                                       const ListParkedOptions& options = {}) = 0;
  // Removes parked events once replayed; positions that are not parked are ignored.
  virtual Status unpark(const std::string& key, const std::vector<Position>& positions) = 0;

  // ---- Operations ----
  virtual StoreStats stats() = 0;
};

// Why a live-tail wait ended.
enum class WaitOutcome { kAdvanced, kTimedOut, kClosed };

// The store as it runs in this process, with what only a local store can offer: a live tail for
// subscriptions. Store::open returns one of these.
class LocalStore : public Store {
 public:
  static Result<std::unique_ptr<LocalStore>> open_local(const StoreOptions& options);

  // Calls `done` once, without holding a thread while waiting: kAdvanced as soon as the last
  // position is past `after` (at once if it already is), kTimedOut after `timeout`, kClosed
  // when tails stop. `done` runs on an internal thread and must not block. Returns an id for
  // cancel_wait.
  virtual uint64_t wait_for_position(Position after, std::chrono::milliseconds timeout,
                                     std::function<void(WaitOutcome)> done) = 0;
  virtual void cancel_wait(uint64_t id) = 0;
  virtual Position last_position() = 0;
  // read_all without copies, for servers: each matching event goes to `visitor` in place
  // (return false to stop after it); the result carries no events, only where to continue.
  virtual Result<ReadAllResult> read_all_refs(const ReadAllOptions& options,
                                              const std::function<bool(const EventRef&)>& visitor) = 0;
  // Wakes every live-tail waiter with kClosed (server shutdown); later waits end at once.
  virtual void stop_tails() = 0;
  // The Raft group behind a replicated store (options.replication set); nullptr otherwise.
  virtual Replication* replication() { return nullptr; }
};

}  // namespace reckon
