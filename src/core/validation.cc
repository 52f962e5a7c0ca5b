#include "core/validation.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"

namespace reckon::validation {
namespace {

Status check_name(std::string_view value, std::string_view what, uint64_t max_bytes) {
  if (value.empty()) return Status::invalid_argument(std::string(what) + " must not be empty");
  if (value.size() > max_bytes) {
    return Status::limit_exceeded(std::string(what) + " is " + std::to_string(value.size()) +
                                  " bytes; the limit is " + std::to_string(max_bytes));
  }
  if (value.find('\0') != std::string_view::npos) {
    return Status::invalid_argument(std::string(what) + " must not contain NUL bytes");
  }
  if (!is_valid_utf8(value)) return Status::invalid_argument(std::string(what) + " is not valid UTF-8");
  return Status::ok();
}

std::string event_label(size_t index) { return "event #" + std::to_string(index); }

// Names the event in a failed check's message; the label is built only on failure (this runs
// for every event of every append).
Status about_event(size_t index, Status s) {
  if (s.is_ok()) return s;
  return Status(s.code(), event_label(index) + " " + s.message());
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

Status check_stream_name(std::string_view stream_id, const Limits& limits) {
  return check_name(stream_id, "stream id", limits.max_stream_id_bytes);
}

Status check_user_stream(std::string_view stream_id, const Limits& limits) {
  RECKON_RETURN_IF_ERROR(check_stream_name(stream_id, limits));
  if (stream_id[0] == '$') {
    return Status::invalid_argument("stream id '" + std::string(stream_id) +
                                    "' starts with '$', which is reserved for system streams");
  }
  return Status::ok();
}

Status check_event(NewEvent& e, const Limits& limits, size_t index) {
  RECKON_RETURN_IF_ERROR(about_event(index, check_name(e.event_type, "event_type", limits.max_event_type_bytes)));
  if (e.tags.size() > limits.max_tags_per_event) {
    return Status::limit_exceeded(event_label(index) + " has " + std::to_string(e.tags.size()) +
                                  " tags; the limit is " + std::to_string(limits.max_tags_per_event));
  }
  uint64_t size = e.event_type.size() + e.data.size() + e.metadata.size();
  for (const auto& tag : e.tags) {
    RECKON_RETURN_IF_ERROR(about_event(index, check_name(tag, "tag", limits.max_tag_bytes)));
    size += tag.size();
  }
  if (size > limits.max_event_bytes) {
    return Status::limit_exceeded(event_label(index) + " is " + std::to_string(size) +
                                  " bytes; the limit is " + std::to_string(limits.max_event_bytes));
  }
  if (e.event_id && e.event_id->is_nil()) {
    return Status::invalid_argument(event_label(index) + " has the nil UUID as event_id");
  }
  if (e.data_content_type == ContentType::kJson) {
    RECKON_RETURN_IF_ERROR(about_event(index, json::validate(e.data, "data")));
  }
  if (e.metadata_content_type == ContentType::kJson && !e.metadata.empty()) {
    RECKON_RETURN_IF_ERROR(about_event(index, json::validate(e.metadata, "metadata")));
  }
  // Tags are a set: keep the first occurrence of each, in order.
  if (e.tags.size() > 1) {
    std::vector<std::string> unique;
    for (auto& t : e.tags)
      if (std::find(unique.begin(), unique.end(), t) == unique.end()) unique.push_back(std::move(t));
    e.tags = std::move(unique);
  }
  return Status::ok();
}

Status check_events(std::vector<NewEvent>& events, const Limits& limits) {
  if (events.empty()) return Status::invalid_argument("an append needs at least one event");
  if (events.size() > limits.max_events_per_append) {
    return Status::limit_exceeded("append has " + std::to_string(events.size()) +
                                  " events; the limit is " +
                                  std::to_string(limits.max_events_per_append));
  }
  uint64_t total = 0;
  std::vector<Uuid> ids, scratch;  // the client-supplied ids so far, in order
  ids.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    if (Status st = check_event(events[i], limits, i); !st.is_ok()) {
      // A repeat among the earlier events is reported first.
      if (auto repeated = first_repeated_id(ids, scratch)) return duplicate_id_status(*repeated);
      return st;
    }
    total += events[i].data.size() + events[i].metadata.size() + events[i].event_type.size();
    if (events[i].event_id) ids.push_back(*events[i].event_id);
  }
  if (auto repeated = first_repeated_id(ids, scratch)) return duplicate_id_status(*repeated);
  if (total > limits.max_append_bytes) {
    return Status::limit_exceeded("append is " + std::to_string(total) + " bytes; the limit is " +
                                  std::to_string(limits.max_append_bytes));
  }
  return Status::ok();
}

std::optional<Uuid> first_repeated_id(const std::vector<Uuid>& ids, std::vector<Uuid>& scratch) {
  scratch.assign(ids.begin(), ids.end());
  std::sort(scratch.begin(), scratch.end());
  if (std::adjacent_find(scratch.begin(), scratch.end()) == scratch.end()) return std::nullopt;
  std::set<Uuid> seen;
  for (const Uuid& id : ids) {
    if (!seen.insert(id).second) return id;
  }
  return std::nullopt;  // unreachable: the sorted copy had a repeat
}

Status duplicate_id_status(const Uuid& id) {
  return Status::invalid_argument("event id " + id.to_string() + " appears twice in one append");
}

Status check_expected_version(ExpectedVersion expected) {
  if (expected >= 0 || expected == kExpectAny || expected == kExpectNoStream ||
      expected == kExpectStreamExists) {
    return Status::ok();
  }
  return Status::invalid_argument("expected version " + std::to_string(expected) +
                                  " is invalid (use -2 any, -1 no-stream, -4 stream-exists, or N >= 0)");
}

Status check_stream_metadata(const StreamMetadata& m) {
  if (m.truncate_before && *m.truncate_before < 0) {
    return Status::invalid_argument("truncate_before must be >= 0");
  }
  if (!m.custom_json.empty()) RECKON_RETURN_IF_ERROR(json::validate_object(m.custom_json, "custom metadata"));
  return Status::ok();
}

}  // namespace reckon::validation
