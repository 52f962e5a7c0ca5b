// FreshnessFilter: decides whether an authenticated announcement is current — same cluster,
// timestamp inside [now - max_age, now + max_future], not older than the last one accepted from
// that node, nonce not seen before — so a recorded or delayed datagram cannot be replayed to
// resurrect a peer or point it back at an old address.
// Not thread-safe: owned by the listener thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "discovery/announcement.h"

namespace reckon::discovery {

struct FreshnessOptions {
  int64_t max_age_ms = 30'000;    // older announcements are stale
  int64_t max_future_ms = 5'000;  // allowed clock skew ahead of us
  size_t max_nonces = 65'536;     // bound on remembered nonces (oldest forgotten first)
};

class FreshnessFilter {
 public:
  FreshnessFilter(std::string cluster, FreshnessOptions options)
      : cluster_(std::move(cluster)), options_(options) {}

  // nullopt = accept (and remember its nonce); otherwise why it is rejected.
  std::optional<Rejection> check(const Announcement& a, int64_t now_ms);

  size_t remembered_nonces() const { return nonces_.size(); }

 private:
  using Nonce = std::array<uint8_t, 16>;
  void forget_expired(int64_t now_ms);

  std::string cluster_;
  FreshnessOptions options_;
  // A nonce only needs remembering while its announcement could still pass the age check.
  std::set<Nonce> nonces_;
  std::deque<std::pair<int64_t, Nonce>> by_expiry_;  // in arrival order; expiry = ts + max_age
  std::map<uint64_t, int64_t> latest_ts_;            // node id -> newest accepted timestamp
};

}  // namespace reckon::discovery
