#include "storage/index_runs.h"

#include <algorithm>

#include "core/encoding.h"

namespace reckon::storage {

void encode_stream_run(std::string& out, Position first_position, uint64_t count) {
  enc::put_u64_be(out, first_position);
  if (count > 1) enc::put_varint(out, count);
}

Status decode_stream_run(std::string_view value, PositionRun& run) {
  enc::ByteReader r(value);
  run.count = 1;
  if (!r.get_u64_be(run.first)) return Status::corruption("stream index entry is too short");
  if (!r.empty() && (!r.get_varint(run.count) || run.count < 2 || !r.empty())) {
    return Status::corruption("stream index entry has a bad run length");
  }
  return Status::ok();
}

Status decode_name_run_count(std::string_view value, uint64_t& count) {
  count = 1;
  if (value.empty()) return Status::ok();
  enc::ByteReader r(value);
  if (!r.get_varint(count) || count < 2 || !r.empty()) {
    return Status::corruption("index entry has a bad run length");
  }
  return Status::ok();
}

void NameRunWriter::add(std::string_view name, Position p) {
  auto it = std::find_if(open_.begin(), open_.end(), [&](const Run& r) { return r.name == name; });
  if (it == open_.end()) {
    open_.push_back({name, {p, 1}});
  } else if (it->positions.last() + 1 == p) {
    ++it->positions.count;
  } else if (it->positions.last() >= p) {
    // Already covered (a tag named twice in one event).
  } else {
    closed_.push_back(*it);
    it->positions = {p, 1};
  }
}

void NameRunWriter::resume(std::string_view name, PositionRun run) {
  auto it = std::find_if(open_.begin(), open_.end(), [&](const Run& r) { return r.name == name; });
  if (it == open_.end()) {
    open_.push_back({name, run});
  } else if (it->positions.first != run.first) {
    closed_.push_back(*it);
    it->positions = run;
  }
}

void NameRunWriter::stage(const Run& run, rocksdb::WriteBatch& batch,
                          rocksdb::ColumnFamilyHandle* cf) {
  set_name_key(key_, run.name, run.positions.first);
  value_.clear();
  if (run.positions.count > 1) enc::put_varint(value_, run.positions.count);
  batch.Put(cf, key_, value_);
}

void NameRunWriter::flush(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf) {
  for (const Run& run : closed_) stage(run, batch, cf);
  for (const Run& run : open_) stage(run, batch, cf);
  closed_.clear();
  open_.clear();
}

Status find_name_run(Database& db, Cf cf, std::string_view name, Position p,
                     std::optional<PositionRun>& run) {
  run.reset();
  const std::string lower = name_prefix(name);
  const rocksdb::Slice lower_slice(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(ro, db.cf(cf)));
  it->SeekForPrev(name_key(name, p));
  if (it->Valid() && it->key().size() == lower.size() + 8 && it->key().starts_with(lower_slice)) {
    PositionRun found;
    found.first = name_key_suffix(it->key().ToStringView());
    RECKON_RETURN_IF_ERROR(decode_name_run_count(it->value().ToStringView(), found.count));
    if (found.last() >= p) run = found;
  }
  return from_rocks(it->status(), "reading index");
}

Status find_stream_run(Database& db, std::string_view stream, int64_t version,
                       int64_t& first_version, std::optional<PositionRun>& run) {
  run.reset();
  if (version < 0) return Status::ok();
  const std::string lower = name_prefix(stream);
  const rocksdb::Slice lower_slice(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(ro, db.cf(Cf::kStreamIndex)));
  it->SeekForPrev(name_key(stream, static_cast<uint64_t>(version)));
  if (it->Valid() && it->key().size() == lower.size() + 8 && it->key().starts_with(lower_slice)) {
    PositionRun found;
    RECKON_RETURN_IF_ERROR(decode_stream_run(it->value().ToStringView(), found));
    const int64_t first = static_cast<int64_t>(name_key_suffix(it->key().ToStringView()));
    if (first + static_cast<int64_t>(found.count) > version) {
      first_version = first;
      run = found;
    }
  }
  return from_rocks(it->status(), "reading stream index");
}

IndexCursor::IndexCursor(Database& db, Cf cf, const rocksdb::Snapshot* snap, std::string_view name,
                         Direction dir)
    : name_(name), lower_(name_prefix(name)), upper_(name_upper_bound(name)), dir_(dir) {
  lower_slice_ = rocksdb::Slice(lower_);
  upper_slice_ = rocksdb::Slice(upper_);
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  ro.iterate_lower_bound = &lower_slice_;
  ro.iterate_upper_bound = &upper_slice_;
  it_.reset(db.db()->NewIterator(ro, db.cf(cf)));
}

bool IndexCursor::load_run() {
  run_.first = name_key_suffix(it_->key().ToStringView());
  status_ = decode_name_run_count(it_->value().ToStringView(), run_.count);
  return status_.is_ok();
}

void IndexCursor::seek(Position p) {
  // The entry holding p, if any, starts at or before p.
  it_->SeekForPrev(name_key(name_, p));
  if (dir_ == Direction::kBackward) {
    if (it_->Valid() && load_run()) current_ = std::min(p, run_.last());
    return;
  }
  if (it_->Valid() && load_run() && run_.last() >= p) {
    current_ = p;
    return;
  }
  if (!status_.is_ok()) return;
  it_->Seek(name_key(name_, p));
  if (it_->Valid() && load_run()) current_ = run_.first;
}

void IndexCursor::advance() {
  if (dir_ == Direction::kForward) {
    if (current_ < run_.last()) {
      ++current_;
      return;
    }
    it_->Next();
    if (it_->Valid() && load_run()) current_ = run_.first;
  } else {
    if (current_ > run_.first) {
      --current_;
      return;
    }
    it_->Prev();
    if (it_->Valid() && load_run()) current_ = run_.last();
  }
}

Status IndexCursor::status() const {
  RECKON_RETURN_IF_ERROR(status_);
  return from_rocks(it_->status(), "reading index");
}

}  // namespace reckon::storage
