#include "server/served_store.h"

#include "server/cluster_health.h"

#include <chrono>
#include <thread>

namespace reckon::server {

ServedStore::ServedStore() = default;
ServedStore::~ServedStore() = default;

LeadershipChange ServedStore::leadership() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void ServedStore::on_leadership(const LeadershipChange& change) {
  std::lock_guard<std::mutex> lock(mu_);
  last_ = change;
  leader_.store(change.is_leader, std::memory_order_release);
}

Status ServedStore::require_leader() const {
  if (store->replication() == nullptr || is_leader()) return Status::ok();
  LeadershipChange c = leadership();
  // The leader's address may have reached the directory after the leadership change.
  auto directory = store->replication()->member_directory();
  auto it = directory.find(c.leader_id);
  return Status::not_leader(c.leader_id, it != directory.end() ? it->second : c.leader_client_address);
}

Status StoreRegistry::open_all(const std::vector<StoreConfig>& configs) {
  for (const auto& c : configs) {
    auto served = std::make_unique<ServedStore>();
    served->config = c;
    auto store = LocalStore::open_local(c.options);
    if (!store) {
      return Status(store.code(), "store '" + c.store_id + "': " + store.status().message());
    }
    served->store = std::move(store).value();
    if (Replication* r = served->store->replication()) {
      ServedStore* raw = served.get();
      served->leadership_subscription =
          r->subscribe_leadership([raw](const LeadershipChange& c) { raw->on_leadership(c); });
      // A one-voter group elects itself at once: serve once it did, so the first write after
      // startup is not refused. A cluster node serves reads (and redirects writes) meanwhile.
      if (c.mode == "single") {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!raw->is_leader() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (!raw->is_leader()) {
          return Status::unavailable("store '" + c.store_id + "': its one-voter Raft group elected no leader in 10 s");
        }
      }
    }
    served->readers = std::make_unique<ThreadPool>("rd-" + c.store_id, c.reader_pool_size);
    served->writers = std::make_unique<ThreadPool>("wr-" + c.store_id, c.writer_pool_size);
    by_id_[c.store_id] = served.get();
    stores_.push_back(std::move(served));
  }
  return Status::ok();
}

ServedStore* StoreRegistry::find(const std::string& store_id) {
  if (store_id.empty()) return stores_.empty() ? nullptr : stores_.front().get();
  auto it = by_id_.find(store_id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<std::string> StoreRegistry::ids() const {
  std::vector<std::string> out;
  for (const auto& s : stores_) out.push_back(s->config.store_id);
  return out;
}

void StoreRegistry::start_leader_workers(subscriptions_runtime::DeliveryObserver* observer) {
  for (auto& s : stores_) {
    s->leader_worker = std::make_unique<subscriptions_runtime::LeaderWorker>(*s->store, s->config.store_id, observer);
    s->leader_worker->start();
  }
}

void StoreRegistry::stop_subscriptions() {
  for (auto& s : stores_) {
    if (s->leader_worker) s->leader_worker->stop();
  }
  for (auto& s : stores_) {
    s->shutting_down.store(true);
    s->store->stop_tails();
  }
}

void StoreRegistry::close_all() {
  for (auto& s : stores_) {
    if (s->health) s->health->stop();
  }
  for (auto& s : stores_) {
    s->writers->shutdown();
    s->readers->shutdown();
  }
  for (auto& s : stores_) {
    if (s->leader_worker) s->leader_worker->stop();  // no-op when stop_subscriptions ran
    if (Replication* r = s->store->replication()) r->unsubscribe_leadership(s->leadership_subscription);
    s->store.reset();  // the command log finishes or fails what is in flight before closing
  }
}

}  // namespace reckon::server
