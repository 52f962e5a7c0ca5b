#include "discovery/address.h"

#include <charconv>

namespace reckon::discovery {

Result<HostPort> parse_host_port(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::invalid_argument("address '" + std::string(text) + "': expected [ipv6]:port");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::invalid_argument("address '" + std::string(text) + "': expected host:port");
    }
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return Status::invalid_argument("address '" + std::string(text) +
                                      "': IPv6 addresses need brackets, [addr]:port");
    }
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) {
    return Status::invalid_argument("address '" + std::string(text) + "': empty host");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return Status::invalid_argument("address '" + std::string(text) +
                                    "': port must be a number in 1..65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

std::string format_host_port(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out = "[" + std::string(host) + "]";
  } else {
    out = std::string(host);
  }
  return out + ":" + std::to_string(port);
}

}  // namespace reckon::discovery
