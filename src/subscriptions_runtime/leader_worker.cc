#include "subscriptions_runtime/leader_worker.h"

#include <spdlog/spdlog.h>

#include <future>
#include <set>

#include "subscriptions/selector.h"

namespace reckon::subscriptions_runtime {
namespace {

bool same_delivery(const Subscription& a, const Subscription& b) {
  return a.pool_size == b.pool_size && a.options == b.options;
}

}  // namespace

LeaderWorker::LeaderWorker(LocalStore& store, std::string store_id, DeliveryObserver* observer,
                           LeaderWorkerOptions options)
    : store_(store),
      store_id_(std::move(store_id)),
      observer_(observer),
      options_(std::move(options)) {}

LeaderWorker::~LeaderWorker() { stop(); }

void LeaderWorker::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
  if (Replication* r = store_.replication()) {
    leadership_subscription_ = r->subscribe_leadership([this](const LeadershipChange& c) { on_leadership(c); });
  } else {
    // A store without Raft is its own leader.
    LeadershipChange c;
    c.role = "leader";
    c.is_leader = true;
    on_leadership(c);
  }
}

void LeaderWorker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (Replication* r = store_.replication(); r && leadership_subscription_ != 0) {
    r->unsubscribe_leadership(leadership_subscription_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (active_.load()) {
    flush_checkpoints();
    become_inactive("");
  }
}

// On the Raft loop thread: record and wake the worker, never block.
void LeaderWorker::on_leadership(const LeadershipChange& change) {
  leading_->store(change.is_leader);
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed_ = true;
    leader_address_ = change.leader_client_address;
  }
  cv_.notify_all();
}

void LeaderWorker::subscriptions_changed() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reconcile_requested_ = true;
  }
  cv_.notify_all();
}

void LeaderWorker::run() {
  using Clock = std::chrono::steady_clock;
  auto next_flush = Clock::now() + options_.checkpoint_interval;
  auto next_reconcile = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_until(lock, std::min(next_flush, next_reconcile),
                   [&] { return stopping_ || changed_ || reconcile_requested_; });
    if (stopping_) break;
    const bool changed = std::exchange(changed_, false);
    bool reconcile_now = std::exchange(reconcile_requested_, false);
    const std::string leader = leader_address_;
    lock.unlock();
    const bool leading = leading_->load();
    if (changed && !leading && active_.load()) {
      become_inactive(leader);
    }
    if (leading && !active_.load()) {
      Status s = become_active();
      if (!s.is_ok()) {
        spdlog::warn("store '{}': subscriptions not started on this leader yet: {}", store_id_, s.to_string());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // e.g. a barrier that failed
        lock.lock();
        changed_ = true;  // try again
        continue;
      }
      reconcile_now = false;
      next_reconcile = Clock::now() + options_.reconcile_interval;
    }
    const auto now = Clock::now();
    if (active_.load() && (reconcile_now || now >= next_reconcile)) {
      if (Status s = reconcile(); !s.is_ok()) spdlog::warn("store '{}': reconcile: {}", store_id_, s.to_string());
      next_reconcile = Clock::now() + options_.reconcile_interval;
    } else if (now >= next_reconcile) {
      next_reconcile = now + options_.reconcile_interval;
    }
    if (Clock::now() >= next_flush) {
      if (active_.load()) flush_checkpoints();
      next_flush = Clock::now() + options_.checkpoint_interval;
    }
    lock.lock();
  }
}

Status LeaderWorker::become_active() {
  if (Replication* r = store_.replication()) {
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    r->barrier([promise](Status s) { promise->set_value(std::move(s)); });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return Status::unavailable("barrier did not complete");
    }
    RECKON_RETURN_IF_ERROR(future.get());
  }
  if (!leading_->load()) return Status::not_leader(0, "");
  // The default subscription, created once by the first leader (create re-attaches: only call
  // it when absent, so an operator's changes to pool_size and options stay).
  RECKON_ASSIGN_OR_RETURN(auto all, store_.list_subscriptions());
  bool has_default = false;
  for (const auto& s : all) {
    if (s.name == kDefaultSubscriptionName && s.type == SubscriptionType::kStream &&
        s.selector == subscriptions::kAllStreams) {
      has_default = true;
    }
  }
  if (!has_default) {
    NewSubscription n;
    n.type = SubscriptionType::kStream;
    n.selector = std::string(subscriptions::kAllStreams);
    n.name = kDefaultSubscriptionName;
    n.pool_size = 1;
    RECKON_RETURN_IF_ERROR(store_.create_subscription(n).status());
    if (observer_) observer_->subscription_created(store_id_);
  }
  active_.store(true);
  if (observer_) observer_->leader_elected(store_id_);
  spdlog::info("store '{}': leader worker active", store_id_);
  return reconcile();
}

void LeaderWorker::become_inactive(const std::string& leader_address) {
  std::map<std::string, std::shared_ptr<EmitterPool>> pools;
  {
    std::lock_guard<std::mutex> lock(pools_mu_);
    active_.store(false);
    pools.swap(pools_);
    written_.clear();
  }
  // Stop them all at once: first no pool hands anything out (leading_ is already false when
  // leadership was lost), then each ends its consumers and joins its emitters.
  for (auto& [key, pool] : pools) pool->stop(leader_address, "this node is not the leader any more");
  if (observer_) observer_->leader_lost(store_id_);
  spdlog::info("store '{}': leader worker stopped {} pools", store_id_, pools.size());
}

Status LeaderWorker::reconcile() {
  RECKON_ASSIGN_OR_RETURN(auto all, store_.list_subscriptions());
  std::vector<std::shared_ptr<EmitterPool>> to_stop;
  {
    std::lock_guard<std::mutex> lock(pools_mu_);
    if (!active_.load()) return Status::ok();
    std::set<std::string> keys;
    for (auto& s : all) {
      keys.insert(s.key);
      auto it = pools_.find(s.key);
      if (it != pools_.end() && same_delivery(it->second->subscription(), s)) continue;
      if (it != pools_.end()) {
        to_stop.push_back(it->second);
        // Restarted from the stored checkpoint, or from what this pool reached, if further.
        s.checkpoint = std::max(s.checkpoint, it->second->checkpoint());
        pools_.erase(it);
      }
      auto pool = std::make_shared<EmitterPool>(s, PoolContext{&store_, store_id_, observer_, leading_});
      if (Status st = pool->start(); !st.is_ok()) {
        spdlog::warn("store '{}': subscription {} not started: {}", store_id_, s.name, st.to_string());
        continue;
      }
      written_[s.key] = std::max(written_[s.key], s.checkpoint);
      pools_.emplace(s.key, std::move(pool));
    }
    for (auto it = pools_.begin(); it != pools_.end();) {
      if (keys.count(it->first)) {
        ++it;
        continue;
      }
      to_stop.push_back(it->second);
      written_.erase(it->first);
      it = pools_.erase(it);
    }
  }
  for (auto& pool : to_stop) pool->stop("", "the subscription was changed or deleted");
  return Status::ok();
}

Result<std::shared_ptr<EmitterPool>> LeaderWorker::pool_for(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(pools_mu_);
    if (!active_.load()) return Status::unavailable("persistent subscriptions are not running on this node yet");
    if (auto it = pools_.find(key); it != pools_.end()) return it->second;
  }
  RECKON_RETURN_IF_ERROR(reconcile());
  std::lock_guard<std::mutex> lock(pools_mu_);
  if (auto it = pools_.find(key); it != pools_.end()) return it->second;
  return Status::not_found("subscription '" + key + "' not found");
}

void LeaderWorker::flush_checkpoints() {
  std::vector<SubscriptionCheckpoint> batch;
  std::vector<std::pair<std::string, std::string>> names;  // key, name for the lag gauge
  std::map<std::string, Position> reached;
  {
    std::lock_guard<std::mutex> lock(pools_mu_);
    for (auto& [key, pool] : pools_) {
      Position cp = pool->checkpoint();
      reached[key] = cp;
      names.emplace_back(key, pool->subscription().name);
      if (cp > written_[key]) batch.push_back(SubscriptionCheckpoint{key, cp});
    }
  }
  if (!batch.empty()) {
    Status s = store_.checkpoint_subscriptions(batch);
    if (!s.is_ok()) {
      spdlog::debug("store '{}': checkpoint write: {}", store_id_, s.to_string());
    } else {
      std::lock_guard<std::mutex> lock(pools_mu_);
      for (auto& cp : batch) {
        if (written_.count(cp.key)) written_[cp.key] = std::max(written_[cp.key], cp.position);
      }
    }
  }
  if (observer_) {
    const Position last = store_.last_position();
    const int64_t now_us = (options_.clock ? options_.clock : system_clock())->now_us();
    for (auto& [key, name] : names) {
      const Position cp = reached[key];
      double seconds = 0;
      if (last > cp) {
        if (auto created = created_after(key, cp))
          seconds = static_cast<double>(std::max<int64_t>(0, now_us - *created)) / 1e6;
      }
      observer_->lag(store_id_, name, last > cp ? last - cp : 0, seconds);
    }
    for (auto it = lag_origin_.begin(); it != lag_origin_.end();) {  // deleted subscriptions
      it = reached.count(it->first) ? std::next(it) : lag_origin_.erase(it);
    }
  }
}

std::optional<int64_t> LeaderWorker::created_after(const std::string& key, Position checkpoint) {
  if (auto it = lag_origin_.find(key); it != lag_origin_.end() && it->second.first == checkpoint) {
    return it->second.second;
  }
  ReadAllOptions o;
  o.from_position = checkpoint + 1;
  o.max_count = 1;
  std::optional<int64_t> created;
  auto page = store_.read_all_refs(o, [&](const EventRef& e) {
    created = e.created_us;
    return false;
  });
  if (!page || !created) return std::nullopt;
  lag_origin_[key] = {checkpoint, *created};
  return created;
}

}  // namespace reckon::subscriptions_runtime
