#include "discovery/peer_table.h"

namespace reckon::discovery {

void PeerTable::set_on_change(OnChange callback) {
  std::lock_guard lock(callback_mu_);
  on_change_ = std::move(callback);
}

bool PeerTable::observe(const Announcement& a, int64_t now_ms) {
  std::vector<PeerEntry> snapshot;
  {
    std::lock_guard lock(mu_);
    PeerEntry& e = peers_[a.node_id];
    Peer peer{a.node_id, a.raft_address, a.client_address};
    bool changed = e.peer != peer;
    e.peer = std::move(peer);
    e.last_seen_ms = now_ms;
    e.term = a.term;
    e.role = a.role;
    if (!changed) return false;
    for (const auto& [id, entry] : peers_) snapshot.push_back(entry);
  }
  notify(std::move(snapshot));
  return true;
}

size_t PeerTable::expire(int64_t now_ms, int64_t ttl_ms) {
  std::vector<PeerEntry> snapshot;
  size_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    for (auto it = peers_.begin(); it != peers_.end();) {
      if (it->second.last_seen_ms < now_ms - ttl_ms) {
        it = peers_.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
    if (dropped == 0) return 0;
    for (const auto& [id, entry] : peers_) snapshot.push_back(entry);
  }
  notify(std::move(snapshot));
  return dropped;
}

std::vector<PeerEntry> PeerTable::entries() const {
  std::lock_guard lock(mu_);
  std::vector<PeerEntry> out;
  out.reserve(peers_.size());
  for (const auto& [id, entry] : peers_) out.push_back(entry);
  return out;
}

void PeerTable::notify(std::vector<PeerEntry> snapshot) {
  std::lock_guard lock(callback_mu_);
  if (on_change_) on_change_(snapshot);
}

}  // namespace reckon::discovery
