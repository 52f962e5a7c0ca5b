// Announcer: announces this node over UDP at a fixed interval and listens for the signed
// announcements of the others, keeping a PeerTable of those that verify and are fresh.
// One thread does both: it sends when the interval is due and otherwise waits on the socket.
//
// Transport: by default a multicast group (every node sends to and listens on it). Where
// multicast is unavailable (containers, tests) `listen_address` can be a unicast address and
// `send_to` a list of unicast addresses; the signing, checks and peer table are the same.
//
// Thread-safety: every public method may be called from any thread. The peer-change callback
// runs on the announcer thread; it must not call stop().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "discovery/announcement.h"
#include "discovery/freshness_filter.h"
#include "discovery/peer.h"
#include "discovery/peer_table.h"
#include "discovery/udp_socket.h"
#include "reckon/clock.h"
#include "reckon/status.h"

namespace reckon::discovery {

// A shorter secret could be guessed offline from one captured datagram.
inline constexpr size_t kMinSecretBytes = 16;

struct AnnouncerOptions {
  std::string cluster_name;  // announcements of other clusters are ignored
  std::string secret;        // HMAC key shared by the cluster; >= 16 bytes, never sent
  Peer self;                 // node_id and raft_address required

  std::string listen_address = "239.192.74.1:7946";  // group or unicast a.b.c.d:port
  std::vector<std::string> send_to;                  // empty = {listen_address}
  std::string multicast_interface = "0.0.0.0";
  bool multicast_loop = true;
  int multicast_ttl = 1;

  std::chrono::milliseconds announce_interval{1000};
  FreshnessOptions freshness;    // staleness window, skew, nonce cache
  int64_t peer_ttl_ms = 10'000;  // forget a peer not heard from for this long
  std::shared_ptr<Clock> clock;  // wall clock for timestamps; system clock if null
};

// Counters for what the listener did with each datagram. Monotonic.
struct AnnouncerStats {
  uint64_t sent = 0;
  uint64_t send_errors = 0;
  uint64_t received = 0;
  uint64_t accepted = 0;
  uint64_t own = 0;          // our own announcements coming back (loopback)
  uint64_t id_conflict = 0;  // signed announcements of our node id from another address
  uint64_t malformed = 0;
  uint64_t bad_signature = 0;
  uint64_t other_cluster = 0;
  uint64_t stale = 0;
  uint64_t future = 0;
  uint64_t replay = 0;
};

class Announcer {
 public:
  // Validates options, opens the socket and starts the thread (which announces at once).
  static Result<std::unique_ptr<Announcer>> start(AnnouncerOptions options);
  ~Announcer();  // stops

  void stop();  // idempotent; joins the thread

  // What the next announcements say about this node's Raft state.
  void set_raft_state(AnnouncedRole role, uint64_t term);
  // Replaces the destinations (unicast transport: the other nodes' listen addresses).
  Status set_send_to(const std::vector<std::string>& addresses);

  PeerTable& peers() { return peers_; }
  AnnouncerStats stats() const;
  uint16_t local_port() const { return socket_->local_port(); }

 private:
  Announcer(AnnouncerOptions options, std::unique_ptr<UdpSocket> socket);
  void run();
  void announce();
  void handle(std::string_view datagram, bool truncated);

  const AnnouncerOptions options_;
  std::unique_ptr<UdpSocket> socket_;
  FreshnessFilter filter_;  // announcer thread only
  PeerTable peers_;

  mutable std::mutex mu_;  // guards targets_, role_, term_, stats_
  std::vector<UdpEndpoint> targets_;
  AnnouncedRole role_ = AnnouncedRole::kUnknown;
  uint64_t term_ = 0;
  AnnouncerStats stats_;

  std::atomic<bool> stopping_{false};
  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace reckon::discovery
