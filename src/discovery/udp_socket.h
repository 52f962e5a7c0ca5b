// UdpSocket: an IPv4 UDP socket for announcements — bound for receiving, optionally joined to
// a multicast group, non-blocking, with a wake-up eventfd so the owning thread can be stopped
// while it waits. Owned by one thread at a time (wake() may be called from any thread).
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "reckon/status.h"

namespace reckon::discovery {

struct UdpEndpoint {
  sockaddr_in addr{};
  std::string text;  // as configured, for messages

  bool is_multicast() const;
};

// Resolves a numeric "a.b.c.d:port" (IPv4 only: announcements are a LAN mechanism).
Result<UdpEndpoint> parse_udp_endpoint(std::string_view text);

struct UdpSocketOptions {
  // Address to receive on. A multicast group (224.0.0.0/4) binds the port on all interfaces
  // and joins the group; a unicast address binds exactly that address (port 0 = any free).
  std::string listen_address;
  std::string multicast_interface = "0.0.0.0";  // IPv4 of the interface used to join and send
  bool multicast_loop = true;  // deliver our group sends to listeners on this host too
  int multicast_ttl = 1;       // stay on the local network segment
};

class UdpSocket {
 public:
  static Result<std::unique_ptr<UdpSocket>> open(const UdpSocketOptions& options);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  uint16_t local_port() const { return local_port_; }

  Status send_to(const UdpEndpoint& to, std::string_view datagram);

  // Waits until a datagram is readable, wake() was called, or the timeout passed.
  // Returns true if readable.
  bool wait_readable(std::chrono::milliseconds timeout);
  // Non-blocking receive into `out`. false when nothing is queued. Datagrams longer than
  // `max_bytes` are received truncated and flagged with `truncated`.
  bool receive(std::string& out, size_t max_bytes, bool& truncated);

  void wake();  // any thread

 private:
  UdpSocket(int fd, int wake_fd, uint16_t port) : fd_(fd), wake_fd_(wake_fd), local_port_(port) {}

  int fd_;
  int wake_fd_;
  uint16_t local_port_;
};

}  // namespace reckon::discovery
