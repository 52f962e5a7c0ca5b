// Options of an embedded store: limits on input and storage tuning. Documented defaults in
// docs/CONFIGURATION.md; every limit violation is a LimitExceeded error that writes nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "reckon/replication.h"

namespace reckon {

class Clock;

struct Limits {
  uint64_t max_event_bytes = 1u << 20;        // data + metadata + type + tags of one event
  uint64_t max_append_bytes = 16u << 20;      // all events of one append command
  uint64_t max_events_per_append = 10'000;
  uint64_t max_stream_id_bytes = 1024;
  uint64_t max_event_type_bytes = 512;
  uint64_t max_tags_per_event = 64;
  uint64_t max_tag_bytes = 256;
  uint64_t max_read_count = 100'000;          // per read call (larger pages are clamped)
};

struct StoreOptions {
  std::string store_id = "default";
  std::string data_dir = "./data";
  bool create_if_missing = true;
  Limits limits;

  // Memory: bounded whatever the data size.
  uint64_t block_cache_bytes = 256ull << 20;
  uint64_t memtable_budget_bytes = 256ull << 20;  // all column families together
  uint64_t stream_head_cache_entries = 100'000;

  // Group commit: the most commands folded into one synced write.
  uint64_t max_commands_per_commit = 1024;

  // Durability. Must stay true in production: an append is acknowledged only after fsync.
  // Tests of logic that do not care about power loss may turn it off for speed.
  bool sync_writes = true;

  // Time source for created_us and max_age; nullptr = the system clock.
  std::shared_ptr<Clock> clock;

  // Set: every write goes through a Raft group (reckond's single and cluster modes); the Raft
  // log makes appends durable. Unset: the embedded group-commit path (one process, synced
  // RocksDB writes). A store written through Raft can only be reopened through Raft.
  std::optional<ReplicationOptions> replication;
};

}  // namespace reckon
