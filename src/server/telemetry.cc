#include "server/telemetry.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "server/metrics/metrics.h"

namespace reckon::server {
namespace {

// Every RPC method.
constexpr const char* kMethods[] = {
    "Append",         "Read",           "ReadAll",          "ReadByEventTypes", "ReadByTags",
    "GetVersion",     "Exists",         "GetStreamInfo",    "ListStreams",      "DeleteStream",
    "TombstoneStream", "TruncateBefore", "SetStreamMetadata", "GetStreamMetadata", "SaveSnapshot",
    "LoadSnapshot",   "ListSnapshots",  "DeleteSnapshot",   "SnapshotExists",   "ClusterStatus",
    "ListStores",     "Subscribe",      "AppendSession",    "CreatePersistentSubscription",
    "DeletePersistentSubscription", "GetPersistentSubscription", "ListPersistentSubscriptions",
    "PersistentSubscriptionExists", "ListParked", "ReplayParked", "Consume"};

// Methods whose calls address no store: counted only without a store label.
constexpr const char* kStorelessMethods[] = {"ListStores"};

constexpr const char* kRequestsHelp = "gRPC requests finished, by store and method";
constexpr const char* kLatencyHelp =
    "gRPC request latency (for Append: until fsynced), by store and method";
constexpr const char* kErrorsHelp = "Requests that failed, by store, method and error code";

// reckon_raft_role's series: ReplicaStatus::role's values.
constexpr const char* kRaftRoles[] = {"leader", "follower", "candidate", "unavailable"};

struct CStrLess {
  bool operator()(const char* a, const char* b) const { return std::strcmp(a, b) < 0; }
};

bool listed(const char* method, const auto& methods) {
  for (const char* m : methods)
    if (std::strcmp(m, method) == 0) return true;
  return false;
}

metrics::Labels with(metrics::Labels labels, std::string name, std::string value) {
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

}  // namespace

struct Telemetry::Impl {
  struct MethodMetrics {
    metrics::Counter* requests;
    metrics::Histogram* latency;
    std::map<ErrorCode, metrics::Counter*> errors;
  };
  struct StoreMetrics {
    std::map<const char*, MethodMetrics, CStrLess> methods;
    metrics::Counter* appends = nullptr;
    metrics::Counter* appended_events = nullptr;
    metrics::Counter* appended_bytes = nullptr;
    metrics::Counter* read_events = nullptr;
  };
  metrics::Registry registry;
  // By store id; immutable after construction, so reports read it without a lock.
  std::map<std::string, StoreMetrics, std::less<>> stores;
  std::vector<metrics::Gauge*> store_gauges;  // sample a Store at scrape time

  StoreMetrics* find(std::string_view store) {
    auto it = stores.find(store);
    return it == stores.end() ? nullptr : &it->second;
  }

  // The request metrics of `method`, labelled `store_labels` (empty: no store) plus method.
  MethodMetrics method_metrics(const char* method, const metrics::Labels& store_labels) {
    const metrics::Labels labels = with(store_labels, "method", method);
    MethodMetrics mm;
    mm.requests = &registry.counter("reckon_requests_total", kRequestsHelp, labels);
    mm.latency = &registry.histogram("reckon_request_duration_seconds", kLatencyHelp,
                                     metrics::latency_buckets_seconds(), labels);
    return mm;
  }
  metrics::Counter& errors(const char* method, const metrics::Labels& store_labels,
                           ErrorCode code) {
    return registry.counter("reckon_errors_total", kErrorsHelp,
                            with(with(store_labels, "method", method), "code",
                                 std::string(error_code_name(code))));
  }
};

Telemetry::Telemetry(StoreRegistry& stores) : impl_(std::make_unique<Impl>()) {
  auto& r = impl_->registry;
  // Request and append/read counters of each store, registered up front so the hot path only
  // reads immutable maps.
  for (const auto& s : stores.all()) {
    const metrics::Labels labels{{"store", s->config.store_id}};
    Impl::StoreMetrics& sm = impl_->stores[s->config.store_id];
    for (const char* m : kMethods) {
      if (listed(m, kStorelessMethods)) continue;
      Impl::MethodMetrics mm = impl_->method_metrics(m, labels);
      for (int c = 1; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
        auto code = static_cast<ErrorCode>(c);
        mm.errors[code] = &impl_->errors(m, labels, code);
      }
      sm.methods.emplace(m, std::move(mm));
    }
    sm.appends = &r.counter("reckon_appends_total", "Acknowledged (durable) appends", labels);
    sm.appended_events =
        &r.counter("reckon_appended_events_total", "Events in acknowledged appends", labels);
    sm.appended_bytes =
        &r.counter("reckon_appended_bytes_total", "Data + metadata bytes appended", labels);
    sm.read_events = &r.counter("reckon_read_events_total", "Events sent to readers", labels);
  }

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
    for (const char* role : kRaftRoles) {
      metrics::Gauge& g = r.gauge("reckon_raft_role",
                                  "1 for this node's current Raft role, 0 for the others",
                                  with(labels, "role", role));
      g.set_callback([served, role] {
        std::string current = "leader";  // a store without Raft leads itself
        if (served->store->replication() != nullptr) {
          current = served->leadership().role;
          // No leadership published yet: the Raft loop has not reported a role.
          if (current.empty()) current = "unavailable";
        }
        return current == role ? 1.0 : 0.0;
      });
      impl_->store_gauges.push_back(&g);
    }
    raft_gauge("reckon_raft_term", "Current Raft term", [served] { return double(served->leadership().term); });
    raft_gauge("reckon_raft_commit_lag", "Committed but not yet applied entries", [served] {
      Replication* r = served->store->replication();
      if (r == nullptr) return 0.0;
      ReplicaStatus st = r->status();
      const uint64_t applied = std::max(st.applied_index, st.log_applied_index);
      return st.commit_index > applied ? double(st.commit_index - applied) : 0.0;
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
    raft_gauge("reckon_raft_log_write_failures",
               "Raft log writes that failed on this node, e.g. a full disk (monotonic; alert on any increase)",
               replica_count(&ReplicaStatus::log_write_failures));
  }
}

Telemetry::~Telemetry() = default;

void Telemetry::observe_call(const char* method, std::string_view store, ErrorCode code,
                             double seconds) {
  if (Impl::StoreMetrics* sm = impl_->find(store)) {
    if (auto it = sm->methods.find(method); it != sm->methods.end()) {
      Impl::MethodMetrics& mm = it->second;
      mm.requests->inc();
      mm.latency->observe(seconds);
      if (code == ErrorCode::kOk) return;
      if (auto e = mm.errors.find(code); e != mm.errors.end()) e->second->inc();
      return;
    }
  }
  // No store (ListStores, an unknown store name): rare, so looked up in the registry, and only
  // the methods that were called show up.
  if (!listed(method, kMethods)) return;
  Impl::MethodMetrics mm = impl_->method_metrics(method, {});
  mm.requests->inc();
  mm.latency->observe(seconds);
  if (code != ErrorCode::kOk) impl_->errors(method, {}, code).inc();
}

void Telemetry::appended(std::string_view store, uint64_t events, uint64_t bytes) {
  Impl::StoreMetrics* sm = impl_->find(store);
  if (sm == nullptr) return;
  sm->appends->inc();
  sm->appended_events->inc(events);
  sm->appended_bytes->inc(bytes);
}

void Telemetry::events_read(std::string_view store, uint64_t events) {
  if (Impl::StoreMetrics* sm = impl_->find(store)) sm->read_events->inc(events);
}

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
