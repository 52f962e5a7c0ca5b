// PeerTable: the peers learned from announcements, node_id -> (Peer, last seen, term, role),
// with a callback when the set of peers or their addresses change (not on every refresh of
// last_seen, which happens once per announce interval per peer).
// Thread-safe. The callback runs on the thread that made the change, outside the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "discovery/announcement.h"
#include "discovery/peer.h"

namespace reckon::discovery {

struct PeerEntry {
  Peer peer;
  int64_t last_seen_ms = 0;  // our clock when its latest announcement arrived
  uint64_t term = 0;
  AnnouncedRole role = AnnouncedRole::kUnknown;

  bool operator==(const PeerEntry&) const = default;
};

class PeerTable {
 public:
  using OnChange = std::function<void(const std::vector<PeerEntry>&)>;

  void set_on_change(OnChange callback);

  // Records an accepted announcement. Returns true if a peer appeared or its addresses changed.
  bool observe(const Announcement& a, int64_t now_ms);
  // Drops peers not heard from since now - ttl. Returns how many were dropped.
  size_t expire(int64_t now_ms, int64_t ttl_ms);

  std::vector<PeerEntry> entries() const;  // ordered by node id

 private:
  void notify(std::vector<PeerEntry> snapshot);

  mutable std::mutex mu_;
  std::map<uint64_t, PeerEntry> peers_;
  std::mutex callback_mu_;  // serialises callbacks so they observe changes in order
  OnChange on_change_;
};

}  // namespace reckon::discovery
