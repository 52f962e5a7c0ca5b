#include "store/replica_state_machine.h"

#include <algorithm>
#include <cstdio>

#include "core/encoding.h"

namespace reckon::store {
namespace {
constexpr uint8_t kSnapshotPointFormat = 1;
}  // namespace

std::string encode_snapshot_point(const SnapshotPoint& p) {
  std::string out;
  out.push_back(static_cast<char>(kSnapshotPointFormat));
  enc::put_varint(out, p.applied_index);
  enc::put_varint(out, p.last_position);
  enc::put_u64_be(out, p.digest);
  enc::put_varint(out, p.members.size());
  for (const auto& [id, address] : p.members) {
    enc::put_varint(out, id);
    enc::put_bytes(out, address);
  }
  return out;
}

Result<SnapshotPoint> decode_snapshot_point(std::string_view bytes) {
  const Status bad = Status::corruption("raft snapshot: undecodable state machine point");
  enc::ByteReader r(bytes);
  SnapshotPoint p;
  uint8_t format;
  uint64_t n;
  if (!r.get_u8(format) || format != kSnapshotPointFormat || !r.get_varint(p.applied_index) ||
      !r.get_varint(p.last_position) || !r.get_u64_be(p.digest) || !r.get_varint(n) ||
      n > r.remaining()) {
    return bad;
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id;
    std::string_view address;
    if (!r.get_varint(id) || !r.get_bytes(address)) return bad;
    p.members[id] = std::string(address);
  }
  if (!r.empty()) return bad;
  return p;
}

ReplicaStateMachine::ReplicaStateMachine(storage::StateMachine& machine,
                                         std::function<void(Position)> on_commit)
    : machine_(machine), on_commit_(std::move(on_commit)), members_(machine.members()) {}

void ReplicaStateMachine::set_catch_up(CatchUp catch_up) {
  std::lock_guard<std::mutex> lock(mu_);
  catch_up_ = std::move(catch_up);
}

std::map<uint64_t, std::string> ReplicaStateMachine::member_directory() const {
  std::lock_guard<std::mutex> lock(mu_);
  return members_;
}

std::optional<std::string> ReplicaStateMachine::member_address(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

Status ReplicaStateMachine::failed_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void ReplicaStateMachine::fail_stop(Status why) {
  std::function<void()> notify;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.is_ok()) return;
    failed_ = std::move(why);
    notify = on_fail_stop_;
  }
  {
    std::lock_guard<std::mutex> lock(readable_mu_);
    stopped_ = true;
  }
  readable_cv_.notify_all();
  if (notify) notify();
}

void ReplicaStateMachine::note_published(uint64_t index) {
  {
    std::lock_guard<std::mutex> lock(readable_mu_);
    if (index <= published_index_.load(std::memory_order_relaxed)) return;
    published_index_.store(index, std::memory_order_release);
  }
  readable_cv_.notify_all();
}

Status ReplicaStateMachine::await_readable() const {
  const uint64_t target = staged_index_.load(std::memory_order_acquire);
  if (published_index_.load(std::memory_order_acquire) >= target) return Status::ok();
  std::unique_lock<std::mutex> lock(readable_mu_);
  readable_cv_.wait(lock, [&] { return stopped_ || published_index_.load() >= target; });
  if (published_index_.load() >= target) return Status::ok();
  lock.unlock();
  return failed_status();
}

void ReplicaStateMachine::set_on_fail_stop(std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  on_fail_stop_ = std::move(callback);
}

std::shared_ptr<void> ReplicaStateMachine::apply(std::string_view command, uint64_t index) {
  auto result = std::make_shared<storage::CommandResult>();
  if (catching_up_) {
    // The store is being replaced underneath: keep the command, answer it once caught up.
    deferred_.push_back({std::string(command), index, result});
    return result;
  }
  if (answers_early()) {
    // libraft has just started its next log write: stage once the loop has handed that write
    // on (commit_applied), so the write and the staging overlap.
    queued_.push_back({std::string(command), index, result});
    return result;
  }
  stage(command, index, result);
  return result;
}

void ReplicaStateMachine::stage_queued() {
  std::vector<Deferred> queued = std::move(queued_);
  queued_.clear();
  for (auto& q : queued) stage(q.command, q.index, q.result);
}

void ReplicaStateMachine::stage(std::string_view command, uint64_t index,
                                const std::shared_ptr<storage::CommandResult>& result) {
  if (machine_.catch_up_pending()) {
    // Half-replaced by a catch-up that did not finish: not a state of the log, so nothing may
    // be applied on it (restore_state resumes the catch-up; a restart does too).
    fail_stop(Status::unavailable("replica is in the middle of a catch-up; restart it"));
  }
  if (Status f = failed_status(); !f.is_ok()) {
    *result = storage::CommandResult{f, {}};
    failed_index_ = std::max(failed_index_, index);  // answered: nothing more to wait for
    return;
  }
  if (!open_) {
    open_ = std::make_unique<Turn>();
    open_->seq = next_seq_++;
    open_->batch = writing_ ? machine_.begin_after(writing_->batch) : machine_.begin();
  }
  // The batch keeps views into the command until it is written; libraft's entry buffer is not
  // guaranteed to live that long, so keep a copy.
  const std::string& bytes = open_->commands.emplace_back(command);
  *result = machine_.apply(bytes, index, open_->batch);
  open_->results.push_back(result);
  // Before the result can be answered (at the end of this turn): readers then wait for it.
  if (answers_early()) staged_index_.store(index, std::memory_order_release);
}

uint64_t ReplicaStateMachine::applied_index() const {
  if (catching_up_) return deferred_.empty() ? catching_up_->target.applied_index : deferred_.back().index;
  if (!queued_.empty()) return queued_.back().index;
  return staged_applied_index();
}

uint64_t ReplicaStateMachine::staged_applied_index() const {
  if (open_) return open_->batch.applied_index();
  if (writing_) return writing_->batch.applied_index();
  return std::max(machine_.committed().applied_index, failed_index_);
}

uint64_t ReplicaStateMachine::visible_index() const {
  // After a fail-stop every staged command has its (failed) answer: nothing more to wait for.
  if (failed_index_ != 0) return applied_index();
  return machine_.committed().applied_index;
}

bool ReplicaStateMachine::answers_early() const {
  // Commands deferred by a catch-up have no result yet: they wait for it.
  return offload_ != nullptr && pipelined_writes_ && !catching_up_;
}

uint64_t ReplicaStateMachine::answerable_index() const {
  // Pipelined, a result is final once staged, and readers wait for its write (await_readable).
  return answers_early() ? staged_applied_index() : visible_index();
}

void ReplicaStateMachine::commit_applied() {
  if (!queued_.empty() && offload_ != nullptr) {
    // The poll this waits for handles libraft's write submission first (a write that cannot
    // start without blocking goes to the thread pool from there), then the staging runs while
    // that write is on disk.
    if (!staging_armed_) {
      staging_armed_ = true;
      offload_->after_next_poll([this] {
        staging_armed_ = false;
        stage_queued();
        commit_staged();
      });
    }
    return;
  }
  stage_queued();  // the node is closing (offload taken back): at once
  commit_staged();
}

void ReplicaStateMachine::commit_staged() {
  if (!open_) return;
  // Synchronous unless pipelining: the simulation, a closing node, the default.
  if (offload_ == nullptr || !pipelined_writes_) return drain();
  if (!writing_) start_write();
  // else: the write in flight starts the next one (this turn included) when it is done.
}

void ReplicaStateMachine::start_write() {
  writing_ = std::move(open_);
  Turn* turn = writing_.get();
  const uint64_t seq = turn->seq;
  offload_->run(
      [this, turn] {
        // The Raft log is the durable record: no fsync here.
        Status s = machine_.write(turn->batch, /*sync=*/false);
        std::lock_guard<std::mutex> lock(write_mu_);
        turn->write_status = std::move(s);
        turn->written = true;
        write_cv_.notify_all();
      },
      [this, seq] { finish_write(seq); });
}

void ReplicaStateMachine::wait_written(const Turn& turn) {
  std::unique_lock<std::mutex> lock(write_mu_);
  write_cv_.wait(lock, [&] { return turn.written; });
}

void ReplicaStateMachine::finish_write(uint64_t seq) {
  if (!writing_ || writing_->seq != seq) return;  // drain() concluded it already
  wait_written(*writing_);                         // done: the continuation runs after the work
  std::unique_ptr<Turn> turn = std::move(writing_);
  conclude(*turn, turn->write_status);
  if (open_ && offload_ != nullptr && pipelined_writes_) start_write();
}

void ReplicaStateMachine::drain() {
  stage_queued();
  if (catching_up_) finish_catch_up(catching_up_->seq);
  if (writing_) {
    wait_written(*writing_);
    std::unique_ptr<Turn> turn = std::move(writing_);
    conclude(*turn, turn->write_status);
  }
  if (open_) {
    std::unique_ptr<Turn> turn = std::move(open_);
    conclude(*turn, machine_.write(turn->batch, /*sync=*/false));
  }
}

void ReplicaStateMachine::conclude(Turn& turn, Status written) {
  if (written.is_ok()) {
    const bool members_changed = turn.batch.members_changed();
    machine_.publish(turn.batch, open_ ? &open_->batch : nullptr);
    commits_.fetch_add(1, std::memory_order_relaxed);
    commands_.fetch_add(turn.batch.commands(), std::memory_order_relaxed);
    if (members_changed) {
      std::lock_guard<std::mutex> lock(mu_);
      members_ = machine_.members();
    }
    if (on_commit_) on_commit_(machine_.committed().last_position);
    // Readers go on once all of it is published: the events, the heads, the member directory
    // and the live tails' last position.
    note_published(turn.batch.applied_index());
    return;
  }
  Status failed = Status::unavailable(
      "replica stopped applying after a failed write (restart the node to replay its log): " +
      written.to_string());
  std::fprintf(stderr, "reckondb: %s\n", failed.to_string().c_str());
  fail_stop(failed);
  // Nothing of this turn is in the store, and what was staged on top of it never will be.
  failed_index_ = std::max(failed_index_, turn.batch.applied_index());
  for (auto& r : turn.results) *r = storage::CommandResult{failed, {}};
  if (open_) {
    failed_index_ = std::max(failed_index_, open_->batch.applied_index());
    for (auto& r : open_->results) *r = storage::CommandResult{failed, {}};
    open_.reset();
  }
}

Result<std::string> ReplicaStateMachine::snapshot_state() {
  // libraft keeps its log and tries again at the next threshold.
  if (catching_up_) return Status::unavailable("a bulk catch-up is running");
  drain();  // the snapshot describes written state (make_snapshot_durable() syncs it)
  if (Status f = failed_status(); !f.is_ok()) return f;
  SnapshotPoint p;
  const storage::SystemState& st = machine_.committed();
  p.applied_index = st.applied_index;
  p.last_position = st.last_position;
  p.digest = st.digest;
  p.members = machine_.members();
  return encode_snapshot_point(p);
}

// Raft truncates its log behind the snapshot once this returns: what the snapshot covers was
// written before snapshot_state() returned, and a WAL sync covers every write made before it.
Status ReplicaStateMachine::make_snapshot_durable() { return machine_.sync(); }

Status ReplicaStateMachine::restore_state(std::string_view bytes) {
  RECKON_ASSIGN_OR_RETURN(SnapshotPoint target, decode_snapshot_point(bytes));
  if (catching_up_) {
    // Another snapshot while fetching (the leader resent it, or moved its log start on): the
    // running fetch goes on to the newer point, unless it has already ended.
    bool extended = false;
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      if (!catching_up_->done) {
        if (target.applied_index > catching_up_->wanted.applied_index) {
          catching_up_->target = target;
          catching_up_->wanted = target;
        }
        extended = true;
      }
    }
    if (extended) {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [id, address] : target.members) members_.emplace(id, address);
      return Status::ok();
    }
  }
  drain();  // finishes an ended fetch, and any write in flight
  const storage::SystemState& st = machine_.committed();
  // A catch-up interrupted by a crash left a half-replaced store: whatever its old state
  // says, it must fetch again.
  const bool pending = machine_.catch_up_pending();
  if (!pending) {
    if (st.applied_index == target.applied_index && st.digest != target.digest) {
      return Status::corruption("replica diverged: at index " + std::to_string(st.applied_index) +
                                " the digest is " + std::to_string(st.digest) +
                                ", the snapshot says " + std::to_string(target.digest));
    }
    if (st.applied_index >= target.applied_index) return Status::ok();  // already there
  }
  CatchUp catch_up;
  {
    std::lock_guard<std::mutex> lock(mu_);
    catch_up = catch_up_;
    // The snapshot names the peers' client addresses: the catch-up needs them.
    for (const auto& [id, address] : target.members) members_.emplace(id, address);
  }
  if (!catch_up) {
    return Status::unavailable("replica is behind the Raft snapshot (applied " +
                               std::to_string(st.applied_index) + " < " +
                               std::to_string(target.applied_index) + ") and no catch-up is set");
  }
  SnapshotPoint wanted = target;
  wanted.applied_index = std::max(target.applied_index, st.applied_index);
  if (offload_ != nullptr) {
    // In the background: the loop keeps voting, heartbeating and storing entries (which it
    // applies once caught up), so a replica fetching for minutes still counts for elections and
    // commits. Results of what it applies meanwhile are held (visible_index stays put).
    catching_up_ = std::make_unique<CatchUpRun>();
    CatchUpRun* run = catching_up_.get();
    run->seq = next_seq_++;
    run->target = target;
    run->wanted = wanted;
    offload_->run(
        [this, run, catch_up = std::move(catch_up)] {
          std::unique_lock<std::mutex> lock(write_mu_);
          for (;;) {
            const SnapshotPoint want = run->wanted;
            lock.unlock();
            Status fetched = catch_up(want);
            lock.lock();
            // A newer snapshot arrived meanwhile: fetch on to it (resumes after what is held).
            if (fetched.is_ok() && run->wanted.applied_index > want.applied_index) continue;
            run->outcome = std::move(fetched);
            run->done = true;
            write_cv_.notify_all();
            return;
          }
        },
        [this, seq = run->seq] { finish_catch_up(seq); });
    return Status::ok();
  }
  return caught_up(target, wanted, catch_up(wanted));
}

Status ReplicaStateMachine::caught_up(const SnapshotPoint& target, const SnapshotPoint& wanted,
                                      Status fetched) {
  if (fetched.is_ok()) fetched = machine_.load();  // also drops the cached heads of the old state
  if (fetched.is_ok() && machine_.catch_up_pending()) {
    fetched = Status::internal("catch-up returned but did not finish");
  }
  const storage::SystemState& now = machine_.committed();
  if (fetched.is_ok() && now.applied_index < wanted.applied_index) {
    fetched = Status::internal("catch-up ended at applied index " + std::to_string(now.applied_index) +
                               ", short of " + std::to_string(wanted.applied_index));
  }
  if (fetched.is_ok() && now.applied_index == target.applied_index && now.digest != target.digest) {
    fetched = Status::corruption("catch-up produced a state whose digest differs from the snapshot's");
  }
  if (!fetched.is_ok()) {
    // libraft has already moved past the entries this replica lacks: applying later ones on
    // the old state would diverge silently, so stop applying (a restart catches up again).
    fail_stop(Status::unavailable(
        "replica is behind the Raft snapshot and its catch-up failed (restart the node): " +
        fetched.to_string()));
    return fetched;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    members_ = machine_.members();
  }
  note_published(now.applied_index);
  if (on_commit_) on_commit_(now.last_position);  // live tails see the fetched events
  return Status::ok();
}

void ReplicaStateMachine::finish_catch_up(uint64_t seq) {
  if (!catching_up_ || catching_up_->seq != seq) return;  // finished already
  {
    std::unique_lock<std::mutex> lock(write_mu_);
    write_cv_.wait(lock, [&] { return catching_up_->done; });
  }
  std::unique_ptr<CatchUpRun> done = std::move(catching_up_);
  std::vector<Deferred> deferred = std::move(deferred_);
  deferred_.clear();
  Status st = caught_up(done->target, done->wanted, done->outcome);
  if (!st.is_ok()) {
    const Status failed = failed_status();
    for (auto& d : deferred) {
      *d.result = storage::CommandResult{failed, {}};
      failed_index_ = std::max(failed_index_, d.index);
    }
    failed_index_ = std::max(failed_index_, done->wanted.applied_index);
    return;
  }
  // Now apply what arrived meanwhile, except what the fetched state already holds (the peer may
  // have been further along; those outcomes were decided there and are unknown here).
  const uint64_t held = machine_.committed().applied_index;
  for (auto& d : deferred) {
    if (d.index <= held) {
      *d.result = storage::CommandResult{
          Status::unavailable("command at index " + std::to_string(d.index) +
                              " was applied by the peer this replica caught up from; its outcome "
                              "is unknown here (retry: appends with event ids are idempotent)"),
          {}};
      continue;
    }
    stage(d.command, d.index, d.result);
  }
  commit_applied();
}

}  // namespace reckon::store
