// Key layout of the RocksDB column families (docs/STORAGE.md). Integers are big-endian so that
// byte order is numeric order. Names (streams, types, tags) never contain NUL, so
// `name + '\0'` is an exact, order-preserving prefix for all keys of one name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "reckon/types.h"

namespace reckon::storage {

// Column family names; their order is the order of Database::cf handles.
enum class Cf : int {
  kDefault = 0,    // system keys: "state"
  kEvents,         // u64be(position) -> EventRecord
  kStreams,        // stream_id -> StreamHead
  kStreamIndex,    // stream_id \0 u64be(first_version) -> u64be(first_position) [varint count]
  kTypeIndex,      // event_type \0 u64be(first_position) -> [varint count]
  kTagIndex,       // tag \0 u64be(first_position) -> [varint count]
  kEventIds,       // uuid (16 bytes) -> u64be(position)
  kSnapshots,      // stream_id \0 u64be(version) -> SnapshotRecord
  kSubscriptions,  // subscription key -> Subscription record
  kParked,         // subscription key \0 u64be(position) -> ParkedEvent record
  kCount
};
const char* cf_name(Cf cf);

inline constexpr std::string_view kStateKey = "state";
// Default CF: present while a bulk catch-up replaces the state (storage/state_transfer.h); a
// store that holds it must catch up again before it applies anything.
inline constexpr std::string_view kCatchUpKey = "catch_up";
// Default CF: "member/" u64be(node_id) -> client address (cluster member directory).
inline constexpr std::string_view kMemberKeyPrefix = "member/";

inline std::string member_key(uint64_t node_id) {
  std::string k(kMemberKeyPrefix);
  enc::put_u64_be(k, node_id);
  return k;
}

inline std::string position_key(Position p) {
  std::string k;
  enc::put_u64_be(k, p);
  return k;
}

inline void store_u64_be(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
}

// `name \0 u64be(n)` into a reused buffer (the apply hot path avoids allocating keys).
inline void set_name_key(std::string& out, std::string_view name, uint64_t n) {
  out.assign(name.data(), name.size());
  out.push_back('\0');
  enc::put_u64_be(out, n);
}

// `name \0 u64be(n)`: stream index, type/tag index and snapshot keys.
inline std::string name_key(std::string_view name, uint64_t n) {
  std::string k;
  k.reserve(name.size() + 9);
  k.append(name);
  k.push_back('\0');
  enc::put_u64_be(k, n);
  return k;
}

inline std::string name_prefix(std::string_view name) {
  std::string k(name);
  k.push_back('\0');
  return k;
}

// Exclusive upper bound of every key of `name`.
inline std::string name_upper_bound(std::string_view name) {
  std::string k(name);
  k.push_back('\1');
  return k;
}

// The trailing integer of a name_key; the caller has checked the prefix.
inline uint64_t name_key_suffix(std::string_view key) {
  return enc::load_u64_be(key.data() + key.size() - 8);
}

inline std::string_view uuid_key(const Uuid& id) {
  return {reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()};
}

}  // namespace reckon::storage
