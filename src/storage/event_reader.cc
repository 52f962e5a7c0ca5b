#include "storage/event_reader.h"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <memory>

#include "core/event_filter.h"
#include "storage/index_runs.h"
#include "storage/keys.h"

namespace reckon::storage {
namespace {

// A RocksDB snapshot released when the read ends.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(rocksdb::DB* db) : db_(db), snap_(db->GetSnapshot()) {}
  ~ReadSnapshot() { db_->ReleaseSnapshot(snap_); }
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

// True when a comes before b in the read direction.
bool before(Position a, Position b, Direction d) { return d == Direction::kForward ? a < b : a > b; }

Position start_position(Position from, Direction d) {
  if (d == Direction::kForward) return from == 0 ? 1 : from;
  return from;
}

Status check_names(const std::vector<std::string>& names, const char* what) {
  if (names.empty()) return Status::invalid_argument(std::string("at least one ") + what + " is required");
  for (const auto& n : names) {
    if (n.empty() || n.find('\0') != std::string::npos) {
      return Status::invalid_argument(std::string(what) + " must be non-empty and without NUL");
    }
  }
  return Status::ok();
}

}  // namespace

Status EventReader::fetch_events(const rocksdb::Snapshot* snap,
                                 const std::vector<Position>& positions, std::vector<Event>& out) {
  if (positions.empty()) return Status::ok();
  std::vector<std::string> keys;
  keys.reserve(positions.size());
  for (Position p : positions) keys.push_back(position_key(p));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  db_.db()->MultiGet(ro, db_.cf(Cf::kEvents), slices.size(), slices.data(), values.data(),
                     statuses.data(), /*sorted_input=*/false);
  out.reserve(out.size() + positions.size());
  EventView view;
  for (size_t i = 0; i < positions.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      return Status::corruption("index points at missing event at position " +
                                std::to_string(positions[i]));
    }
    RECKON_RETURN_IF_ERROR(from_rocks(statuses[i], "reading event"));
    RECKON_RETURN_IF_ERROR(decode_event(values[i].ToStringView(), view));
    out.push_back(to_event(view, positions[i]));
  }
  return Status::ok();
}

Result<std::optional<StreamHead>> EventReader::head(const std::string& stream) {
  std::string value;
  auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kStreams), stream, &value);
  if (s.IsNotFound()) return std::optional<StreamHead>();
  RECKON_RETURN_IF_ERROR(from_rocks(s, "reading stream head"));
  StreamHead h;
  RECKON_RETURN_IF_ERROR(decode_head(value, h));
  return std::optional<StreamHead>(std::move(h));
}

Result<ReadStreamResult> EventReader::read_stream(const std::string& stream,
                                                  const ReadStreamOptions& o, int64_t now_us) {
  if (o.direction == Direction::kForward && o.from_version < 0) {
    return Status::invalid_argument("from_version must be >= 0 for a forward read");
  }
  if (o.direction == Direction::kBackward && o.from_version < 0 && o.from_version != kNoVersion) {
    return Status::invalid_argument("from_version must be >= 0 (or the end) for a backward read");
  }
  ReadSnapshot snap(db_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  std::string value;
  auto s = db_.db()->Get(ro, db_.cf(Cf::kStreams), stream, &value);
  if (s.IsNotFound()) return Status::stream_not_found(stream);
  RECKON_RETURN_IF_ERROR(from_rocks(s, "reading stream head"));
  StreamHead head;
  RECKON_RETURN_IF_ERROR(decode_head(value, head));
  if (head.state != StreamState::kLive) return Status::stream_deleted(stream);
  if (head.last_version < 0) return Status::stream_not_found(stream);

  ReadStreamResult result;
  result.last_version = head.last_version;
  const uint64_t count = clamp_count(o.max_count);
  int64_t floor = head.visible_floor();
  if (head.metadata.max_count) {
    floor = std::max<int64_t>(floor, head.last_version - static_cast<int64_t>(*head.metadata.max_count) + 1);
  }
  const int64_t min_created_us =
      head.metadata.max_age_seconds
          ? now_us - static_cast<int64_t>(*head.metadata.max_age_seconds) * 1'000'000
          : INT64_MIN;

  const bool forward = o.direction == Direction::kForward;
  int64_t start = forward ? std::max(o.from_version, floor)
                          : (o.from_version < 0 ? head.last_version
                                                : std::min(o.from_version, head.last_version));
  result.end_of_stream = true;
  result.next_version = kNoVersion;
  if (count == 0 || (forward && start > head.last_version) || (!forward && start < floor)) {
    return result;
  }

  const std::string lower = name_prefix(stream), upper = name_upper_bound(stream);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(Cf::kStreamIndex)));
  std::vector<Position> positions;
  int64_t last_seen = start;
  // An entry covers a run of versions (storage/index_runs.h): the one holding `start` begins
  // at or before it.
  PositionRun run;
  auto first_version = [&] { return static_cast<int64_t>(name_key_suffix(it->key().ToStringView())); };
  it->SeekForPrev(name_key(stream, static_cast<uint64_t>(start)));
  if (forward) {
    if (it->Valid()) {
      RECKON_RETURN_IF_ERROR(decode_stream_run(it->value().ToStringView(), run));
      if (first_version() + static_cast<int64_t>(run.count) <= start) it->Next();
    } else {
      it->Seek(name_key(stream, static_cast<uint64_t>(start)));
    }
  }
  bool below_floor = false;
  for (; it->Valid() && positions.size() < count && !below_floor; forward ? it->Next() : it->Prev()) {
    RECKON_RETURN_IF_ERROR(decode_stream_run(it->value().ToStringView(), run));
    const int64_t first = first_version();
    const int64_t last = first + static_cast<int64_t>(run.count) - 1;
    if (forward) {
      for (int64_t v = std::max(first, start); v <= last && positions.size() < count; ++v) {
        positions.push_back(run.first + static_cast<Position>(v - first));
        last_seen = v;
      }
    } else {
      for (int64_t v = std::min(last, start); v >= first && positions.size() < count; --v) {
        if (v < floor) {
          below_floor = true;
          break;
        }
        positions.push_back(run.first + static_cast<Position>(v - first));
        last_seen = v;
      }
    }
  }
  RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "reading stream index"));
  RECKON_RETURN_IF_ERROR(fetch_events(snap.get(), positions, result.events));

  // max_age hides the oldest events; created_us only grows with position, so they form the
  // front of a forward page and the tail of a backward one.
  if (min_created_us != INT64_MIN) {
    auto& ev = result.events;
    ev.erase(std::remove_if(ev.begin(), ev.end(),
                            [&](const Event& e) { return e.created_us < min_created_us; }),
             ev.end());
  }
  if (positions.size() == count) {
    const int64_t next = forward ? last_seen + 1 : last_seen - 1;
    if (forward ? next <= head.last_version : next >= floor) {
      result.next_version = next;
      result.end_of_stream = false;
    }
  }
  return result;
}

Result<ReadAllResult> EventReader::read_all(const ReadAllOptions& o) {
  std::vector<Event> events;
  events.reserve(o.filter.empty() ? std::min<uint64_t>(clamp_count(o.max_count), 4096) : 64);
  RECKON_ASSIGN_OR_RETURN(ReadAllResult result, read_all_refs(o, [&](const EventRef& e) {
    Event ev;
    ev.event_id = e.event_id;
    ev.event_type.assign(e.event_type);
    ev.stream_id.assign(e.stream_id);
    ev.version = e.version;
    ev.position = e.position;
    ev.data.assign(e.data);
    ev.data_content_type = e.data_content_type;
    ev.metadata.assign(e.metadata);
    ev.metadata_content_type = e.metadata_content_type;
    ev.tags.reserve(e.tags->size());
    for (auto t : *e.tags) ev.tags.emplace_back(t);
    ev.created_us = e.created_us;
    events.push_back(std::move(ev));
    return true;
  }));
  result.events = std::move(events);
  return result;
}

Result<ReadAllResult> EventReader::read_all_refs(const ReadAllOptions& o,
                                                 const std::function<bool(const EventRef&)>& visitor) {
  RECKON_ASSIGN_OR_RETURN(auto filter, CompiledFilter::compile(o.filter));
  const uint64_t count = clamp_count(o.max_count);
  ReadAllResult result;
  result.end = true;
  if (count == 0) {
    result.end = false;
    result.next_position = o.from_position;
    return result;
  }
  ReadSnapshot snap(db_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  // No explicit readahead: pages are served from the block cache, and RocksDB's automatic
  // readahead covers sequential misses (a fixed 2 MiB one cost ~7% in kernel copies).
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(Cf::kEvents)));
  const bool forward = o.direction == Direction::kForward;
  const Position start = start_position(o.from_position, o.direction);
  if (!forward && start == 0) return result;
  if (forward) {
    it->Seek(position_key(start));
  } else {
    it->SeekForPrev(position_key(start));
  }
  uint64_t scanned = 0, delivered = 0;
  bool stop = false;
  EventView view;
  EventRef ref;
  ref.tags = &view.tags;
  for (; it->Valid(); forward ? it->Next() : it->Prev()) {
    const Position p = enc::load_u64_be(it->key().data());
    if (stop || delivered == count || (o.max_scan && scanned == o.max_scan)) {
      result.end = false;
      result.next_position = p;
      break;
    }
    ++scanned;
    RECKON_RETURN_IF_ERROR(decode_event(it->value().ToStringView(), view));
    if (!filter->accepts_everything()) {
      if (!filter->matches_stream(view.stream_id) || !filter->matches_type(view.event_type)) continue;
      if (!filter->matches_tags(view.tags)) continue;
    }
    ref.event_id = view.event_id;
    ref.event_type = view.event_type;
    ref.stream_id = view.stream_id;
    ref.version = view.version;
    ref.position = p;
    ref.data = view.data;
    ref.data_content_type = view.data_content_type;
    ref.metadata = view.metadata;
    ref.metadata_content_type = view.metadata_content_type;
    ref.created_us = view.created_us;
    ++delivered;
    stop = !visitor(ref);
  }
  RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "reading $all"));
  return result;
}

Status EventReader::scan_all(Position from, const std::function<bool(const Event&)>& visitor) {
  ReadSnapshot snap(db_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;  // a full scan must not evict the working set
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(Cf::kEvents)));
  EventView view;
  for (it->Seek(position_key(start_position(from, Direction::kForward))); it->Valid(); it->Next()) {
    RECKON_RETURN_IF_ERROR(decode_event(it->value().ToStringView(), view));
    if (!visitor(to_event(view, enc::load_u64_be(it->key().data())))) return Status::ok();
  }
  return from_rocks(it->status(), "scanning $all");
}

namespace {

using Cursors = std::vector<std::unique_ptr<IndexCursor>>;

// Positions present in any cursor (k-way merge, each position once), up to `count`; sets
// the continuation in `result` when more remain.
Status union_positions(Cursors& cursors, uint64_t count, Direction dir, ReadAllResult& result,
                       std::vector<Position>& positions) {
  while (true) {
    IndexCursor* best = nullptr;
    for (auto& c : cursors) {
      if (c->valid() && (!best || before(c->position(), best->position(), dir))) best = c.get();
    }
    for (auto& c : cursors) RECKON_RETURN_IF_ERROR(c->status());
    if (!best) return Status::ok();
    const Position p = best->position();
    if (positions.size() == count) {
      result.end = false;
      result.next_position = p;
      return Status::ok();
    }
    positions.push_back(p);
    for (auto& c : cursors)
      if (c->valid() && c->position() == p) c->advance();
  }
}

// Positions present in every cursor (leapfrog: move each cursor to the furthest candidate
// until all agree), up to `count`.
Status intersect_positions(Cursors& cursors, uint64_t count, Direction dir, ReadAllResult& result,
                           std::vector<Position>& positions) {
  while (true) {
    Position target = 0;
    bool have_target = false;
    for (auto& c : cursors) {
      RECKON_RETURN_IF_ERROR(c->status());
      if (!c->valid()) return Status::ok();
      if (!have_target || before(target, c->position(), dir)) target = c->position();
      have_target = true;
    }
    bool agreed = true;
    for (auto& c : cursors) {
      if (c->position() != target) {
        c->seek(target);
        agreed = false;
      }
    }
    if (!agreed) continue;
    if (positions.size() == count) {
      result.end = false;
      result.next_position = target;
      return Status::ok();
    }
    positions.push_back(target);
    for (auto& c : cursors) c->advance();
  }
}

}  // namespace

Result<ReadAllResult> EventReader::read_index(Cf cf, const std::vector<std::string>& names,
                                              bool intersect, const IndexReadOptions& o) {
  ReadSnapshot snap(db_.db());
  const Position start = start_position(o.from_position, o.direction);
  Cursors cursors;
  for (const auto& name : names) {
    cursors.push_back(std::make_unique<IndexCursor>(db_, cf, snap.get(), name, o.direction));
    cursors.back()->seek(start);
  }
  ReadAllResult result;
  std::vector<Position> positions;
  const uint64_t count = clamp_count(o.max_count);
  RECKON_RETURN_IF_ERROR(intersect ? intersect_positions(cursors, count, o.direction, result, positions)
                                   : union_positions(cursors, count, o.direction, result, positions));
  RECKON_RETURN_IF_ERROR(fetch_events(snap.get(), positions, result.events));
  return result;
}

Result<ReadAllResult> EventReader::read_by_types(const std::vector<std::string>& types,
                                                 const IndexReadOptions& o) {
  RECKON_RETURN_IF_ERROR(check_names(types, "event type"));
  return read_index(Cf::kTypeIndex, types, /*intersect=*/false, o);
}

Result<ReadAllResult> EventReader::read_by_tags(const std::vector<std::string>& tags, TagMatch match,
                                                const IndexReadOptions& o) {
  RECKON_RETURN_IF_ERROR(check_names(tags, "tag"));
  return read_index(Cf::kTagIndex, tags, match == TagMatch::kAll, o);
}

Result<ListStreamsResult> EventReader::list_streams(const ListStreamsOptions& o) {
  ReadSnapshot snap(db_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(Cf::kStreams)));
  const uint64_t limit = clamp_count(o.limit);
  ListStreamsResult result;
  if (!o.after.empty() && o.after >= o.prefix) {
    it->Seek(o.after);
    if (it->Valid() && it->key().ToStringView() == o.after) it->Next();
  } else {
    it->Seek(o.prefix);
  }
  for (; it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (!key.starts_with(o.prefix)) break;
    StreamHead h;
    RECKON_RETURN_IF_ERROR(decode_head(it->value().ToStringView(), h));
    const bool live = h.state == StreamState::kLive && h.last_version >= 0;
    if (!live && !o.include_deleted) continue;
    if (result.streams.size() == limit) {
      result.next_after = result.streams.back().stream_id;
      break;
    }
    result.streams.push_back(
        StreamInfo{std::string(key), h.last_version, h.state, h.last_position, h.metadata});
  }
  RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "listing streams"));
  return result;
}

Result<Snapshot> EventReader::load_snapshot(const std::string& stream, std::optional<int64_t> version) {
  if (version && *version < 0) return Status::invalid_argument("snapshot version must be >= 0");
  std::string key, value;
  if (version) {
    key = name_key(stream, static_cast<uint64_t>(*version));
    auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kSnapshots), key, &value);
    if (s.IsNotFound()) {
      return Status::not_found("no snapshot of stream '" + stream + "' at version " +
                               std::to_string(*version));
    }
    RECKON_RETURN_IF_ERROR(from_rocks(s, "reading snapshot"));
  } else {
    const std::string lower = name_prefix(stream);
    rocksdb::Slice lower_slice(lower);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(Cf::kSnapshots)));
    it->SeekForPrev(name_key(stream, UINT64_MAX));
    RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "reading snapshot"));
    if (!it->Valid() || !it->key().ToStringView().starts_with(lower)) {
      return Status::not_found("no snapshot of stream '" + stream + "'");
    }
    key = it->key().ToString();
    value = it->value().ToString();
  }
  SnapshotRecord rec;
  RECKON_RETURN_IF_ERROR(decode_snapshot(value, rec));
  return Snapshot{stream, static_cast<int64_t>(name_key_suffix(key)), std::move(rec.data),
                  std::move(rec.metadata), rec.created_us};
}

Result<std::vector<Snapshot>> EventReader::list_snapshots(const std::string& stream) {
  const std::string lower = name_prefix(stream), upper = name_upper_bound(stream);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(Cf::kSnapshots)));
  std::vector<Snapshot> out;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    SnapshotRecord rec;
    RECKON_RETURN_IF_ERROR(decode_snapshot(it->value().ToStringView(), rec));
    out.push_back(Snapshot{stream, static_cast<int64_t>(name_key_suffix(it->key().ToStringView())),
                           std::move(rec.data), std::move(rec.metadata), rec.created_us});
  }
  RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "listing snapshots"));
  return out;
}

}  // namespace reckon::storage
