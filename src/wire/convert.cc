#include "wire/convert.h"

#include <cstring>

namespace reckon::wire {
namespace {

Result<Uuid> uuid_from_bytes(const std::string& b) {
  if (b.size() != 16) {
    return Status::invalid_argument("event_id must be 16 bytes, got " + std::to_string(b.size()));
  }
  Uuid u;
  std::memcpy(u.bytes.data(), b.data(), 16);
  return u;
}

std::string uuid_bytes(const Uuid& u) {
  return std::string(reinterpret_cast<const char*>(u.bytes.data()), 16);
}

ContentType content_type(v1::ContentType t) {
  return t == v1::CONTENT_TYPE_BINARY ? ContentType::kBinary : ContentType::kJson;
}

Status check_content_type(int t) {
  if (t == v1::CONTENT_TYPE_JSON || t == v1::CONTENT_TYPE_BINARY) return Status::ok();
  return Status::invalid_argument("unknown content type " + std::to_string(t));
}

template <typename Repeated>
std::vector<std::string> strings(const Repeated& r) {
  return std::vector<std::string>(r.begin(), r.end());
}

}  // namespace

v1::ContentType content_type(ContentType t) {
  return t == ContentType::kBinary ? v1::CONTENT_TYPE_BINARY : v1::CONTENT_TYPE_JSON;
}

Result<NewEvent> from_proto(const v1::NewEvent& in) {
  NewEvent e;
  if (!in.event_id().empty()) {
    RECKON_ASSIGN_OR_RETURN(Uuid id, uuid_from_bytes(in.event_id()));
    e.event_id = id;
  }
  RECKON_RETURN_IF_ERROR(check_content_type(in.data_content_type()));
  RECKON_RETURN_IF_ERROR(check_content_type(in.metadata_content_type()));
  e.event_type = in.event_type();
  e.data = in.data();
  e.data_content_type = content_type(in.data_content_type());
  e.metadata = in.metadata();
  e.metadata_content_type = content_type(in.metadata_content_type());
  e.tags = strings(in.tags());
  return e;
}

// Empty strings are left unset: the same on the wire (proto3), without a string allocated.
void to_proto(const NewEvent& in, v1::NewEvent* out) {
  if (in.event_id) out->set_event_id(uuid_bytes(*in.event_id));
  out->set_event_type(in.event_type);
  if (!in.data.empty()) out->set_data(in.data);
  out->set_data_content_type(content_type(in.data_content_type));
  if (!in.metadata.empty()) out->set_metadata(in.metadata);
  out->set_metadata_content_type(content_type(in.metadata_content_type));
  for (const auto& t : in.tags) out->add_tags(t);
}

void to_proto(NewEvent&& in, v1::NewEvent* out) {
  if (in.event_id) out->set_event_id(uuid_bytes(*in.event_id));
  out->set_event_type(std::move(in.event_type));
  if (!in.data.empty()) out->set_data(std::move(in.data));
  out->set_data_content_type(content_type(in.data_content_type));
  if (!in.metadata.empty()) out->set_metadata(std::move(in.metadata));
  out->set_metadata_content_type(content_type(in.metadata_content_type));
  for (auto& t : in.tags) out->add_tags(std::move(t));
}

void to_proto(const Event& in, v1::RecordedEvent* out) {
  out->set_event_id(uuid_bytes(in.event_id));
  out->set_event_type(in.event_type);
  out->set_stream_id(in.stream_id);
  out->set_version(in.version);
  out->set_position(in.position);
  out->set_data(in.data);
  out->set_data_content_type(content_type(in.data_content_type));
  out->set_metadata(in.metadata);
  out->set_metadata_content_type(content_type(in.metadata_content_type));
  for (const auto& t : in.tags) out->add_tags(t);
  out->set_created_us(in.created_us);
}

void to_proto(const EventRef& in, v1::RecordedEvent* out) {
  out->set_event_id(uuid_bytes(in.event_id));
  out->set_event_type(in.event_type.data(), in.event_type.size());
  out->set_stream_id(in.stream_id.data(), in.stream_id.size());
  out->set_version(in.version);
  out->set_position(in.position);
  out->set_data(in.data.data(), in.data.size());
  out->set_data_content_type(content_type(in.data_content_type));
  out->set_metadata(in.metadata.data(), in.metadata.size());
  out->set_metadata_content_type(content_type(in.metadata_content_type));
  out->clear_tags();
  for (auto t : *in.tags) out->add_tags(t.data(), t.size());
  out->set_created_us(in.created_us);
}

Status assign_from_proto(const v1::RecordedEvent& in, Event& out) {
  RECKON_ASSIGN_OR_RETURN(out.event_id, uuid_from_bytes(in.event_id()));
  out.event_type.assign(in.event_type());
  out.stream_id.assign(in.stream_id());
  out.version = in.version();
  out.position = in.position();
  out.data.assign(in.data());
  out.data_content_type = content_type(in.data_content_type());
  out.metadata.assign(in.metadata());
  out.metadata_content_type = content_type(in.metadata_content_type());
  out.tags.resize(static_cast<size_t>(in.tags_size()));
  for (int i = 0; i < in.tags_size(); ++i) out.tags[static_cast<size_t>(i)].assign(in.tags(i));
  out.created_us = in.created_us();
  return Status::ok();
}

Result<Event> from_proto(const v1::RecordedEvent& in) {
  Event e;
  RECKON_RETURN_IF_ERROR(assign_from_proto(in, e));
  return e;
}

Result<std::vector<StreamAppend>> take_appends(v1::AppendRequest& in) {
  std::vector<StreamAppend> parts;
  parts.reserve(in.appends_size());
  for (auto& a : *in.mutable_appends()) {
    StreamAppend p;
    p.stream_id = std::move(*a.mutable_stream_id());
    p.expected = a.expected_version();
    p.events.reserve(a.events_size());
    for (auto& pe : *a.mutable_events()) {
      NewEvent e;
      if (!pe.event_id().empty()) {
        RECKON_ASSIGN_OR_RETURN(Uuid id, uuid_from_bytes(pe.event_id()));
        e.event_id = id;
      }
      RECKON_RETURN_IF_ERROR(check_content_type(pe.data_content_type()));
      RECKON_RETURN_IF_ERROR(check_content_type(pe.metadata_content_type()));
      // mutable_*() allocates a string for an unset field: move only what is there.
      if (!pe.event_type().empty()) e.event_type = std::move(*pe.mutable_event_type());
      if (!pe.data().empty()) e.data = std::move(*pe.mutable_data());
      e.data_content_type = content_type(pe.data_content_type());
      if (!pe.metadata().empty()) e.metadata = std::move(*pe.mutable_metadata());
      e.metadata_content_type = content_type(pe.metadata_content_type());
      e.tags.reserve(pe.tags_size());
      for (auto& t : *pe.mutable_tags()) e.tags.push_back(std::move(t));
      p.events.push_back(std::move(e));
    }
    parts.push_back(std::move(p));
  }
  return parts;
}

std::optional<AppendCondition> from_proto_condition(const v1::AppendRequest& in) {
  if (!in.has_condition()) return std::nullopt;
  AppendCondition c;
  c.after_position = in.condition().after_position();
  for (const auto& item : in.condition().items()) {
    c.items.push_back(QueryItem{strings(item.event_types()), strings(item.tags())});
  }
  return c;
}

void to_proto(const AppendCondition& in, v1::AppendCondition* out) {
  out->set_after_position(in.after_position);
  for (const auto& item : in.items) {
    auto* i = out->add_items();
    for (const auto& t : item.event_types) i->add_event_types(t);
    for (const auto& t : item.tags) i->add_tags(t);
  }
}

void to_proto(const AppendResult& in, v1::AppendResult* out) {
  out->set_stream_id(in.stream_id);
  out->set_first_version(in.first_version);
  out->set_last_version(in.last_version);
  out->set_first_position(in.first_position);
  out->set_position(in.position);
  out->set_created_us(in.created_us);
}

AppendResult from_proto(const v1::AppendResult& in) {
  return AppendResult{in.stream_id(),      in.first_version(), in.last_version(),
                      in.first_position(), in.position(),      in.created_us()};
}

EventFilter from_proto(const v1::EventFilter& in) {
  EventFilter f;
  f.stream_prefixes = strings(in.stream_prefixes());
  f.stream_wildcard = in.stream_wildcard();
  f.stream_regex = in.stream_regex();
  f.event_types = strings(in.event_types());
  f.event_type_prefixes = strings(in.event_type_prefixes());
  f.event_type_regex = in.event_type_regex();
  f.tags = strings(in.tags());
  f.tag_match = in.tag_match() == v1::TAG_MATCH_ALL ? TagMatch::kAll : TagMatch::kAny;
  f.exclude_system_streams = in.exclude_system_streams();
  return f;
}

void to_proto(const EventFilter& in, v1::EventFilter* out) {
  for (const auto& s : in.stream_prefixes) out->add_stream_prefixes(s);
  out->set_stream_wildcard(in.stream_wildcard);
  out->set_stream_regex(in.stream_regex);
  for (const auto& s : in.event_types) out->add_event_types(s);
  for (const auto& s : in.event_type_prefixes) out->add_event_type_prefixes(s);
  out->set_event_type_regex(in.event_type_regex);
  for (const auto& s : in.tags) out->add_tags(s);
  out->set_tag_match(in.tag_match == TagMatch::kAll ? v1::TAG_MATCH_ALL : v1::TAG_MATCH_ANY);
  out->set_exclude_system_streams(in.exclude_system_streams);
}

StreamMetadata from_proto(const v1::StreamMetadata& in) {
  StreamMetadata m;
  if (in.has_max_count()) m.max_count = in.max_count();
  if (in.has_max_age_seconds()) m.max_age_seconds = in.max_age_seconds();
  if (in.has_truncate_before()) m.truncate_before = in.truncate_before();
  m.custom_json = in.custom_json();
  return m;
}

void to_proto(const StreamMetadata& in, v1::StreamMetadata* out) {
  if (in.max_count) out->set_max_count(*in.max_count);
  if (in.max_age_seconds) out->set_max_age_seconds(*in.max_age_seconds);
  if (in.truncate_before) out->set_truncate_before(*in.truncate_before);
  out->set_custom_json(in.custom_json);
}

void to_proto(const StreamInfo& in, v1::StreamInfo* out) {
  out->set_stream_id(in.stream_id);
  out->set_last_version(in.last_version);
  out->set_state(static_cast<v1::StreamState>(in.state));
  out->set_last_position(in.last_position);
  to_proto(in.metadata, out->mutable_metadata());
}

StreamInfo from_proto(const v1::StreamInfo& in) {
  StreamInfo s;
  s.stream_id = in.stream_id();
  s.last_version = in.last_version();
  s.state = in.state() == v1::STREAM_STATE_TOMBSTONED     ? StreamState::kTombstoned
            : in.state() == v1::STREAM_STATE_SOFT_DELETED ? StreamState::kSoftDeleted
                                                          : StreamState::kLive;
  s.last_position = in.last_position();
  s.metadata = from_proto(in.metadata());
  return s;
}

void to_proto(const Snapshot& in, v1::Snapshot* out) {
  out->set_stream_id(in.stream_id);
  out->set_version(in.version);
  out->set_data(in.data);
  out->set_metadata(in.metadata);
  out->set_created_us(in.created_us);
}

Snapshot from_proto(const v1::Snapshot& in) {
  return Snapshot{in.stream_id(), in.version(), in.data(), in.metadata(), in.created_us()};
}

}  // namespace reckon::wire
