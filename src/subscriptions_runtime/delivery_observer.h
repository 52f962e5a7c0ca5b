// DeliveryObserver: what the subscription runtime reports to telemetry. The server's
// Telemetry implements it (Prometheus counters and gauges labelled by store and subscription).
// Thread-safety: called from emitter threads and the leader worker at once.
#pragma once

#include <cstdint>
#include <string>

namespace reckon::subscriptions_runtime {

class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  virtual void subscription_created(const std::string& store) = 0;
  virtual void subscription_deleted(const std::string& store) = 0;
  virtual void delivered(const std::string& store, const std::string& subscription, uint64_t n) = 0;
  virtual void acked(const std::string& store, const std::string& subscription, uint64_t n) = 0;
  virtual void parked(const std::string& store, const std::string& subscription, uint64_t n) = 0;
  // How far a subscription is behind (docs/SUBSCRIPTIONS.md, "Telemetry"): `events` = last
  // position - checkpoint; `seconds` = now - created_us of the first event after the checkpoint
  // (the oldest one the subscription has not finished with), 0 when nothing is after it.
  virtual void lag(const std::string& store, const std::string& subscription, uint64_t events,
                   double seconds) = 0;
  virtual void leader_elected(const std::string& store) = 0;
  virtual void leader_lost(const std::string& store) = 0;
};

}  // namespace reckon::subscriptions_runtime
