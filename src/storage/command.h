// Commands: the only way state changes. The proposer (embedded store today, the Raft leader
// later) validates input and encodes a command; every replica decodes it and applies it with
// StateMachine::apply. The encoding is versioned and documented in docs/STORAGE.md; everything
// apply needs (ids, timestamps) is inside the command so apply is deterministic.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reckon/subscriptions.h"
#include "reckon/types.h"

namespace reckon::storage {

inline constexpr uint8_t kCommandFormat = 1;

enum class CommandType : uint8_t {
  kAppend = 1,
  kDeleteStream = 2,
  kTombstoneStream = 3,
  kSetStreamMetadata = 4,
  kTruncateBefore = 5,
  kSaveSnapshot = 6,
  kDeleteSnapshots = 7,
  kDeleteSnapshotAt = 8,
  kCreateSubscription = 9,
  kDeleteSubscription = 10,
  kCheckpointSubscriptions = 11,
  kParkEvents = 12,
  kUnparkEvents = 13,
  // Cluster: the client (gRPC) address a member serves on, so any node can direct clients
  // to the leader. An empty address forgets the member.
  kSetMemberAddress = 40,
};

// ---- Encoding (proposer side). Input must already be validated. ----
// Events without an id get a UUIDv7 here, so every replica stores the same id.
std::string encode_append_command(int64_t proposed_us, std::vector<StreamAppend>& parts,
                                  const std::optional<AppendCondition>& condition);
std::string encode_delete_command(CommandType type, std::string_view stream_id,
                                  ExpectedVersion expected);
std::string encode_set_metadata_command(std::string_view stream_id, const StreamMetadata& m);
std::string encode_truncate_command(std::string_view stream_id, int64_t before_version);
std::string encode_save_snapshot_command(int64_t proposed_us, const Snapshot& s);
std::string encode_delete_snapshots_command(std::string_view stream_id);
std::string encode_delete_snapshot_at_command(std::string_view stream_id, int64_t version);
std::string encode_set_member_address_command(uint64_t node_id, std::string_view client_address);
// Persistent subscriptions. The proposer computes the key and the canonical selector; apply
// only stores them (it never parses selectors, so every replica stores the same bytes
// whatever its version). `s.checkpoint` and `s.created_us` are ignored: the checkpoint starts
// at start_from, created_us is proposed_us.
std::string encode_create_subscription_command(int64_t proposed_us, const Subscription& s);
std::string encode_delete_subscription_command(std::string_view key);
std::string encode_checkpoint_command(const std::vector<SubscriptionCheckpoint>& checkpoints);
// `events[i].parked_us` is ignored: every event gets proposed_us.
std::string encode_park_command(int64_t proposed_us, std::string_view key, const std::vector<ParkedEvent>& events);
std::string encode_unpark_command(std::string_view key, const std::vector<Position>& positions);

// ---- Decoding (apply side): views into the command bytes, which must outlive them. ----
struct ProposedEventView {
  Uuid event_id;
  bool client_supplied_id = false;  // only those need the idempotency lookup
  std::string_view event_type;
  std::string_view data;
  ContentType data_content_type = ContentType::kJson;
  std::string_view metadata;
  ContentType metadata_content_type = ContentType::kJson;
  std::vector<std::string_view> tags;
};

struct AppendPartView {
  std::string_view stream_id;
  ExpectedVersion expected = kExpectAny;
  std::vector<ProposedEventView> events;
};

struct DecodedCommand {
  CommandType type{};
  int64_t proposed_us = 0;
  // kAppend
  std::vector<AppendPartView> parts;
  std::optional<AppendCondition> condition;
  // stream commands
  std::string_view stream_id;
  ExpectedVersion expected = kExpectAny;
  int64_t version = 0;  // truncate: before_version; snapshots: version
  StreamMetadata metadata;
  std::string_view snapshot_data;
  std::string_view snapshot_metadata;
  // kSetMemberAddress
  uint64_t member_id = 0;
  std::string_view member_address;
  // subscription commands
  Subscription subscription;           // kCreateSubscription (created_us = proposed_us)
  std::string_view subscription_key;   // kDeleteSubscription, kParkEvents, kUnparkEvents
  std::vector<std::pair<std::string_view, Position>> checkpoints;  // kCheckpointSubscriptions
  std::vector<ParkedEvent> parked;     // kParkEvents (parked_us = proposed_us)
  std::vector<Position> positions;     // kUnparkEvents
};

Status decode_command(std::string_view bytes, DecodedCommand& out);

// What applying a command produced; the proposer hands it back to its caller.
struct CommandResult {
  Status status;
  std::vector<AppendResult> appends;  // kAppend: one per part, in order
  std::optional<Subscription> subscription{};  // kCreateSubscription: the stored record
  bool subscription_created = false;         // kCreateSubscription: new (not a re-attach)
};

}  // namespace reckon::storage
