// Announcement: the signed UDP datagram a node sends so that others discover it, and its
// codec. Format (docs/CLUSTER.md, "Announcement format"):
//
//   "RKDA" | version u8 (=1) | body length u16 BE | body | HMAC-SHA256 (32 bytes)
//   body = cluster (varint len + bytes) | node_id u64 BE | raft address (len + bytes)
//        | client address (len + bytes) | term u64 BE | role u8 | timestamp_ms u64 BE
//        | nonce (16 bytes)
//
// The MAC covers every byte before it and is keyed with the cluster's shared secret, which
// never goes on the wire. Plain values; the functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "reckon/status.h"

namespace reckon::discovery {

// The announcing node's Raft role, as far as it wants to tell (kUnknown if it does not).
enum class AnnouncedRole : uint8_t { kUnknown = 0, kFollower, kCandidate, kLeader };

inline constexpr size_t kMaxAnnouncementBytes = 1200;  // fits an Ethernet MTU
inline constexpr size_t kMaxAnnouncementField = 255;   // cluster name and each address
inline constexpr uint8_t kAnnouncementVersion = 1;

struct Announcement {
  std::string cluster;
  uint64_t node_id = 0;
  std::string raft_address;
  std::string client_address;
  uint64_t term = 0;
  AnnouncedRole role = AnnouncedRole::kUnknown;
  int64_t timestamp_ms = 0;  // sender's wall clock, ms since the Unix epoch
  std::array<uint8_t, 16> nonce{};

  bool operator==(const Announcement&) const = default;
};

// Why a datagram was not accepted; counted by the listener.
enum class Rejection : uint8_t {
  kMalformed,     // too short/long, wrong magic or version, bad lengths, trailing bytes
  kBadSignature,  // MAC missing or wrong: unsigned, tampered, or another secret
  kOtherCluster,  // signed, but for a different cluster name
  kStale,         // older than the staleness window
  kFuture,        // further in the future than the allowed clock skew
  kReplay,        // a nonce already seen within the window
};
std::string_view rejection_name(Rejection r);

// Encodes and signs. InvalidArgument if a field is empty where required, too long, or the
// secret is empty (announcements are never sent unsigned).
Result<std::string> encode_announcement(const Announcement& a, std::string_view secret);

// Verifies the MAC (before parsing the body) and decodes. On failure the Status message starts
// with the rejection name, and `why` (if given) says which one.
Result<Announcement> decode_announcement(std::string_view datagram, std::string_view secret,
                                         Rejection* why = nullptr);

}  // namespace reckon::discovery
