#include "consensus/proposer.h"

#include <utility>

#include "consensus/entry_frame.h"
#include "consensus/raft_errors.h"

namespace reckon::consensus {

Proposer::~Proposer() {
  // Only reachable with requests outstanding if the owner skipped abandon_all(); completing
  // them here keeps the "done exactly once" promise.
  if (!outstanding_.empty() || !awaited_.empty())
    abandon_all(Status::unavailable("consensus replica destroyed"));
  machine_ = nullptr;  // may be gone already; nothing waits for visibility any more
  deliver();
}

Proposer::Request* Proposer::track(Kind kind) {
  auto req = std::make_unique<Request>();
  req->owner = this;
  req->seq = next_seq_++;
  req->kind = kind;
  req->apply.data = req.get();
  req->barrier.data = req.get();
  req->change.data = req.get();
  req->transfer.data = req.get();
  Request* raw = req.get();
  outstanding_.emplace(raw->seq, std::move(req));
  return raw;
}

void Proposer::finish(Request* req, Status status) {
  Done done = std::move(req->done);
  auto it = outstanding_.find(req->seq);
  if (req->kind == Kind::kTransfer) {
    // libraft 0.15 may call a transfer back while the TimeoutNow it sent through
    // raft_transfer.send is still queued in the I/O layer, which completes it later: keep the
    // request until the instance is closed.
    retired_.push_back(std::move(it->second));
  }
  outstanding_.erase(it);  // destroys req unless retired
  if (done)
    queue([done = std::move(done), status = std::move(status)] { done(status); });
}

void Proposer::complete(ApplyDone done, Result<std::shared_ptr<void>> result) {
  if (done) {
    queue([done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }
}

void Proposer::fail_awaited(uint64_t first, uint64_t last, const Status& why) {
  for (auto it = awaited_.begin(); it != awaited_.end();) {
    if (it->index >= first && it->index <= last) {
      complete(std::move(it->done), why);
      it = awaited_.erase(it);
    } else {
      ++it;
    }
  }
}

void Proposer::fail_stale_awaited() {
  if (awaited_.empty()) return;
  const bool leading = raft_state(raft_) == RAFT_LEADER;
  const uint64_t term = raft_->current_term;
  if (leading && awaited_.front().term == term && awaited_.back().term == term) return;
  const Status lost = raft_error_status(RAFT_LEADERSHIPLOST, "raft_apply");
  for (auto it = awaited_.begin(); it != awaited_.end();) {
    if (!leading || it->term != term) {
      complete(std::move(it->done), lost);
      it = awaited_.erase(it);
    } else {
      ++it;
    }
  }
}

void Proposer::fail_now(Done done, Status status) {
  if (done)
    queue([done = std::move(done), status = std::move(status)] { done(status); });
}

void Proposer::queue(std::function<void()> completion) {
  ready_.push_back({machine_ != nullptr ? machine_->applied_index() : 0, std::move(completion)});
}

Status Proposer::sync_failure(int rv, std::string_view what) {
  if (rv == RAFT_NOTLEADER) return not_leader_status(raft_);
  return raft_error_status(rv, what, raft_errmsg(raft_));
}

void Proposer::propose(std::string_view command, ApplyDone done) {
  std::vector<Proposal> one;
  one.push_back({command, std::move(done)});
  propose_all(one);
}

void Proposer::propose_all(std::vector<Proposal>& proposals) {
  auto fail_all = [&](const Status& st) {
    for (auto& p : proposals) complete(std::move(p.done), st);
  };
  if (raft_ == nullptr)
    return fail_all(Status::internal("proposer not attached to a raft instance"));
  if (raft_state(raft_) != RAFT_LEADER) return fail_all(not_leader_status(raft_));
  // Entries of a term this replica no longer leads may be replaced at the indexes it is about
  // to use: their commands must not wait there.
  fail_stale_awaited();

  std::vector<struct raft_buffer> bufs;
  std::vector<ApplyDone> dones;
  bufs.reserve(proposals.size());
  dones.reserve(proposals.size());
  for (auto& p : proposals) {
    if (p.command.empty()) {
      complete(std::move(p.done), Status::invalid_argument("empty command"));
      continue;
    }
    struct raft_buffer buf;
    buf.len = entry_frame_size(p.command.size());
    buf.base = raft_malloc(buf.len);
    if (buf.base == nullptr) {
      complete(std::move(p.done), Status::unavailable("out of memory for a raft entry"));
      continue;
    }
    encode_entry_frame(p.command, static_cast<char*>(buf.base));
    bufs.push_back(buf);
    dones.push_back(std::move(p.done));
  }
  if (bufs.empty()) return;

  const uint64_t first = raft_last_index(raft_) + 1;  // where raft_apply appends
  Request* req = track(Kind::kApply);
  req->first_index = first;
  req->last_index = first + bufs.size() - 1;
  int rv = raft_apply(raft_, &req->apply, bufs.data(), static_cast<unsigned>(bufs.size()),
                      &Proposer::on_apply);
  if (rv != 0) {
    for (auto& b : bufs) raft_free(b.base);  // ownership passes to libraft only on success
    outstanding_.erase(req->seq);
    const Status st = sync_failure(rv, "raft_apply");
    for (auto& d : dones) complete(std::move(d), st);
    return;
  }
  apply_requests_++;
  commands_proposed_ += dones.size();
  const uint64_t term = raft_->current_term;
  for (size_t k = 0; k < dones.size(); ++k)
    awaited_.push_back({first + k, term, std::move(dones[k])});
}

void Proposer::applied(uint64_t index, std::shared_ptr<void>* value) {
  if (awaited_.empty() || awaited_.front().index > index) return;  // not ours (followers: always)
  // Entries apply in index order, so a command waiting below `index` lost its entry. (The
  // status is built only then: this runs for every applied entry.)
  if (awaited_.front().index < index) {
    fail_awaited(0, index - 1, raft_error_status(RAFT_LEADERSHIPLOST, "raft_apply"));
  }
  if (awaited_.empty() || awaited_.front().index != index) return;
  Awaited a = std::move(awaited_.front());
  awaited_.pop_front();
  if (raft_state(raft_) != RAFT_LEADER || raft_->current_term != a.term) {
    // Another leader may have written this index: whether it holds our command is unknown.
    return complete(std::move(a.done), raft_error_status(RAFT_LEADERSHIPLOST, "raft_apply"));
  }
  if (value == nullptr) {
    // Only possible if this node proposed an entry at an index its state machine had already
    // applied: the Raft log was lost or replaced under a state machine that was not.
    return complete(
        std::move(a.done),
        Status::internal("command at index " + std::to_string(index) +
                         " was skipped: the state machine had already applied that index"));
  }
  complete(std::move(a.done), std::move(*value));
}

void Proposer::barrier(Done done) {
  if (raft_ == nullptr) return fail_now(std::move(done), Status::internal("not attached"));
  Request* req = track(Kind::kBarrier);
  req->done = std::move(done);
  int rv = raft_barrier(raft_, &req->barrier, &Proposer::on_barrier);
  if (rv != 0) finish(req, sync_failure(rv, "raft_barrier"));
}

void Proposer::add_member(uint64_t id, const std::string& address, Done done) {
  if (raft_ == nullptr) return fail_now(std::move(done), Status::internal("not attached"));
  Request* req = track(Kind::kChange);
  req->done = std::move(done);
  int rv = raft_add(raft_, &req->change, id, address.c_str(), &Proposer::on_change);
  if (rv != 0) finish(req, sync_failure(rv, "raft_add"));
}

void Proposer::assign_role(uint64_t id, MemberRole role, Done done) {
  if (raft_ == nullptr) return fail_now(std::move(done), Status::internal("not attached"));
  Request* req = track(Kind::kChange);
  req->done = std::move(done);
  int rv = raft_assign(raft_, &req->change, id, to_raft_role(role), &Proposer::on_change);
  if (rv != 0) finish(req, sync_failure(rv, "raft_assign"));
}

void Proposer::remove_member(uint64_t id, Done done) {
  if (raft_ == nullptr) return fail_now(std::move(done), Status::internal("not attached"));
  Request* req = track(Kind::kChange);
  req->done = std::move(done);
  int rv = raft_remove(raft_, &req->change, id, &Proposer::on_change);
  if (rv != 0) finish(req, sync_failure(rv, "raft_remove"));
}

void Proposer::transfer_leadership(uint64_t id, Done done) {
  if (raft_ == nullptr) return fail_now(std::move(done), Status::internal("not attached"));
  Request* req = track(Kind::kTransfer);
  req->done = std::move(done);
  req->target = id;
  int rv = raft_transfer(raft_, &req->transfer, id, &Proposer::on_transfer);
  if (rv != 0) finish(req, sync_failure(rv, "raft_transfer"));
}

void Proposer::on_apply(struct raft_apply* apply, int status, void*) {
  // Success means the first entry was applied; results arrive through applied().
  auto* req = static_cast<Request*>(apply->data);
  Proposer* self = req->owner;
  const uint64_t first = req->first_index, last = req->last_index;
  self->outstanding_.erase(req->seq);  // destroys req
  if (status == 0) return;
  self->fail_awaited(first, last,
                     status == RAFT_NOTLEADER ? not_leader_status(self->raft_)
                                              : raft_error_status(status, "raft_apply"));
}

void Proposer::on_barrier(struct raft_barrier* barrier, int status) {
  auto* req = static_cast<Request*>(barrier->data);
  Proposer* self = req->owner;
  if (status == 0) return self->finish(req, Status::ok());
  if (status == RAFT_NOTLEADER) return self->finish(req, not_leader_status(self->raft_));
  self->finish(req, raft_error_status(status, "raft_barrier"));
}

void Proposer::on_change(struct raft_change* change, int status) {
  auto* req = static_cast<Request*>(change->data);
  Proposer* self = req->owner;
  if (status == 0) return self->finish(req, Status::ok());
  if (status == RAFT_NOTLEADER) return self->finish(req, not_leader_status(self->raft_));
  self->finish(req, raft_error_status(status, "membership change"));
}

void Proposer::on_transfer(struct raft_transfer* transfer) {
  // libraft reports no status: it calls back when the target leads or after an election
  // timeout. Judge by who leads now.
  auto* req = static_cast<Request*>(transfer->data);
  Proposer* self = req->owner;
  raft_id leader = 0;
  const char* address = nullptr;
  raft_leader(self->raft_, &leader, &address);
  const bool moved =
      req->target != 0 ? leader == req->target : raft_state(self->raft_) != RAFT_LEADER;
  if (moved) return self->finish(req, Status::ok());
  self->finish(req, Status(ErrorCode::kTimeout,
                           "leadership transfer" +
                               (req->target != 0 ? " to " + std::to_string(req->target) : "") +
                               " did not complete within the election timeout"));
}

void Proposer::deliver() {
  if (raft_ != nullptr) fail_stale_awaited();
  // Marks never decrease along the queue, so the deliverable completions are a prefix.
  while (!ready_.empty() &&
         (machine_ == nullptr || ready_.front().visible_at <= machine_->answerable_index())) {
    auto run = std::move(ready_.front().run);
    ready_.pop_front();
    run();  // may queue more
  }
}

void Proposer::abandon_all(const Status& why) {
  retired_.clear();
  auto pending = std::move(outstanding_);
  outstanding_.clear();
  for (auto& [seq, req] : pending) {
    if (req->done) queue([done = std::move(req->done), why] { done(why); });
  }
  auto awaited = std::move(awaited_);
  awaited_.clear();
  for (auto& a : awaited) complete(std::move(a.done), why);
}

}  // namespace reckon::consensus
