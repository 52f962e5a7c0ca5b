// ServedStore: one store as the server runs it — the embedded Store plus its own reader and
// writer thread pools sized from its StoreConfig. StoreRegistry maps store ids to them; the
// first configured store is the default (requests with an empty store name).
// Thread-safety: immutable after start; the pools and the Store are thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "reckon/store.h"
#include "server/config.h"
#include "server/thread_pool.h"
#include "subscriptions_runtime/leader_worker.h"

namespace reckon::server {

class ClusterHealth;

struct ServedStore {
  ServedStore();
  ~ServedStore();

  StoreConfig config;
  std::unique_ptr<LocalStore> store;
  std::atomic<bool> shutting_down{false};  // subscriptions end when set
  std::unique_ptr<ThreadPool> readers;
  std::unique_ptr<ThreadPool> writers;

  // The last leadership change of the store's Raft group, kept current by a subscription so
  // request paths can check leadership without a round trip to the Raft loop.
  bool is_leader() const { return leader_.load(std::memory_order_acquire); }
  LeadershipChange leadership() const;
  void on_leadership(const LeadershipChange& change);
  // Status for a request that needs the leader: OK here, NotLeader (with the leader's client
  // address when known) elsewhere.
  Status require_leader() const;
  uint64_t leadership_subscription = 0;
  std::unique_ptr<ClusterHealth> health;  // cluster mode: running health checks (reckond_main)
  // Persistent-subscription delivery while this node leads (started by the registry).
  std::unique_ptr<subscriptions_runtime::LeaderWorker> leader_worker;

 private:
  std::atomic<bool> leader_{false};
  mutable std::mutex mu_;
  LeadershipChange last_;
};

class StoreRegistry {
 public:
  Status open_all(const std::vector<StoreConfig>& configs);
  // nullptr when unknown; "" = the default store.
  ServedStore* find(const std::string& store_id);
  std::vector<std::string> ids() const;
  const std::vector<std::unique_ptr<ServedStore>>& all() const { return stores_; }
  // Starts each store's leader worker (persistent subscriptions), reporting to `observer`.
  void start_leader_workers(subscriptions_runtime::DeliveryObserver* observer);
  // Ends live subscriptions (first step of a shutdown): writes the last persistent-subscription
  // checkpoints, stops the emitter pools, wakes catch-up subscriptions.
  void stop_subscriptions();
  // Drains the pools (in-flight requests finish) then closes the stores.
  void close_all();

 private:
  std::vector<std::unique_ptr<ServedStore>> stores_;
  std::map<std::string, ServedStore*> by_id_;
};

}  // namespace reckon::server
