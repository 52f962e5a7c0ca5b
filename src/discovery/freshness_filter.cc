#include "discovery/freshness_filter.h"

namespace reckon::discovery {

std::optional<Rejection> FreshnessFilter::check(const Announcement& a, int64_t now_ms) {
  if (a.cluster != cluster_) return Rejection::kOtherCluster;
  if (a.timestamp_ms < now_ms - options_.max_age_ms) return Rejection::kStale;
  if (a.timestamp_ms > now_ms + options_.max_future_ms) return Rejection::kFuture;
  forget_expired(now_ms);
  if (!nonces_.insert(a.nonce).second) return Rejection::kReplay;
  auto [latest, inserted] = latest_ts_.try_emplace(a.node_id, a.timestamp_ms);
  if (!inserted) {
    if (a.timestamp_ms < latest->second) {
      nonces_.erase(a.nonce);  // not remembered: only accepted nonces are
      return Rejection::kStale;
    }
    latest->second = a.timestamp_ms;
  }
  by_expiry_.emplace_back(a.timestamp_ms + options_.max_age_ms, a.nonce);
  while (nonces_.size() > options_.max_nonces) {
    nonces_.erase(by_expiry_.front().second);
    by_expiry_.pop_front();
  }
  return std::nullopt;
}

void FreshnessFilter::forget_expired(int64_t now_ms) {
  // A node's latest timestamp matters only while it is inside the window; past it, the age
  // check alone refuses anything older.
  std::erase_if(latest_ts_, [&](const auto& e) { return e.second < now_ms - options_.max_age_ms; });
  // Arrival order is close to timestamp order; an entry that expires later than one behind it
  // only stays a little longer than needed, which is harmless.
  while (!by_expiry_.empty() && by_expiry_.front().first < now_ms) {
    nonces_.erase(by_expiry_.front().second);
    by_expiry_.pop_front();
  }
}

}  // namespace reckon::discovery
