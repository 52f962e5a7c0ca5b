// Small helpers shared by the service files: find the request's store and run a handler on
// the store's reader or writer pool, answering the call with the handler's Status.
#pragma once

#include <string>

#include "server/grpc_server.h"

namespace reckon::server {

template <typename Call>
ServedStore* find_store(GrpcServer& server, Call& call, const std::string& store_id) {
  ServedStore* s = server.stores().find(store_id);
  if (!s) call.fail(Status::not_found("unknown store '" + store_id + "'"));
  return s;
}

// Runs `fn(store)` on `pool` and answers the call with its Status; refuses work that waited
// past the call's deadline.
template <typename Call, typename Fn>
void run_on(ThreadPool& pool, ServedStore* store, Call& call, Fn fn) {
  if (!pool.post([&call, store, fn] {
        if (call.info().past_deadline()) return call.fail(Status(ErrorCode::kTimeout, "deadline exceeded"));
        Status s = fn(*store->store);
        if (s.is_ok()) {
          call.finish();
        } else {
          call.fail(s);
        }
      })) {
    call.fail(Status::unavailable("server is shutting down"));
  }
}

// Runs `fn(store)` on the store's reader pool and answers with its result.
template <typename Call, typename Fn>
void on_readers(GrpcServer& server, Call& call, const std::string& store_id, Fn fn) {
  if (ServedStore* store = find_store(server, call, store_id)) run_on(*store->readers, store, call, fn);
}

// Same on the writer pool.
template <typename Call, typename Fn>
void on_writers(GrpcServer& server, Call& call, const std::string& store_id, Fn fn) {
  if (ServedStore* store = find_store(server, call, store_id)) run_on(*store->writers, store, call, fn);
}

// Validates and encodes the appends of `request` (moving its bytes out) and submits them to
// the store's group commit; `done` runs once the outcome is durable (on the committer thread,
// must not block). Acknowledged appends are counted in the telemetry. Shared by the unary
// Append and the multiplexed AppendSession.
void submit_append(GrpcServer& server, ServedStore& store, v1::AppendRequest& request,
                   LocalStore::AppendCallback done);

}  // namespace reckon::server
