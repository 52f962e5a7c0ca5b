#include "discovery/announcer.h"

#include "discovery/hmac.h"

namespace reckon::discovery {
namespace {

Result<std::vector<UdpEndpoint>> parse_targets(const std::vector<std::string>& addresses) {
  std::vector<UdpEndpoint> out;
  for (const std::string& a : addresses) {
    RECKON_ASSIGN_OR_RETURN(UdpEndpoint ep, parse_udp_endpoint(a));
    if (ep.addr.sin_port == 0) return Status::invalid_argument("UDP target '" + a + "': port 0");
    out.push_back(std::move(ep));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Announcer>> Announcer::start(AnnouncerOptions options) {
  if (options.cluster_name.empty()) return Status::invalid_argument("announcer: no cluster name");
  if (options.secret.size() < kMinSecretBytes) {
    return Status::invalid_argument("announcer: the shared secret needs at least " +
                                    std::to_string(kMinSecretBytes) + " bytes");
  }
  if (options.self.node_id == 0 || options.self.raft_address.empty()) {
    return Status::invalid_argument("announcer: self needs a node id and a Raft address");
  }
  if (options.announce_interval.count() <= 0) {
    return Status::invalid_argument("announcer: announce interval must be positive");
  }
  if (!options.clock) options.clock = system_clock();
  // Reject a self that cannot be encoded now rather than failing silently every interval.
  RECKON_RETURN_IF_ERROR(
      encode_announcement(Announcement{.cluster = options.cluster_name,
                                       .node_id = options.self.node_id,
                                       .raft_address = options.self.raft_address,
                                       .client_address = options.self.client_address},
                          options.secret)
          .status());
  std::vector<std::string> send_to =
      options.send_to.empty() ? std::vector<std::string>{options.listen_address} : options.send_to;
  RECKON_ASSIGN_OR_RETURN(std::vector<UdpEndpoint> targets, parse_targets(send_to));
  RECKON_ASSIGN_OR_RETURN(std::unique_ptr<UdpSocket> socket,
                          UdpSocket::open({.listen_address = options.listen_address,
                                           .multicast_interface = options.multicast_interface,
                                           .multicast_loop = options.multicast_loop,
                                           .multicast_ttl = options.multicast_ttl}));
  std::unique_ptr<Announcer> a(new Announcer(std::move(options), std::move(socket)));
  a->targets_ = std::move(targets);
  a->thread_ = std::thread([p = a.get()] { p->run(); });
  return a;
}

Announcer::Announcer(AnnouncerOptions options, std::unique_ptr<UdpSocket> socket)
    : options_(std::move(options)),
      socket_(std::move(socket)),
      filter_(options_.cluster_name, options_.freshness) {}

Announcer::~Announcer() { stop(); }

void Announcer::stop() {
  std::call_once(stop_once_, [this] {
    stopping_ = true;
    socket_->wake();
    if (thread_.joinable()) thread_.join();
  });
}

void Announcer::set_raft_state(AnnouncedRole role, uint64_t term) {
  std::lock_guard lock(mu_);
  role_ = role;
  term_ = term;
}

Status Announcer::set_send_to(const std::vector<std::string>& addresses) {
  RECKON_ASSIGN_OR_RETURN(std::vector<UdpEndpoint> targets, parse_targets(addresses));
  std::lock_guard lock(mu_);
  targets_ = std::move(targets);
  return Status::ok();
}

AnnouncerStats Announcer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Announcer::run() {
  using Clock = std::chrono::steady_clock;
  auto next_announce = Clock::now();
  std::string buffer;
  while (!stopping_) {
    auto now = Clock::now();
    if (now >= next_announce) {
      announce();
      peers_.expire(options_.clock->now_us() / 1000, options_.peer_ttl_ms);
      next_announce = now + options_.announce_interval;
    }
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_announce - Clock::now());
    if (!socket_->wait_readable(wait)) continue;
    // Drain what is queued, but keep announcing on time under a flood.
    for (int i = 0; i < 256 && !stopping_; ++i) {
      bool truncated = false;
      if (!socket_->receive(buffer, kMaxAnnouncementBytes, truncated)) break;
      handle(buffer, truncated);
    }
  }
}

void Announcer::announce() {
  Announcement a{.cluster = options_.cluster_name,
                 .node_id = options_.self.node_id,
                 .raft_address = options_.self.raft_address,
                 .client_address = options_.self.client_address,
                 .timestamp_ms = options_.clock->now_us() / 1000};
  random_bytes(a.nonce.data(), a.nonce.size());
  std::vector<UdpEndpoint> targets;
  {
    std::lock_guard lock(mu_);
    a.role = role_;
    a.term = term_;
    targets = targets_;
  }
  Result<std::string> datagram = encode_announcement(a, options_.secret);
  uint64_t sent = 0, errors = 0;
  for (const UdpEndpoint& to : targets) {
    if (datagram.is_ok() && socket_->send_to(to, *datagram).is_ok()) {
      ++sent;
    } else {
      ++errors;  // e.g. no multicast route yet; the next interval tries again
    }
  }
  std::lock_guard lock(mu_);
  stats_.sent += sent;
  stats_.send_errors += errors;
}

void Announcer::handle(std::string_view datagram, bool truncated) {
  int64_t now_ms = options_.clock->now_us() / 1000;
  std::optional<Rejection> rejection;
  std::optional<Announcement> accepted;
  bool own = false;
  bool id_conflict = false;
  if (truncated) {
    rejection = Rejection::kMalformed;
  } else {
    Rejection why{};
    Result<Announcement> decoded = decode_announcement(datagram, options_.secret, &why);
    if (!decoded.is_ok()) {
      rejection = why;
    } else if (decoded->node_id == options_.self.node_id) {
      // Checked before the nonce cache so our loopback copies cost nothing. Another node
      // announcing our id (a misconfiguration) is counted, never added to the table.
      own = decoded->raft_address == options_.self.raft_address;
      id_conflict = !own;
    } else if (rejection = filter_.check(*decoded, now_ms); !rejection) {
      accepted = std::move(decoded).value();
    }
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.received;
    if (own) ++stats_.own;
    if (id_conflict) ++stats_.id_conflict;
    if (accepted) ++stats_.accepted;
    if (rejection) {
      switch (*rejection) {
        case Rejection::kMalformed:
          ++stats_.malformed;
          break;
        case Rejection::kBadSignature:
          ++stats_.bad_signature;
          break;
        case Rejection::kOtherCluster:
          ++stats_.other_cluster;
          break;
        case Rejection::kStale:
          ++stats_.stale;
          break;
        case Rejection::kFuture:
          ++stats_.future;
          break;
        case Rejection::kReplay:
          ++stats_.replay;
          break;
      }
    }
  }
  if (accepted) peers_.observe(*accepted, now_ms);
}

}  // namespace reckon::discovery
