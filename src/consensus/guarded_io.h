// GuardedIo: a raft_io that forwards every call to the real one (libraft's libuv backend, or the
// in-memory fixture in tests) and corrects, on the way, five defects of libraft 0.15 that our
// deterministic simulation found (docs/CONSENSUS.md, "libraft 0.15 defects"):
//
//  1. Over-reported match index. A follower answering an AppendEntries that brings no new
//     entries (a heartbeat, or entries it already holds) reports its last *stored* index, even
//     when entries past the request are stale leftovers of an older term. The leader takes that
//     as the follower's match index, counts the follower toward commits it does not hold (an
//     entry can be "committed" on a minority) and never repairs the follower's log (it stays
//     stuck). The guard clamps a successful reply to prev_log_index + n_entries of the request
//     it answers — the match the follower actually verified (Raft, Figure 2). Likewise for the
//     immediate answer to an InstallSnapshot the follower already has (at most its last index),
//     and for the answer sent when a follower's disk write completes, which libraft addresses
//     to whoever leads *now*: if the leader or term changed meanwhile it claims nothing.
//  2. Commit over stale entries. The same path lets a follower raise its commit index to
//     leader_commit over those stale entries and apply them. The guard clamps an incoming
//     leader_commit to prev_log_index + n_entries ("index of last new entry", Figure 2).
//  3. Entries below the snapshot. An AppendEntries whose entries start at or below the
//     follower's last snapshot makes libraft 0.15 look up compacted entries and crash. The
//     guard drops the entries the snapshot covers (they are committed, so identical on every
//     replica) and re-anchors the request at the snapshot.
//  4. Double vote. A server that stepped down while its own leadership transfer was pending
//     grants its vote to the transfer target even after voting for another candidate in the
//     same term (the "grant our vote to the transferee" rule skips the voted-for check): two
//     leaders in one term. The guard records the vote it persisted for each term, refuses to
//     persist a second one, and turns the matching grant on the wire into a refusal.
//  5. Close with writes queued. Closing the libuv backend cancels queued appends; libraft 0.15
//     handles the first cancelled leader append by truncating its log behind it, then
//     dereferences the truncated entries for the next one (NULL read, crash): any stop of a
//     leader under load crashed. The guard holds back the backend's close until the appends
//     libraft already issued have completed (disk writes finish without the network; libraft,
//     already closing, discards their results).
//
// Every intervention only lowers what a server claims or grants, skips committed entries, or
// delays a close, so none can make libraft less safe; for a correct libraft they are no-ops.
//
// Threading: one thread at a time — the thread starting the node, then its loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "consensus/libraft.h"

namespace reckon::consensus {

class GuardedIo {
 public:
  GuardedIo() = default;
  GuardedIo(const GuardedIo&) = delete;
  GuardedIo& operator=(const GuardedIo&) = delete;

  // Forwards to `inner` (which must outlive the guard's use); returns the raft_io to pass to
  // raft_init(). Takes over inner->data.
  struct raft_io* wrap(struct raft_io* inner);

  // For an instance already initialised on r->io (raft_fixture_grow): wraps it in place.
  // Must run before raft_start().
  void install(struct raft* r);

  bool wrapped() const { return inner_ != nullptr; }

  // How to run the backend's delayed close (5) outside the append callback that allowed it:
  // libuv's writer still touches its handles after that callback returns. RaftNode passes
  // "on the next loop turn"; without a deferrer (the fixture) it runs at once.
  void set_deferrer(std::function<void(std::function<void()>)> deferrer) {
    deferrer_ = std::move(deferrer);
  }

  // How often each correction applied (tests and diagnostics).
  uint64_t replies_clamped() const { return replies_clamped_; }
  uint64_t stale_replies() const { return stale_replies_; }
  uint64_t commits_clamped() const { return commits_clamped_; }
  uint64_t entries_trimmed() const { return entries_trimmed_; }
  uint64_t votes_refused() const { return votes_refused_; }

  // Raft log writes (appends) that failed — a full disk, EIO — and the error of the last one
  // while no write succeeded since (empty once one does). libraft only stops storing entries;
  // this is how an operator learns why.
  uint64_t log_write_failures() const { return log_write_failures_; }
  const std::string& log_write_error() const { return log_write_error_; }

 private:
  static GuardedIo* from_outer(struct raft_io* io);
  static GuardedIo* from_inner(struct raft_io* io);

  // Forwarders installed in outer_.
  static int init(struct raft_io* io, raft_id id, const char* address);
  static void close(struct raft_io* io, raft_io_close_cb cb);
  static int load(struct raft_io* io, raft_term* term, raft_id* voted_for,
                  struct raft_snapshot** snapshot, raft_index* start_index,
                  struct raft_entry* entries[], size_t* n_entries);
  static int start(struct raft_io* io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv);
  static int bootstrap(struct raft_io* io, const struct raft_configuration* conf);
  static int recover(struct raft_io* io, const struct raft_configuration* conf);
  static int set_term(struct raft_io* io, raft_term term);
  static int set_vote(struct raft_io* io, raft_id server_id);
  static int send(struct raft_io* io, struct raft_io_send* req, const struct raft_message* message,
                  raft_io_send_cb cb);
  static int append(struct raft_io* io, struct raft_io_append* req,
                    const struct raft_entry entries[], unsigned n, raft_io_append_cb cb);
  static int truncate(struct raft_io* io, raft_index index);
  static int snapshot_put(struct raft_io* io, unsigned trailing, struct raft_io_snapshot_put* req,
                          const struct raft_snapshot* snapshot, raft_io_snapshot_put_cb cb);
  static int snapshot_get(struct raft_io* io, struct raft_io_snapshot_get* req,
                          raft_io_snapshot_get_cb cb);
  static raft_time time(struct raft_io* io);
  static int random(struct raft_io* io, int min, int max);
  static int async_work(struct raft_io* io, struct raft_io_async_work* req,
                        raft_io_async_work_cb cb);

  // Callbacks the inner io invokes; they call libraft's with the outer io.
  static void on_tick(struct raft_io* inner);
  static void on_recv(struct raft_io* inner, struct raft_message* message);
  static void on_close(struct raft_io* inner);
  static void on_append_done(struct raft_io_append* req, int status);

  void guard_append_entries(raft_id from, struct raft_append_entries* args);
  int copy_errmsg(int rv);

  struct raft_io outer_ {};
  struct raft_io* inner_ = nullptr;
  raft_io_tick_cb raft_tick_ = nullptr;
  raft_io_recv_cb raft_recv_ = nullptr;
  raft_io_close_cb raft_close_ = nullptr;

  // While libraft handles an AppendEntries: who sent it, its term, the last index it
  // verified, and whether it is an AppendEntries (not an InstallSnapshot).
  raft_id answering_ = 0;
  raft_term answering_term_ = 0;
  raft_index verified_ = 0;
  bool answering_append_ = false;

  // Every disk append in flight, with — for a follower's — the AppendEntries it serves; and the
  // one whose completion libraft is handling now. In flight ones are kept per thread, by request:
  // an instance and its I/O live on one loop thread (the simulation runs all of its on one).
 public:
  // Implementation detail, public only for the registry in guarded_io.cc.
  struct InFlightAppend {
    GuardedIo* guard = nullptr;
    raft_io_append_cb raft_cb = nullptr;
    raft_id leader = 0;  // 0: a leader's own append (no answer to send)
    raft_term term = 0;
    raft_index verified = 0;
  };

 private:
  static InFlightAppend take_append(struct raft_io_append* req);
  const InFlightAppend* completing_ = nullptr;
  size_t appends_in_flight_ = 0;
  bool close_deferred_ = false;  // (5) close() waits for appends_in_flight_ to drain
  std::function<void(std::function<void()>)> deferrer_;

  // The term on disk and the vote persisted for it, and a second grant in it that was refused.
  raft_term vote_term_ = 0;
  raft_id voted_for_ = 0;
  raft_term refused_term_ = 0;
  raft_id refused_candidate_ = 0;

  uint64_t replies_clamped_ = 0;
  uint64_t stale_replies_ = 0;
  uint64_t commits_clamped_ = 0;
  uint64_t entries_trimmed_ = 0;
  uint64_t votes_refused_ = 0;
  uint64_t log_write_failures_ = 0;
  std::string log_write_error_;
};

}  // namespace reckon::consensus
