// Small helpers shared by the service files: find the request's store and run a handler on
// the store's reader or writer pool, answering the call with the handler's Status.
#pragma once

#include <string>

#include "server/grpc_server.h"

namespace reckon::server {

// The client asked for a leader-consistent read (`requires-leader: true` metadata).
bool requires_leader(const CallInfo& info);
// OK once a read on this node sees every write acknowledged before the call: leader + barrier.
Status leader_view(ServedStore& store);

// The request's store, which the call's telemetry is then labelled with; fails the call with
// NotFound when there is no such store.
template <typename Call>
ServedStore* find_store(GrpcServer& server, Call& call, const std::string& store_id) {
  ServedStore* s = server.stores().find(store_id);
  if (!s) {
    call.fail(Status::not_found("unknown store '" + store_id + "'"));
    return nullptr;
  }
  call.set_store(s->config.store_id);
  return s;
}

// For reads: find_store, and when the client asks for a leader-consistent read (the request's
// require_leader field, or a `requires-leader` header as EventStoreDB clients send) on a
// replicated store, make sure the read sees every acknowledged write: NotLeader on a follower,
// a Raft barrier on the leader (blocks this thread for one commit round).
template <typename Call>
ServedStore* read_store(GrpcServer& server, Call& call, const std::string& store_id,
                        bool request_requires_leader) {
  ServedStore* s = find_store(server, call, store_id);
  const bool wanted = request_requires_leader || requires_leader(call.info());
  if (!s || !wanted) return s;
  Status st = leader_view(*s);
  if (!st.is_ok()) {
    call.fail(st);
    return nullptr;
  }
  return s;
}
template <typename Call>
ServedStore* read_store(GrpcServer& server, Call& call, const std::string& store_id) {
  bool field = false;
  if constexpr (requires { call.request.require_leader(); }) field = call.request.require_leader();
  return read_store(server, call, store_id, field);
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
  if (ServedStore* store = read_store(server, call, store_id)) run_on(*store->readers, store, call, fn);
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
