// The asynchronous gRPC call machinery of reckond. Gateway threads poll completion queues and
// call CallTag::proceed(); the work itself runs on a store's reader or writer pool (or, for
// appends, completes on the store's committer thread), and the result goes back with
// finish()/fail(). One call object per RPC in flight; it deletes itself after its last event.
//
// UnaryCall:  requested -> handler -> finish/fail -> done.
// StreamCall: requested -> handler -> (produce on a pool -> write)* -> write-and-finish -> done.
//             The next batch is produced while the previous one is written (two buffers), so
//             a slow client never makes the server buffer more than two batches.
#pragma once

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "reckon/status.h"
#include "server/thread_pool.h"
#include "wire/status_mapping.h"

namespace reckon::server {

class CallTag {
 public:
  virtual ~CallTag() = default;
  virtual void proceed(bool ok) = 0;
};

// Counts calls that have started processing, so shutdown can wait for them.
class CallTracker {
 public:
  void started() { live_.fetch_add(1); }
  void done() { live_.fetch_sub(1); }
  int live() const { return live_.load(); }

 private:
  std::atomic<int> live_{0};
};

// What a handler needs to know about its call, whatever its shape.
struct CallInfo {
  grpc::ServerContext* ctx;
  std::chrono::steady_clock::time_point started;
  const char* method;
  // Unary calls: the server's own limit (store timeout_ms) for work that has not started yet,
  // whatever deadline the client gave (or none). Streams have none: exports may run for long.
  std::chrono::steady_clock::time_point server_deadline = std::chrono::steady_clock::time_point::max();
  // The store the call addresses, once found (find_store); empty before and for calls that
  // address none. Views the ServedStore's id, which outlives every call.
  std::string_view store{};

  bool past_deadline() const {
    return std::chrono::system_clock::now() > ctx->deadline() ||
           std::chrono::steady_clock::now() > server_deadline;
  }
};

// Hook for telemetry: called once per finished call with its outcome and latency. `store` is
// empty when the call addressed no known store.
using CallObserver =
    std::function<void(const char* method, std::string_view store, ErrorCode code, double seconds)>;

inline void report_call(const CallObserver& observer, const CallInfo& info, ErrorCode code) {
  if (!observer) return;
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - info.started;
  observer(info.method, info.store, code, d.count());
}

template <typename Service, typename Req, typename Resp>
class UnaryCall final : public CallTag {
 public:
  using RequestFn = void (Service::*)(grpc::ServerContext*, Req*,
                                      grpc::ServerAsyncResponseWriter<Resp>*, grpc::CompletionQueue*,
                                      grpc::ServerCompletionQueue*, void*);
  using Handler = std::function<void(UnaryCall&)>;
  struct Spec {
    Service* service;
    RequestFn request;
    Handler handler;
    const char* method;
    CallTracker* tracker;
    CallObserver* observer;
    std::chrono::milliseconds timeout;  // server-side limit for the call to start its work
  };

  static void arm(const std::shared_ptr<Spec>& spec, grpc::ServerCompletionQueue* cq) {
    auto* call = new UnaryCall(spec, cq);
    (spec->service->*spec->request)(&call->ctx_, &call->request, &call->responder_, cq, cq, call);
  }

  void proceed(bool ok) override {
    if (!started_) {
      if (!ok) {  // the server is shutting down: no call arrived
        delete this;
        return;
      }
      started_ = true;
      spec_->tracker->started();
      arm(spec_, cq_);  // accept the next call of this method
      const auto now = std::chrono::steady_clock::now();
      info_ = CallInfo{&ctx_, now, spec_->method, now + spec_->timeout};
      spec_->handler(*this);
      return;
    }
    delete this;
  }

  void finish() {
    observe(ErrorCode::kOk);
    responder_.Finish(response, grpc::Status::OK, this);
  }
  void fail(const Status& s) {
    observe(s.code());
    responder_.FinishWithError(wire::to_grpc(s, ctx_), this);
  }
  const CallInfo& info() const { return info_; }
  // From the handler, before the call's work is handed to another thread.
  void set_store(std::string_view store_id) { info_.store = store_id; }

 private:
  // Request and response live on the call's arena: parsing a 100-event append allocates its
  // messages and string objects there instead of one malloc each, and frees them at once.
  google::protobuf::Arena arena_{arena_options()};
  static google::protobuf::ArenaOptions arena_options() {
    google::protobuf::ArenaOptions o;
    o.start_block_size = 1024;
    o.max_block_size = 64 * 1024;
    return o;
  }

 public:
  Req& request = *google::protobuf::Arena::CreateMessage<Req>(&arena_);
  Resp& response = *google::protobuf::Arena::CreateMessage<Resp>(&arena_);

 private:
  UnaryCall(std::shared_ptr<Spec> spec, grpc::ServerCompletionQueue* cq)
      : spec_(std::move(spec)), cq_(cq), responder_(&ctx_) {}
  ~UnaryCall() override {
    if (started_) spec_->tracker->done();
  }
  void observe(ErrorCode code) { report_call(*spec_->observer, info_, code); }

  std::shared_ptr<Spec> spec_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncResponseWriter<Resp> responder_;
  bool started_ = false;
  CallInfo info_{};
};

// What a stream producer did with the message it was given.
enum class StreamStep {
  kMore,    // send it; more follow
  kLast,    // send it and finish the call
  kPaused,  // nothing to send now; the producer arranged for resume() to be called later
};

template <typename Service, typename Req, typename Msg>
class StreamCall final : public CallTag {
 public:
  using RequestFn = void (Service::*)(grpc::ServerContext*, Req*, grpc::ServerAsyncWriter<Msg>*,
                                      grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*);
  using Producer = std::function<Result<StreamStep>(Msg&)>;
  using Handler = std::function<void(StreamCall&)>;
  struct Spec {
    Service* service;
    RequestFn request;
    Handler handler;
    const char* method;
    CallTracker* tracker;
    CallObserver* observer;
  };

  static void arm(const std::shared_ptr<Spec>& spec, grpc::ServerCompletionQueue* cq) {
    auto* call = new StreamCall(spec, cq);
    (spec->service->*spec->request)(&call->ctx_, &call->request, &call->writer_, cq, cq, call);
  }

  // Called by the handler: produce every batch on `pool`.
  void start(ThreadPool* pool, Producer producer) {
    std::lock_guard<std::mutex> lock(mu_);
    pool_ = pool;
    producer_ = std::move(producer);
    schedule_locked();
  }
  // After a kPaused step: produce again (from any thread, exactly once per pause).
  void resume() {
    std::lock_guard<std::mutex> lock(mu_);
    if (producing_ != kNone) {  // the producer's wake-up fired before its step returned kPaused
      resumed_early_ = true;
      return;
    }
    paused_ = false;
    if (client_gone_) return finish_locked(grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled"), ErrorCode::kCancelled);
    schedule_locked();
  }
  // From the handler, before start().
  void fail(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_locked(s);
  }

  void proceed(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    switch (state_) {
      case State::kRequested:
        if (!ok) {
          lock.unlock();
          delete this;
          return;
        }
        state_ = State::kStreaming;
        spec_->tracker->started();
        arm(spec_, cq_);
        info_ = CallInfo{&ctx_, std::chrono::steady_clock::now(), spec_->method};
        lock.unlock();
        spec_->handler(*this);
        return;
      case State::kStreaming:
        return on_write_done(ok);
      case State::kFinishing:  // the last operation of the call completed
        lock.unlock();
        delete this;
        return;
    }
  }

  const CallInfo& info() const { return info_; }
  // From the handler, before start().
  void set_store(std::string_view store_id) { info_.store = store_id; }
  Req request;

 private:
  enum class State { kRequested, kStreaming, kFinishing };
  static constexpr int kNone = -1;

  StreamCall(std::shared_ptr<Spec> spec, grpc::ServerCompletionQueue* cq)
      : spec_(std::move(spec)), cq_(cq), writer_(&ctx_) {}
  ~StreamCall() override {
    if (state_ != State::kRequested) spec_->tracker->done();
  }

  // Double buffering: the producer fills one message while gRPC writes the other, so reading
  // the store and sending overlap. At most one produce runs at a time (producers keep state),
  // and a produce starts only into a buffer that is neither being written nor waiting to be.
  void schedule_locked() {
    if (state_ != State::kStreaming || producing_ != kNone || paused_ || producer_done_ || client_gone_) return;
    const int free = (writing_ != 0 && ready_ != 0) ? 0 : (writing_ != 1 && ready_ != 1) ? 1 : kNone;
    if (free == kNone) return;  // both buffers taken: the write completion schedules
    producing_ = free;
    if (!pool_->post([this, free] { produce(free); })) {
      producing_ = kNone;
      fail_locked(Status::unavailable("server is shutting down"));
    }
  }

  void produce(int buffer) {
    Msg& msg = bufs_[buffer];
    msg.Clear();
    Result<StreamStep> step = info_.past_deadline()
                                  ? Result<StreamStep>(Status(ErrorCode::kTimeout, "deadline exceeded"))
                                  : producer_(msg);
    std::lock_guard<std::mutex> lock(mu_);
    producing_ = kNone;
    const bool resumed = std::exchange(resumed_early_, false);
    if (step && *step == StreamStep::kPaused && !resumed) {
      paused_ = true;  // a resume() will come: it continues or ends the call, never us now
      return;
    }
    if (client_gone_) return finish_locked(grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled"), ErrorCode::kCancelled);
    if (!step) return fail_locked(step.status());
    if (*step == StreamStep::kPaused) return schedule_locked();  // resumed while producing
    if (*step == StreamStep::kLast) producer_done_ = true;
    if (writing_ == kNone) {
      write_locked(buffer, *step == StreamStep::kLast);
    } else {
      ready_ = buffer;
      ready_is_last_ = *step == StreamStep::kLast;
    }
    schedule_locked();
  }

  void write_locked(int buffer, bool last) {
    if (last) {
      state_ = State::kFinishing;
      observe(ErrorCode::kOk);
      writer_.WriteAndFinish(bufs_[buffer], grpc::WriteOptions(), grpc::Status::OK, this);
      return;
    }
    writing_ = buffer;
    writer_.Write(bufs_[buffer], this);
  }

  void on_write_done(bool ok) {
    writing_ = kNone;
    if (!ok) {  // the client went away; a running or paused producer ends the call when it returns
      client_gone_ = true;
      ready_ = kNone;
      if (producing_ == kNone && !paused_) {
        finish_locked(grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled"), ErrorCode::kCancelled);
      }
      return;
    }
    if (failure_) return finish_locked(wire::to_grpc(*failure_, ctx_), failure_->code());
    if (ready_ != kNone) {
      const int buffer = ready_;
      ready_ = kNone;
      write_locked(buffer, ready_is_last_);
    }
    schedule_locked();
  }

  // A failure waits for the write in flight (gRPC allows one operation of each kind at a time).
  void fail_locked(const Status& s) {
    if (writing_ != kNone) {
      failure_ = s;
      return;
    }
    finish_locked(wire::to_grpc(s, ctx_), s.code());
  }

  void finish_locked(const grpc::Status& status, ErrorCode code) {
    if (state_ == State::kFinishing) return;
    state_ = State::kFinishing;
    observe(code);
    writer_.Finish(status, this);
  }

  void observe(ErrorCode code) { report_call(*spec_->observer, info_, code); }

  std::shared_ptr<Spec> spec_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncWriter<Msg> writer_;
  std::mutex mu_;
  State state_ = State::kRequested;
  ThreadPool* pool_ = nullptr;
  Producer producer_;
  Msg bufs_[2];
  int producing_ = kNone;  // buffer being filled
  int writing_ = kNone;    // buffer gRPC is writing
  int ready_ = kNone;      // filled buffer waiting for the write in flight
  bool ready_is_last_ = false;
  bool paused_ = false;         // the producer waits for resume()
  bool resumed_early_ = false;  // resume() came while the producer was still running
  bool producer_done_ = false;  // it returned kLast
  bool client_gone_ = false;    // a write failed
  std::optional<Status> failure_;
  CallInfo info_{};
};

}  // namespace reckon::server
