#include "storage/records.h"

#include <cstring>

#include "core/encoding.h"

namespace reckon::storage {
namespace {

Status corrupt(const char* what) { return Status::corruption(std::string("undecodable ") + what + " record"); }

// EventRecord content-type flags: bit 0 data binary, bit 1 metadata binary, and
constexpr uint8_t kContinuesPart = 4;  // the event continues the previous event's append part

enum HeadFlags : uint8_t {
  kHasMaxCount = 1,
  kHasMaxAge = 2,
  kHasTruncateBefore = 4,
};

}  // namespace

void encode_event(std::string& out, const EventView& e) {
  out.push_back(static_cast<char>(kRecordFormat));
  enc::put_bytes(out, e.stream_id);
  enc::put_varint(out, static_cast<uint64_t>(e.version));
  out.append(reinterpret_cast<const char*>(e.event_id.bytes.data()), 16);
  enc::put_bytes(out, e.event_type);
  enc::put_svarint(out, e.created_us);
  out.push_back(static_cast<char>(static_cast<uint8_t>(e.data_content_type) |
                                  static_cast<uint8_t>(e.metadata_content_type) << 1 |
                                  (e.continues_part ? kContinuesPart : 0)));
  enc::put_bytes(out, e.data);
  enc::put_bytes(out, e.metadata);
  enc::put_varint(out, e.tags.size());
  for (auto t : e.tags) enc::put_bytes(out, t);
}

Status decode_event(std::string_view bytes, EventView& e) {
  enc::ByteReader r(bytes);
  uint8_t format, ct;
  uint64_t version, ntags;
  std::string_view id;
  if (!r.get_u8(format) || format != kRecordFormat) return corrupt("event");
  if (!r.get_bytes(e.stream_id) || !r.get_varint(version) || !r.get_raw(16, id) ||
      !r.get_bytes(e.event_type) || !r.get_svarint(e.created_us) || !r.get_u8(ct) ||
      !r.get_bytes(e.data) || !r.get_bytes(e.metadata) || !r.get_varint(ntags) ||
      ntags > r.remaining()) {
    return corrupt("event");
  }
  e.version = static_cast<int64_t>(version);
  std::memcpy(e.event_id.bytes.data(), id.data(), 16);
  e.data_content_type = static_cast<ContentType>(ct & 1);
  e.metadata_content_type = static_cast<ContentType>((ct >> 1) & 1);
  e.continues_part = (ct & kContinuesPart) != 0;
  e.tags.resize(ntags);
  for (auto& t : e.tags)
    if (!r.get_bytes(t)) return corrupt("event");
  return Status::ok();
}

Event to_event(const EventView& v, Position position) {
  Event e;
  e.event_id = v.event_id;
  e.event_type.assign(v.event_type);
  e.stream_id.assign(v.stream_id);
  e.version = v.version;
  e.position = position;
  e.data.assign(v.data);
  e.data_content_type = v.data_content_type;
  e.metadata.assign(v.metadata);
  e.metadata_content_type = v.metadata_content_type;
  e.tags.reserve(v.tags.size());
  for (auto t : v.tags) e.tags.emplace_back(t);
  e.created_us = v.created_us;
  return e;
}

void encode_head(std::string& out, const StreamHead& h) {
  out.push_back(static_cast<char>(kRecordFormat));
  enc::put_svarint(out, h.last_version);
  out.push_back(static_cast<char>(h.state));
  enc::put_varint(out, h.last_position);
  enc::put_svarint(out, h.deleted_before);
  const auto& m = h.metadata;
  uint8_t flags = (m.max_count ? kHasMaxCount : 0) | (m.max_age_seconds ? kHasMaxAge : 0) |
                  (m.truncate_before ? kHasTruncateBefore : 0);
  out.push_back(static_cast<char>(flags));
  if (m.max_count) enc::put_varint(out, *m.max_count);
  if (m.max_age_seconds) enc::put_varint(out, *m.max_age_seconds);
  if (m.truncate_before) enc::put_svarint(out, *m.truncate_before);
  enc::put_bytes(out, m.custom_json);
}

Status decode_head(std::string_view bytes, StreamHead& h) {
  enc::ByteReader r(bytes);
  uint8_t format, state, flags;
  if (!r.get_u8(format) || format != kRecordFormat || !r.get_svarint(h.last_version) ||
      !r.get_u8(state) || state > 2 || !r.get_varint(h.last_position) ||
      !r.get_svarint(h.deleted_before) || !r.get_u8(flags)) {
    return corrupt("stream head");
  }
  h.state = static_cast<StreamState>(state);
  auto& m = h.metadata;
  m = StreamMetadata{};
  uint64_t u;
  int64_t s;
  if (flags & kHasMaxCount) {
    if (!r.get_varint(u)) return corrupt("stream head");
    m.max_count = u;
  }
  if (flags & kHasMaxAge) {
    if (!r.get_varint(u)) return corrupt("stream head");
    m.max_age_seconds = u;
  }
  if (flags & kHasTruncateBefore) {
    if (!r.get_svarint(s)) return corrupt("stream head");
    m.truncate_before = s;
  }
  if (!r.get_bytes(m.custom_json)) return corrupt("stream head");
  return Status::ok();
}

void encode_snapshot(std::string& out, const SnapshotRecord& s) {
  out.push_back(static_cast<char>(kRecordFormat));
  enc::put_svarint(out, s.created_us);
  enc::put_bytes(out, s.data);
  enc::put_bytes(out, s.metadata);
}

Status decode_snapshot(std::string_view bytes, SnapshotRecord& s) {
  enc::ByteReader r(bytes);
  uint8_t format;
  if (!r.get_u8(format) || format != kRecordFormat || !r.get_svarint(s.created_us) ||
      !r.get_bytes(s.data) || !r.get_bytes(s.metadata)) {
    return corrupt("snapshot");
  }
  return Status::ok();
}

void encode_subscription(std::string& out, const Subscription& s) {
  out.push_back(static_cast<char>(kRecordFormat));
  out.push_back(static_cast<char>(s.type));
  enc::put_bytes(out, s.selector);
  enc::put_bytes(out, s.name);
  enc::put_varint(out, s.pool_size);
  enc::put_varint(out, s.start_from);
  enc::put_varint(out, s.checkpoint);
  enc::put_svarint(out, s.created_us);
  encode_subscription_options(out, s.options);
}

Status decode_subscription(std::string_view bytes, Subscription& s) {
  enc::ByteReader r(bytes);
  uint8_t format, type;
  uint64_t pool_size;
  if (!r.get_u8(format) || format != kRecordFormat || !r.get_u8(type) || !r.get_bytes(s.selector) ||
      !r.get_bytes(s.name) || !r.get_varint(pool_size) || !r.get_varint(s.start_from) ||
      !r.get_varint(s.checkpoint) || !r.get_svarint(s.created_us) ||
      !decode_subscription_options(r, s.options) || !r.empty() || type < 1 || type > 5 ||
      pool_size > UINT32_MAX) {
    return corrupt("subscription");
  }
  s.type = static_cast<SubscriptionType>(type);
  s.pool_size = static_cast<uint32_t>(pool_size);
  return Status::ok();
}

void encode_subscription_options(std::string& out, const SubscriptionOptions& o) {
  out.push_back(static_cast<char>(o.strategy));
  enc::put_varint(out, o.max_retries);
  enc::put_varint(out, o.message_timeout_ms);
  enc::put_varint(out, o.max_in_flight);
  out.push_back(static_cast<char>(o.ordering));
}

bool decode_subscription_options(enc::ByteReader& r, SubscriptionOptions& o) {
  uint8_t strategy;
  uint64_t max_retries, timeout_ms, max_in_flight;
  if (!r.get_u8(strategy) || strategy > 2 || !r.get_varint(max_retries) || max_retries > UINT32_MAX ||
      !r.get_varint(timeout_ms) || timeout_ms > UINT32_MAX || !r.get_varint(max_in_flight) ||
      max_in_flight > UINT32_MAX) {
    return false;
  }
  o.strategy = static_cast<DeliveryStrategy>(strategy);
  o.max_retries = static_cast<uint32_t>(max_retries);
  o.message_timeout_ms = static_cast<uint32_t>(timeout_ms);
  o.max_in_flight = static_cast<uint32_t>(max_in_flight);
  o.ordering = DeliveryOrdering::kPerStream;  // absent: written before the field existed
  if (r.empty()) return true;
  uint8_t ordering;
  if (!r.get_u8(ordering) || ordering > 1) return false;
  o.ordering = static_cast<DeliveryOrdering>(ordering);
  return true;
}

void encode_parked(std::string& out, const ParkedEvent& p) {
  out.push_back(static_cast<char>(kRecordFormat));
  enc::put_varint(out, p.attempts);
  enc::put_svarint(out, p.parked_us);
  enc::put_bytes(out, p.reason);
}

Status decode_parked(std::string_view bytes, ParkedEvent& p) {
  enc::ByteReader r(bytes);
  uint8_t format;
  uint64_t attempts;
  if (!r.get_u8(format) || format != kRecordFormat || !r.get_varint(attempts) || attempts > UINT32_MAX ||
      !r.get_svarint(p.parked_us) || !r.get_bytes(p.reason) || !r.empty()) {
    return corrupt("parked event");
  }
  p.attempts = static_cast<uint32_t>(attempts);
  return Status::ok();
}

void encode_state(std::string& out, const SystemState& s) {
  out.push_back(static_cast<char>(kRecordFormat));
  enc::put_varint(out, s.applied_index);
  enc::put_varint(out, s.last_position);
  enc::put_svarint(out, s.last_created_us);
  enc::put_varint(out, s.digest);
  out.push_back(static_cast<char>(s.replicated ? 1 : 0));
}

Status decode_state(std::string_view bytes, SystemState& s) {
  enc::ByteReader r(bytes);
  uint8_t format;
  if (!r.get_u8(format) || format != kRecordFormat || !r.get_varint(s.applied_index) ||
      !r.get_varint(s.last_position) || !r.get_svarint(s.last_created_us)) {
    return corrupt("system state");
  }
  // Stores written before the digest existed end here.
  s.digest = 0;
  s.replicated = false;
  if (r.empty()) return Status::ok();
  uint8_t flags;
  if (!r.get_varint(s.digest) || !r.get_u8(flags) || flags > 1 || !r.empty()) {
    return corrupt("system state");
  }
  s.replicated = flags == 1;
  return Status::ok();
}

}  // namespace reckon::storage
