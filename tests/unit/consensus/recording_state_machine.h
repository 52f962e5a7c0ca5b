// RecordingStateMachine: the test state machine of the consensus tests. It keeps the ordered
// list of commands it applied, with a running digest, and implements the logical-snapshot
// contract the way the store will: a snapshot names (applied index, entry count, digest); a
// replica restoring one it is behind on fetches the missing entries from a peer
// (PeerDirectory) and checks the digest.
//
// It also watches for the bugs the tests hunt: an index applied twice (restart idempotency),
// indexes going backwards, and two replicas applying different commands at the same index
// (CommittedHistory).
//
// Pipelined mode (pipeline_writes): commit_applied() hands a pretend write (a short sleep) to
// the LoopOffload, and visible_index() trails applied_index() until it finished, like the
// store's state machine writing RocksDB in the background.
//
// Thread-safety: the state machine methods run on one replica's loop thread; the inspection
// methods may be called from any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "consensus/state_machine.h"

namespace reckon::consensus::testing {

struct AppliedEntry {
  uint64_t index = 0;
  std::string command;
  bool operator==(const AppliedEntry&) const = default;
};

// What apply() returns to the submitter.
struct ApplyOutcome {
  uint64_t index = 0;     // Raft index the command was applied at
  uint64_t position = 0;  // 1-based position in the applied command list
};

// index -> command, shared by every replica of one test cluster: the first replica to apply an
// index fixes it; any other replica applying something else there is a safety violation.
class CommittedHistory {
 public:
  void record(uint64_t index, const std::string& command, uint64_t replica) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = by_index_.emplace(index, command);
    if (!inserted && it->second != command) {
      violations_.push_back("replica " + std::to_string(replica) + " applied '" + command +
                            "' at index " + std::to_string(index) + " where another applied '" +
                            it->second + "'");
    }
  }
  std::map<uint64_t, std::string> entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_index_;
  }
  std::vector<std::string> violations() const {
    std::lock_guard<std::mutex> lock(mu_);
    return violations_;
  }

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::string> by_index_;
  std::vector<std::string> violations_;
};

class RecordingStateMachine;

// The replicas a restoring replica may fetch missing entries from.
class PeerDirectory {
 public:
  void add(RecordingStateMachine* m) {
    std::lock_guard<std::mutex> lock(mu_);
    machines_.push_back(m);
  }
  void remove(RecordingStateMachine* m) {
    std::lock_guard<std::mutex> lock(mu_);
    machines_.erase(std::remove(machines_.begin(), machines_.end(), m), machines_.end());
  }
  std::vector<RecordingStateMachine*> all() const {
    std::lock_guard<std::mutex> lock(mu_);
    return machines_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<RecordingStateMachine*> machines_;
};

class RecordingStateMachine : public ReplicatedStateMachine {
 public:
  static constexpr uint64_t kDigestSeed = 0xcbf29ce484222325ull;

  explicit RecordingStateMachine(uint64_t replica_id, PeerDirectory* peers = nullptr,
                                 CommittedHistory* history = nullptr)
      : id_(replica_id), peers_(peers), history_(history) {
    if (peers_ != nullptr) peers_->add(this);
  }
  ~RecordingStateMachine() override {
    if (peers_ != nullptr) peers_->remove(this);
  }

  // --- ReplicatedStateMachine -------------------------------------------------------------
  std::shared_ptr<void> apply(std::string_view command, uint64_t index) override {
    std::lock_guard<std::mutex> lock(mu_);
    apply_calls_++;
    if (index <= applied_index_) {
      problems_.push_back("index " + std::to_string(index) + " applied again (applied index " +
                          std::to_string(applied_index_) + ")");
    }
    append_locked(AppliedEntry{index, std::string(command)});
    applied_index_ = index;
    if (history_ != nullptr) history_->record(index, entries_.back().command, id_);
    auto outcome = std::make_shared<ApplyOutcome>();
    outcome->index = index;
    outcome->position = entries_.size();
    return outcome;
  }

  uint64_t applied_index() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return applied_index_;
  }

  void commit_applied() override {
    std::lock_guard<std::mutex> lock(mu_);
    commits_++;
    if (offload_ == nullptr || !pipelined_) {
      visible_ = applied_index_;
      return;
    }
    start_write_locked();
  }

  // --- pipelined mode ---------------------------------------------------------------------
  void pipeline_writes(std::chrono::microseconds write_delay) {
    std::lock_guard<std::mutex> lock(mu_);
    pipelined_ = true;
    write_delay_ = write_delay;
  }
  void set_offload(LoopOffload* offload) override {
    std::lock_guard<std::mutex> lock(mu_);
    offload_ = offload;
  }
  uint64_t visible_index() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return pipelined_ ? visible_ : applied_index_;
  }
  void drain() override {
    std::unique_lock<std::mutex> lock(mu_);
    written_cv_.wait(lock, [this] { return !writing_; });
    visible_ = applied_index_;
  }
  uint64_t background_writes() const { return locked(background_writes_); }

  // Called (outside the machine's lock) where the state would be made durable; tests use it to
  // see on which thread that runs and to hold it.
  std::function<Status()> on_make_snapshot_durable;
  Status make_snapshot_durable() override {
    return on_make_snapshot_durable ? on_make_snapshot_durable() : Status::ok();
  }

  Result<std::string> snapshot_state() override {
    std::lock_guard<std::mutex> lock(mu_);
    snapshots_++;
    snapshot_thread_ = std::this_thread::get_id();
    std::string out(24, '\0');
    put_u64(&out[0], applied_index_);
    put_u64(&out[8], entries_.size());
    put_u64(&out[16], digest_at_locked(entries_.size()));
    return out;
  }

  Status restore_state(std::string_view state) override {
    if (state.size() != 24) return Status::corruption("snapshot state of wrong size");
    const uint64_t target_index = get_u64(state.data());
    const uint64_t target_count = get_u64(state.data() + 8);
    const uint64_t target_digest = get_u64(state.data() + 16);

    size_t have;
    uint64_t have_digest;
    {
      std::lock_guard<std::mutex> lock(mu_);
      restores_++;
      if (applied_index_ >= target_index) {
        // Already there: the snapshot must describe a prefix of what we hold.
        size_t k = count_upto_locked(target_index);
        if (k != target_count || digest_at_locked(k) != target_digest) {
          return Status::corruption("replica " + std::to_string(id_) +
                                    " disagrees with snapshot at index " +
                                    std::to_string(target_index));
        }
        return Status::ok();
      }
      have = entries_.size();
      have_digest = digest_at_locked(have);
      if (have > target_count) {
        return Status::corruption("snapshot has fewer entries than replica " + std::to_string(id_) +
                                  " applied below its index");
      }
    }

    // Behind: fetch [have, target_count) from a peer that has applied past the snapshot.
    // Our own lock is not held while reading a peer (peers may be restoring from us).
    if (peers_ == nullptr) return Status::unavailable("no peers to fetch from");
    for (RecordingStateMachine* peer : peers_->all()) {
      if (peer == this) continue;
      std::vector<AppliedEntry> missing;
      if (!peer->copy_range(target_index, have, have_digest, target_count, &missing)) continue;
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& e : missing) {
        if (history_ != nullptr) history_->record(e.index, e.command, id_);
        append_locked(std::move(e));
      }
      fetched_ += target_count - have;
      if (digest_at_locked(entries_.size()) != target_digest) {
        return Status::corruption("fetched entries do not match the snapshot digest");
      }
      applied_index_ = target_index;
      visible_ = std::max(visible_, target_index);  // restored state is readable at once
      return Status::ok();
    }
    return Status::unavailable("no peer has applied index " + std::to_string(target_index));
  }

  // --- inspection -------------------------------------------------------------------------
  uint64_t id() const { return id_; }
  std::vector<AppliedEntry> entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size();
  }
  uint64_t apply_calls() const { return locked(apply_calls_); }
  uint64_t commits() const { return locked(commits_); }
  uint64_t snapshots() const { return locked(snapshots_); }
  std::thread::id snapshot_thread() const {
    std::lock_guard<std::mutex> lock(mu_);
    return snapshot_thread_;
  }
  uint64_t restores() const { return locked(restores_); }
  uint64_t fetched() const { return locked(fetched_); }
  std::vector<std::string> problems() const {
    std::lock_guard<std::mutex> lock(mu_);
    return problems_;
  }

  // If this replica has applied `index` and its first `from` entries hash to `from_digest`,
  // copies entries [from, to) into `out`.
  bool copy_range(uint64_t index, size_t from, uint64_t from_digest, size_t to,
                  std::vector<AppliedEntry>* out) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (applied_index_ < index || entries_.size() < to || digest_at_locked(from) != from_digest) {
      return false;
    }
    out->assign(entries_.begin() + static_cast<ptrdiff_t>(from),
                entries_.begin() + static_cast<ptrdiff_t>(to));
    return true;
  }

 private:
  static void put_u64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
  static uint64_t get_u64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }

  static uint64_t mix(uint64_t h, const AppliedEntry& e) {
    auto feed = [&h](const void* data, size_t n) {
      const auto* p = static_cast<const unsigned char*>(data);
      for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
      }
    };
    uint64_t len = e.command.size();
    feed(&e.index, 8);
    feed(&len, 8);
    feed(e.command.data(), e.command.size());
    return h;
  }

  // One pretend write at a time; the continuation starts the next if more was applied meanwhile.
  void start_write_locked() {
    if (writing_ || visible_ >= applied_index_) return;
    writing_ = true;
    const uint64_t target = applied_index_;
    offload_->run(
        [this] {
          if (write_delay_.count() > 0) std::this_thread::sleep_for(write_delay_);
          std::lock_guard<std::mutex> lock(mu_);
          writing_ = false;
          background_writes_++;
          written_cv_.notify_all();
        },
        [this, target] {
          std::lock_guard<std::mutex> lock(mu_);
          visible_ = std::max(visible_, target);
          if (offload_ != nullptr) start_write_locked();
        });
  }

  void append_locked(AppliedEntry e) {
    if (!entries_.empty() && e.index <= entries_.back().index) {
      problems_.push_back("index " + std::to_string(e.index) + " applied after " +
                          std::to_string(entries_.back().index));
    }
    uint64_t prev = digests_.empty() ? kDigestSeed : digests_.back();
    digests_.push_back(mix(prev, e));
    entries_.push_back(std::move(e));
  }

  // Digest of the first k entries.
  uint64_t digest_at_locked(size_t k) const { return k == 0 ? kDigestSeed : digests_[k - 1]; }

  // Number of entries with index <= `index`.
  size_t count_upto_locked(uint64_t index) const {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), index,
                               [](uint64_t i, const AppliedEntry& e) { return i < e.index; });
    return static_cast<size_t>(it - entries_.begin());
  }

  uint64_t locked(const uint64_t& field) const {
    std::lock_guard<std::mutex> lock(mu_);
    return field;
  }

  const uint64_t id_;
  PeerDirectory* const peers_;
  CommittedHistory* const history_;
  mutable std::mutex mu_;
  std::vector<AppliedEntry> entries_;
  std::vector<uint64_t> digests_;  // digests_[k] = digest of entries_[0..k]
  uint64_t visible_ = 0;
  bool pipelined_ = false;
  std::chrono::microseconds write_delay_{0};
  LoopOffload* offload_ = nullptr;
  bool writing_ = false;
  uint64_t background_writes_ = 0;
  std::condition_variable written_cv_;
  uint64_t applied_index_ = 0;
  uint64_t apply_calls_ = 0;
  uint64_t commits_ = 0;
  uint64_t snapshots_ = 0;
  std::thread::id snapshot_thread_;
  uint64_t restores_ = 0;
  uint64_t fetched_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace reckon::consensus::testing
