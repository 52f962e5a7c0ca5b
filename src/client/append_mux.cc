#include "client/append_mux.h"

#include "wire/convert.h"
#include "wire/status_mapping.h"

namespace reckon::client {

AppendMux::AppendMux(v1::AppendSessions::Stub* stub) {
  stub->async()->AppendSession(&ctx_, this);
  StartRead(&reading_msg_);
  // Keeps the call open until the destructor, even while nothing is being written.
  AddHold();
  StartCall();
}

AppendMux::~AppendMux() {
  ctx_.TryCancel();
  {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;
  }
  RemoveHold();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return done_; });
}

bool AppendMux::broken() const {
  std::lock_guard<std::mutex> lock(mu_);
  return broken_;
}

void AppendMux::send(v1::AppendRequest request, Callback done) {
  std::unique_lock<std::mutex> lock(mu_);
  if (broken_) {
    lock.unlock();
    return done(Status::unavailable("append session is closed"));
  }
  const uint64_t id = next_id_++;
  pending_.emplace(id, std::move(done));
  v1::AppendSessionRequest msg;
  msg.set_correlation_id(id);
  *msg.mutable_append() = std::move(request);
  outbox_.push_back(std::move(msg));
  write_next_locked();
}

// Everything queued while the previous write was in flight goes out packed in one message (up
// to kMaxPackedBytes; a larger append travels alone): one gRPC write for many appends.
void AppendMux::write_next_locked() {
  if (writing_ || broken_ || outbox_.empty()) return;
  writing_ = true;
  writing_msg_ = std::move(outbox_.front());
  outbox_.pop_front();
  writing_msg_.set_accepts_packed_answers(true);
  size_t bytes = writing_msg_.ByteSizeLong();
  while (!outbox_.empty()) {
    const size_t next = outbox_.front().ByteSizeLong();
    if (bytes + next > kMaxPackedBytes) break;
    bytes += next;
    *writing_msg_.add_packed() = std::move(outbox_.front());
    outbox_.pop_front();
  }
  StartWrite(&writing_msg_);
}

std::vector<AppendMux::Callback> AppendMux::fail_all_locked() {
  broken_ = true;
  outbox_.clear();
  std::vector<Callback> out;
  for (auto& [id, cb] : pending_) out.push_back(std::move(cb));
  pending_.clear();
  return out;
}

void AppendMux::OnWriteDone(bool ok) {
  std::vector<Callback> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (ok) {
      write_next_locked();
    } else {
      failed = fail_all_locked();
    }
  }
  for (auto& cb : failed) cb(Status::unavailable("append session broke"));
}

void AppendMux::OnReadDone(bool ok) {
  if (!ok) {
    std::vector<Callback> failed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      failed = fail_all_locked();
    }
    for (auto& cb : failed) cb(Status::unavailable("append session ended"));
    return;
  }
  // The answer itself, then the ones packed with it.
  std::vector<std::pair<Callback, const v1::AppendSessionResponse*>> answered;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto take = [&](const v1::AppendSessionResponse& answer) {
      auto it = pending_.find(answer.correlation_id());
      if (it == pending_.end()) return;
      answered.emplace_back(std::move(it->second), &answer);
      pending_.erase(it);
    };
    take(reading_msg_);
    for (const auto& packed : reading_msg_.packed()) take(packed);
  }
  for (auto& [cb, answer] : answered) {
    if (answer->has_error()) {
      cb(wire::from_detail(answer->error()));
    } else {
      std::vector<AppendResult> results;
      for (const auto& r : answer->result().results()) results.push_back(wire::from_proto(r));
      cb(std::move(results));
    }
  }
  StartRead(&reading_msg_);
}

void AppendMux::OnDone(const grpc::Status&) {
  std::vector<Callback> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed = fail_all_locked();
  }
  for (auto& cb : failed) cb(Status::unavailable("append session ended"));
  // Last touch of this object: the destructor may free it as soon as the lock is released.
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  done_cv_.notify_all();
}

}  // namespace reckon::client
