// reckon.v1.Subscriptions/Subscribe: catch-up subscriptions to a stream or to $all (with the
// read_all filters). The subscription is a cursor over RocksDB — position for $all, version for
// a stream — so history and live events come from the same reads: the switch to live can
// neither skip nor repeat an event, a slow client only delays its own cursor (the server holds at
// most one batch for it), and writers never wait for subscribers. When the cursor reaches the
// end, the call parks on the store's live tail (no thread held) until an append is
// acknowledged, or a heartbeat second passes.
#include "server/grpc_server.h"
#include "server/service_helpers.h"
#include "server/telemetry.h"
#include "wire/convert.h"

namespace reckon::server {
namespace {

using Svc = v1::Subscriptions::AsyncService;
using Call = StreamCall<Svc, v1::SubscribeRequest, v1::SubscribeResponse>;

constexpr uint64_t kBatchEvents = 512;
constexpr uint64_t kMaxScan = 8192;  // events a sparse $all filter examines per message
constexpr std::chrono::milliseconds kHeartbeat{1000};

struct Subscription {
  bool all = true;
  std::string stream;
  ReadAllOptions filter_template;
  Position next_position = 1;  // $all cursor: next position to examine
  int64_t next_version = 0;    // stream cursor: next version to deliver
  bool confirmed = false;
  bool caught_up = false;
  bool heartbeat_due = false;  // the last wait timed out: tell the client we are alive
};

void add_events(v1::SubscribeResponse& msg, const std::vector<Event>& events) {
  msg.set_kind(v1::SUBSCRIPTION_EVENTS);
  for (const auto& e : events) wire::to_proto(e, msg.add_events());
}

// One step of a $all subscription; `before` is the store's last position read before the page.
Result<StreamStep> step_all(Subscription& sub, LocalStore& store, v1::SubscribeResponse& msg) {
  const Position before = store.last_position();
  if (before < sub.next_position) {
    // Nothing past the cursor (a live subscription after each write): no read. With many
    // subscribers on one store this halves the reads per delivered event.
    msg.set_position(sub.next_position - 1);
    return StreamStep::kPaused;
  }
  ReadAllOptions o = sub.filter_template;
  o.from_position = sub.next_position;
  o.max_count = kBatchEvents;
  o.max_scan = o.filter.empty() ? 0 : kMaxScan;
  // Straight from RocksDB into the message: no intermediate Event copies.
  Position last_delivered = 0;
  RECKON_ASSIGN_OR_RETURN(ReadAllResult page, store.read_all_refs(o, [&](const EventRef& e) {
    wire::to_proto(e, msg.add_events());
    last_delivered = e.position;
    return true;
  }));
  if (!page.end) {
    sub.next_position = page.next_position;
  } else {
    // Every event up to `before` was in the page's snapshot and examined.
    sub.next_position = std::max(sub.next_position, before + 1);
  }
  if (msg.events_size() > 0) {
    sub.next_position = std::max(sub.next_position, last_delivered + 1);
    msg.set_kind(v1::SUBSCRIPTION_EVENTS);
    msg.set_position(sub.next_position - 1);
    return StreamStep::kMore;
  }
  msg.set_position(sub.next_position - 1);
  if (!page.end) {  // a sparse filter skipped a window: report progress
    msg.set_kind(v1::SUBSCRIPTION_CHECKPOINT);
    return StreamStep::kMore;
  }
  return StreamStep::kPaused;  // caller decides: caught-up, heartbeat or wait
}

Result<StreamStep> step_stream(Subscription& sub, LocalStore& store, v1::SubscribeResponse& msg) {
  ReadStreamOptions o;
  o.from_version = sub.next_version;
  o.max_count = kBatchEvents;
  auto page = store.read(sub.stream, o);
  msg.set_version(sub.next_version - 1);
  if (!page) {
    // A stream that does not exist yet is simply empty: its first event will arrive live.
    if (page.code() == ErrorCode::kStreamNotFound) return StreamStep::kPaused;
    return page.status();
  }
  if (page->events.empty()) return StreamStep::kPaused;
  sub.next_version = page->events.back().version + 1;
  add_events(msg, page->events);
  msg.set_version(sub.next_version - 1);
  return StreamStep::kMore;
}

void start_subscription(GrpcServer& server, Call& call) {
  ServedStore* served = find_store(server, call, call.request.store());
  if (!served) return;
  const auto& req = call.request;
  auto sub = std::make_shared<Subscription>();
  LocalStore& store = *served->store;
  sub->all = req.stream_id().empty();
  sub->stream = req.stream_id();
  if (req.from_start() && req.from_end()) {
    return call.fail(Status::invalid_argument("from_start and from_end exclude each other"));
  }
  if (sub->all) {
    sub->filter_template.filter = wire::from_proto(req.filter());
    sub->next_position = req.from_start() ? 1
                         : req.from_end() ? store.last_position() + 1
                                          : req.after_position() + 1;
  } else {
    if (!wire::from_proto(req.filter()).empty()) {
      return call.fail(Status::invalid_argument("filters apply to $all subscriptions only"));
    }
    if (req.from_end()) {
      auto v = store.get_version(sub->stream);
      if (!v) return call.fail(v.status());
      sub->next_version = *v + 1;
    } else {
      if (!req.from_start() && req.after_version() < -1) {
        return call.fail(Status::invalid_argument("after_version must be >= -1"));
      }
      sub->next_version = req.from_start() ? 0 : req.after_version() + 1;
    }
  }
  Telemetry* telemetry = &server.telemetry();
  call.start(served->readers.get(),
             [sub, served, &call, telemetry](v1::SubscribeResponse& msg) -> Result<StreamStep> {
    if (served->shutting_down.load()) return Status::unavailable("server is shutting down");
    if (!sub->confirmed) {
      sub->confirmed = true;
      msg.set_kind(v1::SUBSCRIPTION_CONFIRMED);
      msg.set_position(sub->next_position - 1);
      msg.set_version(sub->next_version - 1);
      return StreamStep::kMore;
    }
    LocalStore& store = *served->store;
    // Read the last position first: a wait registered below for it cannot miss an append
    // acknowledged after the read.
    const Position seen = store.last_position();
    RECKON_ASSIGN_OR_RETURN(StreamStep step,
                            sub->all ? step_all(*sub, store, msg) : step_stream(*sub, store, msg));
    if (step != StreamStep::kPaused) {
      telemetry->events_read(served->config.store_id, msg.events_size());
      return step;
    }
    // Nothing new: announce the end of history once, answer a heartbeat, or wait.
    if (!sub->caught_up || sub->heartbeat_due) {
      msg.set_kind(sub->caught_up ? v1::SUBSCRIPTION_CHECKPOINT : v1::SUBSCRIPTION_CAUGHT_UP);
      sub->caught_up = true;
      sub->heartbeat_due = false;
      return StreamStep::kMore;
    }
    store.wait_for_position(seen, kHeartbeat, [sub, &call](WaitOutcome outcome) {
      sub->heartbeat_due = outcome == WaitOutcome::kTimedOut;
      call.resume();  // kClosed too: the next step sees the shutdown and ends the call
    });
    return StreamStep::kPaused;
  });
}

}  // namespace

void register_subscriptions_service(GrpcServer& server, v1::Subscriptions::AsyncService& service) {
  server.add_stream<Svc, v1::SubscribeRequest, v1::SubscribeResponse>(
      &service, &Svc::RequestSubscribe, "Subscribe",
      [&server](Call& call) { start_subscription(server, call); });
}

}  // namespace reckon::server
