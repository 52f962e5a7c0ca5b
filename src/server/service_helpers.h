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

// Runs `fn(store)` on the store's reader pool and answers with its result.
template <typename Call, typename Fn>
void on_readers(GrpcServer& server, Call& call, const std::string& store_id, Fn fn) {
  ServedStore* store = find_store(server, call, store_id);
  if (!store) return;
  if (!store->readers->post([&call, store, fn] {
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

template <typename Call, typename Fn>
void on_writers(GrpcServer& server, Call& call, const std::string& store_id, Fn fn) {
  ServedStore* store = find_store(server, call, store_id);
  if (!store) return;
  if (!store->writers->post([&call, store, fn] {
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

}  // namespace reckon::server
