#include "discovery/udp_socket.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "discovery/address.h"

namespace reckon::discovery {
namespace {

Status errno_status(const std::string& what) {
  return Status::unavailable(what + ": " + std::strerror(errno));
}

}  // namespace

bool UdpEndpoint::is_multicast() const { return IN_MULTICAST(ntohl(addr.sin_addr.s_addr)); }

Result<UdpEndpoint> parse_udp_endpoint(std::string_view text) {
  UdpEndpoint ep;
  ep.text = std::string(text);
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::invalid_argument("UDP address '" + ep.text + "': expected a.b.c.d:port");
  }
  std::string host(text.substr(0, colon));
  unsigned long port = 0;
  std::string port_text(text.substr(colon + 1));
  char* end = nullptr;
  port = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port > 65535) {
    return Status::invalid_argument("UDP address '" + ep.text + "': bad port");
  }
  ep.addr.sin_family = AF_INET;
  ep.addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &ep.addr.sin_addr) != 1) {
    return Status::invalid_argument("UDP address '" + ep.text + "': not a numeric IPv4 address");
  }
  return ep;
}

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(const UdpSocketOptions& options) {
  RECKON_ASSIGN_OR_RETURN(UdpEndpoint listen, parse_udp_endpoint(options.listen_address));
  in_addr iface{};
  if (inet_pton(AF_INET, options.multicast_interface.c_str(), &iface) != 1) {
    return Status::invalid_argument("multicast interface '" + options.multicast_interface +
                                    "': not a numeric IPv4 address");
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_status("socket");
  int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    Status st = errno_status("eventfd");
    ::close(fd);
    return st;
  }
  auto fail = [&](const std::string& what) -> Status {
    Status st = errno_status(what + " " + options.listen_address);
    ::close(fd);
    ::close(wake_fd);
    return st;
  };
  int one = 1;
  // Several nodes on one host (tests, dev clusters) share the group port.
  if (listen.is_multicast() &&
      (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
       ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)) {
    return fail("SO_REUSEADDR");
  }
  sockaddr_in bind_addr = listen.addr;
  if (listen.is_multicast()) bind_addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&bind_addr), sizeof bind_addr) != 0) {
    return fail("bind");
  }
  if (listen.is_multicast()) {
    ip_mreq mreq{};
    mreq.imr_multiaddr = listen.addr.sin_addr;
    mreq.imr_interface = iface;
    if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
      return fail("IP_ADD_MEMBERSHIP");
    }
  }
  // Sending options apply whenever a target is a group, even if we listen on unicast.
  unsigned char loop = options.multicast_loop ? 1 : 0;
  unsigned char ttl = static_cast<unsigned char>(options.multicast_ttl);
  if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
      ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
    return fail("IP_MULTICAST_LOOP/TTL");
  }
  if (iface.s_addr != htonl(INADDR_ANY) &&
      ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface) != 0) {
    return fail("IP_MULTICAST_IF");
  }
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return fail("getsockname");
  }
  return std::unique_ptr<UdpSocket>(new UdpSocket(fd, wake_fd, ntohs(bound.sin_port)));
}

UdpSocket::~UdpSocket() {
  ::close(fd_);
  ::close(wake_fd_);
}

Status UdpSocket::send_to(const UdpEndpoint& to, std::string_view datagram) {
  ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&to.addr), sizeof to.addr);
  if (n < 0) return errno_status("sendto " + to.text);
  return Status::ok();
}

bool UdpSocket::wait_readable(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int rc = ::poll(fds, 2, static_cast<int>(std::max<int64_t>(0, timeout.count())));
  if (rc <= 0) return false;
  if (fds[1].revents & POLLIN) {
    uint64_t drained;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &drained, sizeof drained);
  }
  return (fds[0].revents & POLLIN) != 0;
}

bool UdpSocket::receive(std::string& out, size_t max_bytes, bool& truncated) {
  out.resize(max_bytes + 1);  // one extra byte reveals oversized datagrams
  ssize_t n = ::recv(fd_, out.data(), out.size(), MSG_TRUNC);
  if (n < 0) {
    out.clear();
    return false;
  }
  truncated = static_cast<size_t>(n) > max_bytes;
  out.resize(std::min(static_cast<size_t>(n), max_bytes));
  return true;
}

void UdpSocket::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace reckon::discovery
