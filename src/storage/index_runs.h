// Index entries that cover runs of events (docs/STORAGE.md, "Index runs").
//
// An append gives its events consecutive positions, and the events of one stream in it
// consecutive versions, so one index entry can stand for many events:
//   stream index:     stream \0 u64be(first_version) -> u64be(first_position) [varint count]
//   type / tag index: name \0 u64be(first_position)   -> [varint count]
// Without a count an entry covers one event: the only form stores written before runs hold,
// and what a single-event append still writes. Readers accept both forms anywhere.
#pragma once

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/database.h"
#include "storage/keys.h"

namespace reckon::storage {

// Positions `first` .. `first + count - 1` (count >= 1).
struct PositionRun {
  Position first = 0;
  uint64_t count = 1;
  Position last() const { return first + count - 1; }
};

// The value of a stream-index entry for `count` events starting at `first_position`.
void encode_stream_run(std::string& out, Position first_position, uint64_t count);
// `first_position` and the number of versions of a stream-index entry's value.
Status decode_stream_run(std::string_view value, PositionRun& run);
// The number of events a type/tag-index entry's value covers.
Status decode_name_run_count(std::string_view value, uint64_t& count);

// The entry of `name` in the type or tag index whose run holds position `p`, if any (its
// first position and count). Reads the database's latest state.
Status find_name_run(Database& db, Cf cf, std::string_view name, Position p,
                     std::optional<PositionRun>& run);
// The stream-index entry of `stream` whose run holds `version`, if any: its first version and
// its run of positions.
Status find_stream_run(Database& db, std::string_view stream, int64_t version,
                       int64_t& first_version, std::optional<PositionRun>& run);

// Collects the positions of the names (event types, or tags) of the events of one append part,
// given in increasing position order, and stages one entry per run of consecutive positions of
// a name. Runs never span parts: apply_append flushes after each part, and the bulk catch-up
// rebuilds the same entries from the events (records.h EventView::continues_part). Names are
// views that must outlive flush().
class NameRunWriter {
 public:
  void add(std::string_view name, Position p);  // a name repeated at the same p counts once
  // Continues `run`, an entry already written for `name`: the next add() of `name` at
  // run.last() + 1 extends it, and flush() rewrites that entry (same key) with the new count.
  void resume(std::string_view name, PositionRun run);
  // Stages every run collected so far into `batch` and forgets them.
  void flush(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf);

 private:
  struct Run {
    std::string_view name;
    PositionRun positions;
  };
  void stage(const Run& run, rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf);

  std::vector<Run> open_;  // at most one per name; few names per command
  std::vector<Run> closed_;
  std::string key_, value_;
};

// Walks the positions of one name in the type or tag index, in either direction, bounded to
// that name's keys, expanding run entries. With a snapshot, reads that snapshot.
class IndexCursor {
 public:
  IndexCursor(Database& db, Cf cf, const rocksdb::Snapshot* snap, std::string_view name,
              Direction dir);

  // Forward: first position >= p. Backward: last position <= p.
  void seek(Position p);
  void advance();
  bool valid() const { return it_->Valid() && status_.is_ok(); }
  Position position() const { return current_; }
  Status status() const;

 private:
  bool load_run();  // the run of the entry under the iterator; false (status_ set) if corrupt

  std::string name_, lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  Direction dir_;
  std::unique_ptr<rocksdb::Iterator> it_;
  PositionRun run_;
  Position current_ = 0;
  Status status_;
};

}  // namespace reckon::storage
