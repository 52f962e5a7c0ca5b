#include "storage/state_transfer.h"

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <memory>

#include "core/encoding.h"
#include "core/hash.h"
#include "storage/index_runs.h"
#include "storage/keys.h"

namespace reckon::storage {
namespace {

// Chunk layout (docs/CONSENSUS.md "Bulk catch-up"): format, kind, body, u64be hash64 of the
// bytes before it.
constexpr uint8_t kChunkFormat = 1;
constexpr uint64_t kChunkSeed = 0x7265636b6f6e5354ull;  // "reckonST"
enum ChunkKind : uint8_t { kHeader = 1, kEvents = 2, kEntries = 3, kEnd = 4 };

// Column families that cannot be derived from events, in the order they are sent.
constexpr std::array<Cf, 5> kStateCfs = {Cf::kDefault, Cf::kStreams, Cf::kSnapshots,
                                         Cf::kSubscriptions, Cf::kParked};

bool is_state_cf(uint8_t cf) {
  for (Cf c : kStateCfs)
    if (static_cast<uint8_t>(c) == cf) return true;
  return false;
}

// Default-CF keys that belong to the receiver, never to a transfer.
bool is_local_key(Cf cf, std::string_view key) {
  return cf == Cf::kDefault && (key == kStateKey || key == kCatchUpKey);
}

uint64_t chain(uint64_t previous, uint64_t chunk_hash) { return mix64(previous ^ chunk_hash); }

Status bad_chunk(const std::string& why) { return Status::corruption("state transfer: " + why); }

}  // namespace

// ---- Exporter ----

StateExporter::StateExporter(Database& db, Position after_position, size_t chunk_bytes)
    : db_(db),
      after_(after_position),
      chunk_bytes_(chunk_bytes == 0 ? 1 : chunk_bytes),
      snapshot_(db.db()->GetSnapshot()) {}

StateExporter::~StateExporter() { db_.db()->ReleaseSnapshot(snapshot_); }

std::string StateExporter::seal(std::string chunk) {
  const uint64_t h = hash64(chunk, kChunkSeed);
  enc::put_u64_be(chunk, h);
  chain_ = chain(chain_, h);
  return chunk;
}

Result<std::optional<std::string>> StateExporter::next() {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  ro.fill_cache = false;  // a bulk scan must not evict the working set
  std::string chunk;
  chunk.push_back(static_cast<char>(kChunkFormat));
  switch (phase_) {
    case Phase::kHeader: {
      std::string value;
      auto s = db_.db()->Get(ro, db_.cf(Cf::kDefault), kCatchUpKey, &value);
      if (s.ok())
        return Status::unavailable("this replica is catching up itself; ask another peer");
      if (!s.IsNotFound()) return from_rocks(s, "reading catch-up marker");
      s = db_.db()->Get(ro, db_.cf(Cf::kDefault), kStateKey, &value);
      if (!s.IsNotFound()) {
        RECKON_RETURN_IF_ERROR(from_rocks(s, "reading system state"));
        RECKON_RETURN_IF_ERROR(decode_state(value, state_));
      }
      chunk.push_back(static_cast<char>(kHeader));
      enc::put_varint(chunk, after_);
      encode_state(chunk, state_);
      next_position_ = after_ + 1;
      phase_ = Phase::kEvents;
      return std::optional<std::string>(seal(std::move(chunk)));
    }
    case Phase::kEvents: {
      if (next_position_ <= state_.last_position) {
        chunk.push_back(static_cast<char>(kEvents));
        enc::put_varint(chunk, next_position_);
        std::string body;
        uint64_t count = 0;
        std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(Cf::kEvents)));
        for (it->Seek(position_key(next_position_));
             it->Valid() && next_position_ <= state_.last_position && body.size() < chunk_bytes_;
             it->Next()) {
          auto key = it->key();
          if (key.size() != 8 || enc::load_u64_be(key.data()) != next_position_) {
            return Status::corruption("events are not contiguous at position " +
                                      std::to_string(next_position_));
          }
          enc::put_bytes(body, it->value().ToStringView());
          ++next_position_;
          ++count;
        }
        RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "scanning events"));
        if (count == 0)
          return Status::corruption("event " + std::to_string(next_position_) + " is missing");
        enc::put_varint(chunk, count);
        chunk += body;
        events_ += count;
        return std::optional<std::string>(seal(std::move(chunk)));
      }
      phase_ = Phase::kEntries;
      [[fallthrough]];
    }
    case Phase::kEntries: {
      while (cf_index_ < kStateCfs.size()) {
        const Cf cf = kStateCfs[cf_index_];
        std::string body;
        uint64_t count = 0;
        std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf(cf)));
        if (resume_set_) {
          it->Seek(resume_key_);
          if (it->Valid() && it->key().ToStringView() == resume_key_) it->Next();
        } else {
          it->SeekToFirst();
        }
        for (; it->Valid() && body.size() < chunk_bytes_; it->Next()) {
          if (is_local_key(cf, it->key().ToStringView())) continue;
          enc::put_bytes(body, it->key().ToStringView());
          enc::put_bytes(body, it->value().ToStringView());
          resume_key_.assign(it->key().data(), it->key().size());
          ++count;
        }
        RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "scanning state"));
        if (!it->Valid()) {  // this column family is done
          ++cf_index_;
          resume_set_ = false;
        } else {
          resume_set_ = true;
        }
        if (count == 0) continue;
        chunk.push_back(static_cast<char>(kEntries));
        chunk.push_back(static_cast<char>(cf));
        enc::put_varint(chunk, count);
        chunk += body;
        entries_ += count;
        return std::optional<std::string>(seal(std::move(chunk)));
      }
      phase_ = Phase::kEnd;
      [[fallthrough]];
    }
    case Phase::kEnd: {
      const uint64_t chain_before = chain_;
      chunk.push_back(static_cast<char>(kEnd));
      enc::put_varint(chunk, events_);
      enc::put_varint(chunk, entries_);
      enc::put_u64_be(chunk, chain_before);
      phase_ = Phase::kDone;
      return std::optional<std::string>(seal(std::move(chunk)));
    }
    case Phase::kDone:
      break;
  }
  return std::optional<std::string>();
}

// ---- Importer ----

Result<StateImporter> StateImporter::start(Database& db, uint64_t min_applied_index) {
  StateImporter im(db);
  im.min_applied_index_ = min_applied_index;
  // Events are dense (1..last) and every write keeps them so: the last key is where to resume.
  std::unique_ptr<rocksdb::Iterator> it(
      db.db()->NewIterator(rocksdb::ReadOptions(), db.cf(Cf::kEvents)));
  it->SeekToLast();
  if (it->Valid()) {
    if (it->key().size() != 8) return Status::corruption("bad event key");
    im.after_ = enc::load_u64_be(it->key().data());
  }
  RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "finding the last event"));
  return im;
}

Status StateImporter::accept(std::string_view chunk) {
  if (finished_) return Status::invalid_argument("state transfer: a chunk after the end");
  if (failed_) return Status::invalid_argument("state transfer: a chunk after a failure");
  Status s = [&]() -> Status {
    if (chunk.size() < 10) return bad_chunk("chunk too short");
    const std::string_view sealed = chunk.substr(0, chunk.size() - 8);
    const uint64_t h = enc::load_u64_be(chunk.data() + sealed.size());
    if (hash64(sealed, kChunkSeed) != h) return bad_chunk("chunk checksum mismatch");
    if (static_cast<uint8_t>(sealed[0]) != kChunkFormat) return bad_chunk("unknown chunk format");
    const uint8_t kind = static_cast<uint8_t>(sealed[1]);
    const std::string_view body = sealed.substr(2);
    if (kind != kHeader && !header_seen_) return bad_chunk("no header");
    Status st;
    switch (kind) {
      case kHeader:
        st = accept_header(body);
        break;
      case kEvents:
        st = accept_events(body);
        break;
      case kEntries:
        st = accept_entries(body);
        break;
      case kEnd:
        st = accept_end(body);
        break;
      default:
        return bad_chunk("unknown chunk kind " + std::to_string(kind));
    }
    chain_ = chain(chain_, h);
    return st;
  }();
  if (!s.is_ok()) failed_ = true;
  return s;
}

Status StateImporter::accept_header(std::string_view body) {
  if (header_seen_) return bad_chunk("second header");
  enc::ByteReader r(body);
  uint64_t after;
  if (!r.get_varint(after)) return bad_chunk("bad header");
  std::string_view rest;
  (void)r.get_raw(r.remaining(), rest);
  RECKON_RETURN_IF_ERROR(decode_state(rest, sender_));
  if (after != after_)
    return bad_chunk("the sender starts after " + std::to_string(after) + ", not " +
                     std::to_string(after_));
  if (sender_.applied_index < min_applied_index_) {
    return Status::unavailable("the peer has applied " + std::to_string(sender_.applied_index) +
                               " < " + std::to_string(min_applied_index_) + " needed");
  }
  if (sender_.last_position < after_) {
    // Events above its state would stay here unapplied: ask a peer that is further on.
    return Status::unavailable("the peer holds events up to " +
                               std::to_string(sender_.last_position) +
                               ", this replica already up to " + std::to_string(after_));
  }
  header_seen_ = true;
  next_position_ = after_ + 1;
  // Before anything else is written: from now on the store is not a state of the log until
  // the end chunk commits the sender's state.
  std::string marker;
  enc::put_varint(marker, sender_.applied_index);
  return from_rocks(
      db_->db()->Put(rocksdb::WriteOptions(), db_->cf(Cf::kDefault), kCatchUpKey, marker),
      "writing catch-up marker");
}

Status StateImporter::accept_events(std::string_view body) {
  if (cleared_) return bad_chunk("events after state entries");
  enc::ByteReader r(body);
  uint64_t first, count;
  if (!r.get_varint(first) || !r.get_varint(count)) return bad_chunk("bad events chunk");
  if (first != next_position_) {
    return bad_chunk("events start at " + std::to_string(first) + ", expected " +
                     std::to_string(next_position_));
  }
  if (count == 0 || first + count - 1 > sender_.last_position)
    return bad_chunk("events beyond the sender's state");
  rocksdb::WriteBatch batch;
  auto* cf_events = db_->cf(Cf::kEvents);
  auto* cf_stream_index = db_->cf(Cf::kStreamIndex);
  auto* cf_types = db_->cf(Cf::kTypeIndex);
  auto* cf_tags = db_->cf(Cf::kTagIndex);
  auto* cf_ids = db_->cf(Cf::kEventIds);
  // The index entries apply_append wrote (storage/index_runs.h), derived from the events
  // alone: per append part (an event without continues_part, then the events with it), one
  // stream-index entry and the type/tag runs within the part. A part begun before this chunk
  // (in an earlier chunk or an interrupted transfer) is continued: the entries already
  // written for it are rewritten, same keys, with the larger counts.
  NameRunWriter types, tags;
  struct Part {
    std::string_view stream;
    int64_t first_version = 0, last_version = 0;
    Position first_position = 0;
    uint64_t count = 0;
    bool open = false;
  } part;
  std::string key, value;
  auto flush_part = [&] {
    if (!part.open) return;
    set_name_key(key, part.stream, static_cast<uint64_t>(part.first_version));
    value.clear();
    encode_stream_run(value, part.first_position, part.count);
    batch.Put(cf_stream_index, key, value);
    types.flush(batch, cf_types);
    tags.flush(batch, cf_tags);
    part.open = false;
  };
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view record;
    if (!r.get_bytes(record)) return bad_chunk("truncated events chunk");
    EventView v;
    RECKON_RETURN_IF_ERROR(decode_event(record, v));
    const Position position = first + i;
    char pos_buf[8];
    store_u64_be(pos_buf, position);
    const rocksdb::Slice pos_key(pos_buf, 8);
    batch.Put(cf_events, pos_key, rocksdb::Slice(record.data(), record.size()));
    batch.Put(cf_ids, uuid_key(v.event_id), pos_key);
    if (!v.continues_part) {
      flush_part();
      part = Part{v.stream_id, v.version, v.version, position, 1, true};
    } else if (part.open) {
      if (v.stream_id != part.stream || v.version != part.last_version + 1)
        return bad_chunk("event " + std::to_string(position) + " does not continue its append part");
      part.last_version = v.version;
      ++part.count;
    } else {
      // The first event of this chunk continues a part whose entries are already written.
      int64_t first_version = 0;
      std::optional<PositionRun> run;
      RECKON_RETURN_IF_ERROR(find_stream_run(*db_, v.stream_id, v.version - 1, first_version, run));
      if (!run || first_version + static_cast<int64_t>(run->count) != v.version ||
          run->last() + 1 != position) {
        return bad_chunk("event " + std::to_string(position) +
                         " continues an append part that is not here");
      }
      part = Part{v.stream_id, first_version, v.version, run->first, run->count + 1, true};
      std::optional<PositionRun> name_run;
      RECKON_RETURN_IF_ERROR(find_name_run(*db_, Cf::kTypeIndex, v.event_type, position - 1, name_run));
      if (name_run) types.resume(v.event_type, *name_run);
      for (auto tag : v.tags) {
        RECKON_RETURN_IF_ERROR(find_name_run(*db_, Cf::kTagIndex, tag, position - 1, name_run));
        if (name_run) tags.resume(tag, *name_run);
      }
    }
    types.add(v.event_type, position);
    for (auto tag : v.tags) tags.add(tag, position);
  }
  flush_part();
  if (!r.empty()) return bad_chunk("trailing bytes in events chunk");
  RECKON_RETURN_IF_ERROR(
      from_rocks(db_->db()->Write(rocksdb::WriteOptions(), &batch), "writing events"));
  next_position_ += count;
  events_ += count;
  return Status::ok();
}

Status StateImporter::clear_state_cfs() {
  rocksdb::WriteBatch batch;
  for (Cf cf : kStateCfs) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db()->NewIterator(rocksdb::ReadOptions(), db_->cf(cf)));
    if (cf == Cf::kDefault) {  // a few keys: one by one, keeping the receiver's own
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (!is_local_key(cf, it->key().ToStringView())) batch.Delete(db_->cf(cf), it->key());
      }
    } else {
      it->SeekToFirst();
      if (it->Valid()) {
        const std::string first = it->key().ToString();
        it->SeekToLast();
        const std::string last = it->key().ToString();
        batch.DeleteRange(db_->cf(cf), first, last);  // [first, last)
        batch.Delete(db_->cf(cf), last);
      }
    }
    RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "scanning state to replace"));
  }
  RECKON_RETURN_IF_ERROR(
      from_rocks(db_->db()->Write(rocksdb::WriteOptions(), &batch), "clearing state"));
  cleared_ = true;
  return Status::ok();
}

Status StateImporter::accept_entries(std::string_view body) {
  if (next_position_ != sender_.last_position + 1)
    return bad_chunk("state entries before the last event");
  enc::ByteReader r(body);
  uint8_t cf_byte;
  uint64_t count;
  if (!r.get_u8(cf_byte) || !is_state_cf(cf_byte) || !r.get_varint(count))
    return bad_chunk("bad entries chunk");
  const Cf cf = static_cast<Cf>(cf_byte);
  rocksdb::WriteBatch batch;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key, value;
    if (!r.get_bytes(key) || !r.get_bytes(value)) return bad_chunk("truncated entries chunk");
    if (is_local_key(cf, key))
      return bad_chunk("a transfer cannot set the local key '" + std::string(key) + "'");
    batch.Put(db_->cf(cf), rocksdb::Slice(key.data(), key.size()),
              rocksdb::Slice(value.data(), value.size()));
  }
  if (!r.empty()) return bad_chunk("trailing bytes in entries chunk");
  if (!cleared_) RECKON_RETURN_IF_ERROR(clear_state_cfs());
  RECKON_RETURN_IF_ERROR(
      from_rocks(db_->db()->Write(rocksdb::WriteOptions(), &batch), "writing state"));
  entries_ += count;
  return Status::ok();
}

Status StateImporter::accept_end(std::string_view body) {
  enc::ByteReader r(body);
  uint64_t events, entries, sent_chain;
  if (!r.get_varint(events) || !r.get_varint(entries) || !r.get_u64_be(sent_chain) || !r.empty()) {
    return bad_chunk("bad end chunk");
  }
  if (next_position_ != sender_.last_position + 1)
    return bad_chunk("the transfer ended before the last event");
  if (events != events_ || entries != entries_ || sent_chain != chain_) {
    return bad_chunk("the transfer does not add up (chunks missing or out of order)");
  }
  if (!cleared_) RECKON_RETURN_IF_ERROR(clear_state_cfs());
  // The commit point: the sender's state, and the marker gone, in one synced write.
  rocksdb::WriteBatch batch;
  std::string value;
  encode_state(value, sender_);
  batch.Put(db_->cf(Cf::kDefault), kStateKey, value);
  batch.Delete(db_->cf(Cf::kDefault), kCatchUpKey);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RECKON_RETURN_IF_ERROR(from_rocks(db_->db()->Write(wo, &batch), "committing caught-up state"));
  finished_ = true;
  return Status::ok();
}

}  // namespace reckon::storage
