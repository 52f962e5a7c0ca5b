#include "discovery/discovery.h"

#include <algorithm>
#include <map>
#include <set>

#include "discovery/address.h"

namespace reckon::discovery {

std::vector<Peer> merge_peers(const std::vector<Peer>& seeds, const std::vector<Peer>& announced,
                              const std::vector<std::string>& dns_raft_addresses,
                              uint16_t dns_client_port) {
  std::map<uint64_t, Peer> by_id;
  for (const Peer& p : seeds) by_id[p.node_id] = p;
  for (const Peer& p : announced) {
    Peer& merged = by_id[p.node_id];
    std::string configured_client = merged.client_address;
    merged = p;
    if (merged.client_address.empty()) merged.client_address = configured_client;
  }
  std::set<std::string> known;
  std::vector<Peer> out;
  for (auto& [id, p] : by_id) {
    known.insert(p.raft_address);
    out.push_back(p);
  }
  for (const std::string& address : dns_raft_addresses) {
    if (!known.insert(address).second) continue;
    Peer p;
    p.raft_address = address;  // node id unknown (0) until the node announces itself
    if (dns_client_port != 0) {
      if (Result<HostPort> hp = parse_host_port(address); hp.is_ok()) {
        p.client_address = format_host_port(hp->host, dns_client_port);
      }
    }
    out.push_back(std::move(p));
  }
  // by_id already orders known ids; DNS peers (id 0) come last in resolver (sorted) order.
  return out;
}

Result<std::unique_ptr<Discovery>> Discovery::start(DiscoveryOptions options) {
  if (!options.dns.name.empty() && options.dns.raft_port == 0) {
    return Status::invalid_argument("DNS discovery: raft_port is required");
  }
  for (const Peer& p : options.seeds) {
    if (p.node_id == 0) return Status::invalid_argument("seed with node id 0");
  }
  if (!options.dns.resolver) options.dns.resolver = system_host_resolver();
  std::unique_ptr<Discovery> d(new Discovery(std::move(options)));
  if (d->options_.announce) {
    RECKON_ASSIGN_OR_RETURN(d->announcer_, Announcer::start(*d->options_.announce));
    d->announcer_->peers().set_on_change(
        [p = d.get()](const std::vector<PeerEntry>&) { p->maybe_notify(); });
  }
  if (!d->options_.dns.name.empty()) (void)d->refresh_dns();
  return d;
}

Discovery::Discovery(DiscoveryOptions options) : options_(std::move(options)) {}

Discovery::~Discovery() { stop(); }

void Discovery::stop() {
  if (announcer_) announcer_->stop();
}

std::vector<Peer> Discovery::peers() const {
  std::vector<Peer> announced;
  if (announcer_) {
    for (const PeerEntry& e : announcer_->peers().entries()) announced.push_back(e.peer);
  }
  std::vector<std::string> dns;
  {
    std::lock_guard lock(mu_);
    dns = dns_addresses_;
  }
  return merge_peers(options_.seeds, announced, dns, options_.dns.client_port);
}

Status Discovery::refresh_dns() {
  if (options_.dns.name.empty()) return Status::ok();
  Result<std::vector<std::string>> resolved =
      resolve_peer_addresses(options_.dns.name, options_.dns.raft_port, options_.dns.resolver);
  {
    std::lock_guard lock(mu_);
    dns_status_ = resolved.status();
    // Keep the last good answer through a transient resolver failure.
    if (resolved.is_ok()) dns_addresses_ = *resolved;
  }
  maybe_notify();
  return resolved.status();
}

Status Discovery::last_dns_status() const {
  std::lock_guard lock(mu_);
  return dns_status_;
}

void Discovery::set_raft_state(AnnouncedRole role, uint64_t term) {
  if (announcer_) announcer_->set_raft_state(role, term);
}

void Discovery::set_on_change(OnChange callback) {
  std::lock_guard lock(notify_mu_);
  on_change_ = std::move(callback);
  last_notified_ = peers();
}

void Discovery::maybe_notify() {
  std::lock_guard lock(notify_mu_);
  std::vector<Peer> now = peers();
  if (now == last_notified_) return;
  last_notified_ = now;
  if (on_change_) on_change_(now);
}

}  // namespace reckon::discovery
