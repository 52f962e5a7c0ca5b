#include "discovery/dns_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "discovery/address.h"

namespace reckon::discovery {

HostResolver system_host_resolver() {
  return [](const std::string& host) -> Result<std::vector<std::string>> {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;  // one entry per address instead of one per socket type
    addrinfo* list = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
      return Status::not_found("resolve '" + host + "': " + gai_strerror(rc));
    }
    std::vector<std::string> out;
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      char buf[INET6_ADDRSTRLEN] = {};
      const void* addr = nullptr;
      if (ai->ai_family == AF_INET) {
        addr = &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr;
      } else if (ai->ai_family == AF_INET6) {
        addr = &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr;
      } else {
        continue;
      }
      if (inet_ntop(ai->ai_family, addr, buf, sizeof buf) != nullptr) out.emplace_back(buf);
    }
    freeaddrinfo(list);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
}

Result<std::vector<std::string>> resolve_peer_addresses(const std::string& name, uint16_t port,
                                                        const HostResolver& resolver) {
  if (name.empty()) return Status::invalid_argument("DNS discovery: empty name");
  if (port == 0) return Status::invalid_argument("DNS discovery: port must be 1..65535");
  RECKON_ASSIGN_OR_RETURN(std::vector<std::string> hosts, resolver(name));
  if (hosts.empty()) return Status::not_found("resolve '" + name + "': no address");
  std::vector<std::string> out;
  out.reserve(hosts.size());
  for (const std::string& host : hosts) out.push_back(format_host_port(host, port));
  return out;
}

}  // namespace reckon::discovery
