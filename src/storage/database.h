// Database: the RocksDB instance of one store, with its column families (storage/keys.h) and
// bounded-memory options (block cache, memtable budget). Owned by the store; the handles are
// safe to use from any thread.
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <memory>
#include <string>

#include "reckon/options.h"
#include "reckon/status.h"
#include "storage/keys.h"

namespace rocksdb {
class Cache;
}

namespace reckon::storage {

Status from_rocks(const rocksdb::Status& s, std::string_view context);

class Database {
 public:
  static Result<std::unique_ptr<Database>> open(const StoreOptions& options);
  ~Database();

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf which) const { return handles_[static_cast<int>(which)]; }
  const std::string& path() const { return path_; }
  uint64_t block_cache_usage() const;

 private:
  Database() = default;
  std::string path_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, static_cast<int>(Cf::kCount)> handles_{};
};

}  // namespace reckon::storage
