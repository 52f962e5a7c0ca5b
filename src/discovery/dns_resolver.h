// DNS discovery: a name (e.g. a headless Kubernetes service) whose A/AAAA records are the
// members' addresses. DNS carries no node ids: a DNS peer gets its id from a signed
// announcement or a seed with the same Raft address (see Discovery), otherwise it stays 0.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "reckon/status.h"

namespace reckon::discovery {

// Maps a host name to IP address strings (IPv6 without brackets). Injectable for tests.
using HostResolver = std::function<Result<std::vector<std::string>>(const std::string& host)>;

// getaddrinfo (A and AAAA); results deduplicated and sorted so repeated lookups compare equal.
// Blocks for as long as the system resolver does.
HostResolver system_host_resolver();

// Resolves `name` and appends `port`: {"10.0.0.1:7001", "[fd00::1]:7001"}. NotFound if the
// name has no address.
Result<std::vector<std::string>> resolve_peer_addresses(const std::string& name, uint16_t port,
                                                        const HostResolver& resolver);

}  // namespace reckon::discovery
