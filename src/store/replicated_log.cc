#include "store/replicated_log.h"

#include <cstdio>
#include <filesystem>

#include "core/encoding.h"
#include "storage/state_transfer.h"
#include "store/bulk_catch_up.h"

namespace reckon::store {
namespace {

constexpr uint8_t kSnapshotPointFormat = 1;

bool directory_is_pristine(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return true;
  return std::filesystem::is_empty(dir, ec);
}

std::string role_string(consensus::Role role) { return std::string(consensus::role_name(role)); }

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

ReplicatedLog::ReplicatedLog(storage::StateMachine& machine, ReplicationOptions options,
                             std::function<void(Position)> on_commit)
    : machine_(machine), options_(std::move(options)), on_commit_(std::move(on_commit)) {
  members_ = machine_.members();
  if (options_.fetch_state) {
    catch_up_ = [this](const SnapshotPoint& target) { return bulk_catch_up(target); };
  }
}

ReplicatedLog::~ReplicatedLog() { close(); }

Result<std::unique_ptr<ReplicatedLog>> ReplicatedLog::open(storage::StateMachine& machine,
                                                           const std::string& data_dir,
                                                           const ReplicationOptions& options,
                                                           std::function<void(Position)> on_commit) {
  ReplicationOptions o = options;
  if (o.raft_dir.empty()) o.raft_dir = (std::filesystem::path(data_dir) / "raft").string();
  if (o.node_id == 0) return Status::invalid_argument("replication: node_id must be > 0");

  // Raft indexes and the state machine's applied index must mean the same thing: entries at
  // or below the applied index are skipped on replay.
  const storage::SystemState& state = machine.committed();
  const bool pristine_log = directory_is_pristine(o.raft_dir);
  const bool sole_voter = o.initial_members.size() == 1 && o.initial_members.count(o.node_id) == 1;
  if (pristine_log && state.applied_index > 0) {
    if (!sole_voter) {
      return Status::invalid_argument(
          "replication: the store in " + data_dir + " holds data (applied index " +
          std::to_string(state.applied_index) + ") but has no Raft log in " + o.raft_dir +
          "; only a single-voter group can adopt an existing store");
    }
    // An existing store (written locally, or whose one-voter log was removed) continues as a
    // fresh one-voter log: its data, positions and digest stay, its index restarts.
    RECKON_RETURN_IF_ERROR(machine.mark_replicated(/*rebase_index=*/true));
  } else if (!state.replicated) {
    RECKON_RETURN_IF_ERROR(machine.mark_replicated(/*rebase_index=*/false));
  }

  std::unique_ptr<ReplicatedLog> log(new ReplicatedLog(machine, o, std::move(on_commit)));
  consensus::RaftOptions ro;
  ro.node_id = o.node_id;
  ro.address = o.raft_address;
  ro.data_dir = o.raft_dir;
  ro.initial_members = o.initial_members;
  ro.election_timeout = o.election_timeout;
  ro.heartbeat_timeout = o.heartbeat_timeout;
  ro.snapshot_threshold = o.snapshot_threshold;
  ro.snapshot_trailing = o.snapshot_trailing;
  if (o.max_command_bytes > 0) ro.max_command_bytes = o.max_command_bytes;
  RECKON_ASSIGN_OR_RETURN(log->node_, consensus::RaftNode::start(ro, *log));
  ReplicatedLog* self = log.get();
  log->own_subscription_ =
      log->node_->subscribe([self](const consensus::LeadershipEvent& e) { self->on_leadership(e); });
  return log;
}

void ReplicatedLog::close() {
  if (!node_) return;
  closing_.store(true);
  node_->unsubscribe(own_subscription_);
  (void)node_->stop();  // fails what is pending with Unavailable; logged by the caller's status
  node_.reset();
}

// ---- Commands ----

void ReplicatedLog::submit_async(std::string command, Callback done) {
  if (Status f = failed_status(); !f.is_ok()) return done(storage::CommandResult{f, {}});
  if (!node_) return done(storage::CommandResult{Status::unavailable("store is closed"), {}});
  node_->submit(std::move(command), [this, done = std::move(done)](Result<std::shared_ptr<void>> r) {
    if (!r.is_ok()) return done(storage::CommandResult{translate(r.status()), {}});
    auto result = std::static_pointer_cast<storage::CommandResult>(*r);
    if (!result) return done(storage::CommandResult{Status::internal("no apply result"), {}});
    done(std::move(*result));
  });
}

Status ReplicatedLog::translate(Status s) const {
  const NotLeaderInfo* info = s.not_leader_info();
  if (info == nullptr) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = members_.find(info->leader_id);
  return Status::not_leader(info->leader_id, it == members_.end() ? std::string() : it->second);
}

Status ReplicatedLog::failed_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

// ---- State machine (loop thread) ----

std::shared_ptr<void> ReplicatedLog::apply(std::string_view command, uint64_t index) {
  if (machine_.catch_up_pending()) {
    // Half-replaced by a catch-up that did not finish: not a state of the log, so nothing may
    // be applied on it (restore_state resumes the catch-up; a restart does too).
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.is_ok()) failed_ = Status::unavailable("replica is in the middle of a catch-up; restart it");
  }
  if (Status f = failed_status(); !f.is_ok()) {
    return std::make_shared<storage::CommandResult>(storage::CommandResult{f, {}});
  }
  if (!batch_) batch_ = machine_.begin();
  // The batch keeps views into the command until it is committed; libraft's entry buffer is not
  // guaranteed to live that long, so keep a copy (a deque never moves its strings).
  const std::string& bytes = batch_commands_.emplace_back(command);
  auto result = std::make_shared<storage::CommandResult>(machine_.apply(bytes, index, *batch_));
  batch_results_.push_back(result);
  return result;
}

uint64_t ReplicatedLog::applied_index() const {
  return batch_ ? batch_->applied_index() : machine_.committed().applied_index;
}

void ReplicatedLog::commit_applied() {
  if (!batch_) return;
  const size_t n = batch_->commands();
  const bool members_changed = batch_->members_changed();
  Status s = machine_.commit(*batch_, /*sync=*/false);  // the Raft log is the durable record
  if (s.is_ok()) {
    commits_.fetch_add(1, std::memory_order_relaxed);
    commands_.fetch_add(n, std::memory_order_relaxed);
    if (members_changed) {
      std::lock_guard<std::mutex> lock(mu_);
      members_ = machine_.members();
    }
  } else {
    Status failed = Status::unavailable(
        "replica stopped applying after a failed write (restart the node to replay its log): " +
        s.to_string());
    std::fprintf(stderr, "reckondb: %s\n", failed.to_string().c_str());
    {
      std::lock_guard<std::mutex> lock(mu_);
      failed_ = failed;
    }
    for (auto& r : batch_results_) *r = storage::CommandResult{failed, {}};
  }
  batch_.reset();
  batch_commands_.clear();
  batch_results_.clear();
  if (s.is_ok() && on_commit_) on_commit_(machine_.committed().last_position);
}

Result<std::string> ReplicatedLog::snapshot_state() {
  if (Status f = failed_status(); !f.is_ok()) return f;
  // Raft truncates its log behind this point once we return: what it covers must be on disk.
  RECKON_RETURN_IF_ERROR(machine_.sync());
  SnapshotPoint p;
  const storage::SystemState& st = machine_.committed();
  p.applied_index = st.applied_index;
  p.last_position = st.last_position;
  p.digest = st.digest;
  p.members = machine_.members();
  return encode_snapshot_point(p);
}

Status ReplicatedLog::restore_state(std::string_view bytes) {
  RECKON_ASSIGN_OR_RETURN(SnapshotPoint target, decode_snapshot_point(bytes));
  const storage::SystemState& st = machine_.committed();
  // A catch-up interrupted by a crash left a half-replaced store: whatever its old state
  // says, it must fetch again.
  const bool pending = machine_.catch_up_pending();
  if (!pending) {
    if (st.applied_index == target.applied_index && st.digest != target.digest) {
      return Status::corruption("replica diverged: at index " + std::to_string(st.applied_index) +
                                " the digest is " + std::to_string(st.digest) + ", the snapshot says " +
                                std::to_string(target.digest));
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
  Status fetched = catch_up(wanted);
  if (fetched.is_ok()) fetched = machine_.load();  // also drops the cached heads of the old state
  if (!fetched.is_ok()) {
    // libraft has already moved past the entries this replica lacks: applying later ones on
    // the old state would diverge silently, so stop applying (a restart catches up again).
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.is_ok()) {
      failed_ = Status::unavailable("replica is behind the Raft snapshot and its catch-up failed "
                                    "(restart the node): " + fetched.to_string());
    }
    return fetched;
  }
  const storage::SystemState& now = machine_.committed();
  if (machine_.catch_up_pending()) return Status::internal("catch-up returned but did not finish");
  if (now.applied_index < wanted.applied_index) {
    return Status::internal("catch-up ended at applied index " + std::to_string(now.applied_index) +
                            ", short of " + std::to_string(wanted.applied_index));
  }
  if (now.applied_index == target.applied_index && now.digest != target.digest) {
    return Status::corruption("catch-up produced a state whose digest differs from the snapshot's");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    members_ = machine_.members();
  }
  if (on_commit_) on_commit_(now.last_position);  // live tails see the fetched events
  return Status::ok();
}

Status ReplicatedLog::bulk_catch_up(const SnapshotPoint& target) {
  BulkCatchUpRequest request;
  request.min_applied_index = target.applied_index;
  request.self_id = options_.node_id;
  request.peers = member_directory();
  for (const auto& [id, address] : target.members) {
    if (!address.empty()) request.peers[id] = address;
  }
  request.fetch = options_.fetch_state;
  request.timeout = options_.catch_up_timeout;
  request.retry_delay = options_.catch_up_retry_delay;
  request.cancelled = [this] { return closing_.load(); };
  return store::bulk_catch_up(machine_.database(), request).status();
}

namespace {
class Export final : public StateExport {
 public:
  Export(storage::Database& db, uint64_t after) : exporter_(db, after) {}
  Result<std::optional<std::string>> next() override { return exporter_.next(); }

 private:
  storage::StateExporter exporter_;
};
}  // namespace

Result<std::unique_ptr<StateExport>> ReplicatedLog::open_state_export(uint64_t after_position) {
  return std::unique_ptr<StateExport>(std::make_unique<Export>(machine_.database(), after_position));
}

void ReplicatedLog::set_catch_up(CatchUp catch_up) {
  std::lock_guard<std::mutex> lock(mu_);
  catch_up_ = std::move(catch_up);
}

std::map<uint64_t, std::string> ReplicatedLog::member_directory() const {
  std::lock_guard<std::mutex> lock(mu_);
  return members_;
}

// ---- Leadership and membership ----

void ReplicatedLog::on_leadership(const consensus::LeadershipEvent& e) {
  // A new leader records its own client address, so every node can send clients to it.
  if (e.role != consensus::Role::kLeader || e.leader_id != options_.node_id) return;
  if (options_.client_address.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(options_.node_id);
    if (it != members_.end() && it->second == options_.client_address) return;
  }
  node_->submit(storage::encode_set_member_address_command(options_.node_id, options_.client_address),
                [](Result<std::shared_ptr<void>>) {});  // retried at the next leadership if lost
}

LeadershipChange ReplicatedLog::to_change(const consensus::LeadershipEvent& e) const {
  LeadershipChange c;
  c.role = role_string(e.role);
  c.term = e.term;
  c.leader_id = e.leader_id;
  c.is_leader = e.role == consensus::Role::kLeader && e.leader_id == options_.node_id;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = members_.find(e.leader_id); it != members_.end()) c.leader_client_address = it->second;
  if (c.is_leader && c.leader_client_address.empty()) c.leader_client_address = options_.client_address;
  return c;
}

ReplicaStatus ReplicatedLog::status() {
  ReplicaStatus out;
  out.node_id = options_.node_id;
  if (!node_) {
    out.role = "unavailable";
    return out;
  }
  consensus::NodeStatus s = node_->status();
  out.role = role_string(s.role);
  out.term = s.term;
  out.leader_id = s.leader_id;
  out.commit_index = s.commit_index;
  out.applied_index = s.state_machine_applied;
  out.last_log_index = s.last_index;
  out.libraft_corrections = s.libraft_corrections;
  auto members = member_directory();
  if (auto it = members.find(s.leader_id); it != members.end()) out.leader_client_address = it->second;
  if (s.role == consensus::Role::kLeader && out.leader_client_address.empty() &&
      s.leader_id == options_.node_id) {
    out.leader_client_address = options_.client_address;
  }
  for (const auto& m : s.members) {
    ReplicaMember cm;
    cm.id = m.id;
    cm.raft_address = m.address;
    cm.role = std::string(consensus::member_role_name(m.role));
    if (auto it = members.find(m.id); it != members.end()) cm.client_address = it->second;
    if (m.id == options_.node_id && cm.client_address.empty()) cm.client_address = options_.client_address;
    out.members.push_back(std::move(cm));
  }
  return out;
}

bool ReplicatedLog::is_leader() {
  if (!node_) return false;
  consensus::NodeStatus s = node_->status();
  return s.role == consensus::Role::kLeader && s.leader_id == options_.node_id;
}

void ReplicatedLog::barrier(std::function<void(Status)> done) {
  if (!node_) return done(Status::unavailable("store is closed"));
  node_->barrier([this, done = std::move(done)](Status s) { done(translate(std::move(s))); });
}

uint64_t ReplicatedLog::subscribe_leadership(std::function<void(const LeadershipChange&)> callback) {
  return node_->subscribe(
      [this, callback = std::move(callback)](const consensus::LeadershipEvent& e) { callback(to_change(e)); });
}

void ReplicatedLog::unsubscribe_leadership(uint64_t id) {
  if (node_) node_->unsubscribe(id);
}

void ReplicatedLog::set_member_address(uint64_t id, std::string client_address,
                                       std::function<void(Status)> done) {
  if (id == 0) return done(Status::invalid_argument("member id must be > 0"));
  submit_async(storage::encode_set_member_address_command(id, client_address),
               [done = std::move(done)](storage::CommandResult r) { done(std::move(r.status)); });
}

void ReplicatedLog::add_member(uint64_t id, std::string raft_address, std::function<void(Status)> done) {
  // Joins as a spare, then becomes a standby: it receives the log (and catches up) without
  // voting, so it cannot hold up commits while it is behind. promote_member makes it a voter.
  auto* node = node_.get();
  node->add_member(id, std::move(raft_address), [this, node, id, done = std::move(done)](Status s) {
    if (!s.is_ok()) return done(translate(std::move(s)));
    node->assign_role(id, consensus::MemberRole::kStandby,
                      [this, done](Status s2) { done(translate(std::move(s2))); });
  });
}

void ReplicatedLog::promote_member(uint64_t id, std::function<void(Status)> done) {
  node_->assign_role(id, consensus::MemberRole::kVoter,
                     [this, done = std::move(done)](Status s) { done(translate(std::move(s))); });
}

void ReplicatedLog::remove_member(uint64_t id, std::function<void(Status)> done) {
  node_->remove_member(id, [this, id, done = std::move(done)](Status s) {
    if (!s.is_ok()) return done(translate(std::move(s)));
    // Forget its client address too, so clients are never sent to a removed node.
    set_member_address(id, "", std::move(done));
  });
}

void ReplicatedLog::transfer_leadership(uint64_t id, std::function<void(Status)> done) {
  node_->transfer_leadership(id, [this, done = std::move(done)](Status s) { done(translate(std::move(s))); });
}

}  // namespace reckon::store
