// EmbeddedStore: reckon::Store on one process. Validates input on the caller's thread, encodes
// a command, and hands it to a CommandLog — the local CommitQueue (group commit into the state
// machine) or a ReplicatedLog (a Raft group) — which applies it; reads go to the EventReader.
#include <algorithm>
#include <set>

#include "core/validation.h"
#include "reckon/clock.h"
#include "reckon/store.h"
#include "storage/command.h"
#include "storage/database.h"
#include "storage/event_reader.h"
#include "storage/state_machine.h"
#include "storage/subscription_reader.h"
#include "store/commit_notifier.h"
#include "store/commit_queue.h"
#include "store/replicated_log.h"
#include "subscriptions/selector.h"
#include "subscriptions/subscription_key.h"

namespace reckon {
namespace {

using storage::CommandResult;

class EmbeddedStore final : public LocalStore {
 public:
  EmbeddedStore(StoreOptions options, std::unique_ptr<storage::Database> db)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : system_clock()),
        db_(std::move(db)),
        machine_(*db_, options_.stream_head_cache_entries),
        reader_(*db_, options_.limits),
        subscriptions_(*db_) {}

  ~EmbeddedStore() override {
    if (log_) log_->close();
    if (notifier_) notifier_->close();
  }

  Status init() {
    RECKON_RETURN_IF_ERROR(machine_.load());
    notifier_ = std::make_unique<store::CommitNotifier>(machine_.committed().last_position);
    auto published = [this](Position last) { notifier_->published(last); };
    if (options_.replication) {
      ReplicationOptions r = *options_.replication;
      if (r.max_command_bytes == 0) r.max_command_bytes = max_command_bytes();
      RECKON_ASSIGN_OR_RETURN(replicated_, store::ReplicatedLog::open(machine_, options_.data_dir, r, published));
      log_ = replicated_;
      return Status::ok();
    }
    if (machine_.committed().replicated) {
      return Status::invalid_argument("the store in " + options_.data_dir +
                                      " is replicated (written through Raft): open it with "
                                      "replication options, e.g. through reckond");
    }
    auto queue = std::make_shared<store::CommitQueue>(machine_, options_.sync_writes,
                                                      options_.max_commands_per_commit);
    queue->on_commit(published);
    log_ = std::move(queue);
    return Status::ok();
  }

  Replication* replication() override { return replicated_.get(); }

  // ---- Live tail ----
  uint64_t wait_for_position(Position after, std::chrono::milliseconds timeout,
                             std::function<void(WaitOutcome)> done) override {
    return notifier_->wait(after, timeout, std::move(done));
  }
  void cancel_wait(uint64_t id) override { notifier_->cancel(id); }
  Position last_position() override {
    (void)readable();  // a fail-stopped replica still reports what it published
    return notifier_->last_position();
  }
  Result<ReadAllResult> read_all_refs(const ReadAllOptions& o,
                                      const std::function<bool(const EventRef&)>& visitor) override {
    RECKON_RETURN_IF_ERROR(readable());
    return reader_.read_all_refs(o, visitor);
  }
  void stop_tails() override { notifier_->close(); }

  // ---- Appends ----
  Result<AppendResult> append(const std::string& stream_id, ExpectedVersion expected,
                              std::vector<NewEvent> events) override {
    std::vector<StreamAppend> parts;
    parts.push_back(StreamAppend{stream_id, expected, std::move(events)});
    RECKON_ASSIGN_OR_RETURN(auto results, append_parts(std::move(parts), std::nullopt));
    return std::move(results.front());
  }

  Result<std::vector<AppendResult>> append_multi(std::vector<StreamAppend> appends,
                                                 std::optional<AppendCondition> condition) override {
    return append_parts(std::move(appends), std::move(condition));
  }

  void append_multi_async(std::vector<StreamAppend> appends, std::optional<AppendCondition> condition,
                          AppendCallback done) override {
    auto command = encode_append(appends, condition);
    if (!command) return done(command.status());
    log_->submit_async(std::move(command).value(), [done = std::move(done)](CommandResult r) {
      if (!r.status.is_ok()) return done(std::move(r.status));
      done(std::move(r.appends));
    });
  }

  Result<AppendResult> append_if(const std::string& stream_id, ExpectedVersion expected,
                                 std::vector<NewEvent> events, AppendCondition condition) override {
    std::vector<StreamAppend> parts;
    parts.push_back(StreamAppend{stream_id, expected, std::move(events)});
    RECKON_ASSIGN_OR_RETURN(auto results, append_parts(std::move(parts), std::move(condition)));
    return std::move(results.front());
  }

  // ---- Reads ----
  // Every read starts here: it then sees every command answered before it began (a replicated
  // store answers before its background write lands; ReplicaStateMachine::await_readable).
  Status readable() const { return log_->await_readable(); }
  Result<ReadStreamResult> read(const std::string& stream_id, const ReadStreamOptions& o) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    return reader_.read_stream(stream_id, o, clock_->now_us());
  }
  Result<ReadAllResult> read_all(const ReadAllOptions& o) override {
    RECKON_RETURN_IF_ERROR(readable());
    return reader_.read_all(o);
  }
  Result<ReadAllResult> read_by_event_types(const std::vector<std::string>& types,
                                            const IndexReadOptions& o) override {
    RECKON_RETURN_IF_ERROR(readable());
    return reader_.read_by_types(types, o);
  }
  Result<ReadAllResult> read_by_tags(const std::vector<std::string>& tags, TagMatch match,
                                     const IndexReadOptions& o) override {
    RECKON_RETURN_IF_ERROR(readable());
    return reader_.read_by_tags(tags, match, o);
  }
  Status scan_all(Position from, const std::function<bool(const Event&)>& visitor) override {
    RECKON_RETURN_IF_ERROR(readable());
    return reader_.scan_all(from, visitor);
  }

  // ---- Stream state ----
  Result<int64_t> get_version(const std::string& stream_id) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    RECKON_ASSIGN_OR_RETURN(auto head, reader_.head(stream_id));
    if (!head || head->state != StreamState::kLive) return kNoVersion;
    return head->last_version;
  }
  Result<bool> exists(const std::string& stream_id) override {
    RECKON_ASSIGN_OR_RETURN(int64_t v, get_version(stream_id));
    return v >= 0;
  }
  Result<StreamInfo> stream_info(const std::string& stream_id) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    RECKON_ASSIGN_OR_RETURN(auto head, reader_.head(stream_id));
    if (!head) return Status::stream_not_found(stream_id);
    return StreamInfo{stream_id, head->last_version, head->state, head->last_position, head->metadata};
  }
  Result<ListStreamsResult> list_streams(const ListStreamsOptions& o) override {
    RECKON_RETURN_IF_ERROR(readable());
    return reader_.list_streams(o);
  }

  Status delete_stream(const std::string& stream_id, ExpectedVersion expected) override {
    return delete_command(storage::CommandType::kDeleteStream, stream_id, expected);
  }
  Status tombstone_stream(const std::string& stream_id, ExpectedVersion expected) override {
    return delete_command(storage::CommandType::kTombstoneStream, stream_id, expected);
  }
  Status truncate_before(const std::string& stream_id, int64_t before_version) override {
    RECKON_RETURN_IF_ERROR(validation::check_user_stream(stream_id, options_.limits));
    if (before_version < 0) return Status::invalid_argument("truncate_before needs a version >= 0");
    return submit(storage::encode_truncate_command(stream_id, before_version)).status;
  }
  Status set_stream_metadata(const std::string& stream_id, const StreamMetadata& metadata) override {
    RECKON_RETURN_IF_ERROR(validation::check_user_stream(stream_id, options_.limits));
    RECKON_RETURN_IF_ERROR(validation::check_stream_metadata(metadata));
    return submit(storage::encode_set_metadata_command(stream_id, metadata)).status;
  }
  Result<StreamMetadata> get_stream_metadata(const std::string& stream_id) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    RECKON_ASSIGN_OR_RETURN(auto head, reader_.head(stream_id));
    if (!head) return StreamMetadata{};
    return head->metadata;
  }

  // ---- Snapshots ----
  Status save_snapshot(const Snapshot& s) override {
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(s.stream_id, options_.limits));
    if (s.version < 0) return Status::invalid_argument("snapshot version must be >= 0");
    if (s.data.size() + s.metadata.size() > options_.limits.max_append_bytes) {
      return Status::limit_exceeded("snapshot is larger than max_append_bytes (" +
                                    std::to_string(options_.limits.max_append_bytes) + ")");
    }
    return submit(storage::encode_save_snapshot_command(clock_->now_us(), s)).status;
  }
  Result<Snapshot> load_snapshot(const std::string& stream_id) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    return reader_.load_snapshot(stream_id, std::nullopt);
  }
  Result<Snapshot> load_snapshot_at(const std::string& stream_id, int64_t version) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    return reader_.load_snapshot(stream_id, version);
  }
  Result<std::vector<Snapshot>> list_snapshots(const std::string& stream_id) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    return reader_.list_snapshots(stream_id);
  }
  Status delete_snapshots(const std::string& stream_id) override {
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    return submit(storage::encode_delete_snapshots_command(stream_id)).status;
  }
  Status delete_snapshot_at(const std::string& stream_id, int64_t version) override {
    RECKON_RETURN_IF_ERROR(validation::check_stream_name(stream_id, options_.limits));
    if (version < 0) return Status::invalid_argument("snapshot version must be >= 0");
    return submit(storage::encode_delete_snapshot_at_command(stream_id, version)).status;
  }
  Result<bool> snapshot_exists(const std::string& stream_id) override {
    return exists_or_not_found(load_snapshot(stream_id));
  }
  Result<bool> snapshot_exists_at(const std::string& stream_id, int64_t version) override {
    return exists_or_not_found(load_snapshot_at(stream_id, version));
  }

  // ---- Persistent subscriptions ----
  Result<Subscription> create_subscription(const NewSubscription& n) override {
    RECKON_RETURN_IF_ERROR(subscriptions::check_subscription_name(n.name));
    RECKON_ASSIGN_OR_RETURN(auto selector, subscriptions::parse_selector(n.type, n.selector));
    if (n.pool_size < 1 || n.pool_size > kMaxSubscriptionPoolSize) {
      return Status::invalid_argument("pool_size must be between 1 and " + std::to_string(kMaxSubscriptionPoolSize));
    }
    if (n.options.strategy > DeliveryStrategy::kPinned) return Status::invalid_argument("unknown delivery strategy");
    if (n.options.max_in_flight < 1) return Status::invalid_argument("max_in_flight must be at least 1");
    if (n.options.message_timeout_ms < 1) return Status::invalid_argument("message_timeout_ms must be at least 1");
    Subscription s;
    s.type = n.type;
    s.selector = std::move(selector.canonical);
    s.name = n.name;
    s.key = subscriptions::subscription_key(s.type, s.selector, s.name);
    s.pool_size = n.pool_size;
    s.start_from = n.start_from;
    s.options = n.options;
    CommandResult r = submit(storage::encode_create_subscription_command(clock_->now_us(), s));
    if (!r.status.is_ok()) return r.status;
    if (!r.subscription) return Status::internal("create_subscription applied without a record");
    return std::move(*r.subscription);
  }
  Status delete_subscription(const std::string& key) override {
    RECKON_RETURN_IF_ERROR(check_subscription_key(key));
    return submit(storage::encode_delete_subscription_command(key)).status;
  }
  Status delete_subscription(SubscriptionType type, const std::string& name) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_ASSIGN_OR_RETURN(auto all, subscriptions_.list());
    std::vector<std::string> keys;
    for (const auto& s : all)
      if (s.type == type && s.name == name) keys.push_back(s.key);
    if (keys.empty()) {
      return Status::not_found("no " + std::string(subscription_type_name(type)) + " subscription named '" + name + "'");
    }
    if (keys.size() > 1) {
      return Status::invalid_argument(std::to_string(keys.size()) + " " + std::string(subscription_type_name(type)) +
                                      " subscriptions are named '" + name + "'; delete one by key");
    }
    return delete_subscription(keys.front());
  }
  Result<Subscription> get_subscription(const std::string& key) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(check_subscription_key(key));
    RECKON_ASSIGN_OR_RETURN(auto s, subscriptions_.get(key));
    if (!s) return Status::not_found("subscription '" + key + "' not found");
    return std::move(*s);
  }
  Result<std::vector<Subscription>> list_subscriptions() override {
    RECKON_RETURN_IF_ERROR(readable());
    return subscriptions_.list();
  }
  Result<bool> subscription_exists(const std::string& key) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(check_subscription_key(key));
    RECKON_ASSIGN_OR_RETURN(auto s, subscriptions_.get(key));
    return s.has_value();
  }
  Status checkpoint_subscriptions(const std::vector<SubscriptionCheckpoint>& checkpoints) override {
    if (checkpoints.empty()) return Status::ok();
    if (checkpoints.size() > kMaxSubscriptionBatch) {
      return Status::limit_exceeded("at most " + std::to_string(kMaxSubscriptionBatch) + " checkpoints per call");
    }
    for (const auto& cp : checkpoints) RECKON_RETURN_IF_ERROR(check_subscription_key(cp.key));
    return submit(storage::encode_checkpoint_command(checkpoints)).status;
  }
  Status park_events(const std::string& key, const std::vector<ParkedEvent>& events) override {
    RECKON_RETURN_IF_ERROR(check_subscription_key(key));
    if (events.size() > kMaxSubscriptionBatch) {
      return Status::limit_exceeded("at most " + std::to_string(kMaxSubscriptionBatch) + " parked events per call");
    }
    for (const auto& e : events) {
      if (e.position == 0) return Status::invalid_argument("parked events need a position >= 1");
      if (e.reason.size() > kMaxParkReasonBytes) {
        return Status::limit_exceeded("a park reason is at most " + std::to_string(kMaxParkReasonBytes) + " bytes");
      }
    }
    if (events.empty()) return Status::ok();
    return submit(storage::encode_park_command(clock_->now_us(), key, events)).status;
  }
  Result<std::vector<ParkedEvent>> list_parked(const std::string& key, const ListParkedOptions& o) override {
    RECKON_RETURN_IF_ERROR(readable());
    RECKON_RETURN_IF_ERROR(check_subscription_key(key));
    ListParkedOptions clamped = o;
    clamped.limit = std::min<uint64_t>(o.limit, options_.limits.max_read_count);
    return subscriptions_.list_parked(key, clamped);
  }
  Status unpark(const std::string& key, const std::vector<Position>& positions) override {
    RECKON_RETURN_IF_ERROR(check_subscription_key(key));
    if (positions.size() > kMaxSubscriptionBatch) {
      return Status::limit_exceeded("at most " + std::to_string(kMaxSubscriptionBatch) + " positions per call");
    }
    if (positions.empty()) return Status::ok();
    return submit(storage::encode_unpark_command(key, positions)).status;
  }

  // ---- Operations ----
  StoreStats stats() override {
    StoreStats s;
    const auto& st = machine_.committed();  // racy read of plain integers: for display only
    s.applied_index = st.applied_index;
    s.last_position = st.last_position;
    s.digest = st.digest;
    s.commits = log_->commits();
    s.commands = log_->commands();
    auto* db = db_->db();
    uint64_t v = 0;
    for (int i = 0; i < static_cast<int>(storage::Cf::kCount); ++i) {
      auto* cf = db_->cf(static_cast<storage::Cf>(i));
      if (db->GetIntProperty(cf, "rocksdb.estimate-live-data-size", &v)) s.live_data_bytes += v;
      if (db->GetIntProperty(cf, "rocksdb.total-sst-files-size", &v)) s.sst_bytes += v;
      if (db->GetIntProperty(cf, "rocksdb.cur-size-all-mem-tables", &v)) s.memtable_bytes += v;
    }
    s.block_cache_bytes = db_->block_cache_usage();
    return s;
  }

 private:
  CommandResult submit(std::string command) { return log_->submit(std::move(command)); }

  static constexpr size_t kMaxSubscriptionBatch = 10'000;
  static constexpr size_t kMaxParkReasonBytes = 4096;

  static Status check_subscription_key(const std::string& key) {
    if (subscriptions::is_subscription_key(key)) return Status::ok();
    return Status::invalid_argument("'" + key.substr(0, 64) + "' is not a subscription key (32 lowercase hex digits)");
  }

  static Result<bool> exists_or_not_found(const Result<Snapshot>& r) {
    if (r) return true;
    if (r.code() == ErrorCode::kNotFound) return false;
    return r.status();
  }

  Status delete_command(storage::CommandType type, const std::string& stream_id,
                        ExpectedVersion expected) {
    RECKON_RETURN_IF_ERROR(validation::check_user_stream(stream_id, options_.limits));
    RECKON_RETURN_IF_ERROR(validation::check_expected_version(expected));
    return submit(storage::encode_delete_command(type, stream_id, expected)).status;
  }

  Result<std::vector<AppendResult>> append_parts(std::vector<StreamAppend> parts,
                                                 std::optional<AppendCondition> condition) {
    RECKON_ASSIGN_OR_RETURN(std::string command, encode_append(parts, condition));
    CommandResult r = submit(std::move(command));
    if (!r.status.is_ok()) return r.status;
    return std::move(r.appends);
  }

  // Validates an append and encodes its command (filling generated event ids).
  Result<std::string> encode_append(std::vector<StreamAppend>& parts,
                                    const std::optional<AppendCondition>& condition) {
    if (parts.empty()) return Status::invalid_argument("an append needs at least one stream");
    std::set<std::string_view> streams;
    std::vector<Uuid> ids, scratch;  // the client-supplied ids of the parts so far, in order
    uint64_t events = 0;
    for (auto& p : parts) {
      RECKON_RETURN_IF_ERROR(validation::check_user_stream(p.stream_id, options_.limits));
      RECKON_RETURN_IF_ERROR(validation::check_expected_version(p.expected));
      RECKON_RETURN_IF_ERROR(validation::check_events(p.events, options_.limits));
      events += p.events.size();
      // check_events refused repeats within the part; across parts only when there are several.
      if (parts.size() == 1) continue;
      if (!streams.insert(p.stream_id).second) {
        return Status::invalid_argument("stream '" + p.stream_id +
                                        "' appears twice in one multi-stream append");
      }
      for (const auto& e : p.events) {
        if (e.event_id) ids.push_back(*e.event_id);
      }
      if (auto repeated = validation::first_repeated_id(ids, scratch)) {
        return validation::duplicate_id_status(*repeated);
      }
    }
    if (parts.size() > 1 && events > options_.limits.max_events_per_append) {
      return Status::limit_exceeded("multi-stream append has " + std::to_string(events) +
                                    " events; the limit is " +
                                    std::to_string(options_.limits.max_events_per_append));
    }
    if (condition) {
      for (const auto& item : condition->items) {
        for (const auto& n : item.event_types) RECKON_RETURN_IF_ERROR(check_query_name(n));
        for (const auto& n : item.tags) RECKON_RETURN_IF_ERROR(check_query_name(n));
      }
    }
    std::string command = storage::encode_append_command(clock_->now_us(), parts, condition);
    if (command.size() > max_command_bytes()) {
      return Status::limit_exceeded("append command is " + std::to_string(command.size()) +
                                    " bytes; the limit is " +
                                    std::to_string(options_.limits.max_append_bytes));
    }
    return command;
  }

  // Event bytes are limited by max_append_bytes; ids, names and framing add at most this much.
  uint64_t max_command_bytes() const { return options_.limits.max_append_bytes + (1u << 20); }

  static Status check_query_name(const std::string& n) {
    if (n.empty() || n.find('\0') != std::string::npos) {
      return Status::invalid_argument("condition types and tags must be non-empty, without NUL");
    }
    return Status::ok();
  }

  StoreOptions options_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<storage::Database> db_;
  storage::StateMachine machine_;
  storage::EventReader reader_;
  std::shared_ptr<store::CommandLog> log_;                // set by init()
  std::shared_ptr<store::ReplicatedLog> replicated_;      // the same log when replicated
  storage::SubscriptionReader subscriptions_;
  std::unique_ptr<store::CommitNotifier> notifier_;  // set by init()
};

}  // namespace

Result<std::unique_ptr<LocalStore>> LocalStore::open_local(const StoreOptions& options) {
  if (options.data_dir.empty()) return Status::invalid_argument("data_dir must not be empty");
  RECKON_ASSIGN_OR_RETURN(auto db, storage::Database::open(options));
  auto store = std::make_unique<EmbeddedStore>(options, std::move(db));
  RECKON_RETURN_IF_ERROR(store->init());
  return std::unique_ptr<LocalStore>(std::move(store));
}

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  RECKON_ASSIGN_OR_RETURN(auto store, LocalStore::open_local(options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace reckon
