// Peer: one cluster member as discovery knows it. Plain value; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>

namespace reckon::discovery {

struct Peer {
  uint64_t node_id = 0;        // 0 = not yet known (a DNS address nobody has announced)
  std::string raft_address;    // host:port of the Raft transport
  std::string client_address;  // host:port of the gRPC API; empty if unknown

  bool operator==(const Peer&) const = default;
};

}  // namespace reckon::discovery
