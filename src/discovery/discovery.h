// Discovery: one peer list from the three sources — static seeds, a DNS name, and signed UDP
// announcements. Merge rules (docs/CLUSTER.md):
//   - seeds give node ids and addresses as configured;
//   - an announcement is the node speaking for itself (authenticated): it adds the node, and
//     its addresses replace a seed's for the same id;
//   - a DNS address that matches the Raft address of a known peer adds nothing; otherwise it
//     becomes a peer with node_id 0 (unknown until that node announces itself).
// DNS is resolved at start() and on refresh_dns(); the server decides how often (DNS results
// change rarely and lookups block).
// Thread-safety: every method may be called from any thread; callbacks run on the announcer
// thread (announcement changes) or the caller of refresh_dns().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "discovery/announcer.h"
#include "discovery/dns_resolver.h"
#include "discovery/peer.h"
#include "reckon/status.h"

namespace reckon::discovery {

struct DnsDiscoveryOptions {
  std::string name;          // empty = no DNS discovery
  uint16_t raft_port = 0;    // the members' Raft port (records carry addresses only)
  uint16_t client_port = 0;  // 0 = client address unknown from DNS
  HostResolver resolver;     // system_host_resolver() if empty
};

struct DiscoveryOptions {
  std::vector<Peer> seeds;  // e.g. parse_seed_list(config)
  DnsDiscoveryOptions dns;
  std::optional<AnnouncerOptions> announce;  // nullopt = no UDP announcements
};

class Discovery {
 public:
  using OnChange = std::function<void(const std::vector<Peer>&)>;

  // Starts the announcer (if configured) and resolves DNS once. A DNS failure is not fatal
  // (the name may not exist yet); it is reported by last_dns_status().
  static Result<std::unique_ptr<Discovery>> start(DiscoveryOptions options);
  ~Discovery();

  void stop();  // idempotent

  // The merged peers, ordered by node id (unknown ids last, by address). Includes this node
  // if a source lists it; callers filter by their own id.
  std::vector<Peer> peers() const;

  Status refresh_dns();
  Status last_dns_status() const;

  void set_raft_state(AnnouncedRole role, uint64_t term);  // no-op without announcer
  void set_on_change(OnChange callback);                   // called when peers() changes

  Announcer* announcer() { return announcer_.get(); }  // null without announcements

 private:
  explicit Discovery(DiscoveryOptions options);
  void maybe_notify();

  DiscoveryOptions options_;
  std::unique_ptr<Announcer> announcer_;

  mutable std::mutex mu_;
  std::vector<std::string> dns_addresses_;
  Status dns_status_;
  std::mutex notify_mu_;  // serialises change detection and callbacks
  std::vector<Peer> last_notified_;
  OnChange on_change_;
};

// The merge itself, exposed for tests: seeds, announced peers and DNS Raft addresses.
std::vector<Peer> merge_peers(const std::vector<Peer>& seeds, const std::vector<Peer>& announced,
                              const std::vector<std::string>& dns_raft_addresses,
                              uint16_t dns_client_port);

}  // namespace reckon::discovery
