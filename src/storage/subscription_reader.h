// SubscriptionReader: reads of the persistent-subscription records and their parked events,
// straight from RocksDB (never through the state machine), each from one consistent snapshot.
// Thread-safe: any number of threads may read at once, while writes go on.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reckon/subscriptions.h"
#include "storage/database.h"

namespace reckon::storage {

class SubscriptionReader {
 public:
  explicit SubscriptionReader(Database& db) : db_(db) {}

  Result<std::optional<Subscription>> get(const std::string& key);
  // Every subscription, in key order.
  Result<std::vector<Subscription>> list();
  // Parked events of one subscription in position order, after `after_position`, at most
  // `limit`. NotFound when the subscription does not exist.
  Result<std::vector<ParkedEvent>> list_parked(const std::string& key, const ListParkedOptions& o);

 private:
  Database& db_;
};

}  // namespace reckon::storage
