// Static seeds: the operator's list of members, "1=10.0.0.1:7001,2=10.0.0.2:7001".
// Each entry may also name the client (gRPC) address: "1=10.0.0.1:7001/10.0.0.1:2113".
#pragma once

#include <string_view>
#include <vector>

#include "discovery/peer.h"
#include "reckon/status.h"

namespace reckon::discovery {

// Parses a comma-separated seed list. Ids must be positive and unique, addresses host:port.
// Whitespace around entries is ignored; an empty list is valid (no seeds).
Result<std::vector<Peer>> parse_seed_list(std::string_view text);

}  // namespace reckon::discovery
