// LeaderWorker: runs persistent-subscription delivery while this node leads its store's Raft
// group, and nowhere else (reckon-db leaves a deposed leader emitting; we do not).
//
// One worker thread per store reacts to leadership changes (published by
// Replication::subscribe_leadership; the callback only records them):
//   gained  -> Raft barrier (the state machine has applied everything committed before), ensure
//              the default subscription `all-events` (stream `$all`, pool_size 1), start an
//              EmitterPool per stored subscription, is_active = true;
//   lost    -> the `leading` flag drops at once (emitters stop handing out events), then every
//              pool stops together and its consumers are told to reconnect to the new leader.
// While active it keeps the pools in line with the stored records — one tracker, two triggers:
// the create/delete RPC handlers call subscriptions_changed(), and a reconcile against
// list_subscriptions() runs every second anyway (it catches anything else, such as records
// changed through another node's store API). A pool whose record changed (pool_size, options)
// is restarted; its consumers re-attach. Every 100 ms the pools' checkpoints that advanced are
// written in one checkpoint_subscriptions command (coalesced, never backwards).
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "reckon/clock.h"
#include "reckon/store.h"
#include "subscriptions_runtime/delivery_observer.h"
#include "subscriptions_runtime/emitter_pool.h"

namespace reckon::subscriptions_runtime {

inline constexpr const char* kDefaultSubscriptionName = "all-events";

struct LeaderWorkerOptions {
  std::chrono::milliseconds checkpoint_interval{100};
  std::chrono::milliseconds reconcile_interval{1000};
  // "now" of the lag in seconds, against the events' created_us; nullptr = the system clock.
  // Give it the store's clock (StoreOptions::clock).
  std::shared_ptr<Clock> clock;
};

class LeaderWorker {
 public:
  LeaderWorker(LocalStore& store, std::string store_id, DeliveryObserver* observer,
               LeaderWorkerOptions options = {});
  ~LeaderWorker();

  void start();
  // Writes the last checkpoints (when leading), stops every pool, ends the thread.
  void stop();

  // This node runs the emitter pools now.
  bool is_active() const { return active_.load(); }
  // A subscription was created, changed or deleted: reconcile soon.
  void subscriptions_changed();
  // The running pool of a subscription (started now if its record is newer than the last
  // reconcile). Unavailable while not active; NotFound when no such subscription exists.
  Result<std::shared_ptr<EmitterPool>> pool_for(const std::string& key);

 private:
  void on_leadership(const LeadershipChange& change);
  void run();
  Status become_active();
  void become_inactive(const std::string& leader_address);
  Status reconcile();
  void flush_checkpoints();
  // created_us of the first event after `checkpoint` (nullopt when it cannot be read).
  std::optional<int64_t> created_after(const std::string& key, Position checkpoint);

  LocalStore& store_;
  const std::string store_id_;
  DeliveryObserver* observer_;
  const LeaderWorkerOptions options_;
  uint64_t leadership_subscription_ = 0;
  std::shared_ptr<std::atomic<bool>> leading_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> active_{false};

  std::mutex mu_;  // the worker's inbox
  std::condition_variable cv_;
  bool stopping_ = false;
  bool changed_ = false;  // leadership changed since the worker looked
  bool reconcile_requested_ = false;
  std::string leader_address_;
  std::thread thread_;

  std::mutex pools_mu_;  // the pools and their last written checkpoints
  std::map<std::string, std::shared_ptr<EmitterPool>> pools_;
  std::map<std::string, Position> written_;

  // Lag in seconds: the checkpoint last looked at per subscription and the created_us of the
  // event after it, so a checkpoint that did not move costs no read. Flushing thread only.
  std::map<std::string, std::pair<Position, int64_t>> lag_origin_;
};

}  // namespace reckon::subscriptions_runtime
