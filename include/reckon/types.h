// The reckondb data model (see docs/DATA_MODEL.md): events, expectations, positions,
// snapshots, stream metadata, read filters and the results of store operations.
// Plain value types; thread-safety as for any value.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/status.h"

namespace reckon {

// ---- Expected versions (optimistic concurrency), as in reckon-db and EventStoreDB ----
using ExpectedVersion = int64_t;
inline constexpr ExpectedVersion kExpectAny = -2;           // no check
inline constexpr ExpectedVersion kExpectNoStream = -1;      // the stream must not exist
inline constexpr ExpectedVersion kExpectStreamExists = -4;  // the stream must exist
// Any value >= 0 means "the stream's last version is exactly N".

// Global position: the $all order. Positions start at 1; 0 means "before the first event".
using Position = uint64_t;
inline constexpr Position kStartPosition = 0;
inline constexpr Position kEndPosition = std::numeric_limits<uint64_t>::max();

// Stream version: 0-based, gapless. -1 = the stream has no event.
inline constexpr int64_t kNoVersion = -1;
inline constexpr int64_t kEndVersion = std::numeric_limits<int64_t>::max();

enum class ContentType : uint8_t { kJson = 0, kBinary = 1 };
std::string_view content_type_name(ContentType t);  // "application/json" ...
Result<ContentType> parse_content_type(std::string_view name);

// 16-byte UUID in RFC 4122 byte order.
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  static Result<Uuid> parse(std::string_view text);  // canonical 8-4-4-4-12 hex, any case
  static Uuid v7();                                  // time-ordered random UUID (RFC 9562)
  std::string to_string() const;                     // lowercase canonical form
  bool is_nil() const;
  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

// An event as the client proposes it.
struct NewEvent {
  std::optional<Uuid> event_id;  // idempotency key; generated (UUIDv7) when absent
  std::string event_type;
  std::string data;
  ContentType data_content_type = ContentType::kJson;
  std::string metadata;  // empty = none
  ContentType metadata_content_type = ContentType::kJson;
  std::vector<std::string> tags;
};

// An event as stored.
struct Event {
  Uuid event_id;
  std::string event_type;
  std::string stream_id;
  int64_t version = 0;
  Position position = 0;
  std::string data;
  ContentType data_content_type = ContentType::kJson;
  std::string metadata;
  ContentType metadata_content_type = ContentType::kJson;
  std::vector<std::string> tags;
  int64_t created_us = 0;  // commit time, microseconds since the Unix epoch
};

// An event seen in place (no copy): its views are valid only during the call that receives it.
struct EventRef {
  Uuid event_id;
  std::string_view event_type;
  std::string_view stream_id;
  int64_t version = 0;
  Position position = 0;
  std::string_view data;
  ContentType data_content_type = ContentType::kJson;
  std::string_view metadata;
  ContentType metadata_content_type = ContentType::kJson;
  const std::vector<std::string_view>* tags = nullptr;
  int64_t created_us = 0;
};

enum class Direction : uint8_t { kForward, kBackward };
enum class TagMatch : uint8_t { kAny, kAll };

// ---- Appends ----
struct StreamAppend {
  std::string stream_id;
  ExpectedVersion expected = kExpectAny;
  std::vector<NewEvent> events;
};

// One item of a DCB query: matches an event whose type is one of `event_types` (any type when
// empty) AND that carries every tag of `tags` (no tag requirement when empty).
struct QueryItem {
  std::vector<std::string> event_types;
  std::vector<std::string> tags;
};

// Conditional append: fail with ConditionFailed if an event matching any item exists at a
// position strictly greater than `after_position`.
struct AppendCondition {
  std::vector<QueryItem> items;
  Position after_position = 0;
};

struct AppendResult {
  std::string stream_id;
  int64_t first_version = 0;
  int64_t last_version = 0;
  Position first_position = 0;
  Position position = 0;  // of the last event
  int64_t created_us = 0;
};

// ---- Reads ----
struct ReadStreamOptions {
  int64_t from_version = 0;  // inclusive; kEndVersion with kBackward = from the last event
  uint64_t max_count = 4096;
  Direction direction = Direction::kForward;
};

struct ReadStreamResult {
  std::vector<Event> events;
  int64_t last_version = kNoVersion;  // the stream's last version
  int64_t next_version = kNoVersion;  // where to continue; kNoVersion at the end
  bool end_of_stream = true;
};

// Server-side filter for read_all and subscriptions. Every given criterion must hold; within
// one criterion any listed value may match. Wildcards: `*` any run, `?` one character.
// Regexes are RE2 syntax (linear time), matched against the whole name.
struct EventFilter {
  std::vector<std::string> stream_prefixes;
  std::string stream_wildcard;
  std::string stream_regex;
  std::vector<std::string> event_types;
  std::vector<std::string> event_type_prefixes;
  std::string event_type_regex;
  std::vector<std::string> tags;
  TagMatch tag_match = TagMatch::kAny;
  bool exclude_system_streams = false;  // skip streams starting with '$'

  bool empty() const;
};

struct ReadAllOptions {
  Position from_position = kStartPosition;  // inclusive; kEndPosition with kBackward = last
  uint64_t max_count = 4096;
  Direction direction = Direction::kForward;
  EventFilter filter;
  uint64_t max_scan = 0;  // stop after examining this many events (0 = no limit)
};

struct ReadAllResult {
  std::vector<Event> events;
  Position next_position = 0;  // where to continue (inclusive), valid when !end
  bool end = true;             // nothing more in this direction (right now)
};

// Index-served reads (type and tag indexes), global order, paged.
struct IndexReadOptions {
  Position from_position = kStartPosition;
  uint64_t max_count = 4096;
  Direction direction = Direction::kForward;
};

// ---- Stream state and metadata ----
struct StreamMetadata {
  std::optional<uint64_t> max_count;        // only the newest N events are readable
  std::optional<uint64_t> max_age_seconds;  // events older than this are not readable
  std::optional<int64_t> truncate_before;   // versions below this are not readable
  std::string custom_json;                  // a JSON object, or empty
  friend bool operator==(const StreamMetadata&, const StreamMetadata&) = default;
};

enum class StreamState : uint8_t { kLive = 0, kSoftDeleted = 1, kTombstoned = 2 };

struct StreamInfo {
  std::string stream_id;
  int64_t last_version = kNoVersion;
  StreamState state = StreamState::kLive;
  Position last_position = 0;
  StreamMetadata metadata;
};

struct ListStreamsOptions {
  std::string prefix;
  std::string after;  // exclusive: continue after this stream id
  uint64_t limit = 1000;
  bool include_deleted = false;
};

struct ListStreamsResult {
  std::vector<StreamInfo> streams;
  std::string next_after;  // empty when there is no more
};

// ---- Snapshots ----
struct Snapshot {
  std::string stream_id;
  int64_t version = 0;
  std::string data;
  std::string metadata;
  int64_t created_us = 0;
};

}  // namespace reckon
