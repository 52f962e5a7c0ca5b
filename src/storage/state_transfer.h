// Bulk state transfer between replicas (docs/CONSENSUS.md "Bulk catch-up"): a replica behind a
// logical Raft snapshot copies a peer's RocksDB state instead of replaying a log that is gone.
//
// StateExporter reads one consistent RocksDB snapshot of the sender and cuts it into chunks:
// a header (the sender's SystemState), the events after the requester's position (the only
// bodies; index entries are derived again by the receiver, exactly as the sender wrote them,
// from the events and their continues_part flag), every entry of the column families
// that cannot be derived from events (stream heads, aggregate snapshots, subscriptions, parked
// events, the default CF's member directory), and an end chunk whose chain hash covers every
// chunk before it. Each chunk carries its own hash.
//
// StateImporter writes the chunks of one transfer into the receiver's database. Events go in
// as they come (in batches, with their derived index entries) and are never lost: a later
// transfer resumes after the highest position held. The non-event column families are
// replaced wholesale, and the SystemState is written last, in one synced batch that also
// removes the "catch-up in progress" marker written before anything else: a transfer that
// fails or crashes midway leaves the marker, so the store is known to need another catch-up
// (StateMachine::catch_up_pending) and never runs on a half-replaced state.
//
// Thread-safety: one object per transfer, used by one thread. The exporter may run while the
// sender's state machine writes (it reads a snapshot); the importer must be the only writer
// of the receiver's database while it runs.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/database.h"
#include "storage/records.h"

namespace reckon::storage {

inline constexpr size_t kDefaultStateChunkBytes = 1 << 20;

class StateExporter {
 public:
  // Events with positions > `after_position` are sent; chunks hold about `chunk_bytes` (one
  // record larger than that travels alone).
  StateExporter(Database& db, Position after_position,
                size_t chunk_bytes = kDefaultStateChunkBytes);
  ~StateExporter();
  StateExporter(const StateExporter&) = delete;
  StateExporter& operator=(const StateExporter&) = delete;

  // The next chunk; nullopt after the end chunk. Unavailable when this replica is itself in
  // the middle of a catch-up (its state is not a state of the log).
  Result<std::optional<std::string>> next();

 private:
  enum class Phase { kHeader, kEvents, kEntries, kEnd, kDone };
  std::string seal(std::string chunk);  // appends the hash, chains it

  Database& db_;
  const Position after_;
  const size_t chunk_bytes_;
  const rocksdb::Snapshot* snapshot_;
  Phase phase_ = Phase::kHeader;
  SystemState state_;
  Position next_position_ = 0;
  size_t cf_index_ = 0;  // into the exported non-event column families
  std::string resume_key_;
  bool resume_set_ = false;
  uint64_t events_ = 0, entries_ = 0, chain_ = 0;
};

class StateImporter {
 public:
  // A transfer into `db` from a sender that must have applied at least `min_applied_index`.
  // Reads where events resume (resume_after()).
  static Result<StateImporter> start(Database& db, uint64_t min_applied_index);

  // Ask the sender for events after this position: the highest one already held here.
  Position resume_after() const { return after_; }

  // Verifies and writes one chunk. Any error ends the transfer (start a new one to resume);
  // nothing of a chunk that fails verification is written.
  Status accept(std::string_view chunk);
  // The end chunk was verified and the sender's state committed.
  bool finished() const { return finished_; }
  const SystemState& state() const { return sender_; }
  uint64_t events_received() const { return events_; }

 private:
  explicit StateImporter(Database& db) : db_(&db) {}
  Status accept_header(std::string_view body);
  Status accept_events(std::string_view body);
  Status accept_entries(std::string_view body);
  Status accept_end(std::string_view body);
  Status clear_state_cfs();

  Database* db_;
  uint64_t min_applied_index_ = 0;
  Position after_ = 0;
  bool header_seen_ = false, cleared_ = false, finished_ = false, failed_ = false;
  SystemState sender_;
  Position next_position_ = 0;
  uint64_t events_ = 0, entries_ = 0, chain_ = 0;
};

}  // namespace reckon::storage
