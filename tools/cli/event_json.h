// Event <-> JSON for the `reckon` CLI: the one place that decides how events look in `read`,
// `read-all` and `export` output and how event lines of `append --file` and `import` are parsed.
//
// Output line fields: stream_id, version, position, event_id, event_type, data, metadata, tags,
// created_us. JSON payloads appear as JSON values (parsed, not strings); binary payloads as
// base64 strings, flagged by data_content_type / metadata_content_type =
// "application/octet-stream" (the only case those fields are written); empty metadata is null.
// Snapshots (which have no content type) print the same way: bytes that are JSON as JSON
// values, any others as base64 flagged by the same two fields.
//
// Input line fields: event_type (or type), data, metadata, tags, event_id (or id), stream_id
// (or stream; needed by import), data_content_type / metadata_content_type, data_base64 /
// metadata_base64. Every other field is ignored, so an exported line is a valid input line.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "output.h"
#include "reckon/types.h"

namespace reckon::cli {

Json event_to_json(const Event& event);
Json snapshot_to_json(const Snapshot& snapshot);

// A payload as a JSON value: parsed JSON, or the raw text as a string when it does not parse.
Json json_payload(const std::string& bytes);

struct EventLine {
  std::string stream_id;  // empty when the line has none
  NewEvent event;
};

// Parses one event object (the `where` text prefixes error messages, e.g. "events.jsonl:3").
Result<EventLine> event_from_json(const nlohmann::json& line, const std::string& where);
Result<EventLine> event_from_line(std::string_view line, const std::string& where);

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

// "any" | "no-stream" | "exists" (or "stream-exists") | N >= 0 (also -1, -2, -4).
Result<ExpectedVersion> parse_expected_version(std::string_view text);

// Microseconds since the epoch as UTC ISO-8601 with microseconds: 2024-05-01T12:00:00.123456Z
std::string format_timestamp_us(int64_t us);

}  // namespace reckon::cli
