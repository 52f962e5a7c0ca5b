// reckon.v1.PersistentSubscriptions: the records (Create, Delete, Get, List, Exists, ListParked,
// ReplayParked) and Consume, the consumer's bidirectional stream.
//
// Records are the store's replicated commands; writes need the leader (NotLeader with its
// address elsewhere) and tell the leader worker to reconcile its pools at once. Consume attaches
// the call to the subscription's EmitterPool on the leader (a follower answers `reconnect` with
// the leader's address and ends the call); the pool pushes events into the call's outbox, the
// call writes them one at a time, and the client's acks and nacks go back to the pool. When the
// pool stops (leadership lost, subscription changed or deleted, shutdown) the call sends
// `reconnect` and finishes.
//
// Lifetime of a ConsumeCall: until Finish completed and no read is pending; it detaches from its
// pool before that, and the pool calls it only while attached (with the pool's lock held, so
// the call never calls into the pool while holding its own lock).
#include <deque>
#include <mutex>
#include <set>

#include "server/grpc_server.h"
#include "server/service_helpers.h"
#include "server/telemetry.h"
#include "wire/convert.h"
#include "wire/subscription_convert.h"

namespace reckon::server {
namespace {

using Svc = v1::PersistentSubscriptions::AsyncService;
namespace rt = subscriptions_runtime;

// The key a request names: its key, or the one subscription with its name (and type).
Result<std::string> resolve(Store& store, const v1::PersistentSubscriptionRef& ref) {
  if (!ref.key().empty()) return ref.key();
  if (ref.name().empty()) return Status::invalid_argument("give a subscription key or name");
  std::optional<SubscriptionType> type;
  if (!ref.type().empty()) {
    RECKON_ASSIGN_OR_RETURN(type, parse_subscription_type(ref.type()));
  }
  RECKON_ASSIGN_OR_RETURN(auto all, store.list_subscriptions());
  std::vector<std::string> keys;
  for (const auto& s : all) {
    if (s.name == ref.name() && (!type || s.type == *type)) keys.push_back(s.key);
  }
  if (keys.empty()) return Status::not_found("no subscription named '" + ref.name() + "'");
  if (keys.size() > 1) {
    return Status::invalid_argument(std::to_string(keys.size()) + " subscriptions are named '" + ref.name() +
                                    "'; name one by key or type");
  }
  return keys.front();
}

void notify_changed(ServedStore& served) {
  if (served.leader_worker) served.leader_worker->subscriptions_changed();
}

class ConsumeCall;
struct ConsumeRegistry {
  std::mutex mu;
  std::set<ConsumeCall*> live;
  bool draining = false;
};

class ConsumeCall final : public rt::ConsumerSink {
 public:
  static void arm(GrpcServer* server, Svc* service, grpc::ServerCompletionQueue* cq, CallTracker* tracker,
                  ConsumeRegistry* registry) {
    auto* call = new ConsumeCall(server, service, cq, tracker, registry);
    service->RequestConsume(&call->ctx_, &call->stream_, cq, cq, &call->accept_tag_);
  }

  void cancel() { ctx_.TryCancel(); }

  // ---- rt::ConsumerSink (called with the pool's lock held) ----
  void deliver(const Event& event, uint32_t attempt) override {
    v1::ConsumeResponse msg;
    auto* e = msg.mutable_event();
    wire::to_proto(event, e->mutable_event());
    e->set_attempt(attempt);
    std::lock_guard<std::mutex> lock(mu_);
    if (finishing_ || broken_) return;  // the pool gets the event back when it times out or we detach
    outbox_.push_back(std::move(msg));
    write_next_locked();
  }

  void end(const std::string& leader_address, const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    detached_ = true;  // the pool forgot us
    send_reconnect_locked(leader_address, reason);
  }

 private:
  struct Tag final : CallTag {
    ConsumeCall* call;
    void (ConsumeCall::*handler)(bool);
    Tag(ConsumeCall* c, void (ConsumeCall::*h)(bool)) : call(c), handler(h) {}
    void proceed(bool ok) override { (call->*handler)(ok); }
  };

  ConsumeCall(GrpcServer* server, Svc* service, grpc::ServerCompletionQueue* cq, CallTracker* tracker,
              ConsumeRegistry* registry)
      : server_(server), service_(service), cq_(cq), tracker_(tracker), registry_(registry), stream_(&ctx_) {}

  void on_accept(bool ok) {
    if (!ok) {
      delete this;
      return;
    }
    tracker_->started();
    started_ = std::chrono::steady_clock::now();
    arm(server_, service_, cq_, tracker_, registry_);
    bool drain;
    {
      std::lock_guard<std::mutex> lock(registry_->mu);
      registry_->live.insert(this);
      drain = registry_->draining;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (drain) {
      finish_locked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"),
                    ErrorCode::kUnavailable);
      return;
    }
    start_read_locked();
  }

  void start_read_locked() {
    reading_ = true;
    stream_.Read(&request_, &read_tag_);
  }

  void on_read(bool ok) {
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    if (!ok || finishing_) {  // the client half-closed or went away, or we are ending
      read_done_ = true;
      lock.unlock();
      leave_pool();
      lock.lock();
      if (!ending_) {
        ending_ = true;
        end_status_ = grpc::Status::OK;
        end_code_ = ErrorCode::kOk;
      }
      maybe_end_locked();  // Finish waits for a write in flight
      maybe_delete_locked(lock);
      return;
    }
    v1::ConsumeRequest req = std::move(request_);
    const bool attached = pool_ != nullptr;
    start_read_locked();
    lock.unlock();
    if (req.has_attach()) {
      if (attached) return fail(Status::invalid_argument("already attached"));
      return attach(req.attach());
    }
    if (!attached) return fail(Status::invalid_argument("the first message must be attach"));
    std::vector<Position> positions;
    if (req.has_ack()) {
      positions.assign(req.ack().positions().begin(), req.ack().positions().end());
      pool_->ack(consumer_id_, positions);
    } else if (req.has_nack()) {
      positions.assign(req.nack().positions().begin(), req.nack().positions().end());
      rt::NackAction action = req.nack().action() == v1::NACK_SKIP   ? rt::NackAction::kSkip
                              : req.nack().action() == v1::NACK_PARK ? rt::NackAction::kPark
                                                                     : rt::NackAction::kRetry;
      pool_->nack(consumer_id_, positions, action, req.nack().reason());
    }
  }

  void attach(const v1::ConsumeAttach& a) {
    ServedStore* served = server_->stores().find(a.store());
    if (!served) return fail(Status::not_found("unknown store '" + a.store() + "'"));
    if (Status s = served->require_leader(); !s.is_ok()) {
      const auto* info = s.not_leader_info();
      std::lock_guard<std::mutex> lock(mu_);
      send_reconnect_locked(info ? info->address : "", "this node is not the leader");
      return;
    }
    if (!served->leader_worker) return fail(Status::unavailable("persistent subscriptions are not running"));
    v1::PersistentSubscriptionRef ref;
    ref.set_key(a.key());
    ref.set_name(a.name());
    auto key = resolve(*served->store, ref);
    if (!key) return fail(key.status());
    auto pool = served->leader_worker->pool_for(*key);
    if (!pool) return fail(pool.status());
    // Confirm before attaching, so the confirmation is the first message the client reads.
    {
      v1::ConsumeResponse msg;
      auto* c = msg.mutable_confirmed();
      c->set_key(*key);
      c->set_name((*pool)->subscription().name);
      c->set_checkpoint((*pool)->checkpoint());
      std::lock_guard<std::mutex> lock(mu_);
      if (finishing_ || broken_) return;
      store_id_ = served->config.store_id;
      pool_ = *pool;  // set before attach: acks may follow the first event at once
      packs_events_ = a.accepts_packed_events();
      outbox_.push_back(std::move(msg));
      write_next_locked();
    }
    auto id = (*pool)->attach(this, a.max_in_flight());
    if (!id) {
      std::lock_guard<std::mutex> lock(mu_);
      detached_ = true;
      send_reconnect_locked("", id.status().message());
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    consumer_id_ = *id;
  }

  void leave_pool() {
    std::shared_ptr<rt::EmitterPool> pool;
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (detached_ || !pool_ || consumer_id_ == 0) {
        detached_ = true;
        return;
      }
      detached_ = true;
      pool = pool_;
      id = consumer_id_;
    }
    pool->detach(id);  // what we had in flight goes to other consumers
  }

  void fail(const Status& s) {
    leave_pool();
    std::lock_guard<std::mutex> lock(mu_);
    if (!finishing_) {
      end_status_ = wire::to_grpc(s, ctx_);
      end_code_ = s.code();
      ending_ = true;
      maybe_end_locked();
    }
  }

  void send_reconnect_locked(const std::string& leader_address, const std::string& reason) {
    if (finishing_ || broken_ || ending_) return;
    v1::ConsumeResponse msg;
    msg.mutable_reconnect()->set_leader_address(leader_address);
    msg.mutable_reconnect()->set_reason(reason);
    outbox_.push_back(std::move(msg));
    ending_ = true;
    end_status_ = grpc::Status::OK;
    end_code_ = ErrorCode::kOk;
    write_next_locked();
    maybe_end_locked();
  }

  // Events queued while the previous write was in flight go out in one message to a client
  // that accepts packed events (up to kMaxPackedEvents; a confirmation or reconnect stays a
  // message of its own, in its place).
  void write_next_locked() {
    if (writing_ || broken_ || finishing_ || outbox_.empty()) return;
    writing_ = true;
    current_ = std::move(outbox_.front());
    outbox_.pop_front();
    if (packs_events_ && current_.has_event()) {
      while (!outbox_.empty() && outbox_.front().has_event() && current_.packed_size() < kMaxPackedEvents) {
        *current_.add_packed() = std::move(*outbox_.front().mutable_event());
        outbox_.pop_front();
      }
    }
    stream_.Write(current_, &write_tag_);
  }

  void on_write(bool ok) {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      broken_ = true;
      outbox_.clear();
      ending_ = true;
      end_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      end_code_ = ErrorCode::kCancelled;
    }
    write_next_locked();
    maybe_end_locked();
    maybe_delete_locked(lock);
  }

  // Ending: once the outbox is written, Finish (a pending read then completes with !ok).
  void maybe_end_locked() {
    if (!ending_ || finishing_ || writing_ || !outbox_.empty()) return;
    finish_locked(end_status_, end_code_);
  }

  // `code`: the store's error code behind `status`, for the calls-by-code metric.
  void finish_locked(const grpc::Status& status, ErrorCode code) {
    finishing_ = true;
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - started_;
    server_->telemetry().observe_call("Consume", store_id_, code, d.count());
    stream_.Finish(status, &finish_tag_);
  }

  void on_finish(bool) {
    std::unique_lock<std::mutex> lock(mu_);
    finished_ = true;
    if (reading_) ctx_.TryCancel();  // the pending read ends now
    maybe_delete_locked(lock);
  }

  void maybe_delete_locked(std::unique_lock<std::mutex>& lock) {
    if (!finished_ || reading_ || writing_ || deleting_) return;
    deleting_ = true;
    lock.unlock();
    leave_pool();
    {
      std::lock_guard<std::mutex> r(registry_->mu);
      registry_->live.erase(this);
    }
    tracker_->done();
    delete this;
  }

  GrpcServer* server_;
  Svc* service_;
  grpc::ServerCompletionQueue* cq_;
  CallTracker* tracker_;
  ConsumeRegistry* registry_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<v1::ConsumeResponse, v1::ConsumeRequest> stream_;
  Tag accept_tag_{this, &ConsumeCall::on_accept};
  Tag read_tag_{this, &ConsumeCall::on_read};
  Tag write_tag_{this, &ConsumeCall::on_write};
  Tag finish_tag_{this, &ConsumeCall::on_finish};
  std::chrono::steady_clock::time_point started_{};

  std::mutex mu_;
  v1::ConsumeRequest request_;
  v1::ConsumeResponse current_;
  std::deque<v1::ConsumeResponse> outbox_;
  static constexpr int kMaxPackedEvents = 256;
  bool packs_events_ = false;  // the client said it reads ConsumeResponse.packed
  std::string_view store_id_;  // once attached: the store's id (outlives the call), for telemetry
  std::shared_ptr<rt::EmitterPool> pool_;
  uint64_t consumer_id_ = 0;
  grpc::Status end_status_;
  ErrorCode end_code_ = ErrorCode::kOk;
  bool reading_ = false, writing_ = false, read_done_ = false, broken_ = false, ending_ = false,
       finishing_ = false, finished_ = false, detached_ = false, deleting_ = false;
};

template <typename Req, typename Resp>
using Unary = UnaryCall<Svc, Req, Resp>;

}  // namespace

void register_persistent_subscriptions_service(GrpcServer& server, Svc& service) {
  using CreateCall = Unary<v1::CreatePersistentSubscriptionRequest, v1::PersistentSubscription>;
  server.add_unary<Svc, v1::CreatePersistentSubscriptionRequest, v1::PersistentSubscription>(
      &service, &Svc::RequestCreate, "CreatePersistentSubscription", [&server](CreateCall& call) {
        ServedStore* served = find_store(server, call, call.request.store());
        if (!served) return;
        if (Status s = served->require_leader(); !s.is_ok()) return call.fail(s);
        run_on(*served->writers, served, call, [&call, &server, served](LocalStore& store) -> Status {
          RECKON_ASSIGN_OR_RETURN(auto n, wire::from_proto(call.request));
          RECKON_ASSIGN_OR_RETURN(auto s, store.create_subscription(n));
          wire::to_proto(s, &call.response);
          notify_changed(*served);
          server.telemetry().subscription_created(served->config.store_id);
          return Status::ok();
        });
      });

  using RefEmptyCall = Unary<v1::PersistentSubscriptionRef, v1::Empty>;
  server.add_unary<Svc, v1::PersistentSubscriptionRef, v1::Empty>(
      &service, &Svc::RequestDelete, "DeletePersistentSubscription", [&server](RefEmptyCall& call) {
        ServedStore* served = find_store(server, call, call.request.store());
        if (!served) return;
        if (Status s = served->require_leader(); !s.is_ok()) return call.fail(s);
        run_on(*served->writers, served, call, [&call, &server, served](LocalStore& store) -> Status {
          RECKON_ASSIGN_OR_RETURN(auto key, resolve(store, call.request));
          RECKON_RETURN_IF_ERROR(store.delete_subscription(key));
          notify_changed(*served);
          server.telemetry().subscription_deleted(served->config.store_id);
          return Status::ok();
        });
      });

  using GetCall = Unary<v1::PersistentSubscriptionRef, v1::PersistentSubscription>;
  server.add_unary<Svc, v1::PersistentSubscriptionRef, v1::PersistentSubscription>(
      &service, &Svc::RequestGet, "GetPersistentSubscription", [&server](GetCall& call) {
        on_readers(server, call, call.request.store(), [&call](LocalStore& store) -> Status {
          RECKON_ASSIGN_OR_RETURN(auto key, resolve(store, call.request));
          RECKON_ASSIGN_OR_RETURN(auto s, store.get_subscription(key));
          wire::to_proto(s, &call.response);
          return Status::ok();
        });
      });

  using ListCall = Unary<v1::ListPersistentSubscriptionsRequest, v1::PersistentSubscriptionList>;
  server.add_unary<Svc, v1::ListPersistentSubscriptionsRequest, v1::PersistentSubscriptionList>(
      &service, &Svc::RequestList, "ListPersistentSubscriptions", [&server](ListCall& call) {
        on_readers(server, call, call.request.store(), [&call](LocalStore& store) -> Status {
          RECKON_ASSIGN_OR_RETURN(auto all, store.list_subscriptions());
          for (const auto& s : all) wire::to_proto(s, call.response.add_subscriptions());
          return Status::ok();
        });
      });

  using ExistsCall = Unary<v1::PersistentSubscriptionRef, v1::ExistsResponse>;
  server.add_unary<Svc, v1::PersistentSubscriptionRef, v1::ExistsResponse>(
      &service, &Svc::RequestExists, "PersistentSubscriptionExists", [&server](ExistsCall& call) {
        on_readers(server, call, call.request.store(), [&call](LocalStore& store) -> Status {
          auto key = resolve(store, call.request);
          if (!key && key.code() == ErrorCode::kNotFound) {
            call.response.set_exists(false);
            return Status::ok();
          }
          if (!key) return key.status();
          RECKON_ASSIGN_OR_RETURN(bool exists, store.subscription_exists(*key));
          call.response.set_exists(exists);
          return Status::ok();
        });
      });

  using ParkedCall = Unary<v1::ListParkedRequest, v1::ParkedEventList>;
  server.add_unary<Svc, v1::ListParkedRequest, v1::ParkedEventList>(
      &service, &Svc::RequestListParked, "ListParked", [&server](ParkedCall& call) {
        on_readers(server, call, call.request.subscription().store(), [&call](LocalStore& store) -> Status {
          RECKON_ASSIGN_OR_RETURN(auto key, resolve(store, call.request.subscription()));
          ListParkedOptions o;
          o.after_position = call.request.after_position();
          if (call.request.limit() > 0) o.limit = call.request.limit();
          RECKON_ASSIGN_OR_RETURN(auto parked, store.list_parked(key, o));
          for (const auto& p : parked) wire::to_proto(p, call.response.add_events());
          return Status::ok();
        });
      });

  using ReplayCall = Unary<v1::ReplayParkedRequest, v1::ReplayParkedResponse>;
  server.add_unary<Svc, v1::ReplayParkedRequest, v1::ReplayParkedResponse>(
      &service, &Svc::RequestReplayParked, "ReplayParked", [&server](ReplayCall& call) {
        ServedStore* served = find_store(server, call, call.request.subscription().store());
        if (!served) return;
        if (Status s = served->require_leader(); !s.is_ok()) return call.fail(s);
        run_on(*served->writers, served, call, [&call, served](LocalStore& store) -> Status {
          RECKON_ASSIGN_OR_RETURN(auto key, resolve(store, call.request.subscription()));
          std::vector<Position> positions(call.request.positions().begin(), call.request.positions().end());
          if (positions.empty()) {
            ListParkedOptions o;
            o.limit = 100'000;
            RECKON_ASSIGN_OR_RETURN(auto parked, store.list_parked(key, o));
            for (const auto& p : parked) positions.push_back(p.position);
          }
          if (!served->leader_worker) return Status::unavailable("persistent subscriptions are not running");
          RECKON_ASSIGN_OR_RETURN(auto pool, served->leader_worker->pool_for(key));
          RECKON_ASSIGN_OR_RETURN(uint64_t n, pool->replay_parked(positions));
          call.response.set_replayed(n);
          return Status::ok();
        });
      });

  static ConsumeRegistry registry;  // one server per process
  server.add_custom([&server, &service](grpc::ServerCompletionQueue* cq, CallTracker* tracker) {
    ConsumeCall::arm(&server, &service, cq, tracker, &registry);
  });
  server.add_shutdown_hook([] {
    std::lock_guard<std::mutex> lock(registry.mu);
    registry.draining = true;
    for (auto* call : registry.live) call->cancel();
  });
}

}  // namespace reckon::server
