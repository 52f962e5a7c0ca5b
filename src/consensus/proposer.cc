#include "consensus/proposer.h"

#include <utility>

#include "consensus/entry_frame.h"
#include "consensus/fsm_adapter.h"
#include "consensus/raft_errors.h"

namespace reckon::consensus {

Proposer::~Proposer() {
  // Only reachable with requests outstanding if the owner skipped abandon_all(); completing
  // them here keeps the "done exactly once" promise.
  if (!outstanding_.empty()) abandon_all(Status::unavailable("consensus replica destroyed"));
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

void Proposer::finish_apply(Request* req, Result<std::shared_ptr<void>> result) {
  ApplyDone done = std::move(req->apply_done);
  outstanding_.erase(req->seq);
  if (done) {
    queue([done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
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
  auto fail = [&](Status st) {
    if (done) {
      queue([done = std::move(done), st = std::move(st)] { done(st); });
    }
  };
  if (raft_ == nullptr) return fail(Status::internal("proposer not attached to a raft instance"));
  if (command.empty()) return fail(Status::invalid_argument("empty command"));
  if (raft_state(raft_) != RAFT_LEADER) return fail(not_leader_status(raft_));

  struct raft_buffer buf;
  buf.len = entry_frame_size(command.size());
  buf.base = raft_malloc(buf.len);
  if (buf.base == nullptr) return fail(Status::unavailable("out of memory for a raft entry"));
  encode_entry_frame(command, static_cast<char*>(buf.base));

  Request* req = track(Kind::kApply);
  req->apply_done = std::move(done);
  int rv = raft_apply(raft_, &req->apply, &buf, 1, &Proposer::on_apply);
  if (rv != 0) {
    raft_free(buf.base);  // ownership passes to libraft only on success
    finish_apply(req, sync_failure(rv, "raft_apply"));
  }
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

void Proposer::on_apply(struct raft_apply* apply, int status, void* result) {
  auto* req = static_cast<Request*>(apply->data);
  Proposer* self = req->owner;
  if (status == 0) {
    // The result slot is only valid inside this callback: take it now.
    self->finish_apply(req, FsmAdapter::take_result(result));
  } else if (status == RAFT_NOTLEADER) {
    self->finish_apply(req, not_leader_status(self->raft_));
  } else {
    self->finish_apply(req, raft_error_status(status, "raft_apply"));
  }
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
    if (req->kind == Kind::kApply) {
      if (req->apply_done) {
        queue([done = std::move(req->apply_done), why] { done(why); });
      }
    } else if (req->done) {
      queue([done = std::move(req->done), why] { done(why); });
    }
  }
}

}  // namespace reckon::consensus
