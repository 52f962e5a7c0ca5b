#include "storage/command.h"

#include <cstring>

#include "core/encoding.h"
#include "storage/records.h"

namespace reckon::storage {
namespace {

void put_header(std::string& out, CommandType type) {
  out.push_back(static_cast<char>(kCommandFormat));
  out.push_back(static_cast<char>(type));
}

void put_strings(std::string& out, const std::vector<std::string>& v) {
  enc::put_varint(out, v.size());
  for (const auto& s : v) enc::put_bytes(out, s);
}

bool get_strings(enc::ByteReader& r, std::vector<std::string>& v) {
  uint64_t n;
  if (!r.get_varint(n) || n > r.remaining()) return false;
  v.resize(n);
  for (auto& s : v)
    if (!r.get_bytes(s)) return false;
  return true;
}

void put_metadata(std::string& out, const StreamMetadata& m) {
  uint8_t flags = (m.max_count ? 1 : 0) | (m.max_age_seconds ? 2 : 0) | (m.truncate_before ? 4 : 0);
  out.push_back(static_cast<char>(flags));
  if (m.max_count) enc::put_varint(out, *m.max_count);
  if (m.max_age_seconds) enc::put_varint(out, *m.max_age_seconds);
  if (m.truncate_before) enc::put_svarint(out, *m.truncate_before);
  enc::put_bytes(out, m.custom_json);
}

bool get_metadata(enc::ByteReader& r, StreamMetadata& m) {
  uint8_t flags;
  uint64_t u;
  int64_t s;
  if (!r.get_u8(flags)) return false;
  if (flags & 1) {
    if (!r.get_varint(u)) return false;
    m.max_count = u;
  }
  if (flags & 2) {
    if (!r.get_varint(u)) return false;
    m.max_age_seconds = u;
  }
  if (flags & 4) {
    if (!r.get_svarint(s)) return false;
    m.truncate_before = s;
  }
  return r.get_bytes(m.custom_json);
}

}  // namespace

std::string encode_append_command(int64_t proposed_us, std::vector<StreamAppend>& parts,
                                  const std::optional<AppendCondition>& condition) {
  size_t estimate = 32;
  for (const auto& p : parts) {
    estimate += p.stream_id.size() + 16;
    for (const auto& e : p.events) estimate += 48 + e.event_type.size() + e.data.size() + e.metadata.size();
  }
  std::string out;
  out.reserve(estimate);
  put_header(out, CommandType::kAppend);
  enc::put_svarint(out, proposed_us);
  enc::put_varint(out, parts.size());
  for (auto& p : parts) {
    enc::put_bytes(out, p.stream_id);
    enc::put_svarint(out, p.expected);
    enc::put_varint(out, p.events.size());
    for (auto& e : p.events) {
      bool client_id = e.event_id.has_value();
      if (!client_id) e.event_id = Uuid::v7();
      out.append(reinterpret_cast<const char*>(e.event_id->bytes.data()), 16);
      out.push_back(static_cast<char>((client_id ? 1 : 0) |
                                      static_cast<uint8_t>(e.data_content_type) << 1 |
                                      static_cast<uint8_t>(e.metadata_content_type) << 2));
      enc::put_bytes(out, e.event_type);
      enc::put_bytes(out, e.data);
      enc::put_bytes(out, e.metadata);
      put_strings(out, e.tags);
    }
  }
  out.push_back(condition ? 1 : 0);
  if (condition) {
    enc::put_varint(out, condition->after_position);
    enc::put_varint(out, condition->items.size());
    for (const auto& item : condition->items) {
      put_strings(out, item.event_types);
      put_strings(out, item.tags);
    }
  }
  return out;
}

std::string encode_delete_command(CommandType type, std::string_view stream_id,
                                  ExpectedVersion expected) {
  std::string out;
  put_header(out, type);
  enc::put_bytes(out, stream_id);
  enc::put_svarint(out, expected);
  return out;
}

std::string encode_set_metadata_command(std::string_view stream_id, const StreamMetadata& m) {
  std::string out;
  put_header(out, CommandType::kSetStreamMetadata);
  enc::put_bytes(out, stream_id);
  put_metadata(out, m);
  return out;
}

std::string encode_truncate_command(std::string_view stream_id, int64_t before_version) {
  std::string out;
  put_header(out, CommandType::kTruncateBefore);
  enc::put_bytes(out, stream_id);
  enc::put_svarint(out, before_version);
  return out;
}

std::string encode_save_snapshot_command(int64_t proposed_us, const Snapshot& s) {
  std::string out;
  put_header(out, CommandType::kSaveSnapshot);
  enc::put_svarint(out, proposed_us);
  enc::put_bytes(out, s.stream_id);
  enc::put_svarint(out, s.version);
  enc::put_bytes(out, s.data);
  enc::put_bytes(out, s.metadata);
  return out;
}

std::string encode_delete_snapshots_command(std::string_view stream_id) {
  std::string out;
  put_header(out, CommandType::kDeleteSnapshots);
  enc::put_bytes(out, stream_id);
  return out;
}

std::string encode_delete_snapshot_at_command(std::string_view stream_id, int64_t version) {
  std::string out;
  put_header(out, CommandType::kDeleteSnapshotAt);
  enc::put_bytes(out, stream_id);
  enc::put_svarint(out, version);
  return out;
}

std::string encode_set_member_address_command(uint64_t node_id, std::string_view client_address) {
  std::string out;
  put_header(out, CommandType::kSetMemberAddress);
  enc::put_varint(out, node_id);
  enc::put_bytes(out, client_address);
  return out;
}

std::string encode_create_subscription_command(int64_t proposed_us, const Subscription& s) {
  std::string out;
  put_header(out, CommandType::kCreateSubscription);
  enc::put_svarint(out, proposed_us);
  enc::put_bytes(out, s.key);
  out.push_back(static_cast<char>(s.type));
  enc::put_bytes(out, s.selector);
  enc::put_bytes(out, s.name);
  enc::put_varint(out, s.pool_size);
  enc::put_varint(out, s.start_from);
  encode_subscription_options(out, s.options);
  return out;
}

std::string encode_delete_subscription_command(std::string_view key) {
  std::string out;
  put_header(out, CommandType::kDeleteSubscription);
  enc::put_bytes(out, key);
  return out;
}

std::string encode_checkpoint_command(const std::vector<SubscriptionCheckpoint>& checkpoints) {
  std::string out;
  out.reserve(4 + checkpoints.size() * 44);
  put_header(out, CommandType::kCheckpointSubscriptions);
  enc::put_varint(out, checkpoints.size());
  for (const auto& cp : checkpoints) {
    enc::put_bytes(out, cp.key);
    enc::put_varint(out, cp.position);
  }
  return out;
}

std::string encode_park_command(int64_t proposed_us, std::string_view key, const std::vector<ParkedEvent>& events) {
  std::string out;
  put_header(out, CommandType::kParkEvents);
  enc::put_svarint(out, proposed_us);
  enc::put_bytes(out, key);
  enc::put_varint(out, events.size());
  for (const auto& e : events) {
    enc::put_varint(out, e.position);
    enc::put_varint(out, e.attempts);
    enc::put_bytes(out, e.reason);
  }
  return out;
}

std::string encode_unpark_command(std::string_view key, const std::vector<Position>& positions) {
  std::string out;
  put_header(out, CommandType::kUnparkEvents);
  enc::put_bytes(out, key);
  enc::put_varint(out, positions.size());
  for (Position p : positions) enc::put_varint(out, p);
  return out;
}

namespace {

bool get_u32(enc::ByteReader& r, uint32_t& v) {
  uint64_t u;
  if (!r.get_varint(u) || u > UINT32_MAX) return false;
  v = static_cast<uint32_t>(u);
  return true;
}

bool decode_create_subscription(enc::ByteReader& r, DecodedCommand& c) {
  Subscription& s = c.subscription;
  uint8_t type;
  if (!r.get_svarint(c.proposed_us) || !r.get_bytes(s.key) || !r.get_u8(type) || type < 1 || type > 5 ||
      !r.get_bytes(s.selector) || !r.get_bytes(s.name) || !get_u32(r, s.pool_size) ||
      !r.get_varint(s.start_from) || !decode_subscription_options(r, s.options)) {
    return false;
  }
  s.type = static_cast<SubscriptionType>(type);
  s.created_us = c.proposed_us;
  return true;
}

bool decode_checkpoints(enc::ByteReader& r, DecodedCommand& c) {
  uint64_t n;
  if (!r.get_varint(n) || n > r.remaining()) return false;
  c.checkpoints.resize(n);
  for (auto& [key, position] : c.checkpoints)
    if (!r.get_bytes(key) || !r.get_varint(position)) return false;
  return true;
}

bool decode_park(enc::ByteReader& r, DecodedCommand& c) {
  uint64_t n;
  if (!r.get_svarint(c.proposed_us) || !r.get_bytes(c.subscription_key) || !r.get_varint(n) ||
      n > r.remaining()) {
    return false;
  }
  c.parked.resize(n);
  for (auto& p : c.parked) {
    if (!r.get_varint(p.position) || !get_u32(r, p.attempts) || !r.get_bytes(p.reason)) return false;
    p.parked_us = c.proposed_us;
  }
  return true;
}

bool decode_unpark(enc::ByteReader& r, DecodedCommand& c) {
  uint64_t n;
  if (!r.get_bytes(c.subscription_key) || !r.get_varint(n) || n > r.remaining()) return false;
  c.positions.resize(n);
  for (auto& p : c.positions)
    if (!r.get_varint(p)) return false;
  return true;
}

}  // namespace

Status decode_command(std::string_view bytes, DecodedCommand& c) {
  const Status bad = Status::corruption("undecodable command");
  enc::ByteReader r(bytes);
  uint8_t format, type;
  if (!r.get_u8(format) || format != kCommandFormat || !r.get_u8(type)) return bad;
  c.type = static_cast<CommandType>(type);
  switch (c.type) {
    case CommandType::kAppend: {
      uint64_t nparts;
      if (!r.get_svarint(c.proposed_us) || !r.get_varint(nparts) || nparts > r.remaining()) return bad;
      c.parts.resize(nparts);
      for (auto& p : c.parts) {
        uint64_t nevents;
        if (!r.get_bytes(p.stream_id) || !r.get_svarint(p.expected) || !r.get_varint(nevents) ||
            nevents > r.remaining()) {
          return bad;
        }
        p.events.resize(nevents);
        for (auto& e : p.events) {
          std::string_view id;
          uint8_t flags;
          uint64_t ntags;
          if (!r.get_raw(16, id) || !r.get_u8(flags) || !r.get_bytes(e.event_type) ||
              !r.get_bytes(e.data) || !r.get_bytes(e.metadata) || !r.get_varint(ntags) ||
              ntags > r.remaining()) {
            return bad;
          }
          std::memcpy(e.event_id.bytes.data(), id.data(), 16);
          e.client_supplied_id = flags & 1;
          e.data_content_type = static_cast<ContentType>((flags >> 1) & 1);
          e.metadata_content_type = static_cast<ContentType>((flags >> 2) & 1);
          e.tags.resize(ntags);
          for (auto& t : e.tags)
            if (!r.get_bytes(t)) return bad;
        }
      }
      uint8_t has_condition;
      if (!r.get_u8(has_condition)) return bad;
      if (has_condition) {
        AppendCondition cond;
        uint64_t nitems;
        if (!r.get_varint(cond.after_position) || !r.get_varint(nitems) || nitems > r.remaining()) {
          return bad;
        }
        cond.items.resize(nitems);
        for (auto& item : cond.items)
          if (!get_strings(r, item.event_types) || !get_strings(r, item.tags)) return bad;
        c.condition = std::move(cond);
      }
      break;
    }
    case CommandType::kDeleteStream:
    case CommandType::kTombstoneStream:
      if (!r.get_bytes(c.stream_id) || !r.get_svarint(c.expected)) return bad;
      break;
    case CommandType::kSetStreamMetadata:
      if (!r.get_bytes(c.stream_id) || !get_metadata(r, c.metadata)) return bad;
      break;
    case CommandType::kTruncateBefore:
    case CommandType::kDeleteSnapshotAt:
      if (!r.get_bytes(c.stream_id) || !r.get_svarint(c.version)) return bad;
      break;
    case CommandType::kSaveSnapshot:
      if (!r.get_svarint(c.proposed_us) || !r.get_bytes(c.stream_id) || !r.get_svarint(c.version) ||
          !r.get_bytes(c.snapshot_data) || !r.get_bytes(c.snapshot_metadata)) {
        return bad;
      }
      break;
    case CommandType::kDeleteSnapshots:
      if (!r.get_bytes(c.stream_id)) return bad;
      break;
    case CommandType::kSetMemberAddress:
      if (!r.get_varint(c.member_id) || !r.get_bytes(c.member_address) || c.member_id == 0) {
        return bad;
      }
      break;
    case CommandType::kCreateSubscription:
      if (!decode_create_subscription(r, c)) return bad;
      break;
    case CommandType::kDeleteSubscription:
      if (!r.get_bytes(c.subscription_key)) return bad;
      break;
    case CommandType::kCheckpointSubscriptions:
      if (!decode_checkpoints(r, c)) return bad;
      break;
    case CommandType::kParkEvents:
      if (!decode_park(r, c)) return bad;
      break;
    case CommandType::kUnparkEvents:
      if (!decode_unpark(r, c)) return bad;
      break;
    default:
      return Status::corruption("unknown command type " + std::to_string(type));
  }
  if (!r.empty()) return Status::corruption("trailing bytes after command");
  return Status::ok();
}

}  // namespace reckon::storage
