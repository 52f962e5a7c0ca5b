#include "discovery/announcement.h"

#include <cstring>

#include "core/encoding.h"
#include "discovery/hmac.h"

namespace reckon::discovery {
namespace {

constexpr std::string_view kMagic = "RKDA";
constexpr size_t kHeaderBytes = 4 + 1 + 2;  // magic, version, body length
constexpr size_t kMacBytes = 32;

Status rejected(Rejection r, Rejection* why, const std::string& detail) {
  if (why != nullptr) *why = r;
  return Status::invalid_argument(std::string(rejection_name(r)) + ": " + detail);
}

}  // namespace

std::string_view rejection_name(Rejection r) {
  switch (r) {
    case Rejection::kMalformed:
      return "malformed";
    case Rejection::kBadSignature:
      return "bad_signature";
    case Rejection::kOtherCluster:
      return "other_cluster";
    case Rejection::kStale:
      return "stale";
    case Rejection::kFuture:
      return "future";
    case Rejection::kReplay:
      return "replay";
  }
  return "unknown";
}

Result<std::string> encode_announcement(const Announcement& a, std::string_view secret) {
  if (secret.empty()) return Status::invalid_argument("announcement: empty shared secret");
  if (a.cluster.empty()) return Status::invalid_argument("announcement: empty cluster name");
  if (a.node_id == 0) return Status::invalid_argument("announcement: node id 0");
  if (a.raft_address.empty()) return Status::invalid_argument("announcement: no Raft address");
  for (const std::string* field : {&a.cluster, &a.raft_address, &a.client_address}) {
    if (field->size() > kMaxAnnouncementField) {
      return Status::invalid_argument("announcement: field longer than 255 bytes");
    }
  }
  std::string body;
  enc::put_bytes(body, a.cluster);
  enc::put_u64_be(body, a.node_id);
  enc::put_bytes(body, a.raft_address);
  enc::put_bytes(body, a.client_address);
  enc::put_u64_be(body, a.term);
  body.push_back(static_cast<char>(a.role));
  enc::put_u64_be(body, static_cast<uint64_t>(a.timestamp_ms));
  body.append(reinterpret_cast<const char*>(a.nonce.data()), a.nonce.size());

  std::string out(kMagic);
  out.push_back(static_cast<char>(kAnnouncementVersion));
  out.push_back(static_cast<char>(body.size() >> 8));
  out.push_back(static_cast<char>(body.size() & 0xFF));
  out += body;
  Mac mac = hmac_sha256(secret, out);
  out.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  if (out.size() > kMaxAnnouncementBytes) {
    return Status::invalid_argument("announcement: larger than one datagram");
  }
  return out;
}

Result<Announcement> decode_announcement(std::string_view datagram, std::string_view secret,
                                         Rejection* why) {
  if (datagram.size() < kHeaderBytes + kMacBytes || datagram.size() > kMaxAnnouncementBytes) {
    return rejected(Rejection::kMalformed, why, "bad size");
  }
  if (datagram.substr(0, 4) != kMagic) return rejected(Rejection::kMalformed, why, "bad magic");
  if (static_cast<uint8_t>(datagram[4]) != kAnnouncementVersion) {
    return rejected(Rejection::kMalformed, why, "unknown version");
  }
  size_t body_len = static_cast<uint8_t>(datagram[5]) << 8 | static_cast<uint8_t>(datagram[6]);
  if (kHeaderBytes + body_len + kMacBytes != datagram.size()) {
    // Also what an unsigned datagram (no MAC appended) looks like.
    return rejected(Rejection::kBadSignature, why, "length does not leave room for a MAC");
  }
  std::string_view signed_part = datagram.substr(0, kHeaderBytes + body_len);
  // Authenticate before parsing: nothing from an unauthenticated sender is interpreted.
  if (secret.empty() ||
      !mac_equal(hmac_sha256(secret, signed_part), datagram.substr(kHeaderBytes + body_len))) {
    return rejected(Rejection::kBadSignature, why, "MAC does not verify");
  }

  Announcement a;
  enc::ByteReader r(datagram.substr(kHeaderBytes, body_len));
  uint64_t ts = 0;
  uint8_t role = 0;
  std::string_view nonce;
  if (!r.get_bytes(a.cluster) || !r.get_u64_be(a.node_id) || !r.get_bytes(a.raft_address) ||
      !r.get_bytes(a.client_address) || !r.get_u64_be(a.term) || !r.get_u8(role) ||
      !r.get_u64_be(ts) || !r.get_raw(a.nonce.size(), nonce) || !r.empty()) {
    return rejected(Rejection::kMalformed, why, "body does not decode");
  }
  if (role > static_cast<uint8_t>(AnnouncedRole::kLeader) || a.node_id == 0 || a.cluster.empty() ||
      a.raft_address.empty()) {
    return rejected(Rejection::kMalformed, why, "invalid field");
  }
  a.role = static_cast<AnnouncedRole>(role);
  a.timestamp_ms = static_cast<int64_t>(ts);
  std::memcpy(a.nonce.data(), nonce.data(), a.nonce.size());
  return a;
}

}  // namespace reckon::discovery
