// Telemetry: reckond's metrics, in one place. Services report calls, appends and reads here;
// GET /metrics renders the registry plus store gauges (positions, RocksDB sizes, raft role,
// term and commit lag) sampled at scrape time. Every metric of a store carries its `store`
// label; a call that addressed no known store (ListStores, an unknown store name) is counted
// without one.
// Thread-safety: every method may be called from any thread. Reports for a configured store are
// lock-free; those without a store take the registry's mutex.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "reckon/status.h"
#include "server/served_store.h"
#include "subscriptions_runtime/delivery_observer.h"

namespace reckon::server {

class Telemetry final : public subscriptions_runtime::DeliveryObserver {
 public:
  explicit Telemetry(StoreRegistry& stores);
  ~Telemetry() override;

  // One finished RPC: counts requests and errors by code, latency histogram, by store and
  // method. `store` is the store's id, empty when the call addressed no known store.
  void observe_call(const char* method, std::string_view store, ErrorCode code, double seconds);
  // An acknowledged append to `store`; reads of `store` that sent `events` events.
  void appended(std::string_view store, uint64_t events, uint64_t bytes);
  void events_read(std::string_view store, uint64_t events);

  // Persistent subscriptions (subscriptions_runtime::DeliveryObserver).
  void subscription_created(const std::string& store) override;
  void subscription_deleted(const std::string& store) override;
  void delivered(const std::string& store, const std::string& subscription, uint64_t n) override;
  void acked(const std::string& store, const std::string& subscription, uint64_t n) override;
  void parked(const std::string& store, const std::string& subscription, uint64_t n) override;
  void lag(const std::string& store, const std::string& subscription, uint64_t events,
           double seconds) override;
  void leader_elected(const std::string& store) override;
  void leader_lost(const std::string& store) override;

  std::string render();
  // Stops sampling the stores (call before they close; scrapes then omit store gauges).
  void detach_stores();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reckon::server
