// The asynchronous gRPC call machinery of reckond. Gateway threads poll completion queues and
// call CallTag::proceed(); the work itself runs on a store's reader or writer pool (or, for
// appends, completes on the store's committer thread), and the result goes back with
// finish()/fail(). One call object per RPC in flight; it deletes itself after its last event.
//
// UnaryCall:  requested -> handler -> finish/fail -> done.
// StreamCall: requested -> handler -> (produce on a pool -> write)* -> write-and-finish -> done.
//             The next batch is produced only after the previous write completed, so a slow
//             client never makes the server buffer more than one batch.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

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

  bool past_deadline() const {
    return std::chrono::system_clock::now() > ctx->deadline() ||
           std::chrono::steady_clock::now() > server_deadline;
  }
};

// Hook for telemetry: called once per finished call with its outcome and latency.
using CallObserver = std::function<void(const char* method, ErrorCode code, double seconds)>;

inline void report_call(const CallObserver& observer, const CallInfo& info, ErrorCode code) {
  if (!observer) return;
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - info.started;
  observer(info.method, code, d.count());
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

  Req request;
  Resp response;

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
    pool_ = pool;
    producer_ = std::move(producer);
    schedule();
  }
  // After a kPaused step: produce again (from any thread, exactly once per pause).
  void resume() { schedule(); }
  void fail(const Status& s) {
    state_ = State::kFinishing;
    observe(s.code());
    writer_.Finish(wire::to_grpc(s, ctx_), this);
  }

  void proceed(bool ok) override {
    switch (state_) {
      case State::kRequested:
        if (!ok) {
          delete this;
          return;
        }
        state_ = State::kProducing;
        spec_->tracker->started();
        arm(spec_, cq_);
        info_ = CallInfo{&ctx_, std::chrono::steady_clock::now(), spec_->method};
        spec_->handler(*this);
        return;
      case State::kWriting:
        if (!ok) {  // the client went away
          state_ = State::kFinishing;
          observe(ErrorCode::kCancelled);
          writer_.Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled"), this);
          return;
        }
        state_ = State::kProducing;
        schedule();
        return;
      case State::kProducing:
      case State::kFinishing:
        delete this;
        return;
    }
  }

  const CallInfo& info() const { return info_; }
  Req request;

 private:
  enum class State { kRequested, kProducing, kWriting, kFinishing };

  StreamCall(std::shared_ptr<Spec> spec, grpc::ServerCompletionQueue* cq)
      : spec_(std::move(spec)), cq_(cq), writer_(&ctx_) {}
  ~StreamCall() override {
    if (state_ != State::kRequested) spec_->tracker->done();
  }

  void schedule() {
    if (!pool_->post([this] { produce(); })) fail(Status::unavailable("server is shutting down"));
  }

  void produce() {
    if (info_.past_deadline()) return fail(Status(ErrorCode::kTimeout, "deadline exceeded"));
    msg_.Clear();
    Result<StreamStep> step = producer_(msg_);
    if (!step) return fail(step.status());
    if (*step == StreamStep::kPaused) return;  // resume() schedules the next produce
    if (*step == StreamStep::kMore) {
      state_ = State::kWriting;
      writer_.Write(msg_, this);
    } else {
      state_ = State::kFinishing;
      observe(ErrorCode::kOk);
      writer_.WriteAndFinish(msg_, grpc::WriteOptions(), grpc::Status::OK, this);
    }
  }

  void observe(ErrorCode code) { report_call(*spec_->observer, info_, code); }

  std::shared_ptr<Spec> spec_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncWriter<Msg> writer_;
  State state_ = State::kRequested;
  ThreadPool* pool_ = nullptr;
  Producer producer_;
  Msg msg_;
  CallInfo info_{};
};

}  // namespace reckon::server
