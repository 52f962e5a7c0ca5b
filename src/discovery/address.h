// host:port parsing and formatting shared by the seed list, DNS and UDP transport.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "reckon/status.h"

namespace reckon::discovery {

struct HostPort {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 0;
};

// Accepts "host:port" and "[v6addr]:port"; the port must be 1..65535 and the host non-empty.
Result<HostPort> parse_host_port(std::string_view text);

// "1.2.3.4:7001", or "[::1]:7001" when the host contains ':'.
std::string format_host_port(std::string_view host, uint16_t port);

}  // namespace reckon::discovery
