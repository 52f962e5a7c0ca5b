// Encodings of the values stored in RocksDB (docs/STORAGE.md): events, stream heads,
// snapshots and the system state. Every record starts with a format byte; decoders return
// Corruption instead of guessing when bytes do not decode.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reckon/subscriptions.h"
#include "reckon/types.h"

namespace reckon::enc {
class ByteReader;
}

namespace reckon::storage {

inline constexpr uint8_t kRecordFormat = 1;

// A stored event seen without copying: views into the encoded record.
struct EventView {
  Uuid event_id;
  std::string_view event_type;
  std::string_view stream_id;
  int64_t version = 0;
  int64_t created_us = 0;
  std::string_view data;
  ContentType data_content_type = ContentType::kJson;
  std::string_view metadata;
  ContentType metadata_content_type = ContentType::kJson;
  std::vector<std::string_view> tags;
  // Set on events 2..n of one append part (same command, same stream, next position and next
  // version): content-type flags bit 2. Only the bulk catch-up reads it, to rebuild the index
  // entries apply_append wrote for the part (storage/index_runs.h).
  bool continues_part = false;
};

void encode_event(std::string& out, const EventView& e);
Status decode_event(std::string_view bytes, EventView& out);
Event to_event(const EventView& v, Position position);

// The explicitly stored head of a stream. Never derived by counting events.
struct StreamHead {
  int64_t last_version = kNoVersion;  // highest version ever written
  StreamState state = StreamState::kLive;
  Position last_position = 0;
  int64_t deleted_before = 0;  // a soft delete hides versions below this
  StreamMetadata metadata;

  // Lowest readable version from truncation and deletes (max_count and max_age aside).
  int64_t visible_floor() const {
    int64_t tb = metadata.truncate_before.value_or(0);
    return tb > deleted_before ? tb : deleted_before;
  }
};
void encode_head(std::string& out, const StreamHead& h);
Status decode_head(std::string_view bytes, StreamHead& out);

struct SnapshotRecord {
  std::string data;
  std::string metadata;
  int64_t created_us = 0;
};
void encode_snapshot(std::string& out, const SnapshotRecord& s);
Status decode_snapshot(std::string_view bytes, SnapshotRecord& out);

// A persistent subscription (column family `subscriptions`, keyed by its key, which is not
// repeated in the value; the decoder leaves `key` untouched).
void encode_subscription(std::string& out, const Subscription& s);
Status decode_subscription(std::string_view bytes, Subscription& out);
// The delivery options, with which both the record and the CreateSubscription command end:
// strategy `u8`, max_retries, message_timeout_ms, max_in_flight `varint`, ordering `u8`. Bytes
// written before `ordering` existed end after max_in_flight and read as kPerStream. Returns
// false on bytes that do not decode (the caller checks that nothing follows).
void encode_subscription_options(std::string& out, const SubscriptionOptions& o);
bool decode_subscription_options(enc::ByteReader& r, SubscriptionOptions& o);

// A parked event (column family `parked`, keyed by subscription key and position, which are
// not repeated in the value; the decoder leaves `position` untouched).
void encode_parked(std::string& out, const ParkedEvent& p);
Status decode_parked(std::string_view bytes, ParkedEvent& out);

// The state machine's durable progress, written with every commit.
struct SystemState {
  uint64_t applied_index = 0;
  Position last_position = 0;
  int64_t last_created_us = 0;
  // Chained over every applied command and its index (core/hash.h chain_digest): replicas
  // that applied the same log hold the same digest.
  uint64_t digest = 0;
  // Set once the store is driven by the Raft log: applied_index is then a Raft index, and the
  // local group-commit path (whose indexes are its own counter) must not open it.
  bool replicated = false;
};
void encode_state(std::string& out, const SystemState& s);
Status decode_state(std::string_view bytes, SystemState& out);

}  // namespace reckon::storage
