#include "server/telemetry.h"

#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "server/metrics/metrics.h"

namespace reckon::server {
namespace {

// Every RPC method, registered up front so the hot path only reads an immutable map.
constexpr const char* kMethods[] = {
    "Append",         "Read",           "ReadAll",          "ReadByEventTypes", "ReadByTags",
    "GetVersion",     "Exists",         "GetStreamInfo",    "ListStreams",      "DeleteStream",
    "TombstoneStream", "TruncateBefore", "SetStreamMetadata", "GetStreamMetadata", "SaveSnapshot",
    "LoadSnapshot",   "ListSnapshots",  "DeleteSnapshot",   "SnapshotExists",   "ClusterStatus",
    "ListStores",     "Subscribe",      "AppendSession",    "CreatePersistentSubscription",
    "DeletePersistentSubscription", "GetPersistentSubscription", "ListPersistentSubscriptions",
    "PersistentSubscriptionExists", "ListParked", "ReplayParked", "Consume"};

struct CStrLess {
  bool operator()(const char* a, const char* b) const { return std::strcmp(a, b) < 0; }
};

}  // namespace

struct Telemetry::Impl {
  struct MethodMetrics {
    metrics::Counter* requests;
    metrics::Histogram* latency;
    std::map<ErrorCode, metrics::Counter*> errors;
  };
  metrics::Registry registry;
  std::map<const char*, MethodMetrics, CStrLess> methods;
  metrics::Counter* appends = nullptr;
  metrics::Counter* appended_events = nullptr;
  metrics::Counter* appended_bytes = nullptr;
  metrics::Counter* read_events = nullptr;
  std::vector<metrics::Gauge*> store_gauges;  // sample a Store at scrape time
};

Telemetry::Telemetry(StoreRegistry& stores) : impl_(std::make_unique<Impl>()) {
  auto& r = impl_->registry;
  for (const char* m : kMethods) {
    Impl::MethodMetrics mm;
    mm.requests = &r.counter("reckon_requests_total", "gRPC requests finished, by method", {{"method", m}});
    mm.latency = &r.histogram("reckon_request_duration_seconds",
                              "gRPC request latency (for Append: until fsynced), by method",
                              metrics::latency_buckets_seconds(), {{"method", m}});
    for (int c = 1; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
      auto code = static_cast<ErrorCode>(c);
      mm.errors[code] = &r.counter("reckon_errors_total", "Requests that failed, by method and error code",
                                   {{"method", m}, {"code", std::string(error_code_name(code))}});
    }
    impl_->methods.emplace(m, std::move(mm));
  }
  impl_->appends = &r.counter("reckon_appends_total", "Acknowledged (durable) appends");
  impl_->appended_events = &r.counter("reckon_appended_events_total", "Events in acknowledged appends");
  impl_->appended_bytes = &r.counter("reckon_appended_bytes_total", "Data + metadata bytes appended");
  impl_->read_events = &r.counter("reckon_read_events_total", "Events sent to readers");

  // Store gauges, sampled when /metrics is scraped.
  for (const auto& s : stores.all()) {
    Store* store = s->store.get();
    const metrics::Labels labels{{"store", s->config.store_id}};
    auto gauge = [&](const char* name, const char* help, std::function<double(const StoreStats&)> f) {
      metrics::Gauge& g = r.gauge(name, help, labels);
      g.set_callback([store, f] { return f(store->stats()); });
      impl_->store_gauges.push_back(&g);
    };
    gauge("reckon_last_position", "Global position of the last event",
          [](const StoreStats& st) { return double(st.last_position); });
    gauge("reckon_applied_index", "Last command applied by the state machine",
          [](const StoreStats& st) { return double(st.applied_index); });
    gauge("reckon_group_commits", "Synced group commits since start",
          [](const StoreStats& st) { return double(st.commits); });
    gauge("reckon_rocksdb_sst_bytes", "RocksDB SST files size",
          [](const StoreStats& st) { return double(st.sst_bytes); });
    gauge("reckon_rocksdb_live_data_bytes", "RocksDB live data estimate",
          [](const StoreStats& st) { return double(st.live_data_bytes); });
    gauge("reckon_rocksdb_memtable_bytes", "RocksDB memtables size",
          [](const StoreStats& st) { return double(st.memtable_bytes); });
    gauge("reckon_rocksdb_block_cache_bytes", "RocksDB block cache usage",
          [](const StoreStats& st) { return double(st.block_cache_bytes); });
    // Raft: the leadership the store last published (cheap), and the commit lag from the
    // Raft loop (one loop turn per scrape).
    ServedStore* served = s.get();
    auto raft_gauge = [&](const char* name, const char* help, std::function<double()> f) {
      metrics::Gauge& g = r.gauge(name, help, labels);
      g.set_callback(std::move(f));
      impl_->store_gauges.push_back(&g);
    };
    raft_gauge("reckon_raft_is_leader", "1 when this node is the Raft leader",
               [served] { return served->store->replication() == nullptr || served->is_leader() ? 1.0 : 0.0; });
    raft_gauge("reckon_raft_term", "Current Raft term", [served] { return double(served->leadership().term); });
    raft_gauge("reckon_raft_commit_lag", "Committed but not yet applied entries", [served] {
      Replication* r = served->store->replication();
      if (r == nullptr) return 0.0;
      ReplicaStatus st = r->status();
      return st.commit_index > st.applied_index ? double(st.commit_index - st.applied_index) : 0.0;
    });
    // Group commit: commands per Raft request is their ratio (rate them).
    auto replica_count = [served](uint64_t ReplicaStatus::*field) {
      return [served, field] {
        Replication* r = served->store->replication();
        return r == nullptr ? 0.0 : double(r->status().*field);
      };
    };
    raft_gauge("reckon_raft_commands_proposed", "Commands this node proposed as leader (monotonic)",
               replica_count(&ReplicaStatus::commands_proposed));
    raft_gauge(
        "reckon_raft_apply_requests",
        "Raft requests (one log write, one message per follower) that carried them (monotonic)",
        replica_count(&ReplicaStatus::apply_requests));
  }
}

Telemetry::~Telemetry() = default;

void Telemetry::observe_call(const char* method, ErrorCode code, double seconds) {
  auto it = impl_->methods.find(method);
  if (it == impl_->methods.end()) return;
  it->second.requests->inc();
  it->second.latency->observe(seconds);
  if (code == ErrorCode::kOk) return;
  if (auto e = it->second.errors.find(code); e != it->second.errors.end()) e->second->inc();
}

void Telemetry::appended(uint64_t events, uint64_t bytes) {
  impl_->appends->inc();
  impl_->appended_events->inc(events);
  impl_->appended_bytes->inc(bytes);
}

void Telemetry::events_read(uint64_t events) { impl_->read_events->inc(events); }

// Subscription metrics are looked up per report (registry mutex): delivery reports are per
// event but cheap next to the event's gRPC write.
void Telemetry::subscription_created(const std::string& store) {
  impl_->registry.counter("reckon_subscriptions_created_total", "Persistent subscriptions created",
                          {{"store", store}}).inc();
}
void Telemetry::subscription_deleted(const std::string& store) {
  impl_->registry.counter("reckon_subscriptions_deleted_total", "Persistent subscriptions deleted",
                          {{"store", store}}).inc();
}
void Telemetry::delivered(const std::string& store, const std::string& subscription, uint64_t n) {
  impl_->registry.counter("reckon_subscription_delivered_total", "Events delivered to consumers (retries included)",
                          {{"store", store}, {"subscription", subscription}}).inc(n);
}
void Telemetry::acked(const std::string& store, const std::string& subscription, uint64_t n) {
  impl_->registry.counter("reckon_subscription_acked_total", "Events acknowledged by consumers",
                          {{"store", store}, {"subscription", subscription}}).inc(n);
}
void Telemetry::parked(const std::string& store, const std::string& subscription, uint64_t n) {
  impl_->registry.counter("reckon_subscription_parked_total", "Events parked (retry limit or nack park)",
                          {{"store", store}, {"subscription", subscription}}).inc(n);
}
void Telemetry::lag(const std::string& store, const std::string& subscription, uint64_t events,
                    double seconds) {
  impl_->registry.gauge("reckon_subscription_lag_events", "Events behind: last position - checkpoint",
                        {{"store", store}, {"subscription", subscription}}).set(double(events));
  impl_->registry
      .gauge("reckon_subscription_lag_seconds",
             "Seconds behind: age of the oldest event after the checkpoint (0 when caught up)",
             {{"store", store}, {"subscription", subscription}})
      .set(seconds);
}
void Telemetry::leader_elected(const std::string& store) {
  impl_->registry.counter("reckon_leader_elected_total", "Times this node became the active leader (pools started)",
                          {{"store", store}}).inc();
}
void Telemetry::leader_lost(const std::string& store) {
  impl_->registry.counter("reckon_leader_lost_total", "Times this node stopped leading (pools stopped)",
                          {{"store", store}}).inc();
}

std::string Telemetry::render() { return impl_->registry.render(); }

void Telemetry::detach_stores() {
  for (auto* g : impl_->store_gauges) g->clear_callback();
}

}  // namespace reckon::server
