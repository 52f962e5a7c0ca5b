// reckon.v1.AppendSessions/AppendSession: many concurrent appends multiplexed over one
// bidirectional call. Each incoming request is validated and submitted to the store's group
// commit at once (the next read is issued immediately, so a client keeps as many appends in
// flight as it likes); each answer is queued as its append is fsynced and written back in
// completion order, one write at a time as gRPC requires. A client may pack several appends
// into one request, and then gets the answers that are ready together packed into one response.
//
// Lifetime: the call object lives until the client has half-closed (or the call broke), every
// submitted append has answered, the queue is written, and Finish has completed. Completions
// arrive from gateway threads (reads, writes, finish) and the committer (append results); one
// mutex guards the state.
#include <google/protobuf/arena.h>

#include <deque>
#include <memory>
#include <mutex>
#include <set>

#include "server/grpc_server.h"
#include "server/service_helpers.h"
#include "server/telemetry.h"
#include "wire/convert.h"

namespace reckon::server {
namespace {

using Svc = v1::AppendSessions::AsyncService;

class AppendSessionCall;

// Live sessions, so a shutdown can drain them (they never end on their own).
struct SessionRegistry {
  std::mutex mu;
  std::set<AppendSessionCall*> live;
  bool draining = false;
};

class AppendSessionCall {
 public:
  static void arm(GrpcServer* server, Svc* service, grpc::ServerCompletionQueue* cq,
                  CallTracker* tracker, SessionRegistry* registry) {
    auto* call = new AppendSessionCall(server, service, cq, tracker, registry);
    service->RequestAppendSession(&call->ctx_, &call->stream_, cq, cq, &call->accept_tag_);
  }

  // Shutdown: answer the appends already submitted, then end the call (the client's next
  // append opens a session elsewhere or fails with Unavailable).
  void drain() {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
    cancel_if_drained_locked();
  }

 private:
  // One tag per kind of operation, since a read and a write may be in flight together.
  struct Tag final : CallTag {
    AppendSessionCall* call;
    void (AppendSessionCall::*handler)(bool);
    Tag(AppendSessionCall* c, void (AppendSessionCall::*h)(bool)) : call(c), handler(h) {}
    void proceed(bool ok) override { (call->*handler)(ok); }
  };

  AppendSessionCall(GrpcServer* server, Svc* service, grpc::ServerCompletionQueue* cq,
                    CallTracker* tracker, SessionRegistry* registry)
      : server_(server), service_(service), cq_(cq), tracker_(tracker), registry_(registry),
        stream_(&ctx_) {}

  void on_accept(bool ok) {
    if (!ok) {  // shutting down: no call arrived
      delete this;
      return;
    }
    tracker_->started();
    arm(server_, service_, cq_, tracker_, registry_);
    bool drain_now;
    {
      std::lock_guard<std::mutex> lock(registry_->mu);
      registry_->live.insert(this);
      drain_now = registry_->draining;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      start_read_locked();
    }
    if (drain_now) drain();
  }

  // The pending read only ends through a cancel; wait until every submitted append answered.
  void cancel_if_drained_locked() {
    if (draining_ && !cancelled_ && pending_appends_ == 0 && outbox_.empty() && !writing_) {
      cancelled_ = true;
      ctx_.TryCancel();
    }
  }

  // Each read lands in a message on an arena of its own (its appends' messages and strings
  // are bump-allocated there and freed at once); the arena goes when on_read has submitted its
  // appends, which take what they need before submit_append returns.
  struct ReadBuffer {
    std::unique_ptr<google::protobuf::Arena> arena;
    v1::AppendSessionRequest* message = nullptr;
  };
  static ReadBuffer new_read_buffer() {
    google::protobuf::ArenaOptions o;
    o.start_block_size = 2048;
    o.max_block_size = 64 * 1024;
    ReadBuffer b;
    b.arena = std::make_unique<google::protobuf::Arena>(o);
    b.message = google::protobuf::Arena::CreateMessage<v1::AppendSessionRequest>(b.arena.get());
    return b;
  }

  void start_read_locked() {
    reading_ = true;
    read_ = new_read_buffer();
    stream_.Read(read_.message, &read_tag_);
  }

  void on_read(bool ok) {
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    if (!ok || broken_) {  // the client half-closed, or the call is gone
      read_done_ = true;
      maybe_finish_locked();
      return;
    }
    const ReadBuffer got = std::move(read_);
    start_read_locked();  // keep reading while these appends are in flight
    v1::AppendSessionRequest& request = *got.message;
    if (request.accepts_packed_answers()) packs_answers_ = true;
    // The packed appends follow the first one, in the client's order (which is the order they
    // reach the group commit).
    auto& packed = *request.mutable_packed();
    pending_appends_ += 1 + packed.size();
    lock.unlock();
    submit(request);
    for (auto& more : packed) {
      if (more.packed_size() > 0) {  // packing is one level deep
        answer(more.correlation_id(), Status::invalid_argument("packed appends cannot pack further appends"), {});
        continue;
      }
      submit(more);
    }
  }

  void submit(v1::AppendSessionRequest& request) {
    const uint64_t id = request.correlation_id();
    ServedStore* store = server_->stores().find(request.append().store());
    if (!store) return answer(id, Status::not_found("unknown store '" + request.append().store() + "'"), {});
    if (store->shutting_down.load()) return answer(id, Status::unavailable("server is shutting down"), {});
    const auto started = std::chrono::steady_clock::now();
    Telemetry* telemetry = &server_->telemetry();
    std::string_view store_id = store->config.store_id;
    submit_append(*server_, *store, *request.mutable_append(),
                  [this, id, telemetry, store_id, started](Result<std::vector<AppendResult>> r) {
                    std::chrono::duration<double> d = std::chrono::steady_clock::now() - started;
                    telemetry->observe_call("AppendSession", store_id,
                                            r ? ErrorCode::kOk : r.code(), d.count());
                    if (!r) return answer(id, r.status(), {});
                    answer(id, Status::ok(), std::move(r).value());
                  });
  }

  // Queues the answer to one append and writes it when the stream is free.
  void answer(uint64_t id, const Status& status, std::vector<AppendResult> results) {
    v1::AppendSessionResponse response;
    response.set_correlation_id(id);
    if (status.is_ok()) {
      for (const auto& a : results) wire::to_proto(a, response.mutable_result()->add_results());
    } else {
      wire::to_detail(status, response.mutable_error());
    }
    std::lock_guard<std::mutex> lock(mu_);
    --pending_appends_;
    if (!broken_) outbox_.push_back(std::move(response));
    write_next_locked();
    cancel_if_drained_locked();
    maybe_finish_locked();
  }

  // Everything queued while the previous write was in flight goes out in one message to a
  // client that accepts packed answers: one gRPC write instead of one per append.
  void write_next_locked() {
    if (writing_ || broken_ || outbox_.empty()) return;
    writing_ = true;
    current_ = std::move(outbox_.front());
    outbox_.pop_front();
    while (packs_answers_ && !outbox_.empty() && current_.packed_size() < kMaxPackedAnswers) {
      *current_.add_packed() = std::move(outbox_.front());
      outbox_.pop_front();
    }
    stream_.Write(current_, &write_tag_);
  }

  void on_write(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      broken_ = true;  // the client went away: drop what is queued, answer nothing more
      outbox_.clear();
    }
    write_next_locked();
    cancel_if_drained_locked();
    maybe_finish_locked();
  }

  // Finishes once nothing can happen any more: no read, write or append outstanding.
  void maybe_finish_locked() {
    if (finishing_ || reading_ || writing_ || pending_appends_ > 0 || !outbox_.empty()) return;
    if (!read_done_ && !broken_) return;
    finishing_ = true;
    stream_.Finish(broken_ ? grpc::Status(grpc::StatusCode::CANCELLED, "client went away")
                           : grpc::Status::OK,
                   &finish_tag_);
  }

  void on_finish(bool) {
    {
      std::lock_guard<std::mutex> lock(registry_->mu);
      registry_->live.erase(this);
    }
    tracker_->done();
    delete this;
  }

  GrpcServer* server_;
  Svc* service_;
  grpc::ServerCompletionQueue* cq_;
  CallTracker* tracker_;
  SessionRegistry* registry_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<v1::AppendSessionResponse, v1::AppendSessionRequest> stream_;
  Tag accept_tag_{this, &AppendSessionCall::on_accept};
  Tag read_tag_{this, &AppendSessionCall::on_read};
  Tag write_tag_{this, &AppendSessionCall::on_write};
  Tag finish_tag_{this, &AppendSessionCall::on_finish};

  std::mutex mu_;
  ReadBuffer read_;                    // target of the read in flight
  v1::AppendSessionResponse current_;  // the response being written
  std::deque<v1::AppendSessionResponse> outbox_;
  uint64_t pending_appends_ = 0;
  static constexpr int kMaxPackedAnswers = 1024;
  bool packs_answers_ = false;  // the client said it reads AppendSessionResponse.packed
  bool reading_ = false, writing_ = false, read_done_ = false, broken_ = false,
       finishing_ = false, draining_ = false, cancelled_ = false;
};

}  // namespace

void register_append_session_service(GrpcServer& server, v1::AppendSessions::AsyncService& service) {
  static SessionRegistry registry;  // one server per process
  server.add_custom([&server, &service](grpc::ServerCompletionQueue* cq, CallTracker* tracker) {
    AppendSessionCall::arm(&server, &service, cq, tracker, &registry);
  });
  server.add_shutdown_hook([] {
    std::lock_guard<std::mutex> lock(registry.mu);
    registry.draining = true;
    for (auto* call : registry.live) call->drain();
  });
}

}  // namespace reckon::server
