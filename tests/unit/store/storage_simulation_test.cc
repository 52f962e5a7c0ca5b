// Deterministic simulation of a replicated store: libraft's fixture (raft/fixture.h: in-memory
// network, simulated time) drives one consensus::ReplicaCore per server — the FSM adapter,
// proposer and leadership tracker RaftNode runs — over a store::ReplicaStateMachine over a real
// storage::StateMachine on RocksDB in a directory of its own: the code that runs behind every
// reckond replica, minus the libuv loop and the sockets.
//
// Each seed builds a random cluster (3 or 5 voters, random timeouts and latencies, snapshot
// thresholds small enough that snapshots and InstallSnapshot are frequent) and plays a random
// schedule, calm and stormy stretches in turn:
//   - commands: real encoded store commands — appends to a handful of streams with every kind
//     of expected version (any, no_stream, stream_exists, the last acknowledged version, and
//     deliberately wrong ones), multi-stream appends, conditional appends, idempotent
//     re-appends of earlier appends (same event ids), soft deletes, tombstones, truncations,
//     member addresses (a new leader also records its own, as ReplicatedLog does);
//   - faults: symmetric and one-way partitions, isolations, latency and timeout changes,
//     leadership transfers, barriers, crashes with restarts, power loss of the whole cluster,
//     and a follower cut off while the leader takes more than a snapshot's worth of commands.
// A crash (CrashableRaftIo) closes the libraft instance as a power cut would: of the Raft
// writes in flight a random prefix reached the disk. Its RocksDB is closed; half of the crashes
// are power losses, where every WAL file is cut at a random length between what was last
// synced (open, snapshot_state's FlushWAL, a completed catch-up) and what was written — a torn
// tail RocksDB's point-in-time recovery must handle; the other half are process crashes (the
// OS keeps every write). A restart reopens RocksDB and libraft loads its durable state: the
// local snapshot is restored, the log above the state machine's applied index replays. A
// replica behind a snapshot it receives catches up through the real bulk path
// (store::bulk_catch_up: StateExporter on a peer's RocksDB -> StateImporter), with transfers
// sometimes cut midway, and a catch-up that failed sometimes followed by a power loss; a
// replica that fail-stopped is restarted at the next heal. Every replica has an offload, as
// RaftNode gives it (SimOffload): a bulk catch-up runs at a random later step while the loop
// goes on (storing, voting, deferring the entries the catching-up replica receives); half the
// seeds also pipeline their RocksDB writes (ReplicationOptions::pipelined_writes), each turn's
// write published at a random later step. No result may reach its submitter before its state
// is visible.
//
// After the schedule everything heals and the cluster converges on a marker; then:
//   - every replica holds byte-identical RocksDB contents (all column families), the same
//     applied index, last position and digest;
//   - events read back in global order have dense positions from 1, gapless versions per
//     stream matching the stream heads, unique event ids;
//   - every acknowledged append's result (streams, versions, positions) is what the store holds
//     — those events, with those ids — never lost, never changed; an acknowledged idempotent
//     re-append returned exactly the original's result; acknowledged tombstones and member
//     addresses hold;
//   - a command rejected by the state machine (wrong expected version, ...) or refused with
//     NotLeader left none of its events anywhere;
//   - every replica that applied an index reached the same verdict on it (result or error,
//     checked online, across crashes and replays too); every request completed exactly once;
//     at most one leader per term.
//
// Seeds: RECKON_STORE_SIM_SEEDS (default 60) seeds from RECKON_STORE_SIM_FIRST_SEED (default 1);
// RECKON_STORE_SIM_SEED=N runs just N; RECKON_STORE_SIM_ACTIONS overrides the schedule length
// (default 120); RECKON_STORE_SIM_VERBOSE=1 prints the schedule; RECKON_STORE_SIM_DIR is where
// the RocksDB directories go (default /dev/shm if writable, else $TMPDIR or /tmp). A failing
// seed prints itself and replays exactly.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "consensus/libraft.h"
#include "consensus/replica_core.h"
#include "storage/command.h"
#include "storage/database.h"
#include "storage/event_reader.h"
#include "storage/state_machine.h"
#include "storage/state_transfer.h"
#include "store/bulk_catch_up.h"
#include "store/replica_state_machine.h"
#include "support/db_dump.h"
#include "support/fixture_network.h"
#include "support/simulation.h"

extern "C" {
#include <raft/fixture.h>
}
#include "unit/store/crashable_raft_io.h"

namespace reckon::store {
namespace {

namespace fs = std::filesystem;
using consensus::LeadershipEvent;
using consensus::Proposer;
using consensus::ReplicaCore;
using consensus::Role;
using reckon::testing::env_u64;
using storage::CommandResult;
using testing::CrashableRaftIo;

// tmpfs when there is one: every snapshot syncs RocksDB, and fsyncs on a busy disk would make
// the run's length depend on everything else the machine does.
std::string base_dir() {
  if (const char* d = std::getenv("RECKON_STORE_SIM_DIR"); d != nullptr && *d != '\0') return d;
  if (access("/dev/shm", W_OK) == 0) return "/dev/shm";
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') return t;
  return "/tmp";
}

// What apply() hands back to the proposer: the Raft index and the state machine's result
// (committed, or overwritten by a fail-stop, by the time the proposer delivers it).
struct Applied {
  uint64_t index = 0;
  std::shared_ptr<CommandResult> result;
};

// "OK [stream first..last @first_pos..pos created]..." or "<code>: <message>": what every
// replica applying one index must agree on.
std::string verdict(const CommandResult& r) {
  if (!r.status.is_ok()) return r.status.to_string();
  std::string out = "OK";
  for (const auto& a : r.appends) {
    out += " [" + a.stream_id + " " + std::to_string(a.first_version) + ".." +
           std::to_string(a.last_version) + " @" + std::to_string(a.first_position) + ".." +
           std::to_string(a.position) + " t" + std::to_string(a.created_us) + "]";
  }
  return out;
}

// RaftNode's offload, simulated (ScriptedOffload): a write runs at once (ReplicaStateMachine may
// wait for it from inside any libraft callback: a snapshot drains), its continuation —
// publishing the write, letting held results through — at a later step. A bulk catch-up (what
// restore_state hands over) runs later as a whole (defer_work), so the replica goes on voting,
// storing and deferring entries meanwhile. The order is the seed's.
using SimOffload = reckon::testing::ScriptedOffload;

// The ReplicaStateMachine as the consensus layer sees it, watched: the verdict of every command
// once it is final (visible) goes to `on_verdict`; `on_synced` runs after each snapshot taken
// (snapshot_state synced RocksDB's WAL); `on_problem` gets what must never happen.
class WatchedReplica final : public consensus::ReplicatedStateMachine {
 public:
  struct Hooks {
    std::function<void(uint64_t, const std::string&)> on_verdict;
    std::function<void()> on_synced;
    std::function<void(const std::string&)> on_problem;
  };
  WatchedReplica(ReplicaStateMachine& inner, SimOffload* offload, Hooks hooks)
      : inner_(inner), offload_(offload), hooks_(std::move(hooks)) {}

  std::shared_ptr<void> apply(std::string_view command, uint64_t index) override {
    if (index <= last_index_) {
      hooks_.on_problem("index " + std::to_string(index) + " applied after index " +
                        std::to_string(last_index_));
    }
    last_index_ = index;
    auto result = std::static_pointer_cast<CommandResult>(inner_.apply(command, index));
    staged_.push_back(Applied{index, result});
    return std::make_shared<Applied>(Applied{index, result});
  }
  uint64_t applied_index() const override { return inner_.applied_index(); }
  void commit_applied() override {
    inner_.commit_applied();
    flush_verdicts();
  }
  Result<std::string> snapshot_state() override {
    auto s = inner_.snapshot_state();
    flush_verdicts();
    return s;
  }
  Status make_snapshot_durable() override {
    Status s = inner_.make_snapshot_durable();
    if (s.is_ok()) hooks_.on_synced();
    return s;
  }
  Status restore_state(std::string_view state) override {
    offload_->defer_work(true);  // a catch-up it starts runs at a later step
    Status s = inner_.restore_state(state);
    offload_->defer_work(false);
    if (s.is_ok()) last_index_ = std::max(last_index_, inner_.applied_index());
    flush_verdicts();
    return s;
  }
  void set_offload(consensus::LoopOffload* offload) override { inner_.set_offload(offload); }
  uint64_t visible_index() const override { return inner_.visible_index(); }
  void drain() override {
    inner_.drain();
    flush_verdicts();
  }

  // Reports the verdicts that became final: results are complete once visible (a command
  // deferred behind a catch-up gets its result when the catch-up ends).
  void flush_verdicts() {
    const uint64_t visible = inner_.visible_index();
    while (!staged_.empty() && staged_.front().index <= visible) {
      const Applied& a = staged_.front();
      // A fail-stopped replica answers without applying: not a verdict of the state machine.
      if (a.result->status.code() != ErrorCode::kUnavailable) {
        hooks_.on_verdict(a.index, verdict(*a.result));
      }
      staged_.pop_front();
    }
  }

 private:
  ReplicaStateMachine& inner_;
  SimOffload* offload_;
  Hooks hooks_;
  std::deque<Applied> staged_;
  uint64_t last_index_ = 0;  // indexes only increase within one incarnation
};

enum class Outcome { kPending, kOk, kNotLeader, kFailed };
enum class Kind { kAppend, kReappend, kDelete, kTombstone, kTruncate, kMember };

struct Submission {
  Kind kind = Kind::kAppend;
  std::string command;
  std::vector<StreamAppend> parts;  // appends: with their event ids
  std::optional<AppendCondition> condition;
  std::string stream;          // deletes, tombstones, truncations
  uint64_t member = 0;         // member addresses
  size_t original = SIZE_MAX;  // a re-append: the submission it repeats
  unsigned server = 0;
  Outcome outcome = Outcome::kPending;
  uint64_t index = 0;
  CommandResult result;
  Status status;
  int completions = 0;
};

// One simulated server: its storage (closed while it is down) and its Raft instance.
struct Replica {
  std::string dir;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<storage::StateMachine> machine;
  std::unique_ptr<SimOffload> offload = std::make_unique<SimOffload>();  // RaftNode's, simulated
  std::unique_ptr<ReplicaStateMachine> replica;
  std::unique_ptr<WatchedReplica> watched;
  std::unique_ptr<ReplicaCore> core;
  std::unique_ptr<CrashableRaftIo> disk;        // survives crashes
  std::map<std::string, uintmax_t> synced_wal;  // WAL file -> bytes known synced
  bool up = false;                              // started Raft instance, open storage
};

constexpr const char* kStreams[] = {"acct-0", "acct-1", "acct-2", "acct-3", "acct-4"};
constexpr const char* kTempStreams[] = {"temp-0", "temp-1"};
constexpr const char* kTypes[] = {"Opened", "Deposited", "Withdrawn"};

class StorageSimulation {
 public:
  StorageSimulation(uint64_t seed, int actions, bool verbose)
      : seed_(seed), actions_(actions), verbose_(verbose), rng_(seed) {
    parked_fsm_.version = 1;
    root_ =
        base_dir() + "/reckon-store-sim-" + std::to_string(getpid()) + "-" + std::to_string(seed);
    std::error_code ec;
    fs::remove_all(root_, ec);
    fs::create_directories(root_, ec);
  }

  ~StorageSimulation() {
    if (started_) {
      for (unsigned i = 0; i < n_; i++) {
        struct raft* r = raft_fixture_get(&f_, i);
        Replica& rep = reps_[i];
        if (rep.up) {
          (void)rep.disk->close_cleanly(r);
          rep.offload->finish_work();
          (void)rep.core->closed(Status::unavailable("simulation over"));
          rep.offload->clear();
        }
        // raft_fixture_close() closes every instance: give it a fresh one, never started.
        raft_init(r, rep.disk->io(), &parked_fsm_, i + 1, f_.servers[i].address);
      }
      raft_fixture_close(&f_);
    }
    for (auto& rep : reps_) {
      rep.core.reset();
      close_storage(rep);
      rep.disk.reset();
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::vector<std::string> run() {
    setup();
    for (int a = 0; a < actions_ && failures_.empty(); a++) {
      if (a % 25 == 0) {
        storm_ = !storm_;
        if (!storm_) heal();
        log(storm_ ? "--- storm" : "--- calm");
      }
      act();
      int steps = 1 + static_cast<int>(pick(25));
      for (int s = 0; s < steps; s++) step();
    }
    if (failures_.empty()) {
      heal();
      log(net_.bound_latencies(election_ / 3));
      converge();
    }
    if (failures_.empty()) check();
    if (verbose_) {
      size_t by[4] = {0, 0, 0, 0};
      for (auto& sub : subs_) by[static_cast<int>(sub.outcome)]++;
      log("submissions: " + std::to_string(subs_.size()) + " (" + std::to_string(by[1]) +
          " applied, " + std::to_string(by[2]) + " not leader, " + std::to_string(by[3]) +
          " failed, " + std::to_string(by[0]) + " pending)");
    }
    return failures_;
  }

  uint64_t steps() const { return steps_; }
  size_t acknowledged() const {
    size_t n = 0;
    for (auto& s : subs_) n += s.outcome == Outcome::kOk && s.result.status.is_ok();
    return n;
  }
  size_t rejected() const {
    size_t n = 0;
    for (auto& s : subs_) n += s.outcome == Outcome::kOk && !s.result.status.is_ok();
    return n;
  }
  uint64_t crashes() const { return crashes_; }
  uint64_t power_losses() const { return power_losses_; }
  uint64_t catch_ups() const { return catch_ups_; }
  uint64_t catch_up_failures() const { return catch_up_failures_; }
  uint64_t restarts() const { return restarts_; }
  uint64_t fail_stops() const { return fail_stops_; }
  uint64_t snapshots() const { return snapshots_; }
  uint64_t raft_writes_lost() const {
    uint64_t n = 0;
    for (auto& rep : reps_) n += rep.disk ? rep.disk->lost_writes() : 0;
    return n;
  }

 private:
  uint64_t pick(uint64_t n) { return rng_() % n; }

  void log(const std::string& what) {
    if (verbose_) {
      std::fprintf(stderr, "[seed %llu t=%llu] %s\n", static_cast<unsigned long long>(seed_),
                   static_cast<unsigned long long>(raft_fixture_time(&f_)), what.c_str());
    }
  }
  void fail(const std::string& what) {
    if (failures_.size() < 20) failures_.push_back(what);
  }
  static std::string address(unsigned i) { return "sim-" + std::to_string(i + 1); }

  // ---- storage ----

  bool open_storage(unsigned i) {
    Replica& rep = reps_[i];
    StoreOptions o;
    o.data_dir = rep.dir;
    o.block_cache_bytes = 1 << 20;
    auto db = storage::Database::open(o);
    if (!db.is_ok()) {
      fail("replica " + std::to_string(i + 1) + ": reopening RocksDB: " + db.status().to_string());
      return false;
    }
    rep.db = std::move(db).value();
    // A tiny head cache, so heads are evicted and read back from RocksDB.
    rep.machine = std::make_unique<storage::StateMachine>(*rep.db, 4);
    Status s = rep.machine->load();
    if (s.is_ok() && !rep.machine->committed().replicated) {
      s = rep.machine->mark_replicated(/*rebase_index=*/false);
    }
    if (!s.is_ok()) {
      fail("replica " + std::to_string(i + 1) + ": loading the state machine: " + s.to_string());
      return false;
    }
    rep.replica = std::make_unique<ReplicaStateMachine>(*rep.machine, [this, i](Position last) {
      if (last < last_position_seen_[i]) {
        fail("replica " + std::to_string(i + 1) + "'s last position went back from " +
             std::to_string(last_position_seen_[i]) + " to " + std::to_string(last));
      }
      last_position_seen_[i] = last;
    });
    rep.replica->set_catch_up(
        [this, i](const SnapshotPoint& target) { return catch_up(i, target); });
    WatchedReplica::Hooks hooks;
    hooks.on_verdict = [this, i](uint64_t index, const std::string& v) {
      record_verdict(i, index, v);
    };
    hooks.on_synced = [this, i] {
      snapshots_++;
      record_synced(i);
    };
    hooks.on_problem = [this, i](const std::string& what) {
      fail("replica " + std::to_string(i + 1) + ": " + what);
    };
    rep.watched =
        std::make_unique<WatchedReplica>(*rep.replica, rep.offload.get(), std::move(hooks));
    rep.replica->set_pipelined_writes(pipelined_);
    rep.watched->set_offload(rep.offload.get());
    last_position_seen_[i] = rep.machine->committed().last_position;
    rep.synced_wal.clear();
    record_synced(i);  // opening recovered and flushed the old WAL; marking replicated synced
    return true;
  }

  static void close_storage(Replica& rep) {
    rep.watched.reset();
    rep.replica.reset();
    rep.machine.reset();
    rep.db.reset();
  }

  void record_synced(unsigned i) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(reps_[i].dir, ec)) {
      if (e.path().extension() == ".log")
        reps_[i].synced_wal[e.path().filename()] = e.file_size(ec);
    }
  }

  // Power loss: each WAL file keeps what was synced plus a random part of the rest (a torn
  // tail included); the other files RocksDB syncs itself before it relies on them.
  void lose_unsynced_writes(unsigned i) {
    Replica& rep = reps_[i];
    std::error_code ec;
    std::vector<fs::path> wals;
    for (const auto& e : fs::directory_iterator(rep.dir, ec)) {
      if (e.path().extension() == ".log") wals.push_back(e.path());
    }
    std::sort(wals.begin(), wals.end());
    for (const auto& p : wals) {
      const uintmax_t size = fs::file_size(p, ec);
      auto it = rep.synced_wal.find(p.filename());
      const uintmax_t synced = it == rep.synced_wal.end() ? 0 : std::min(it->second, size);
      const uintmax_t keep = synced + pick(size - synced + 1);
      if (keep < size) fs::resize_file(p, keep, ec);
    }
  }

  void record_verdict(unsigned i, uint64_t index, const std::string& v) {
    auto [it, inserted] = verdicts_.emplace(index, std::make_pair(v, i));
    if (!inserted && it->second.first != v) {
      fail("index " + std::to_string(index) + ": replica " + std::to_string(i + 1) + " says '" + v +
           "', replica " + std::to_string(it->second.second + 1) + " said '" + it->second.first +
           "'");
    }
  }

  // ---- the bulk catch-up, in process ----

  Status catch_up(unsigned i, const SnapshotPoint& target) {
    catch_ups_++;
    BulkCatchUpRequest request;
    request.min_applied_index = target.applied_index;
    request.self_id = i + 1;
    request.peers = reps_[i].replica->member_directory();
    for (const auto& [id, addr] : target.members) {
      if (!addr.empty()) request.peers[id] = addr;
    }
    request.fetch = [this, i](const std::string& addr, uint64_t after, const StateChunkSink& sink) {
      return fetch(i, addr, after, sink);
    };
    // One round over the peers, no waiting: the simulation's clock is the fixture's.
    request.timeout = std::chrono::hours(1);
    request.retry_delay = std::chrono::hours(2);
    auto r = bulk_catch_up(*reps_[i].db, request);
    if (r.is_ok()) record_synced(i);  // the importer's commit is a synced write
    log("replica " + std::to_string(i + 1) + " catches up to index " +
        std::to_string(target.applied_index) + ": " + r.status().to_string());
    if (!r.is_ok()) {
      catch_up_failures_++;
      // Sometimes the power goes while the transfer is half written: the store keeps a prefix
      // of what the importer wrote (its catch-up marker first) and must fetch again.
      if (pick(2) == 0) doomed_.insert(i);
    }
    return r.status();
  }

  Status fetch(unsigned self, const std::string& addr, uint64_t after, const StateChunkSink& sink) {
    unsigned j = n_;
    for (unsigned k = 0; k < n_; k++) {
      if (address(k) == addr) j = k;
    }
    if (j == n_ || j == self) return Status::unavailable("no such peer: " + addr);
    if (!reps_[j].up) return Status::unavailable("peer is down");
    if (net_.down(self, j) || net_.down(j, self)) {
      return Status::unavailable("peer unreachable");
    }
    storage::StateExporter exporter(*reps_[j].db, after, chunk_bytes_);
    const int cut = pick(6) == 0 ? static_cast<int>(pick(4)) : -1;  // sometimes cut midway
    for (int n = 0;; n++) {
      auto chunk = exporter.next();
      if (!chunk.is_ok()) return chunk.status();
      if (!chunk->has_value()) return Status::ok();
      if (n == cut) return Status::unavailable("transfer cut (simulated)");
      RECKON_RETURN_IF_ERROR(sink(**chunk));
    }
  }

  // ---- Raft instances ----

  void configure(struct raft* r) {
    raft_set_election_timeout(r, election_);
    raft_set_heartbeat_timeout(r, heartbeat_);
    raft_set_pre_vote(r, true);
    raft_set_snapshot_threshold(r, threshold_);
    raft_set_snapshot_trailing(r, trailing_);
    raft_set_install_snapshot_timeout(r, 10 * election_);
  }

  void setup() {
    n_ = pick(2) == 0 ? 3 : 5;
    election_ = 100 + static_cast<unsigned>(pick(200));
    heartbeat_ = election_ / (4 + static_cast<unsigned>(pick(4)));
    threshold_ = 4 + static_cast<unsigned>(pick(40));
    trailing_ = 1 + static_cast<unsigned>(pick(20));
    chunk_bytes_ = 512 + pick(8192);
    pipelined_ = pick(2) == 0;

    EXPECT_EQ(raft_fixture_initialize(&f_), 0);
    net_.attach(&f_, n_);
    reps_.resize(n_);
    last_position_seen_.assign(n_, 0);
    events_.resize(n_);
    for (unsigned i = 0; i < n_; i++) {
      Replica& rep = reps_[i];
      rep.dir = root_ + "/r" + std::to_string(i + 1);
      if (!open_storage(i)) return;
      rep.core = std::make_unique<ReplicaCore>(*rep.watched);
      EXPECT_EQ(raft_fixture_grow(&f_, rep.core->raft_fsm()), 0);
      struct raft* r = raft_fixture_get(&f_, i);
      rep.disk = std::make_unique<CrashableRaftIo>(r->io);
      rep.disk->install(r);
      rep.core->attach(r);
      configure(r);
      raft_fixture_set_randomized_election_timeout(
          &f_, i, election_ + static_cast<unsigned>(pick(election_)));
      net_.set_latency(i, 2 + static_cast<unsigned>(pick(30)));
      raft_fixture_set_disk_latency(&f_, i, 1 + static_cast<unsigned>(pick(15)));
    }
    struct raft_configuration conf;
    EXPECT_EQ(raft_fixture_configuration(&f_, n_, &conf), 0);
    EXPECT_EQ(raft_fixture_bootstrap(&f_, &conf), 0);
    raft_configuration_close(&conf);
    EXPECT_EQ(raft_fixture_start(&f_), 0);
    started_ = true;
    for (auto& rep : reps_) rep.up = true;
    for (unsigned i = 0; i < n_; i++) settle(i);
    log("cluster of " + std::to_string(n_) + ", election " + std::to_string(election_) +
        "ms, heartbeat " + std::to_string(heartbeat_) + "ms, snapshot " +
        std::to_string(threshold_) + "/" + std::to_string(trailing_) + ", chunks of " +
        std::to_string(chunk_bytes_) + " bytes" + (pipelined_ ? ", pipelined writes" : ""));
  }

  // A crash of server i: the Raft instance closes as at a power cut, RocksDB closes (and, for a
  // power loss, loses a random part of what it wrote since its last sync).
  void crash(unsigned i, bool power_loss) {
    Replica& rep = reps_[i];
    if (!rep.up) return;
    struct raft* r = raft_fixture_get(&f_, i);
    raft_fixture_kill(&f_, i);
    if (!rep.disk->crash(r, rng_)) fail("server " + std::to_string(i + 1) + " did not close");
    // A catch-up still to run fetches now (closing waits for it); continuations are dropped.
    rep.offload->finish_work();
    (void)rep.core->closed(Status::unavailable("crashed"));
    rep.offload->clear();
    if (doomed_.erase(i) != 0) power_loss = true;
    rep.core.reset();
    close_storage(rep);
    rep.up = false;
    crashes_++;
    if (power_loss) {
      lose_unsynced_writes(i);
      power_losses_++;
    }
    log(std::string(power_loss ? "power loss on " : "crash of ") + std::to_string(i + 1));
  }

  // Restarts a crashed server from its disk. False if it could not start (its restore failed,
  // e.g. no peer to catch up from): it stays down, like a node that exits at startup.
  bool restart(unsigned i) {
    Replica& rep = reps_[i];
    if (rep.up) return true;
    if (!open_storage(i)) return false;
    struct raft* r = raft_fixture_get(&f_, i);
    rep.core = std::make_unique<ReplicaCore>(*rep.watched);
    struct raft_io* io = rep.core->guard_io(rep.disk->io());
    int rv = raft_init(r, io, rep.core->raft_fsm(), i + 1, f_.servers[i].address);
    if (rv != 0) {
      fail("raft_init failed on restart: " + std::to_string(rv));
      return false;
    }
    rep.core->attach(r);
    configure(r);
    rv = raft_start(r);
    for (auto& p : rep.disk->problems()) fail("server " + std::to_string(i + 1) + " disk: " + p);
    if (rv != 0) {
      log("restart of " + std::to_string(i + 1) + " failed: " + raft_strerror(rv));
      restart_failures_++;
      raft_close(r, nullptr);  // nothing is in flight: closes at once
      rep.offload->finish_work();
      (void)rep.core->closed(Status::unavailable("start failed"));
      rep.offload->clear();
      rep.core.reset();
      close_storage(rep);
      if (doomed_.erase(i) != 0) {
        lose_unsynced_writes(i);
        power_losses_++;
      }
      return false;
    }
    raft_fixture_revive(&f_, i);
    rep.up = true;
    restarts_++;
    log("restart of " + std::to_string(i + 1) + " (applied " +
        std::to_string(rep.replica->applied_index()) + ")");
    settle(i);
    return true;
  }

  void settle(unsigned i) {
    Replica& rep = reps_[i];
    if (!rep.up) return;
    auto event = rep.core->settle();
    if (!event) return;
    auto& history = events_[i];
    if (!history.empty() && event->term < history.back().term) {
      // A restart starts from the persisted term, which is never below what it saw.
      fail("server " + std::to_string(i + 1) + " term went back from " +
           std::to_string(history.back().term) + " to " + std::to_string(event->term));
    }
    if (event->role == Role::kLeader) {
      if (event->leader_id != i + 1 && event->leader_id != 0) {
        fail("server " + std::to_string(i + 1) + "'s leader event names " +
             std::to_string(event->leader_id));
      }
      auto [it, inserted] = leader_of_term_.emplace(event->term, i + 1);
      if (!inserted && it->second != i + 1) {
        fail("two leaders in term " + std::to_string(event->term) + ": " +
             std::to_string(it->second) + " and " + std::to_string(i + 1));
      }
      // As ReplicatedLog::on_leadership: a new leader records its own client address.
      if (!converging_ && event->leader_id == i + 1 &&
          rep.replica->member_address(i + 1) != address(i)) {
        submit_member(i, i + 1);
      }
    }
    history.push_back(*event);
  }

  void step() {
    steps_++;
    raft_fixture_step(&f_);
    for (unsigned i = 0; i < n_; i++) {
      // A background write or catch-up of a live server finishes at a random later step.
      Replica& rep = reps_[i];
      if (rep.up && !rep.offload->idle() && raft_fixture_alive(&f_, i) && pick(3) != 0) {
        rep.offload->finish_one();
        rep.watched->flush_verdicts();
      }
      settle(i);
    }
    for (unsigned i : std::set<unsigned>(std::move(doomed_))) crash(i, true);
    doomed_.clear();
  }

  template <typename Pred>
  bool step_until(Pred done, unsigned max_ms) {
    const raft_time deadline = raft_fixture_time(&f_) + max_ms;
    while (!done()) {
      if (raft_fixture_time(&f_) > deadline || !failures_.empty()) return false;
      step();
    }
    return true;
  }

  unsigned leader() {
    for (unsigned i = 0; i < n_; i++) {
      if (reps_[i].up && raft_state(raft_fixture_get(&f_, i)) == RAFT_LEADER) return i;
    }
    return n_;
  }

  unsigned random_up() {
    std::vector<unsigned> up;
    for (unsigned i = 0; i < n_; i++) {
      if (reps_[i].up) up.push_back(i);
    }
    return up.empty() ? n_ : up[pick(up.size())];
  }

  // ---- commands ----

  Uuid next_id() {
    Uuid u;
    for (auto& b : u.bytes) b = static_cast<uint8_t>(pick(256));
    u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);
    u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);
    return u;
  }

  NewEvent next_event() {
    NewEvent e;
    e.event_id = next_id();  // always chosen here: the command bytes must replay exactly
    e.event_type = kTypes[pick(3)];
    e.data = "{\"n\":" + std::to_string(pick(1000)) + ",\"pad\":\"" + std::string(pick(300), 'x') +
             "\"}";
    if (pick(2) == 0) e.tags = {"tag-" + std::to_string(pick(3))};
    if (pick(4) == 0) e.metadata = "{\"m\":1}";
    return e;
  }

  ExpectedVersion next_expected(const std::string& stream) {
    auto it = known_.find(stream);
    const int64_t known = it == known_.end() ? kNoVersion : it->second;
    const uint64_t k = pick(100);
    if (k < 25) return kExpectAny;
    if (k < 40) return kExpectNoStream;
    if (k < 50) return kExpectStreamExists;
    if (k < 85) return known >= 0 ? known : kExpectNoStream;
    // Deliberately wrong (unless the guess happens to be right).
    if (known > 0 && pick(2) == 0) return static_cast<int64_t>(pick(static_cast<uint64_t>(known)));
    return known + 1 + static_cast<int64_t>(pick(3));
  }

  int64_t proposed_us() {
    return 1'700'000'000'000'000 + static_cast<int64_t>(raft_fixture_time(&f_)) * 1000;
  }

  size_t propose(unsigned server, Submission s) {
    const size_t k = subs_.size();
    s.server = server;
    subs_.push_back(std::move(s));
    if (gathering_) {
      gathered_.push_back(k);
    } else {
      reps_[server].core->proposer().propose(subs_[k].command, on_result(k));
    }
    return k;
  }

  // Submissions made by `submit` go to `server` as one multi-entry raft request, as the Raft
  // loop's group commit sends them.
  void propose_together(unsigned server, const std::function<void()>& submit) {
    gathering_ = true;
    submit();
    gathering_ = false;
    std::vector<Proposer::Proposal> proposals;
    for (size_t k : gathered_) proposals.push_back({subs_[k].command, on_result(k)});
    gathered_.clear();
    reps_[server].core->proposer().propose_all(proposals);
  }

  Proposer::ApplyDone on_result(size_t k) {
    return [this, k](Result<std::shared_ptr<void>> result) {
      Submission& sub = subs_[k];
      sub.completions++;
      if (result.is_ok()) {
        auto* applied = static_cast<Applied*>(result.value().get());
        sub.outcome = Outcome::kOk;
        sub.index = applied->index;
        sub.result = *applied->result;
        if (sub.result.status.code() == ErrorCode::kUnavailable) {
          // Not applied here (a fail-stopped replica, or one whose catch-up brought the
          // command in from a peer): its outcome is unknown, there is nothing to read.
          sub.outcome = Outcome::kFailed;
        } else if (const uint64_t visible = reps_[sub.server].replica->visible_index();
                   visible < sub.index) {
          fail("submission " + std::to_string(k) + " answered (index " + std::to_string(sub.index) +
               ") before server " + std::to_string(sub.server + 1) + " made it visible (" +
               std::to_string(visible) + ")");
        }
        if (sub.outcome == Outcome::kOk) {
          for (const auto& a : sub.result.appends) {
            int64_t& v = known_.try_emplace(a.stream_id, kNoVersion).first->second;
            v = std::max(v, a.last_version);
          }
        }
      } else {
        sub.outcome =
            result.code() == ErrorCode::kNotLeader ? Outcome::kNotLeader : Outcome::kFailed;
        sub.status = result.status();
        log("submission " + std::to_string(k) + " to " + std::to_string(sub.server + 1) + ": " +
            sub.status.to_string());
      }
    };
  }

  void submit_member(unsigned server, uint64_t id) {
    Submission s;
    s.kind = Kind::kMember;
    s.member = id;
    s.command =
        storage::encode_set_member_address_command(id, address(static_cast<unsigned>(id - 1)));
    propose(server, std::move(s));
  }

  void submit_random(unsigned server) {
    Submission s;
    const uint64_t k = pick(100);
    if (k < 62) {
      // Appends: one stream (most), several, sometimes with a DCB condition.
      s.kind = Kind::kAppend;
      const size_t parts = k < 52 ? 1 : 2 + pick(2);
      std::set<std::string> used;
      for (size_t p = 0; p < parts; p++) {
        std::string stream = pick(8) == 0 ? kTempStreams[pick(2)] : kStreams[pick(5)];
        if (!used.insert(stream).second) continue;
        StreamAppend part;
        part.stream_id = stream;
        part.expected = next_expected(stream);
        const size_t events = 1 + pick(3);
        for (size_t e = 0; e < events; e++) part.events.push_back(next_event());
        s.parts.push_back(std::move(part));
      }
      if (pick(10) == 0) {
        AppendCondition c;
        QueryItem item;
        item.event_types = {kTypes[pick(3)]};
        if (pick(2) == 0) item.tags = {"tag-" + std::to_string(pick(3))};
        c.items.push_back(item);
        c.after_position = last_position_seen_.empty() ? 0 : last_position_seen_[server];
        s.condition = c;
      }
      s.command = storage::encode_append_command(proposed_us(), s.parts, s.condition);
    } else if (k < 78) {
      // An idempotent retry of an earlier append: same events, same ids, same expectation.
      std::vector<size_t> appends;
      for (size_t j = 0; j < subs_.size(); j++) {
        if (subs_[j].kind == Kind::kAppend) appends.push_back(j);
      }
      if (appends.empty()) return submit_member(server, server + 1);
      const size_t j = appends[pick(appends.size())];
      s.kind = Kind::kReappend;
      s.original = j;
      s.parts = subs_[j].parts;
      s.condition = subs_[j].condition;
      s.command = storage::encode_append_command(proposed_us(), s.parts, s.condition);
    } else if (k < 86) {
      s.kind = Kind::kDelete;
      s.stream = kStreams[pick(5)];
      s.command = storage::encode_delete_command(storage::CommandType::kDeleteStream, s.stream,
                                                 next_expected(s.stream));
    } else if (k < 88) {
      s.kind = Kind::kTombstone;
      s.stream = kTempStreams[pick(2)];
      s.command = storage::encode_delete_command(storage::CommandType::kTombstoneStream, s.stream,
                                                 kExpectAny);
    } else if (k < 92) {
      s.kind = Kind::kTruncate;
      s.stream = kStreams[pick(5)];
      s.command = storage::encode_truncate_command(s.stream, static_cast<int64_t>(pick(4)));
    } else {
      return submit_member(server, 1 + pick(n_));
    }
    propose(server, std::move(s));
  }

  // ---- the schedule ----

  void act() {
    const uint64_t choice = storm_ ? pick(100) : (pick(2) == 0 ? pick(40) : 79 + pick(21));
    const unsigned a = static_cast<unsigned>(pick(n_));
    unsigned b = static_cast<unsigned>(pick(n_ - 1));
    if (b >= a) b++;
    if (choice < 40) {
      unsigned l = leader();
      unsigned target = (l < n_ && pick(5) != 0) ? l : random_up();
      if (target == n_) return;
      int count = 1 + static_cast<int>(pick(6));
      // Even counts go as one request (the Raft loop's group commit), odd ones one by one.
      const bool together = count % 2 == 0;
      auto submit = [&] {
        for (int c = 0; c < count; c++) submit_random(target);
      };
      if (together) {
        propose_together(target, submit);
      } else {
        submit();
      }
      log("submit " + std::to_string(count) + (together ? " together" : "") + " to " +
          std::to_string(target + 1));
    } else if (choice < 48) {
      log(net_.partition(a, b));
    } else if (choice < 52) {
      log(net_.one_way(a, b));
    } else if (choice < 60) {
      log(net_.mend(a, b));
    } else if (choice < 64) {
      log(net_.heal_links());
    } else if (choice < 69) {
      unsigned up = 0;
      for (auto& rep : reps_) up += rep.up;
      if (up > 1 && reps_[a].up) crash(a, pick(2) == 0);
    } else if (choice < 75) {
      if (!reps_[a].up) restart(a);
    } else if (choice < 79) {
      log(net_.isolate(a));
    } else if (choice < 83) {
      log(net_.set_latency(a, 2 + static_cast<unsigned>(pick(60))));
    } else if (choice < 86) {
      log(net_.set_election_timeout(a, election_ + static_cast<unsigned>(pick(election_))));
    } else if (choice < 89) {
      unsigned l = leader();
      if (l < n_) {
        uint64_t target = pick(2) == 0 ? 0 : b + 1;
        if (target == l + 1) target = 0;
        reps_[l].core->proposer().transfer_leadership(target, [](Status) {});
        log("transfer from " + std::to_string(l + 1) + " to " + std::to_string(target));
      }
    } else if (choice < 92) {
      unsigned s = random_up();
      if (s < n_) {
        reps_[s].core->proposer().barrier([](Status) {});
        log("barrier on " + std::to_string(s + 1));
      }
    } else if (choice < 95 && storm_) {
      // A crash and an immediate restart (a supervisor bringing the process back).
      if (reps_[a].up) {
        crash(a, pick(2) == 0);
        restart(a);
      }
    } else if (choice < 96 && storm_) {
      // The whole cluster loses power at once, and comes back.
      log("power loss of the whole cluster");
      for (unsigned i = 0; i < n_; i++) crash(i, true);
      for (unsigned i = 0; i < n_; i++) restart(i);
    } else if (storm_) {
      // A follower cut off while the leader takes a burst of commands: once the leader's log
      // moved past it, it gets a snapshot and must catch up in bulk.
      unsigned l = leader();
      if (l < n_ && a != l) {
        const std::string isolated = net_.isolate(a);
        const int count = static_cast<int>(threshold_ + trailing_ + pick(20));
        const size_t first = subs_.size();
        propose_together(l, [&] {
          for (int c = 0; c < count; c++) submit_random(l);
        });
        log(isolated + " and submit " + std::to_string(count) + " to " + std::to_string(l + 1));
        step_until(
            [&] {
              for (size_t k = first; k < subs_.size(); k++) {
                if (subs_[k].outcome == Outcome::kPending) return false;
              }
              return true;
            },
            20 * election_);
        log(net_.rejoin(a));
      }
    }
  }

  // Reconnects everything, and restarts every server that is down or fail-stopped.
  void heal() {
    net_.heal_links();
    for (unsigned i = 0; i < n_; i++) {
      if (reps_[i].up && !reps_[i].replica->failed_status().is_ok()) {
        log("replica " + std::to_string(i + 1) +
            " fail-stopped: " + reps_[i].replica->failed_status().to_string());
        fail_stops_++;
        crash(i, false);
      }
      if (!reps_[i].up) restart(i);
    }
    log("heal all");
  }

  void redraw_election_timeouts() {
    for (unsigned i = 0; i < n_; i++) {
      raft_fixture_set_randomized_election_timeout(
          &f_, i, election_ + static_cast<unsigned>(pick(election_)));
    }
    log("re-drew election timeouts");
  }

  bool wait_for_leader(unsigned budget) {
    const raft_time deadline = raft_fixture_time(&f_) + budget;
    while (raft_fixture_time(&f_) < deadline && failures_.empty()) {
      if (step_until([&] { return leader() < n_; }, 4 * election_)) return true;
      redraw_election_timeouts();
      heal();
    }
    return false;
  }

  void converge() {
    converging_ = true;
    const unsigned budget = 200 * election_;
    uint64_t marker = 0;
    for (int attempt = 0; attempt < 20 && marker == 0 && failures_.empty(); attempt++) {
      if (!wait_for_leader(budget)) {
        fail("no leader after healing" + describe());
        return;
      }
      Submission s;
      s.kind = Kind::kMember;
      const unsigned l = leader();
      s.member = l + 1;
      s.command = storage::encode_set_member_address_command(l + 1, address(l));
      const size_t k = propose(l, std::move(s));
      if (!step_until([&] { return subs_[k].outcome != Outcome::kPending; }, budget)) {
        fail("marker neither committed nor failed" + describe());
        return;
      }
      if (subs_[k].outcome == Outcome::kOk) {
        marker = subs_[k].index;
      } else {
        log("marker refused: " + subs_[k].status.to_string());
        redraw_election_timeouts();
        step_until([] { return false; }, election_);
        heal();
      }
    }
    if (marker == 0) {
      if (failures_.empty()) fail("could not commit a marker after healing" + describe());
      return;
    }
    // Every replica applies the marker; one that fail-stopped on the way (a catch-up without a
    // reachable peer) is restarted, as a supervisor would.
    auto all_applied = [&] {
      for (auto& rep : reps_) {
        if (!rep.up || rep.replica->visible_index() < marker) return false;
      }
      return true;
    };
    const raft_time deadline = raft_fixture_time(&f_) + budget;
    while (!all_applied() && failures_.empty()) {
      if (raft_fixture_time(&f_) > deadline) {
        fail("replicas did not converge on index " + std::to_string(marker) + describe());
        return;
      }
      step_until(all_applied, 4 * election_);
      heal();
    }
    auto quiet = [&] {
      for (auto& rep : reps_) {
        if (rep.up && (rep.core->proposer().outstanding() > 0 || rep.core->proposer().ready() > 0 ||
                       !rep.offload->idle())) {
          return false;
        }
      }
      return true;
    };
    if (!step_until(quiet, 4 * election_) && failures_.empty()) {
      fail("requests still outstanding after convergence");
    }
    for (auto& rep : reps_) rep.watched->drain();  // nothing is left staged (it would be a bug)
  }

  std::string describe() {
    std::string out;
    for (unsigned i = 0; i < n_; i++) {
      Replica& rep = reps_[i];
      out += "\n    server " + std::to_string(i + 1) + ": ";
      if (!rep.up) {
        out += "down";
        continue;
      }
      struct raft* r = raft_fixture_get(&f_, i);
      consensus::NodeStatus st = rep.core->status();
      out +=
          std::string(consensus::role_name(st.role)) + " term " + std::to_string(st.term) +
          " leader " + std::to_string(st.leader_id) + " commit " + std::to_string(st.commit_index) +
          " applied " + std::to_string(st.last_applied) + " last " + std::to_string(st.last_index) +
          " snapshot " + std::to_string(r->log.snapshot.last_index) + " machine " +
          std::to_string(st.state_machine_applied) + " " + rep.replica->failed_status().to_string();
    }
    return out;
  }

  // ---- the checks ----

  void check() {
    const Replica& ref = reps_[0];
    const storage::SystemState& st0 = ref.machine->committed();
    const std::string dump0 = reckon::testing::dump_all_column_families(*ref.db);
    for (unsigned i = 0; i < n_; i++) {
      const Replica& rep = reps_[i];
      const storage::SystemState& st = rep.machine->committed();
      if (rep.machine->catch_up_pending())
        fail("replica " + std::to_string(i + 1) + " is mid-catch-up");
      if (!rep.replica->failed_status().is_ok()) {
        fail("replica " + std::to_string(i + 1) +
             " fail-stopped: " + rep.replica->failed_status().to_string());
      }
      if (i == 0) continue;
      if (st.applied_index != st0.applied_index || st.last_position != st0.last_position ||
          st.digest != st0.digest || st.last_created_us != st0.last_created_us) {
        fail("replica " + std::to_string(i + 1) + " holds applied " +
             std::to_string(st.applied_index) + " last position " +
             std::to_string(st.last_position) + " digest " + std::to_string(st.digest) +
             "; replica 1 holds " + std::to_string(st0.applied_index) + " / " +
             std::to_string(st0.last_position) + " / " + std::to_string(st0.digest));
      } else if (reckon::testing::dump_all_column_families(*rep.db) != dump0) {
        fail("replica " + std::to_string(i + 1) +
             " has the same applied index and digest as replica 1 but different RocksDB contents");
      }
    }
    if (!failures_.empty()) return;

    // Events in global order: dense positions, gapless versions, unique ids.
    storage::EventReader reader(*ref.db, Limits{});
    std::map<Position, Event> events;
    std::map<Uuid, Position> position_of;
    std::map<std::string, int64_t> last_version;
    Position expect = 1;
    Status s = reader.scan_all(0, [&](const Event& e) {
      if (e.position != expect) {
        fail("position " + std::to_string(expect) + " is missing (next is " +
             std::to_string(e.position) + ")");
        return false;
      }
      expect++;
      auto [it, inserted] = last_version.try_emplace(e.stream_id, -1);
      if (e.version != it->second + 1) {
        fail("stream " + e.stream_id + " jumps from version " + std::to_string(it->second) +
             " to " + std::to_string(e.version) + " at position " + std::to_string(e.position));
      }
      it->second = e.version;
      if (!position_of.emplace(e.event_id, e.position).second) {
        fail("event id " + e.event_id.to_string() + " stored twice");
      }
      events.emplace(e.position, e);
      return true;
    });
    if (!s.is_ok()) fail("scan: " + s.to_string());
    if (expect - 1 != st0.last_position) {
      fail("events end at position " + std::to_string(expect - 1) + ", the state says " +
           std::to_string(st0.last_position));
    }
    for (const auto& [stream, v] : last_version) {
      auto head = reader.head(stream);
      if (!head.is_ok() || !head->has_value() || (*head)->last_version != v) {
        fail("stream " + stream + "'s head does not say version " + std::to_string(v));
      }
    }

    // Acknowledged tombstones and member addresses hold (nothing undoes either).
    const auto directory = ref.replica->member_directory();
    for (size_t k = 0; k < subs_.size(); k++) {
      const Submission& sub = subs_[k];
      if (sub.outcome != Outcome::kOk || !sub.result.status.is_ok()) continue;
      if (sub.kind == Kind::kTombstone) {
        auto head = reader.head(sub.stream);
        if (!head.is_ok() || !head->has_value() || (*head)->state != StreamState::kTombstoned) {
          fail("acknowledged tombstone of " + sub.stream + " (submission " + std::to_string(k) +
               ") is not in the store");
        }
      } else if (sub.kind == Kind::kMember) {
        auto it = directory.find(sub.member);
        if (it == directory.end() || it->second != address(static_cast<unsigned>(sub.member - 1))) {
          fail("acknowledged address of member " + std::to_string(sub.member) +
               " is not in the directory");
        }
      }
    }

    // Acknowledged appends hold; rejected and refused ones left nothing.
    std::set<size_t> maybe_applied;  // originals some (unknown or successful) retry re-applied
    for (size_t k = 0; k < subs_.size(); k++) {
      const Submission& sub = subs_[k];
      if (sub.completions != 1) {
        fail("submission " + std::to_string(k) + " completed " + std::to_string(sub.completions) +
             " times");
      }
      if (sub.kind == Kind::kReappend &&
          !(sub.outcome == Outcome::kNotLeader ||
            (sub.outcome == Outcome::kOk && !sub.result.status.is_ok()))) {
        maybe_applied.insert(sub.original);
      }
    }
    for (size_t k = 0; k < subs_.size(); k++) {
      const Submission& sub = subs_[k];
      if (sub.kind != Kind::kAppend && sub.kind != Kind::kReappend) continue;
      const bool acked = sub.outcome == Outcome::kOk && sub.result.status.is_ok();
      if (acked) {
        if (sub.result.appends.size() != sub.parts.size()) {
          fail("submission " + std::to_string(k) + ": " + std::to_string(sub.parts.size()) +
               " parts, " + std::to_string(sub.result.appends.size()) + " results");
          continue;
        }
        for (size_t p = 0; p < sub.parts.size(); p++) {
          const AppendResult& a = sub.result.appends[p];
          const StreamAppend& part = sub.parts[p];
          const size_t n = part.events.size();
          if (a.stream_id != part.stream_id || a.position - a.first_position + 1 != n ||
              a.last_version - a.first_version + 1 != static_cast<int64_t>(n)) {
            fail("submission " + std::to_string(k) +
                 " acknowledged an odd result: " + verdict(sub.result));
            continue;
          }
          for (size_t e = 0; e < n; e++) {
            auto it = events.find(a.first_position + e);
            if (it == events.end() || it->second.stream_id != a.stream_id ||
                it->second.version != a.first_version + static_cast<int64_t>(e) ||
                it->second.event_id != *part.events[e].event_id ||
                it->second.created_us != a.created_us) {
              fail("acknowledged submission " + std::to_string(k) + " (" + verdict(sub.result) +
                   ", index " + std::to_string(sub.index) + ") is not what position " +
                   std::to_string(a.first_position + e) + " holds");
              break;
            }
          }
        }
        if (sub.kind == Kind::kReappend) {
          const Submission& orig = subs_[sub.original];
          if (orig.outcome == Outcome::kOk && orig.result.status.is_ok() &&
              verdict(orig.result) != verdict(sub.result)) {
            fail("re-append " + std::to_string(k) + " returned '" + verdict(sub.result) +
                 "', the original " + std::to_string(sub.original) + " was acknowledged with '" +
                 verdict(orig.result) + "'");
          }
        }
      } else if (sub.kind == Kind::kAppend && maybe_applied.count(k) == 0 &&
                 (sub.outcome == Outcome::kNotLeader ||
                  (sub.outcome == Outcome::kOk && !sub.result.status.is_ok()))) {
        for (const auto& part : sub.parts) {
          for (const auto& e : part.events) {
            if (auto it = position_of.find(*e.event_id); it != position_of.end()) {
              fail("submission " + std::to_string(k) + " was refused (" +
                   (sub.outcome == Outcome::kNotLeader ? sub.status.to_string()
                                                       : verdict(sub.result)) +
                   ") but its event is at position " + std::to_string(it->second));
            }
          }
        }
      }
    }
  }

  const uint64_t seed_;
  const int actions_;
  const bool verbose_;
  std::mt19937_64 rng_;
  std::string root_;
  struct raft_fixture f_ {};
  struct raft_fsm parked_fsm_ {};
  bool started_ = false;
  unsigned n_ = 0;
  unsigned election_ = 0, heartbeat_ = 0, threshold_ = 0, trailing_ = 0;
  size_t chunk_bytes_ = 0;
  std::vector<Replica> reps_;
  std::vector<Position> last_position_seen_;
  std::vector<std::vector<LeadershipEvent>> events_;
  std::map<uint64_t, uint64_t> leader_of_term_;
  std::map<uint64_t, std::pair<std::string, unsigned>> verdicts_;  // index -> (verdict, replica)
  reckon::testing::FixtureNetwork net_;
  std::set<unsigned> doomed_;  // to lose power after this step (a catch-up failed midway)
  std::map<std::string, int64_t> known_;  // stream -> highest acknowledged version
  std::vector<Submission> subs_;
  bool gathering_ = false;  // propose() collects into gathered_ (propose_together)
  std::vector<size_t> gathered_;
  bool storm_ = true;  // toggled before the first action: the schedule opens calm
  bool converging_ = false;
  bool pipelined_ = false;  // RocksDB writes in the background too (catch-ups always are)
  uint64_t steps_ = 0, crashes_ = 0, power_losses_ = 0, restarts_ = 0, restart_failures_ = 0;
  uint64_t catch_ups_ = 0, catch_up_failures_ = 0, fail_stops_ = 0, snapshots_ = 0;
  std::vector<std::string> failures_;
};

TEST(StorageSimulation, RandomSchedulesWithCrashesKeepAcknowledgedResultsAndReplicasIdentical) {
  const bool one = std::getenv("RECKON_STORE_SIM_SEED") != nullptr;
  const uint64_t first =
      one ? env_u64("RECKON_STORE_SIM_SEED", 1) : env_u64("RECKON_STORE_SIM_FIRST_SEED", 1);
  const uint64_t count = one ? 1 : env_u64("RECKON_STORE_SIM_SEEDS", 60);
  const int actions = static_cast<int>(env_u64("RECKON_STORE_SIM_ACTIONS", 120));
  const bool verbose = env_u64("RECKON_STORE_SIM_VERBOSE", 0) != 0;

  reckon::testing::SeedCrashReport crash_report("storage simulation", "RECKON_STORE_SIM_SEED");
  const auto started = std::chrono::steady_clock::now();
  size_t acknowledged = 0, rejected = 0, failed_seeds = 0, steps = 0;
  uint64_t crashes = 0, power_losses = 0, catch_ups = 0, snapshots = 0, restarts = 0;
  uint64_t catch_up_failures = 0, fail_stops = 0, raft_writes_lost = 0;
  for (uint64_t seed = first; seed < first + count; seed++) {
    crash_report.playing(seed);
    std::vector<std::string> failures;
    {
      StorageSimulation sim(seed, actions, verbose);
      failures = sim.run();
      acknowledged += sim.acknowledged();
      rejected += sim.rejected();
      steps += sim.steps();
      crashes += sim.crashes();
      power_losses += sim.power_losses();
      catch_ups += sim.catch_ups();
      snapshots += sim.snapshots();
      restarts += sim.restarts();
      catch_up_failures += sim.catch_up_failures();
      fail_stops += sim.fail_stops();
      raft_writes_lost += sim.raft_writes_lost();
    }
    if (!failures.empty()) {
      failed_seeds++;
      std::string text;
      for (auto& f : failures) text += "\n  " + f;
      ADD_FAILURE() << "seed " << seed << " failed (reproduce: RECKON_STORE_SIM_SEED=" << seed
                    << " RECKON_STORE_SIM_VERBOSE=1 reckon_unit_store "
                       "--gtest_filter='StorageSimulation.*'):"
                    << text;
      if (failed_seeds >= 5) break;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto n = [](uint64_t v) { return std::to_string(v); };
  char timing[96];
  std::snprintf(timing, sizeof timing, "in %.1f s (%.0f ms/seed)", secs,
                count > 0 ? 1000 * secs / static_cast<double>(count) : 0.0);
  std::printf(
      "%s\n",
      ("storage simulation: " + n(count) + " seeds x " + n(actions) + " actions (" + n(steps) +
       " fixture steps) " + timing + "; " + n(acknowledged) + " appends acknowledged, " +
       n(rejected) + " commands rejected by the state machine; " + n(snapshots) + " snapshots, " +
       n(crashes) + " crashes (" + n(power_losses) + " power losses, " + n(raft_writes_lost) +
       " Raft writes lost), " + n(restarts) + " restarts, " + n(catch_ups) + " bulk catch-ups (" +
       n(catch_up_failures) + " failed), " + n(fail_stops) + " fail-stopped replicas restarted")
          .c_str());
}

}  // namespace
}  // namespace reckon::store
