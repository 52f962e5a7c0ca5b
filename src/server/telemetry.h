// Telemetry: reckond's metrics, in one place. Services report calls, appends and reads here;
// GET /metrics renders the registry plus store gauges (positions, RocksDB sizes, raft role,
// term and commit lag) sampled at scrape time.
// Thread-safety: every method may be called from any thread; hot-path methods are lock-free.
#pragma once

#include <memory>
#include <string>

#include "reckon/status.h"
#include "server/served_store.h"

namespace reckon::server {

class Telemetry {
 public:
  explicit Telemetry(StoreRegistry& stores);
  ~Telemetry();

  // One finished RPC: counts requests and errors by code, latency histogram by method.
  void observe_call(const char* method, ErrorCode code, double seconds);
  void appended(uint64_t events, uint64_t bytes);
  void events_read(uint64_t events);

  std::string render();
  // Stops sampling the stores (call before they close; scrapes then omit store gauges).
  void detach_stores();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reckon::server
