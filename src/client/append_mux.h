// AppendMux: the client side of reckon.v1.AppendSessions — many appends in flight over one
// bidirectional call, each answered by correlation id. Used by Client::append_multi_async when
// ClientOptions::multiplex_appends is set. Callbacks run on gRPC's threads and must not block.
// Once the call breaks (server gone, cancelled) every pending and later append fails with
// Unavailable; the owner then opens a new mux.
// Thread-safety: send() from any thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>

#include "reckon/store.h"
#include "reckon/v1/reckon.grpc.pb.h"

namespace reckon::client {

class AppendMux final
    : public grpc::ClientBidiReactor<v1::AppendSessionRequest, v1::AppendSessionResponse> {
 public:
  using Callback = std::function<void(Result<std::vector<AppendResult>>)>;

  explicit AppendMux(v1::AppendSessions::Stub* stub);
  ~AppendMux() override;  // cancels the call and waits until gRPC is done with it

  void send(v1::AppendRequest request, Callback done);
  bool broken() const;

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  static constexpr size_t kMaxPackedBytes = 1 << 20;

  void write_next_locked();
  // Takes every pending callback (the call broke); call them outside the lock.
  std::vector<Callback> fail_all_locked();

  grpc::ClientContext ctx_;
  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  std::map<uint64_t, Callback> pending_;
  std::deque<v1::AppendSessionRequest> outbox_;
  v1::AppendSessionRequest writing_msg_;
  v1::AppendSessionResponse reading_msg_;
  uint64_t next_id_ = 1;
  bool writing_ = false;
  bool broken_ = false;
  bool done_ = false;
};

}  // namespace reckon::client
