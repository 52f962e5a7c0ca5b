// reckon.v1.Streams: translates wire messages to reckon::Store calls and back. No business
// rule lives here: validation and semantics belong to the store; this file picks the pool,
// converts, and streams read results in bounded batches.
#include "server/grpc_server.h"
#include "server/read_response_encoder.h"
#include "server/service_helpers.h"
#include "server/telemetry.h"
#include "wire/convert.h"

namespace reckon::server {
namespace {

using Svc = StreamsService;

// A streamed read message holds at most this many events or about this many bytes.
constexpr size_t kBatchEvents = 1024;
constexpr size_t kBatchBytes = 1 << 20;
// Appends smaller than this are validated on the gateway thread, larger ones on a writer.
constexpr size_t kInlineAppendBytes = 16 << 10;
// Store reads issued while filling one message.
constexpr uint64_t kPageEvents = 1024;

size_t approx_size(const Event& e) {
  return e.data.size() + e.metadata.size() + e.stream_id.size() + e.event_type.size() + 64;
}

// Appends events to `msg` until the batch is full; returns how many were taken.
size_t add_events(v1::ReadResponse& msg, size_t& bytes, std::vector<Event>& events, size_t from) {
  size_t i = from;
  for (; i < events.size() && msg.events_size() < static_cast<int>(kBatchEvents) && bytes < kBatchBytes; ++i) {
    bytes += approx_size(events[i]);
    wire::to_proto(events[i], msg.add_events());
  }
  return i - from;
}

// State of one streamed $all (or index) read: pages through the store, hands out batches.
struct PositionCursor {
  Position next = 0;
  bool started = false;
  bool end_of_data = false;
  uint64_t remaining = 0;  // 0 = unlimited
  bool limited = false;
  Direction direction = Direction::kForward;
  std::vector<Event> pending;
  size_t pending_from = 0;
};

// Fills one message from `page(from, count)` calls. kMore while more messages follow.
Result<StreamStep> fill_by_position(PositionCursor& c, v1::ReadResponse& msg,
                              const std::function<Result<ReadAllResult>(Position, uint64_t)>& page) {
  size_t bytes = 0;
  while (true) {
    if (c.pending_from < c.pending.size()) {
      c.pending_from += add_events(msg, bytes, c.pending, c.pending_from);
      if (msg.events_size() >= static_cast<int>(kBatchEvents) || bytes >= kBatchBytes) {
        return StreamStep::kMore;
      }
      continue;
    }
    if (c.end_of_data || (c.limited && c.remaining == 0)) break;
    uint64_t want = c.limited ? std::min(c.remaining, kPageEvents) : kPageEvents;
    RECKON_ASSIGN_OR_RETURN(ReadAllResult r, page(c.next, want));
    c.started = true;
    if (c.limited) c.remaining -= std::min<uint64_t>(c.remaining, r.events.size());
    c.pending = std::move(r.events);
    c.pending_from = 0;
    if (r.end) {
      c.end_of_data = true;
    } else {
      c.next = r.next_position;
    }
  }
  msg.set_end(true);
  msg.set_end_of_data(c.end_of_data);
  msg.set_next_position(c.end_of_data ? 0 : c.next);
  return StreamStep::kLast;
}

Position wire_from_position(uint64_t from, Direction d) {
  return (d == Direction::kBackward && from == 0) ? kEndPosition : from;
}

template <typename Call>
void run_position_read(GrpcServer& server, Call& call, ServedStore* store, uint64_t from,
                       uint64_t max_count, Direction direction,
                       std::function<Result<ReadAllResult>(Store&, Position, uint64_t)> read) {
  auto cursor = std::make_shared<PositionCursor>();
  cursor->next = wire_from_position(from, direction);
  cursor->direction = direction;
  cursor->limited = max_count > 0;
  cursor->remaining = max_count;
  Store* s = store->store.get();
  Telemetry* telemetry = &server.telemetry();
  std::string_view id = store->config.store_id;
  call.start(store->readers.get(), [cursor, s, read, telemetry, id](v1::ReadResponse& msg) {
    auto step = fill_by_position(*cursor, msg, [&](Position p, uint64_t n) { return read(*s, p, n); });
    if (step) telemetry->events_read(id, msg.events_size());
    return step;
  });
}

}  // namespace

void submit_append(GrpcServer& server, ServedStore& store, v1::AppendRequest& request,
                   LocalStore::AppendCallback done) {
  auto parts = wire::take_appends(request);
  if (!parts) return done(parts.status());
  uint64_t events = 0, bytes = 0;
  for (const auto& p : *parts) {
    events += p.events.size();
    for (const auto& e : p.events) bytes += e.data.size() + e.metadata.size();
  }
  Telemetry* telemetry = &server.telemetry();
  std::string_view id = store.config.store_id;
  store.store->append_multi_async(
      std::move(parts).value(), wire::from_proto_condition(request),
      [telemetry, id, events, bytes, done = std::move(done)](Result<std::vector<AppendResult>> r) {
        if (r) telemetry->appended(id, events, bytes);
        done(std::move(r));
      });
}

namespace {

void register_append(GrpcServer& server, Svc& service) {
  using Call = UnaryCall<Svc, v1::AppendRequest, v1::AppendResponse>;
  server.add_unary<Svc, v1::AppendRequest, v1::AppendResponse>(
      &service, &Svc::RequestAppend, "Append", [&server](Call& call) {
        ServedStore* store = find_store(server, call, call.request.store());
        if (!store) return;
        if (call.request.appends_size() == 0) {
          return call.fail(Status::invalid_argument("an append needs at least one stream"));
        }
        // Validation and encoding: a small append runs here on the gateway thread (a hop to the
        // writer pool would cost more than the work: measured ~25 us of CPU per append); a large
        // one goes to the writer pool so a gateway thread never spends long on JSON validation.
        // Either way the answer comes from the committer once the append is fsynced.
        auto validate_and_submit = [&server, &call, store] {
          if (call.info().past_deadline()) {
            return call.fail(Status(ErrorCode::kTimeout, "deadline exceeded before the append started"));
          }
          submit_append(server, *store, call.request, [&call](Result<std::vector<AppendResult>> r) {
            // Runs on the committer thread; handing the reply to another thread measured no
            // faster than sending it from here.
            if (!r) return call.fail(r.status());
            for (const auto& a : *r) wire::to_proto(a, call.response.add_results());
            call.finish();
          });
        };
        if (call.request.ByteSizeLong() < kInlineAppendBytes) return validate_and_submit();
        bool posted = store->writers->post(validate_and_submit);
        if (!posted) call.fail(Status::unavailable("server is shutting down"));
      });
}

void register_reads(GrpcServer& server, Svc& service) {
  using ReadCall = StreamCall<Svc, v1::ReadStreamRequest, v1::ReadResponse>;
  server.add_stream<Svc, v1::ReadStreamRequest, v1::ReadResponse>(
      &service, &Svc::RequestRead, "Read", [&server](ReadCall& call) {
        ServedStore* store = read_store(server, call, call.request.store());
        if (!store) return;
        struct Cursor {
          int64_t next = 0;
          uint64_t remaining = 0;
          bool limited = false;
          bool done = false;
          int64_t last_version = kNoVersion;
          std::vector<Event> pending;
          size_t pending_from = 0;
        };
        const auto& req = call.request;
        const Direction dir = wire::from_proto(req.direction());
        auto c = std::make_shared<Cursor>();
        c->next = dir == Direction::kBackward && req.from_version() < 0 ? kEndVersion : req.from_version();
        c->remaining = req.max_count();
        c->limited = req.max_count() > 0;
        Store* s = store->store.get();
        std::string stream = req.stream_id();
        Telemetry* telemetry = &server.telemetry();
        std::string_view id = store->config.store_id;
        call.start(store->readers.get(), [c, s, stream, dir, telemetry, id](v1::ReadResponse& msg) -> Result<StreamStep> {
          size_t bytes = 0;
          while (true) {
            if (c->pending_from < c->pending.size()) {
              c->pending_from += add_events(msg, bytes, c->pending, c->pending_from);
              if (msg.events_size() >= static_cast<int>(kBatchEvents) || bytes >= kBatchBytes) {
                telemetry->events_read(id, msg.events_size());
                return StreamStep::kMore;
              }
              continue;
            }
            if (c->done || (c->limited && c->remaining == 0)) break;
            ReadStreamOptions o;
            o.from_version = c->next;
            o.direction = dir;
            o.max_count = c->limited ? std::min(c->remaining, kPageEvents) : kPageEvents;
            RECKON_ASSIGN_OR_RETURN(ReadStreamResult r, s->read(stream, o));
            c->last_version = r.last_version;
            if (c->limited) c->remaining -= std::min<uint64_t>(c->remaining, r.events.size());
            c->pending = std::move(r.events);
            c->pending_from = 0;
            if (r.end_of_stream) {
              c->done = true;
            } else {
              c->next = r.next_version;
            }
          }
          telemetry->events_read(id, msg.events_size());
          msg.set_end(true);
          msg.set_last_version(c->last_version);
          msg.set_end_of_data(c->done);
          msg.set_next_version(c->done ? kNoVersion : c->next);
          return StreamStep::kLast;
        });
      });

  // Raw method: the request is parsed here, and each batch is encoded straight from the store's
  // EventRefs into wire bytes (ReadResponseEncoder), without RecordedEvent messages.
  using AllCall = StreamCall<Svc, grpc::ByteBuffer, grpc::ByteBuffer>;
  server.add_stream<Svc, grpc::ByteBuffer, grpc::ByteBuffer>(
      &service, &Svc::RequestReadAll, "ReadAll", [&server](AllCall& call) {
        v1::ReadAllRequest req;
        if (!grpc::SerializationTraits<v1::ReadAllRequest>::Deserialize(&call.request, &req).ok()) {
          return call.fail(Status::invalid_argument("malformed ReadAllRequest"));
        }
        ServedStore* store = read_store(server, call, req.store(), req.require_leader());
        if (!store) return;
        ReadAllOptions base;
        base.direction = wire::from_proto(req.direction());
        base.filter = wire::from_proto(req.filter());
        // A sparse filter must not pin a reader thread: bound the events examined per page.
        base.max_scan = base.filter.empty() ? 0 : 16 * kPageEvents;
        struct Cursor {
          Position next;
          uint64_t remaining;
          bool limited;
          bool end_of_data = false;
          ReadResponseEncoder encoder;
        };
        auto c = std::make_shared<Cursor>(
            Cursor{wire_from_position(req.from_position(), base.direction), req.max_count(), req.max_count() > 0, false, {}});
        LocalStore* s = store->store.get();
        Telemetry* telemetry = &server.telemetry();
        std::string_view id = store->config.store_id;
        call.start(store->readers.get(), [c, s, base, telemetry, id](grpc::ByteBuffer& msg) -> Result<StreamStep> {
          ReadResponseEncoder& out = c->encoder;
          out.clear();
          auto full = [&] { return out.events() >= kBatchEvents || out.bytes() >= kBatchBytes; };
          while (!c->end_of_data && !(c->limited && c->remaining == 0)) {
            if (full()) {
              telemetry->events_read(id, out.events());
              msg = out.take();
              return StreamStep::kMore;
            }
            ReadAllOptions o = base;
            o.from_position = c->next;
            o.max_count = kBatchEvents - out.events();
            if (c->limited) o.max_count = std::min(o.max_count, c->remaining);
            RECKON_ASSIGN_OR_RETURN(ReadAllResult r, s->read_all_refs(o, [&](const EventRef& e) {
              out.add_event(e);
              if (c->limited) --c->remaining;
              return out.bytes() < kBatchBytes;
            }));
            if (r.end) {
              c->end_of_data = true;
            } else {
              c->next = r.next_position;
            }
          }
          telemetry->events_read(id, out.events());
          out.finish(/*end=*/true, c->end_of_data, c->end_of_data ? 0 : c->next);
          msg = out.take();
          return StreamStep::kLast;
        });
      });

  using IndexCall = StreamCall<Svc, v1::ReadIndexRequest, v1::ReadResponse>;
  server.add_stream<Svc, v1::ReadIndexRequest, v1::ReadResponse>(
      &service, &Svc::RequestReadByEventTypes, "ReadByEventTypes", [&server](IndexCall& call) {
        ServedStore* store = read_store(server, call, call.request.store());
        if (!store) return;
        const auto& req = call.request;
        std::vector<std::string> types(req.event_types().begin(), req.event_types().end());
        const Direction dir = wire::from_proto(req.direction());
        run_position_read(server, call, store, req.from_position(), req.max_count(), dir,
                          [types, dir](Store& s, Position p, uint64_t n) {
                            return s.read_by_event_types(types, IndexReadOptions{p, n, dir});
                          });
      });
  server.add_stream<Svc, v1::ReadIndexRequest, v1::ReadResponse>(
      &service, &Svc::RequestReadByTags, "ReadByTags", [&server](IndexCall& call) {
        ServedStore* store = read_store(server, call, call.request.store());
        if (!store) return;
        const auto& req = call.request;
        std::vector<std::string> tags(req.tags().begin(), req.tags().end());
        const TagMatch match = req.tag_match() == v1::TAG_MATCH_ALL ? TagMatch::kAll : TagMatch::kAny;
        const Direction dir = wire::from_proto(req.direction());
        run_position_read(server, call, store, req.from_position(), req.max_count(), dir,
                          [tags, match, dir](Store& s, Position p, uint64_t n) {
                            return s.read_by_tags(tags, match, IndexReadOptions{p, n, dir});
                          });
      });
}

void register_stream_state(GrpcServer& server, Svc& service) {
  using StreamReq = v1::StreamRequest;
  server.add_unary<Svc, StreamReq, v1::VersionResponse>(
      &service, &Svc::RequestGetVersion, "GetVersion",
      [&server](UnaryCall<Svc, StreamReq, v1::VersionResponse>& call) {
        on_readers(server, call, call.request.store(), [&call](Store& s) {
          RECKON_ASSIGN_OR_RETURN(int64_t v, s.get_version(call.request.stream_id()));
          call.response.set_version(v);
          return Status::ok();
        });
      });
  server.add_unary<Svc, StreamReq, v1::ExistsResponse>(
      &service, &Svc::RequestExists, "Exists",
      [&server](UnaryCall<Svc, StreamReq, v1::ExistsResponse>& call) {
        on_readers(server, call, call.request.store(), [&call](Store& s) {
          RECKON_ASSIGN_OR_RETURN(bool e, s.exists(call.request.stream_id()));
          call.response.set_exists(e);
          return Status::ok();
        });
      });
  server.add_unary<Svc, StreamReq, v1::StreamInfo>(
      &service, &Svc::RequestGetStreamInfo, "GetStreamInfo",
      [&server](UnaryCall<Svc, StreamReq, v1::StreamInfo>& call) {
        on_readers(server, call, call.request.store(), [&call](Store& s) {
          RECKON_ASSIGN_OR_RETURN(StreamInfo info, s.stream_info(call.request.stream_id()));
          wire::to_proto(info, &call.response);
          return Status::ok();
        });
      });
  server.add_unary<Svc, v1::ListStreamsRequest, v1::ListStreamsResponse>(
      &service, &Svc::RequestListStreams, "ListStreams",
      [&server](UnaryCall<Svc, v1::ListStreamsRequest, v1::ListStreamsResponse>& call) {
        on_readers(server, call, call.request.store(), [&call](Store& s) {
          const auto& r = call.request;
          ListStreamsOptions o;
          o.prefix = r.prefix();
          o.after = r.after();
          o.limit = r.limit() == 0 ? 1000 : r.limit();
          o.include_deleted = r.include_deleted();
          RECKON_ASSIGN_OR_RETURN(ListStreamsResult list, s.list_streams(o));
          for (const auto& info : list.streams) wire::to_proto(info, call.response.add_streams());
          call.response.set_next_after(list.next_after);
          return Status::ok();
        });
      });
  server.add_unary<Svc, StreamReq, v1::StreamMetadata>(
      &service, &Svc::RequestGetStreamMetadata, "GetStreamMetadata",
      [&server](UnaryCall<Svc, StreamReq, v1::StreamMetadata>& call) {
        on_readers(server, call, call.request.store(), [&call](Store& s) {
          RECKON_ASSIGN_OR_RETURN(StreamMetadata m, s.get_stream_metadata(call.request.stream_id()));
          wire::to_proto(m, &call.response);
          return Status::ok();
        });
      });

  using EmptyCall = UnaryCall<Svc, StreamReq, v1::Empty>;
  server.add_unary<Svc, StreamReq, v1::Empty>(
      &service, &Svc::RequestDeleteStream, "DeleteStream", [&server](EmptyCall& call) {
        on_writers(server, call, call.request.store(), [&call](Store& s) {
          return s.delete_stream(call.request.stream_id(), call.request.expected_version());
        });
      });
  server.add_unary<Svc, StreamReq, v1::Empty>(
      &service, &Svc::RequestTombstoneStream, "TombstoneStream", [&server](EmptyCall& call) {
        on_writers(server, call, call.request.store(), [&call](Store& s) {
          return s.tombstone_stream(call.request.stream_id(), call.request.expected_version());
        });
      });
  server.add_unary<Svc, StreamReq, v1::Empty>(
      &service, &Svc::RequestTruncateBefore, "TruncateBefore", [&server](EmptyCall& call) {
        on_writers(server, call, call.request.store(), [&call](Store& s) {
          return s.truncate_before(call.request.stream_id(), call.request.version());
        });
      });
  server.add_unary<Svc, v1::SetStreamMetadataRequest, v1::Empty>(
      &service, &Svc::RequestSetStreamMetadata, "SetStreamMetadata",
      [&server](UnaryCall<Svc, v1::SetStreamMetadataRequest, v1::Empty>& call) {
        on_writers(server, call, call.request.store(), [&call](Store& s) {
          return s.set_stream_metadata(call.request.stream_id(), wire::from_proto(call.request.metadata()));
        });
      });
}

}  // namespace

void register_streams_service(GrpcServer& server, StreamsService& service) {
  register_append(server, service);
  register_reads(server, service);
  register_stream_state(server, service);
}

}  // namespace reckon::server
