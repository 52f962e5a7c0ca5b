// EventReader: every read of a store, served straight from RocksDB (never through the state
// machine). Each call reads one consistent RocksDB snapshot, so a page never mixes states.
// Thread-safe: any number of threads may read at once, while writes go on.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "reckon/options.h"
#include "reckon/types.h"
#include "storage/database.h"
#include "storage/keys.h"
#include "storage/records.h"

namespace reckon::storage {

class EventReader {
 public:
  EventReader(Database& db, const Limits& limits) : db_(db), limits_(limits) {}

  // `now_us` decides which events max_age hides.
  Result<ReadStreamResult> read_stream(const std::string& stream, const ReadStreamOptions& o,
                                       int64_t now_us);
  Result<ReadAllResult> read_all(const ReadAllOptions& o);
  // The same walk, handing each matching event to `visitor` in place (false = stop after it).
  Result<ReadAllResult> read_all_refs(const ReadAllOptions& o,
                                      const std::function<bool(const EventRef&)>& visitor);
  Result<ReadAllResult> read_by_types(const std::vector<std::string>& types,
                                      const IndexReadOptions& o);
  Result<ReadAllResult> read_by_tags(const std::vector<std::string>& tags, TagMatch match,
                                     const IndexReadOptions& o);
  Status scan_all(Position from, const std::function<bool(const Event&)>& visitor);

  Result<std::optional<StreamHead>> head(const std::string& stream);
  Result<ListStreamsResult> list_streams(const ListStreamsOptions& o);

  Result<Snapshot> load_snapshot(const std::string& stream, std::optional<int64_t> version);
  Result<std::vector<Snapshot>> list_snapshots(const std::string& stream);

 private:
  // Events whose positions are in any (union) or every (intersection) of `names`' index entries.
  Result<ReadAllResult> read_index(Cf cf, const std::vector<std::string>& names, bool intersect,
                                   const IndexReadOptions& o);
  uint64_t clamp_count(uint64_t n) const { return n < limits_.max_read_count ? n : limits_.max_read_count; }
  // Fetches events at sorted positions (one MultiGet).
  Status fetch_events(const rocksdb::Snapshot* snap, const std::vector<Position>& positions,
                      std::vector<Event>& out);

  Database& db_;
  Limits limits_;
};

}  // namespace reckon::storage
