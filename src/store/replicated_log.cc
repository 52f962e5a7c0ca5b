#include "store/replicated_log.h"

#include <filesystem>

#include "storage/state_transfer.h"
#include "store/bulk_catch_up.h"

namespace reckon::store {
namespace {

bool directory_is_pristine(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return true;
  return std::filesystem::is_empty(dir, ec);
}

std::string role_string(consensus::Role role) { return std::string(consensus::role_name(role)); }

}  // namespace

ReplicatedLog::ReplicatedLog(storage::StateMachine& machine, ReplicationOptions options,
                             std::function<void(Position)> on_commit)
    : machine_(machine), options_(std::move(options)), replica_(machine, std::move(on_commit)) {
  if (options_.fetch_state) {
    replica_.set_catch_up([this](const SnapshotPoint& target) { return bulk_catch_up(target); });
  }
  replica_.set_pipelined_writes(options_.pipelined_writes);
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
  RECKON_ASSIGN_OR_RETURN(log->node_, consensus::RaftNode::start(ro, log->replica_));
  ReplicatedLog* self = log.get();
  log->own_subscription_ =
      log->node_->subscribe([self](const consensus::LeadershipEvent& e) { self->on_leadership(e); });
  // Set once node_ exists (a restore at start-up may fail-stop before): a leader that
  // fail-stops steps down; one that fail-stopped earlier steps down when elected (above).
  log->replica_.set_on_fail_stop([self] { self->step_down_if_failed(); });
  if (!log->replica_.failed_status().is_ok()) self->step_down_if_failed();
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
  if (Status f = replica_.failed_status(); !f.is_ok()) return done(storage::CommandResult{f, {}});
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
  return Status::not_leader(info->leader_id,
                            replica_.member_address(info->leader_id).value_or(std::string()));
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

void ReplicatedLog::set_catch_up(CatchUp catch_up) { replica_.set_catch_up(std::move(catch_up)); }

std::map<uint64_t, std::string> ReplicatedLog::member_directory() const {
  return replica_.member_directory();
}

// ---- Leadership and membership ----

void ReplicatedLog::on_leadership(const consensus::LeadershipEvent& e) {
  if (e.role != consensus::Role::kLeader || e.leader_id != options_.node_id) return;
  if (!replica_.failed_status().is_ok()) return step_down_if_failed();
  // A new leader records its own client address, so every node can send clients to it.
  if (options_.client_address.empty()) return;
  if (replica_.member_address(options_.node_id) == options_.client_address) return;
  node_->submit(storage::encode_set_member_address_command(options_.node_id, options_.client_address),
                [](Result<std::shared_ptr<void>>) {});  // retried at the next leadership if lost
}

// A fail-stopped replica answers every write Unavailable until it is restarted: as leader it
// would hold the whole group's writes hostage, so it hands leadership to the most up-to-date
// other voter (if there is one; a one-voter group just stays unavailable).
void ReplicatedLog::step_down_if_failed() {
  if (replica_.failed_status().is_ok() || closing_.load()) return;
  node_->transfer_leadership(0, [](Status) {});
}

LeadershipChange ReplicatedLog::to_change(const consensus::LeadershipEvent& e) const {
  LeadershipChange c;
  c.role = role_string(e.role);
  c.term = e.term;
  c.leader_id = e.leader_id;
  c.is_leader = e.role == consensus::Role::kLeader && e.leader_id == options_.node_id;
  if (auto address = replica_.member_address(e.leader_id)) c.leader_client_address = *address;
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
  out.log_applied_index = s.last_applied;
  out.last_log_index = s.last_index;
  out.libraft_corrections = s.libraft_corrections;
  out.commands_proposed = s.commands_proposed;
  out.apply_requests = s.apply_requests;
  out.log_write_failures = s.log_write_failures;
  out.log_write_error = s.log_write_error;
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
    if (auto it = s.match_index.find(m.id); it != s.match_index.end()) cm.match_index = it->second;
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
