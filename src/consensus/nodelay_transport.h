// TCP_NODELAY on libraft's peer connections.
//
// libraft 0.15's TCP transport (raft_uv_tcp) never disables Nagle's algorithm. Raft sends a
// small AppendEntries (or its answer) while the previous one is still unacknowledged, so the
// kernel holds it back until the peer's delayed ACK fires: a 40 ms stall, at p99 in every
// cluster workload (3 reckond processes, 32 multiplexed clients: p99 43 ms, 12.0k appends/s;
// with NODELAY: p99 4 ms, 15.6k/s — docs/PERFORMANCE.md).
//
// install_nodelay() hooks an initialised raft_uv_tcp transport: its listen() and connect()
// still do the work, and every stream they hand to libraft (accepted or connected) gets
// TCP_NODELAY first. The transport's own callbacks and errors are untouched.
// Thread-safety: libraft calls the transport on its loop thread only.
#pragma once

#include "consensus/libraft.h"

namespace reckon::consensus {

class NoDelayHooks {
 public:
  NoDelayHooks() = default;
  ~NoDelayHooks();
  NoDelayHooks(const NoDelayHooks&) = delete;
  NoDelayHooks& operator=(const NoDelayHooks&) = delete;

  // After raft_uv_tcp_init(transport): wraps its listen and connect. This object must outlive
  // the transport's use (until raft_uv_tcp_close() has completed).
  void install(struct raft_uv_transport* transport);

  // Streams given TCP_NODELAY so far.
  unsigned streams() const { return streams_; }

 private:
  static NoDelayHooks* of(struct raft_uv_transport* t);
  static int listen(struct raft_uv_transport* t, raft_uv_accept_cb cb);
  static void on_accept(struct raft_uv_transport* t, raft_id id, const char* address,
                        struct uv_stream_s* stream);
  static int connect(struct raft_uv_transport* t, struct raft_uv_connect* req, raft_id id,
                     const char* address, raft_uv_connect_cb cb);
  static void on_connect(struct raft_uv_connect* req, struct uv_stream_s* stream, int status);
  void set_nodelay(struct uv_stream_s* stream);

  struct raft_uv_transport* transport_ = nullptr;
  int (*inner_listen_)(struct raft_uv_transport*, raft_uv_accept_cb) = nullptr;
  int (*inner_connect_)(struct raft_uv_transport*, struct raft_uv_connect*, raft_id, const char*,
                        raft_uv_connect_cb) = nullptr;
  raft_uv_accept_cb accept_cb_ = nullptr;
  unsigned streams_ = 0;
};

}  // namespace reckon::consensus
