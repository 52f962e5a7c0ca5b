#include "server/served_store.h"

namespace reckon::server {

Status StoreRegistry::open_all(const std::vector<StoreConfig>& configs) {
  for (const auto& c : configs) {
    auto served = std::make_unique<ServedStore>();
    served->config = c;
    auto store = LocalStore::open_local(c.options);
    if (!store) {
      return Status(store.code(), "store '" + c.store_id + "': " + store.status().message());
    }
    served->store = std::move(store).value();
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

void StoreRegistry::stop_subscriptions() {
  for (auto& s : stores_) {
    s->shutting_down.store(true);
    s->store->stop_tails();
  }
}

void StoreRegistry::close_all() {
  for (auto& s : stores_) {
    s->writers->shutdown();
    s->readers->shutdown();
  }
  for (auto& s : stores_) s->store.reset();  // the commit queue drains before closing
}

}  // namespace reckon::server
