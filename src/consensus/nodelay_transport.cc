#include "consensus/nodelay_transport.h"

#include <mutex>
#include <unordered_map>
#include <utility>

namespace reckon::consensus {
namespace {

// Which hooks a transport, and a pending connect, belong to. The callbacks only carry those
// pointers (the transport's and the request's `data` fields are libraft's), and several nodes
// (stores, tests) run their loops on different threads.
struct Registry {
  std::mutex mu;
  std::unordered_map<struct raft_uv_transport*, NoDelayHooks*> transports;
  std::unordered_map<struct raft_uv_connect*, std::pair<NoDelayHooks*, raft_uv_connect_cb>>
      connects;
};
Registry& registry() {
  static auto* r = new Registry();  // never destroyed: nodes may stop during static destruction
  return *r;
}

}  // namespace

NoDelayHooks::~NoDelayHooks() {
  if (transport_ == nullptr) return;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.transports.erase(transport_);
  for (auto it = r.connects.begin(); it != r.connects.end();) {
    it = it->second.first == this ? r.connects.erase(it) : std::next(it);
  }
}

void NoDelayHooks::install(struct raft_uv_transport* transport) {
  transport_ = transport;
  inner_listen_ = transport->listen;
  inner_connect_ = transport->connect;
  transport->listen = &NoDelayHooks::listen;
  transport->connect = &NoDelayHooks::connect;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.transports[transport] = this;
}

NoDelayHooks* NoDelayHooks::of(struct raft_uv_transport* t) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.transports.find(t);
  return it == r.transports.end() ? nullptr : it->second;
}

int NoDelayHooks::listen(struct raft_uv_transport* t, raft_uv_accept_cb cb) {
  NoDelayHooks* self = of(t);
  self->accept_cb_ = cb;
  return self->inner_listen_(t, &NoDelayHooks::on_accept);
}

void NoDelayHooks::on_accept(struct raft_uv_transport* t, raft_id id, const char* address,
                             struct uv_stream_s* stream) {
  NoDelayHooks* self = of(t);
  self->set_nodelay(stream);
  self->accept_cb_(t, id, address, stream);
}

int NoDelayHooks::connect(struct raft_uv_transport* t, struct raft_uv_connect* req, raft_id id,
                          const char* address, raft_uv_connect_cb cb) {
  NoDelayHooks* self = of(t);
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.connects[req] = {self, cb};
  }
  const int rv = self->inner_connect_(t, req, id, address, &NoDelayHooks::on_connect);
  if (rv != 0) {
    std::lock_guard<std::mutex> lock(r.mu);
    r.connects.erase(req);  // no callback will come
  }
  return rv;
}

void NoDelayHooks::on_connect(struct raft_uv_connect* req, struct uv_stream_s* stream, int status) {
  Registry& r = registry();
  std::pair<NoDelayHooks*, raft_uv_connect_cb> target{nullptr, nullptr};
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.connects.find(req);
    if (it != r.connects.end()) {
      target = it->second;
      r.connects.erase(it);
    }
  }
  if (target.second == nullptr) return;  // not ours: cannot happen while installed
  if (status == 0) target.first->set_nodelay(stream);
  target.second(req, stream, status);
}

void NoDelayHooks::set_nodelay(struct uv_stream_s* stream) {
  if (stream == nullptr || stream->type != UV_TCP) return;
  // Best effort: a socket that refuses is still a working connection, only slower.
  if (uv_tcp_nodelay(reinterpret_cast<uv_tcp_t*>(stream), 1) == 0) streams_++;
}

}  // namespace reckon::consensus
