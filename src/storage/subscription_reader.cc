#include "storage/subscription_reader.h"

#include <rocksdb/iterator.h>

#include <memory>

#include "storage/keys.h"
#include "storage/records.h"

namespace reckon::storage {
namespace {

// Releases a RocksDB snapshot when the read is done.
class ScopedSnapshot {
 public:
  explicit ScopedSnapshot(rocksdb::DB* db) : db_(db), snap_(db->GetSnapshot()) {}
  ~ScopedSnapshot() { db_->ReleaseSnapshot(snap_); }
  ScopedSnapshot(const ScopedSnapshot&) = delete;
  ScopedSnapshot& operator=(const ScopedSnapshot&) = delete;
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

Result<std::optional<Subscription>> read_subscription(Database& db, const rocksdb::ReadOptions& ro,
                                                      const std::string& key) {
  std::string value;
  auto s = db.db()->Get(ro, db.cf(Cf::kSubscriptions), key, &value);
  if (s.IsNotFound()) return std::optional<Subscription>();
  RECKON_RETURN_IF_ERROR(from_rocks(s, "reading subscription"));
  Subscription sub;
  RECKON_RETURN_IF_ERROR(decode_subscription(value, sub));
  sub.key = key;
  return std::optional<Subscription>(std::move(sub));
}

}  // namespace

Result<std::optional<Subscription>> SubscriptionReader::get(const std::string& key) {
  return read_subscription(db_, rocksdb::ReadOptions(), key);
}

Result<std::vector<Subscription>> SubscriptionReader::list() {
  std::vector<Subscription> out;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(rocksdb::ReadOptions(), db_.cf(Cf::kSubscriptions)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Subscription sub;
    RECKON_RETURN_IF_ERROR(decode_subscription(it->value().ToStringView(), sub));
    sub.key = it->key().ToString();
    out.push_back(std::move(sub));
  }
  RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "listing subscriptions"));
  return out;
}

Result<std::vector<ParkedEvent>> SubscriptionReader::list_parked(const std::string& key,
                                                                 const ListParkedOptions& o) {
  ScopedSnapshot snap(db_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  RECKON_ASSIGN_OR_RETURN(auto sub, read_subscription(db_, ro, key));
  if (!sub) return Status::not_found("subscription '" + key + "' not found");
  std::vector<ParkedEvent> out;
  if (o.after_position == kEndPosition || o.limit == 0) return out;
  const std::string upper = name_upper_bound(key);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(Cf::kParked)));
  for (it->Seek(name_key(key, o.after_position + 1)); it->Valid() && out.size() < o.limit; it->Next()) {
    ParkedEvent p;
    RECKON_RETURN_IF_ERROR(decode_parked(it->value().ToStringView(), p));
    p.position = name_key_suffix(it->key().ToStringView());
    out.push_back(std::move(p));
  }
  RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "listing parked events"));
  return out;
}

}  // namespace reckon::storage
