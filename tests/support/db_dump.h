// Every key/value of every column family of a store's RocksDB, as one string: equal dumps =
// identical stores. For determinism tests of the state machine.
#pragma once

#include <rocksdb/iterator.h>

#include <memory>
#include <string>

#include "storage/database.h"
#include "storage/keys.h"

namespace reckon::testing {

inline std::string dump_all_column_families(storage::Database& db) {
  std::string out;
  for (int i = 0; i < static_cast<int>(storage::Cf::kCount); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(
        db.db()->NewIterator(rocksdb::ReadOptions(), db.cf(storage::Cf(i))));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out += std::to_string(i) + ":" + it->key().ToString() + "=" + it->value().ToString() + ";";
    }
  }
  return out;
}

}  // namespace reckon::testing
