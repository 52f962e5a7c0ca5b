#include "consensus/guarded_io.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace reckon::consensus {

struct raft_io* GuardedIo::wrap(struct raft_io* inner) {
  inner_ = inner;
  inner_->data = this;  // our callbacks find the guard through it; libraft never reads it
  std::memset(&outer_, 0, sizeof outer_);
  outer_.version = inner->version;
  outer_.impl = this;
  outer_.init = &GuardedIo::init;
  outer_.close = &GuardedIo::close;
  outer_.load = &GuardedIo::load;
  outer_.start = &GuardedIo::start;
  outer_.bootstrap = &GuardedIo::bootstrap;
  outer_.recover = &GuardedIo::recover;
  outer_.set_term = &GuardedIo::set_term;
  outer_.set_vote = &GuardedIo::set_vote;
  outer_.send = &GuardedIo::send;
  outer_.append = &GuardedIo::append;
  outer_.truncate = &GuardedIo::truncate;
  outer_.snapshot_put = &GuardedIo::snapshot_put;
  outer_.snapshot_get = &GuardedIo::snapshot_get;
  outer_.time = &GuardedIo::time;
  outer_.random = &GuardedIo::random;
  // libraft 0.15's raft_uv_init() fills async_work while still declaring version 1.
  outer_.async_work = inner->async_work != nullptr ? &GuardedIo::async_work : nullptr;
  return &outer_;
}

void GuardedIo::install(struct raft* r) {
  struct raft_io* outer = wrap(r->io);
  outer->data = r;  // what raft_init() would have set
  r->io = outer;
}

GuardedIo* GuardedIo::from_outer(struct raft_io* io) { return static_cast<GuardedIo*>(io->impl); }
GuardedIo* GuardedIo::from_inner(struct raft_io* io) { return static_cast<GuardedIo*>(io->data); }

int GuardedIo::copy_errmsg(int rv) {
  if (rv != 0) std::memcpy(outer_.errmsg, inner_->errmsg, sizeof outer_.errmsg);
  return rv;
}

// --- plain forwarding ----------------------------------------------------------------------

int GuardedIo::init(struct raft_io* io, raft_id id, const char* address) {
  GuardedIo* g = from_outer(io);
  return g->copy_errmsg(g->inner_->init(g->inner_, id, address));
}

void GuardedIo::close(struct raft_io* io, raft_io_close_cb cb) {
  GuardedIo* g = from_outer(io);
  g->raft_close_ = cb;
  if (g->appends_in_flight_ > 0) {
    g->close_deferred_ = true;  // (5) on_append_done() closes once they are done
    return;
  }
  g->inner_->close(g->inner_, &GuardedIo::on_close);
}

int GuardedIo::load(struct raft_io* io, raft_term* term, raft_id* voted_for,
                    struct raft_snapshot** snapshot, raft_index* start_index,
                    struct raft_entry* entries[], size_t* n_entries) {
  GuardedIo* g = from_outer(io);
  int rv = g->inner_->load(g->inner_, term, voted_for, snapshot, start_index, entries, n_entries);
  if (rv == 0) {
    g->vote_term_ = *term;
    g->voted_for_ = *voted_for;
  }
  return g->copy_errmsg(rv);
}

int GuardedIo::start(struct raft_io* io, unsigned msecs, raft_io_tick_cb tick,
                     raft_io_recv_cb recv) {
  GuardedIo* g = from_outer(io);
  g->raft_tick_ = tick;
  g->raft_recv_ = recv;
  return g->copy_errmsg(
      g->inner_->start(g->inner_, msecs, &GuardedIo::on_tick, &GuardedIo::on_recv));
}

int GuardedIo::bootstrap(struct raft_io* io, const struct raft_configuration* conf) {
  GuardedIo* g = from_outer(io);
  return g->copy_errmsg(g->inner_->bootstrap(g->inner_, conf));
}

int GuardedIo::recover(struct raft_io* io, const struct raft_configuration* conf) {
  GuardedIo* g = from_outer(io);
  return g->copy_errmsg(g->inner_->recover(g->inner_, conf));
}

int GuardedIo::set_term(struct raft_io* io, raft_term term) {
  GuardedIo* g = from_outer(io);
  int rv = g->inner_->set_term(g->inner_, term);
  if (rv == 0) {
    // The disk now holds this term and no vote.
    g->vote_term_ = term;
    g->voted_for_ = 0;
  }
  return g->copy_errmsg(rv);
}

int GuardedIo::set_vote(struct raft_io* io, raft_id server_id) {
  GuardedIo* g = from_outer(io);
  // The vote belongs to the term on disk. Not raft->current_term: a candidate persists its new
  // term and its own vote before libraft updates current_term, so that still names the term
  // before, whose vote (for another server) would wrongly refuse this one — leaving the new
  // term without a persisted vote, free to vote again after a restart.
  const raft_term term = g->vote_term_;
  // (4) One vote per term. libraft persists a vote before it sends the grant, so a refusal
  // here is in time to stop the grant in send().
  if (server_id != 0 && g->voted_for_ != 0 && g->voted_for_ != server_id) {
    g->refused_term_ = term;
    g->refused_candidate_ = server_id;
    g->votes_refused_++;
    return 0;  // keep the first vote on disk
  }
  int rv = g->inner_->set_vote(g->inner_, server_id);
  if (rv == 0) g->voted_for_ = server_id;
  return g->copy_errmsg(rv);
}

namespace {
std::mutex appends_mu;
std::unordered_map<struct raft_io_append*, GuardedIo::InFlightAppend>* appends_map() {
  static auto* map = new std::unordered_map<struct raft_io_append*, GuardedIo::InFlightAppend>();
  return map;  // never destroyed: loop threads may outlive static destruction order
}
}  // namespace

GuardedIo::InFlightAppend GuardedIo::take_append(struct raft_io_append* req) {
  std::lock_guard<std::mutex> lock(appends_mu);
  auto it = appends_map()->find(req);
  InFlightAppend pending = it->second;
  appends_map()->erase(it);
  return pending;
}

int GuardedIo::append(struct raft_io* io, struct raft_io_append* req,
                      const struct raft_entry entries[], unsigned n, raft_io_append_cb cb) {
  GuardedIo* g = from_outer(io);
  InFlightAppend pending{g, cb, 0, 0, 0};
  if (g->answering_ != 0 && g->answering_append_) {
    // (1) A follower's write: remember which AppendEntries it serves, since its completion
    // sends the answer.
    pending.leader = g->answering_;
    pending.term = g->answering_term_;
    pending.verified = g->verified_;
  }
  {
    std::lock_guard<std::mutex> lock(appends_mu);
    (*appends_map())[req] = pending;
  }
  int rv = g->inner_->append(g->inner_, req, entries, n, &GuardedIo::on_append_done);
  if (rv != 0) {
    (void)take_append(req);
  } else {
    g->appends_in_flight_++;
  }
  return g->copy_errmsg(rv);
}

void GuardedIo::on_append_done(struct raft_io_append* req, int status) {
  InFlightAppend pending = take_append(req);
  GuardedIo* g = pending.guard;
  if (status == 0) {
    g->log_write_error_.clear();
  } else if (status != RAFT_CANCELED) {  // cancelled: the backend is closing
    g->log_write_failures_++;
    // The backend's message names the file and the cause; raft_strerror() knows only some codes.
    g->log_write_error_ = g->inner_->errmsg[0] != '\0'
                              ? std::string(g->inner_->errmsg)
                              : std::string(raft_strerror(status)) + " (raft error " + std::to_string(status) + ")";
  }
  g->completing_ = pending.leader != 0 ? &pending : nullptr;
  pending.raft_cb(req, status);
  g->completing_ = nullptr;
  g->appends_in_flight_--;
  if (g->close_deferred_ && g->appends_in_flight_ == 0) {
    g->close_deferred_ = false;
    auto close_inner = [g] { g->inner_->close(g->inner_, &GuardedIo::on_close); };
    if (g->deferrer_) {
      g->deferrer_(close_inner);
    } else {
      close_inner();
    }
  }
}

int GuardedIo::truncate(struct raft_io* io, raft_index index) {
  GuardedIo* g = from_outer(io);
  return g->copy_errmsg(g->inner_->truncate(g->inner_, index));
}

int GuardedIo::snapshot_put(struct raft_io* io, unsigned trailing, struct raft_io_snapshot_put* req,
                            const struct raft_snapshot* snapshot, raft_io_snapshot_put_cb cb) {
  GuardedIo* g = from_outer(io);
  return g->copy_errmsg(g->inner_->snapshot_put(g->inner_, trailing, req, snapshot, cb));
}

int GuardedIo::snapshot_get(struct raft_io* io, struct raft_io_snapshot_get* req,
                            raft_io_snapshot_get_cb cb) {
  GuardedIo* g = from_outer(io);
  return g->copy_errmsg(g->inner_->snapshot_get(g->inner_, req, cb));
}

raft_time GuardedIo::time(struct raft_io* io) {
  GuardedIo* g = from_outer(io);
  return g->inner_->time(g->inner_);
}

int GuardedIo::random(struct raft_io* io, int min, int max) {
  GuardedIo* g = from_outer(io);
  return g->inner_->random(g->inner_, min, max);
}

int GuardedIo::async_work(struct raft_io* io, struct raft_io_async_work* req,
                          raft_io_async_work_cb cb) {
  GuardedIo* g = from_outer(io);
  return g->copy_errmsg(g->inner_->async_work(g->inner_, req, cb));
}

void GuardedIo::on_tick(struct raft_io* inner) {
  GuardedIo* g = from_inner(inner);
  g->raft_tick_(&g->outer_);
}

void GuardedIo::on_close(struct raft_io* inner) {
  GuardedIo* g = from_inner(inner);
  if (g->raft_close_ != nullptr) g->raft_close_(&g->outer_);
}

// --- the corrections -----------------------------------------------------------------------

void GuardedIo::on_recv(struct raft_io* inner, struct raft_message* message) {
  GuardedIo* g = from_inner(inner);
  if (message->type == RAFT_IO_INSTALL_SNAPSHOT) {
    // A follower already holding the snapshot answers at once, again with its last stored
    // index; what it verified is the snapshot's last index.
    g->answering_ = message->server_id;
    g->answering_term_ = message->install_snapshot.term;
    g->answering_append_ = false;
    g->verified_ = message->install_snapshot.last_index;
    g->raft_recv_(&g->outer_, message);
    g->answering_ = 0;
    return;
  }
  if (message->type != RAFT_IO_APPEND_ENTRIES) {
    g->raft_recv_(&g->outer_, message);
    return;
  }
  g->guard_append_entries(message->server_id, &message->append_entries);
  // libraft answers an AppendEntries that needs no disk write from inside this call; send()
  // recognises that answer by `answering_`.
  g->answering_ = message->server_id;
  g->answering_term_ = message->append_entries.term;
  g->answering_append_ = true;
  g->verified_ = message->append_entries.prev_log_index + message->append_entries.n_entries;
  g->raft_recv_(&g->outer_, message);
  g->answering_ = 0;
}

void GuardedIo::guard_append_entries(raft_id from, struct raft_append_entries* args) {
  struct raft* r = static_cast<struct raft*>(outer_.data);

  // (3) Entries the local snapshot covers: drop them and anchor at the snapshot. Entries up to
  // the snapshot are committed, hence the same in every leader's log. Only for requests of the
  // current term or newer: an older leader's request is rejected on its term anyway, and must
  // stay untouched so the rejection names what it sent.
  const raft_index snapshot_index = r->log.snapshot.last_index;
  if (snapshot_index > 0 && args->prev_log_index < snapshot_index &&
      args->term >= r->current_term) {
    const raft_index covered = snapshot_index - args->prev_log_index;
    const unsigned drop = static_cast<unsigned>(std::min<raft_index>(covered, args->n_entries));
    if (drop > 0 && drop == args->n_entries) {
      // Everything is covered: free the entries (one batch, or one buffer per entry) and turn
      // the request into a heartbeat anchored at the snapshot.
      void* batch = args->entries[0].batch;
      if (batch != nullptr) {
        raft_free(batch);
      } else {
        for (unsigned i = 0; i < args->n_entries; i++) raft_free(args->entries[i].buf.base);
      }
      raft_free(args->entries);
      args->entries = nullptr;
      args->n_entries = 0;
    } else if (drop > 0) {
      // Keep the tail in a fresh array (libraft frees the array it is given, and the batch
      // through the remaining entries).
      const unsigned keep = args->n_entries - drop;
      auto* kept = static_cast<struct raft_entry*>(raft_malloc(keep * sizeof(struct raft_entry)));
      if (kept == nullptr) return;  // leave the request as it was
      std::memcpy(kept, args->entries + drop, keep * sizeof(struct raft_entry));
      if (args->entries[0].batch == nullptr) {
        for (unsigned i = 0; i < drop; i++) raft_free(args->entries[i].buf.base);
      }
      raft_free(args->entries);
      args->entries = kept;
      args->n_entries = keep;
    }
    args->prev_log_index = snapshot_index;
    args->prev_log_term = r->log.snapshot.last_term;
    entries_trimmed_ += drop;
  }

  // (2) Never let the follower commit past what this request verifies.
  const raft_index verified = args->prev_log_index + args->n_entries;
  if (args->leader_commit > verified) {
    args->leader_commit = verified;
    commits_clamped_++;
  }
  (void)from;
}

int GuardedIo::send(struct raft_io* io, struct raft_io_send* req,
                    const struct raft_message* message, raft_io_send_cb cb) {
  GuardedIo* g = from_outer(io);
  // (4) A grant of the second vote of a term becomes a refusal.
  if (message->type == RAFT_IO_REQUEST_VOTE_RESULT && message->request_vote_result.vote_granted &&
      message->request_vote_result.pre_vote != raft_tribool_true &&
      message->server_id == g->refused_candidate_ &&
      message->request_vote_result.term == g->refused_term_) {
    struct raft_message refused = *message;
    refused.request_vote_result.vote_granted = false;
    return g->copy_errmsg(g->inner_->send(g->inner_, req, &refused, cb));
  }
  // (1) The answer sent when a follower's disk write completes: to the leader and term that
  // sent the entries, it claims at most what that request verified; to anyone else it is
  // stale and claims nothing (a success for index 0 moves no match index).
  if (message->type == RAFT_IO_APPEND_ENTRIES_RESULT && g->completing_ != nullptr &&
      message->append_entries_result.rejected == 0) {
    const InFlightAppend& c = *g->completing_;
    const bool stale =
        message->server_id != c.leader || message->append_entries_result.term != c.term;
    const raft_index claim = stale ? 0 : c.verified;
    if (message->append_entries_result.last_log_index > claim) {
      struct raft_message clamped = *message;
      clamped.append_entries_result.last_log_index = claim;
      (stale ? g->stale_replies_ : g->replies_clamped_)++;
      return g->copy_errmsg(g->inner_->send(g->inner_, req, &clamped, cb));
    }
  }
  // (1) A success answer to the AppendEntries being handled claims at most what it verified.
  if (message->type == RAFT_IO_APPEND_ENTRIES_RESULT && g->answering_ != 0 &&
      message->server_id == g->answering_ && message->append_entries_result.rejected == 0 &&
      message->append_entries_result.last_log_index > g->verified_) {
    struct raft_message clamped = *message;  // the io copies what it needs before returning
    clamped.append_entries_result.last_log_index = g->verified_;
    g->replies_clamped_++;
    return g->copy_errmsg(g->inner_->send(g->inner_, req, &clamped, cb));
  }
  return g->copy_errmsg(g->inner_->send(g->inner_, req, message, cb));
}

}  // namespace reckon::consensus
