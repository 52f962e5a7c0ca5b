#include "storage/state_machine.h"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <memory>
#include <set>

#include "core/hash.h"
#include "core/validation.h"
#include "storage/index_runs.h"
#include "storage/keys.h"

namespace reckon::storage {
namespace {

// The version an expectation is compared against: -1 when the stream has no readable life.
int64_t current_version(const StreamHead& h) {
  return h.state == StreamState::kLive ? h.last_version : kNoVersion;
}

Status check_expectation(const std::string& stream, ExpectedVersion expected, const StreamHead& h) {
  const int64_t current = current_version(h);
  bool ok;
  switch (expected) {
    case kExpectAny: ok = true; break;
    case kExpectNoStream: ok = current == kNoVersion; break;
    case kExpectStreamExists: ok = current >= 0; break;
    default:
      // A soft-deleted stream continues after its old last version, so that version is the
      // exact expectation that admits the next append.
      ok = expected >= 0 && expected == h.last_version;
      break;
  }
  if (ok) return Status::ok();
  return Status::wrong_expected_version(stream, expected, current);
}

bool has_all_tags(const std::vector<std::string_view>& have, const std::vector<std::string>& want) {
  return std::all_of(want.begin(), want.end(), [&](const std::string& t) {
    return std::find(have.begin(), have.end(), t) != have.end();
  });
}

bool item_matches(const QueryItem& item, std::string_view type,
                  const std::vector<std::string_view>& tags) {
  if (!item.event_types.empty() &&
      std::find(item.event_types.begin(), item.event_types.end(), type) == item.event_types.end()) {
    return false;
  }
  return has_all_tags(tags, item.tags);
}

}  // namespace

StateMachine::StateMachine(Database& db, size_t head_cache_entries)
    : db_(db), heads_(head_cache_entries) {}

Status StateMachine::load() {
  std::string value;
  auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kDefault), kStateKey, &value);
  if (s.IsNotFound()) {
    state_ = SystemState{};
  } else {
    RECKON_RETURN_IF_ERROR(from_rocks(s, "reading system state"));
    RECKON_RETURN_IF_ERROR(decode_state(value, state_));
  }
  s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kDefault), kCatchUpKey, &value);
  if (!s.IsNotFound()) RECKON_RETURN_IF_ERROR(from_rocks(s, "reading catch-up marker"));
  catch_up_pending_ = s.ok();
  heads_.clear();
  RECKON_RETURN_IF_ERROR(load_id_floor());
  members_.clear();
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(rocksdb::ReadOptions(), db_.cf(Cf::kDefault)));
  for (it->Seek(kMemberKeyPrefix); it->Valid() && it->key().starts_with(kMemberKeyPrefix); it->Next()) {
    auto key = it->key();
    if (key.size() != kMemberKeyPrefix.size() + 8) return Status::corruption("bad member key");
    members_[enc::load_u64_be(key.data() + kMemberKeyPrefix.size())] = it->value().ToString();
  }
  return from_rocks(it->status(), "reading member directory");
}

Status StateMachine::mark_replicated(bool rebase_index) {
  SystemState next = state_;
  next.replicated = true;
  if (rebase_index) next.applied_index = 0;
  std::string value;
  encode_state(value, next);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RECKON_RETURN_IF_ERROR(
      from_rocks(db_.db()->Put(wo, db_.cf(Cf::kDefault), kStateKey, value), "marking store replicated"));
  state_ = next;
  return Status::ok();
}

Status StateMachine::sync() { return from_rocks(db_.db()->FlushWAL(true), "syncing the WAL"); }

ApplyBatch StateMachine::begin() const {
  ApplyBatch b;
  b.state_ = state_;
  return b;
}

ApplyBatch StateMachine::begin_after(const ApplyBatch& parent) const {
  ApplyBatch b;
  b.state_ = parent.state_;
  b.parent_ = &parent;
  return b;
}

Result<StreamHead> StateMachine::load_head(const std::string& stream, ApplyBatch& b) {
  if (auto it = b.heads_.find(stream); it != b.heads_.end()) return it->second;
  if (b.parent_ != nullptr) {
    if (auto it = b.parent_->heads_.find(stream); it != b.parent_->heads_.end()) return it->second;
  }
  if (const StreamHead* cached = heads_.find(stream)) return *cached;
  std::string value;
  auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kStreams), stream, &value);
  StreamHead head;
  if (!s.IsNotFound()) {
    RECKON_RETURN_IF_ERROR(from_rocks(s, "reading stream head"));
    RECKON_RETURN_IF_ERROR(decode_head(value, head));
  }
  heads_.put(stream, head);  // committed state: safe to cache
  return head;
}

Status StateMachine::load_id_floor() {
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(rocksdb::ReadOptions(), db_.cf(Cf::kEventIds)));
  it->SeekToLast();
  RECKON_RETURN_IF_ERROR(from_rocks(it->status(), "reading the largest event id"));
  if (!it->Valid()) {
    recent_ids_.reset(std::nullopt);
    return Status::ok();
  }
  if (it->key().size() != 16) return Status::corruption("event id index key has wrong size");
  Uuid largest;
  std::memcpy(largest.bytes.data(), it->key().data(), 16);
  recent_ids_.reset(largest);
  return Status::ok();
}

Result<std::optional<EventLocation>> StateMachine::find_event_id(const Uuid& id, ApplyBatch& b) {
  auto pending = [](const ApplyBatch::PendingId& p) {
    return std::optional<EventLocation>(
        EventLocation{p.position, std::string(p.stream_id), p.version, p.created_us});
  };
  // recent_ids_ holds every id staged (in this batch, its parent, or before) or stored: an
  // id it denies is nowhere.
  if (!recent_ids_.may_contain(id)) return std::optional<EventLocation>();
  if (auto it = b.ids_.find(id); it != b.ids_.end()) return pending(it->second);
  if (b.parent_ != nullptr) {
    if (auto it = b.parent_->ids_.find(id); it != b.parent_->ids_.end()) return pending(it->second);
  }
  std::string value;
  auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kEventIds), uuid_key(id), &value);
  if (s.IsNotFound()) return std::optional<EventLocation>();
  RECKON_RETURN_IF_ERROR(from_rocks(s, "reading event id index"));
  if (value.size() != 8) return Status::corruption("event id index entry has wrong size");
  EventLocation loc;
  loc.position = enc::load_u64_be(value.data());
  std::string record;
  s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kEvents), position_key(loc.position), &record);
  RECKON_RETURN_IF_ERROR(from_rocks(s, "reading event for id index"));
  EventView view;
  RECKON_RETURN_IF_ERROR(decode_event(record, view));
  loc.stream_id.assign(view.stream_id);
  loc.version = view.version;
  loc.created_us = view.created_us;
  return std::optional<EventLocation>(std::move(loc));
}

void StateMachine::stage_head(const std::string& stream, const StreamHead& head, ApplyBatch& b) {
  std::string value;
  encode_head(value, head);
  b.batch_.Put(db_.cf(Cf::kStreams), stream, value);
  b.heads_[stream] = head;
}

CommandResult StateMachine::apply(std::string_view command, uint64_t index, ApplyBatch& b) {
  // Every command consumes its index, whatever its outcome: replicas must agree on indexes.
  b.state_.applied_index = index;
  b.state_.digest = chain_digest(b.state_.digest, index, command);
  ++b.commands_;
  CommandResult result;
  DecodedCommand c;
  result.status = decode_command(command, c);
  if (!result.status.is_ok()) return result;
  switch (c.type) {
    case CommandType::kAppend:
      return apply_append(c, b);
    case CommandType::kDeleteStream:
    case CommandType::kTombstoneStream:
      result.status = apply_delete(c, b);
      break;
    case CommandType::kSetStreamMetadata:
    case CommandType::kTruncateBefore:
      result.status = apply_set_metadata(c, b);
      break;
    case CommandType::kSaveSnapshot:
    case CommandType::kDeleteSnapshots:
    case CommandType::kDeleteSnapshotAt:
      result.status = apply_snapshot(c, b);
      break;
    case CommandType::kSetMemberAddress:
      apply_member_address(c, b);
      break;
    case CommandType::kCreateSubscription:
      return apply_create_subscription(c, b);
    case CommandType::kDeleteSubscription:
      result.status = apply_delete_subscription(c, b);
      break;
    case CommandType::kCheckpointSubscriptions:
      result.status = apply_checkpoints(c, b);
      break;
    case CommandType::kParkEvents:
    case CommandType::kUnparkEvents:
      result.status = apply_park(c, b);
      break;
  }
  return result;
}

void StateMachine::apply_member_address(const DecodedCommand& c, ApplyBatch& b) {
  if (!b.members_) b.members_ = b.parent_ != nullptr && b.parent_->members_ ? *b.parent_->members_ : members_;
  if (c.member_address.empty()) {
    b.members_->erase(c.member_id);
    b.batch_.Delete(db_.cf(Cf::kDefault), member_key(c.member_id));
  } else {
    (*b.members_)[c.member_id] = std::string(c.member_address);
    b.batch_.Put(db_.cf(Cf::kDefault), member_key(c.member_id), c.member_address);
  }
}

CommandResult StateMachine::apply_append(DecodedCommand& c, ApplyBatch& b) {
  CommandResult result;
  auto fail = [&](Status s) {
    result.status = std::move(s);
    result.appends.clear();
    return result;
  };

  // ---- Phase 1: check everything; stage nothing. ----
  struct Plan {
    std::string stream;
    StreamHead head;
    bool replay = false;
    AppendResult replayed;
  };
  std::vector<Plan> plans(c.parts.size());
  std::set<std::string_view> streams;
  // Every id of the command so far (generated ones too), to refuse an id given twice.
  std::vector<Uuid>& ids_in_command = ids_scratch_;
  ids_in_command.clear();
  size_t replays = 0;
  for (size_t i = 0; i < c.parts.size(); ++i) {
    const AppendPartView& part = c.parts[i];
    Plan& plan = plans[i];
    plan.stream.assign(part.stream_id);
    if (part.events.empty()) return fail(Status::invalid_argument("append part without events"));
    if (!streams.insert(part.stream_id).second) {
      return fail(Status::invalid_argument("stream '" + plan.stream +
                                           "' appears twice in one multi-stream append"));
    }
    auto head = load_head(plan.stream, b);
    if (!head) return fail(head.status());
    plan.head = std::move(head).value();
    if (plan.head.state == StreamState::kTombstoned) return fail(Status::stream_deleted(plan.stream));

    for (const auto& e : part.events) ids_in_command.push_back(e.event_id);
    if (auto repeated = validation::first_repeated_id(ids_in_command, sorted_ids_scratch_)) {
      return fail(validation::duplicate_id_status(*repeated));
    }

    // Idempotency: look up client-supplied ids.
    std::vector<EventLocation> found;
    for (const auto& e : part.events) {
      if (!e.client_supplied_id) continue;
      auto loc = find_event_id(e.event_id, b);
      if (!loc) return fail(loc.status());
      if (*loc) found.push_back(std::move(**loc));
    }
    if (!found.empty()) {
      bool same_run = found.size() == part.events.size();
      for (size_t k = 0; same_run && k < found.size(); ++k) {
        same_run = found[k].stream_id == plan.stream && found[k].version == found[0].version + int64_t(k);
      }
      if (!same_run) {
        return fail(Status(ErrorCode::kIdempotencyConflict,
                           "some event ids of this append to '" + plan.stream +
                               "' already exist, but not as this same append (first: " +
                               found[0].stream_id + "@" + std::to_string(found[0].version) + ")"));
      }
      const int64_t v0 = found[0].version;
      const bool fits = part.expected == kExpectAny || part.expected == v0 - 1 ||
                        (part.expected == kExpectNoStream && (v0 == 0 || v0 == plan.head.deleted_before)) ||
                        (part.expected == kExpectStreamExists && v0 > 0);
      if (!fits) {
        return fail(Status::wrong_expected_version(plan.stream, part.expected,
                                                   current_version(plan.head)));
      }
      plan.replay = true;
      plan.replayed = AppendResult{plan.stream,          v0, found.back().version, found[0].position,
                                   found.back().position, found[0].created_us};
      ++replays;
      continue;
    }
    Status st = check_expectation(plan.stream, part.expected, plan.head);
    if (!st.is_ok()) return fail(std::move(st));
  }
  if (replays == plans.size()) {
    for (auto& p : plans) result.appends.push_back(std::move(p.replayed));
    return result;
  }
  if (replays > 0) {
    return fail(Status(ErrorCode::kIdempotencyConflict,
                       "a multi-stream append is partly a retry of an earlier append"));
  }
  if (c.condition) {
    Status st = check_condition(*c.condition, b);
    if (!st.is_ok()) return fail(std::move(st));
  }

  // ---- Phase 2: stage the writes. ----
  const int64_t created_us = std::max(c.proposed_us, b.state_.last_created_us);
  Position position = b.state_.last_position;
  std::string& record = record_scratch_;
  std::string& index_value = index_value_scratch_;
  std::string& key = key_scratch_;
  auto* cf_events = db_.cf(Cf::kEvents);
  auto* cf_stream_index = db_.cf(Cf::kStreamIndex);
  auto* cf_types = db_.cf(Cf::kTypeIndex);
  auto* cf_tags = db_.cf(Cf::kTagIndex);
  auto* cf_ids = db_.cf(Cf::kEventIds);
  NameRunWriter types, tags;  // one entry per run of consecutive positions of a type or tag in a part
  for (size_t i = 0; i < c.parts.size(); ++i) {
    const AppendPartView& part = c.parts[i];
    Plan& plan = plans[i];
    AppendResult r;
    r.stream_id = plan.stream;
    r.first_version = plan.head.last_version + 1;
    r.first_position = position + 1;
    r.created_us = created_us;
    int64_t version = plan.head.last_version;
    EventView view;
    view.stream_id = part.stream_id;
    view.created_us = created_us;
    view.continues_part = false;  // events 2..n continue the part (records.h)
    for (const auto& e : part.events) {
      ++position;
      ++version;
      view.event_id = e.event_id;
      view.event_type = e.event_type;
      view.version = version;
      view.data = e.data;
      view.data_content_type = e.data_content_type;
      view.metadata = e.metadata;
      view.metadata_content_type = e.metadata_content_type;
      view.tags = e.tags;
      record.clear();
      encode_event(record, view);
      char pos_buf[8];
      store_u64_be(pos_buf, position);
      const rocksdb::Slice pos_key(pos_buf, 8);
      b.batch_.Put(cf_events, pos_key, record);
      types.add(e.event_type, position);
      for (auto tag : e.tags) tags.add(tag, position);
      b.batch_.Put(cf_ids, uuid_key(e.event_id), pos_key);
      // Later commands of this batch can only name ids a client chose (generated ids are not
      // known to anyone before the commit), so only those need the in-batch lookup.
      if (e.client_supplied_id) b.ids_[e.event_id] = {position, part.stream_id, version, created_us};
      recent_ids_.add(e.event_id);
      b.events_.push_back({position, e.event_type, e.tags});
      view.continues_part = true;
    }
    // One stream-index entry for the part's run of versions (storage/index_runs.h).
    set_name_key(key, part.stream_id, static_cast<uint64_t>(r.first_version));
    index_value.clear();
    encode_stream_run(index_value, r.first_position, part.events.size());
    b.batch_.Put(cf_stream_index, key, index_value);
    // Runs end with the part, so that a bulk catch-up can rebuild them from the events alone.
    types.flush(b.batch_, cf_types);
    tags.flush(b.batch_, cf_tags);
    plan.head.last_version = version;
    plan.head.last_position = position;
    if (plan.head.state == StreamState::kSoftDeleted) plan.head.state = StreamState::kLive;
    stage_head(plan.stream, plan.head, b);
    r.last_version = version;
    r.position = position;
    result.appends.push_back(std::move(r));
  }
  b.state_.last_position = position;
  b.state_.last_created_us = created_us;
  return result;
}

Status StateMachine::check_condition(const AppendCondition& cond, ApplyBatch& b) {
  const Position after = cond.after_position;
  auto failed = [&](Position p) {
    return Status(ErrorCode::kConditionFailed,
                  "an event matching the append condition exists at position " + std::to_string(p) +
                      " (after " + std::to_string(after) + ")");
  };
  for (const auto& item : cond.items) {
    // The lowest matching position after `after`, wherever it is: in RocksDB, in the parent
    // batch being written, or staged earlier in this batch. Replicas fold commands into batches
    // (and pipeline their writes) differently, and neither the verdict nor the position it
    // names may depend on that. RocksDB may already hold a parent's events, but every event it
    // holds is one of the log's, so the lowest of all candidates is the same everywhere.
    Position found = 0;
    auto consider = [&found](Position p) {
      if (found == 0 || p < found) found = p;
    };
    const Position committed_last = state_.last_position;
    if (committed_last > after && item.event_types.empty() && item.tags.empty()) {
      consider(after + 1);
    } else if (committed_last > after && !item.tags.empty()) {
      // The tag index is usually the more selective; verify type and other tags per event.
      IndexCursor cursor(db_, Cf::kTagIndex, nullptr, item.tags[0], Direction::kForward);
      for (cursor.seek(after + 1); cursor.valid(); cursor.advance()) {
        const Position p = cursor.position();
        std::string record;
        RECKON_RETURN_IF_ERROR(from_rocks(
            db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kEvents), position_key(p), &record),
            "reading event for condition"));
        EventView v;
        RECKON_RETURN_IF_ERROR(decode_event(record, v));
        if (item_matches(item, v.event_type, v.tags)) {
          consider(p);
          break;
        }
      }
      RECKON_RETURN_IF_ERROR(cursor.status());
    } else if (committed_last > after) {
      for (const auto& type : item.event_types) {
        IndexCursor cursor(db_, Cf::kTypeIndex, nullptr, type, Direction::kForward);
        cursor.seek(after + 1);
        if (cursor.valid()) consider(cursor.position());
        RECKON_RETURN_IF_ERROR(cursor.status());
      }
    }
    for (const ApplyBatch* staged = &b; staged != nullptr; staged = staged->parent_) {
      for (const auto& pe : staged->events_) {
        if (pe.position > after && item_matches(item, pe.event_type, pe.tags)) {
          consider(pe.position);
          break;  // a batch's events are in position order
        }
      }
    }
    if (found != 0) return failed(found);
  }
  return Status::ok();
}

Status StateMachine::apply_delete(const DecodedCommand& c, ApplyBatch& b) {
  const std::string stream(c.stream_id);
  RECKON_ASSIGN_OR_RETURN(StreamHead head, load_head(stream, b));
  if (head.state == StreamState::kTombstoned) return Status::stream_deleted(stream);
  RECKON_RETURN_IF_ERROR(check_expectation(stream, c.expected, head));
  if (c.type == CommandType::kTombstoneStream) {
    head.state = StreamState::kTombstoned;
    head.deleted_before = head.last_version + 1;
  } else {
    if (head.state == StreamState::kSoftDeleted || head.last_version < 0) return Status::ok();
    head.state = StreamState::kSoftDeleted;
    head.deleted_before = head.last_version + 1;
  }
  stage_head(stream, head, b);
  return Status::ok();
}

Status StateMachine::apply_set_metadata(const DecodedCommand& c, ApplyBatch& b) {
  const std::string stream(c.stream_id);
  RECKON_ASSIGN_OR_RETURN(StreamHead head, load_head(stream, b));
  if (head.state == StreamState::kTombstoned) return Status::stream_deleted(stream);
  if (c.type == CommandType::kTruncateBefore) {
    if (c.version < 0) return Status::invalid_argument("truncate_before needs a version >= 0");
    head.metadata.truncate_before = c.version;
  } else {
    head.metadata = c.metadata;
  }
  stage_head(stream, head, b);
  return Status::ok();
}

Status StateMachine::apply_snapshot(const DecodedCommand& c, ApplyBatch& b) {
  auto* cf = db_.cf(Cf::kSnapshots);
  switch (c.type) {
    case CommandType::kSaveSnapshot: {
      if (c.version < 0) return Status::invalid_argument("snapshot version must be >= 0");
      SnapshotRecord rec{std::string(c.snapshot_data), std::string(c.snapshot_metadata), c.proposed_us};
      std::string value;
      encode_snapshot(value, rec);
      b.batch_.Put(cf, name_key(c.stream_id, static_cast<uint64_t>(c.version)), value);
      break;
    }
    case CommandType::kDeleteSnapshots:
      b.batch_.DeleteRange(cf, name_prefix(c.stream_id), name_upper_bound(c.stream_id));
      break;
    case CommandType::kDeleteSnapshotAt:
      if (c.version < 0) return Status::invalid_argument("snapshot version must be >= 0");
      b.batch_.Delete(cf, name_key(c.stream_id, static_cast<uint64_t>(c.version)));
      break;
    default:
      return Status::internal("not a snapshot command");
  }
  return Status::ok();
}

Status StateMachine::commit(ApplyBatch& b, bool sync) {
  RECKON_RETURN_IF_ERROR(write(b, sync));
  publish(b, nullptr);
  return Status::ok();
}

Status StateMachine::write(ApplyBatch& b, bool sync) const {
  if (b.commands_ == 0) return Status::ok();
  std::string value;
  encode_state(value, b.state_);
  b.batch_.Put(db_.cf(Cf::kDefault), kStateKey, value);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return from_rocks(db_.db()->Write(wo, &b.batch_), "committing write batch");
}

void StateMachine::publish(ApplyBatch& b, ApplyBatch* child) {
  if (child != nullptr && child->parent_ == &b) {
    // The child staged its member directory from ours; everything else it reads falls through
    // to the caches and RocksDB, which hold this batch from now on.
    child->parent_ = nullptr;
  }
  if (b.commands_ == 0) return;
  state_ = b.state_;
  if (b.members_) members_ = std::move(*b.members_);
  for (auto& [stream, head] : b.heads_) heads_.put(stream, head);
}

}  // namespace reckon::storage
