#include "consensus/fsm_adapter.h"

#include <cstring>

#include "consensus/entry_frame.h"
#include "consensus/proposer.h"

namespace reckon::consensus {

namespace {

// "RS" + format version. See docs/CONSENSUS.md, "Snapshot format".
constexpr char kSnapshotMagic[2] = {'R', 'S'};
constexpr uint8_t kSnapshotFormat = 1;
constexpr size_t kSnapshotHeader = 3;

}  // namespace

FsmAdapter::FsmAdapter(ReplicatedStateMachine& machine) : machine_(machine) {
  std::memset(&fsm_, 0, sizeof fsm_);
  // Version 1 (synchronous snapshots; libraft owns and raft_free()s the buffers we return)
  // unless the owner calls make_snapshots_durable_off_the_loop().
  fsm_.version = 1;
  fsm_.data = this;
  fsm_.apply = &FsmAdapter::apply_cb;
  fsm_.snapshot = &FsmAdapter::snapshot_cb;
  fsm_.restore = &FsmAdapter::restore_cb;
}

void FsmAdapter::attach(struct raft* r) { raft_ = r; }

void FsmAdapter::make_snapshots_durable_off_the_loop() {
  // Version 3: snapshot_cb captures the point on the loop, snapshot_async_cb makes it durable on
  // the I/O's worker thread, and libraft writes the snapshot and truncates its log only after
  // that; snapshot_finalize_cb then frees the buffers (they are ours in versions 2 and 3).
  fsm_.version = 3;
  fsm_.snapshot_async = &FsmAdapter::snapshot_async_cb;
  fsm_.snapshot_finalize = &FsmAdapter::snapshot_finalize_cb;
}

void FsmAdapter::commit_if_needed() {
  if (!uncommitted_) return;
  uncommitted_ = false;
  machine_.commit_applied();
}

int FsmAdapter::apply_cb(struct raft_fsm* fsm, const struct raft_buffer* buf, void** result) {
  auto* self = static_cast<FsmAdapter*>(fsm->data);
  if (self->raft_ == nullptr) return RAFT_INVALID;  // attach() was not called
  // libraft sets last_applied = index only after this callback returns (replicationApply), so
  // the entry being applied is the next one.
  const uint64_t index = raft_last_applied(self->raft_) + 1;
  *result = nullptr;  // results go to the Proposer by index, not through libraft's callback
  if (index <= self->machine_.applied_index()) {
    // Already in the state machine's persisted state: the Raft log is replaying entries from
    // before a restart (or from before a snapshot the state machine had already passed).
    self->skipped_++;
    if (self->proposer_ != nullptr) self->proposer_->applied(index, nullptr);
    return 0;
  }
  auto command =
      decode_entry_frame(std::string_view(static_cast<const char*>(buf->base), buf->len));
  if (!command.is_ok()) {
    // Every replica holds the same bytes, so this is a corrupt log, not a bad command: stop
    // applying rather than guess (libraft stops at the first failing entry).
    return RAFT_CORRUPT;
  }
  std::shared_ptr<void> value = self->machine_.apply(*command, index);
  self->uncommitted_ = true;
  self->applied_++;
  if (self->proposer_ != nullptr) self->proposer_->applied(index, &value);
  return 0;
}

std::string FsmAdapter::wrap_snapshot(std::string_view machine_state) {
  std::string out;
  out.reserve(kSnapshotHeader + machine_state.size());
  out.append(kSnapshotMagic, sizeof kSnapshotMagic);
  out.push_back(static_cast<char>(kSnapshotFormat));
  out.append(machine_state);
  return out;
}

Result<std::string_view> FsmAdapter::unwrap_snapshot(std::string_view bytes) {
  if (bytes.size() < kSnapshotHeader || bytes[0] != kSnapshotMagic[0] ||
      bytes[1] != kSnapshotMagic[1]) {
    return Status::corruption("raft snapshot: not a reckondb logical snapshot");
  }
  if (static_cast<uint8_t>(bytes[2]) != kSnapshotFormat) {
    return Status::corruption("raft snapshot: unknown format " +
                              std::to_string(static_cast<uint8_t>(bytes[2])));
  }
  return bytes.substr(kSnapshotHeader);
}

int FsmAdapter::snapshot_cb(struct raft_fsm* fsm, struct raft_buffer* bufs[], unsigned* n_bufs) {
  auto* self = static_cast<FsmAdapter*>(fsm->data);
  // libraft snapshots right after applying, inside the same loop turn: commit staged applies
  // first so the snapshot describes written state.
  self->commit_if_needed();
  auto state = self->machine_.snapshot_state();
  if (!state.is_ok()) return RAFT_IOERR;  // libraft keeps its log and tries again later
  if (self->fsm_.snapshot_async == nullptr && !self->machine_.make_snapshot_durable().is_ok()) {
    return RAFT_IOERR;
  }
  const std::string bytes = wrap_snapshot(*state);

  auto* array = static_cast<struct raft_buffer*>(raft_malloc(sizeof(struct raft_buffer)));
  if (array == nullptr) return RAFT_NOMEM;
  array[0].len = bytes.size();
  array[0].base = raft_malloc(bytes.size());
  if (array[0].base == nullptr) {
    raft_free(array);
    return RAFT_NOMEM;
  }
  std::memcpy(array[0].base, bytes.data(), bytes.size());
  *bufs = array;
  *n_bufs = 1;
  self->snapshots_taken_++;
  return 0;
}

int FsmAdapter::snapshot_async_cb(struct raft_fsm* fsm, struct raft_buffer**, unsigned*) {
  auto* self = static_cast<FsmAdapter*>(fsm->data);
  // An error makes libraft drop this snapshot (keeping its log); finalize still runs.
  return self->machine_.make_snapshot_durable().is_ok() ? 0 : RAFT_IOERR;
}

int FsmAdapter::snapshot_finalize_cb(struct raft_fsm*, struct raft_buffer* bufs[], unsigned* n_bufs) {
  if (*bufs == nullptr) return 0;
  for (unsigned i = 0; i < *n_bufs; ++i) raft_free((*bufs)[i].base);
  raft_free(*bufs);
  *bufs = nullptr;
  *n_bufs = 0;
  return 0;
}

int FsmAdapter::restore_cb(struct raft_fsm* fsm, struct raft_buffer* buf) {
  auto* self = static_cast<FsmAdapter*>(fsm->data);
  self->commit_if_needed();
  auto state = unwrap_snapshot(std::string_view(static_cast<const char*>(buf->base), buf->len));
  if (!state.is_ok()) return RAFT_CORRUPT;
  Status st = self->machine_.restore_state(*state);
  if (!st.is_ok()) {
    // On failure libraft keeps ownership of buf. At startup raft_start() fails. During an
    // InstallSnapshot libraft 0.15 has already replaced its log with the snapshot, so a failed
    // restore leaves the replica unable to apply: docs/CONSENSUS.md asks state machines to
    // treat it as fatal.
    return st.code() == ErrorCode::kCorruption ? RAFT_CORRUPT : RAFT_IOERR;
  }
  // On success the FSM owns the buffer.
  raft_free(buf->base);
  self->restores_++;
  return 0;
}

}  // namespace reckon::consensus
