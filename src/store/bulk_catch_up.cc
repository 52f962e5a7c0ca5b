#include "store/bulk_catch_up.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "storage/state_transfer.h"

namespace reckon::store {

Result<BulkCatchUpResult> bulk_catch_up(storage::Database& db, const BulkCatchUpRequest& request) {
  if (!request.fetch) return Status::unavailable("catch-up: no transport to fetch a peer's state");
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + request.timeout;
  auto cancelled = [&] { return request.cancelled && request.cancelled(); };
  const Status cancel = Status(ErrorCode::kCancelled, "catch-up: the store is closing");
  BulkCatchUpResult result;
  Status last = Status::unavailable("catch-up: no peer with a client address to fetch from");
  bool any_peer = false;
  for (const auto& [id, address] : request.peers)
    any_peer = any_peer || (id != request.self_id && !address.empty());
  if (!any_peer) {
    std::fprintf(
        stderr, "reckondb: catch-up to applied index %llu: no peer's client address is known yet\n",
        static_cast<unsigned long long>(request.min_applied_index));
  }
  while (true) {
    for (const auto& [id, address] : request.peers) {
      if (id == request.self_id || address.empty()) continue;
      if (cancelled()) return cancel;
      ++result.attempts;
      RECKON_ASSIGN_OR_RETURN(auto importer,
                              storage::StateImporter::start(db, request.min_applied_index));
      const Position from = importer.resume_after();
      Status s = request.fetch(address, from, [&](std::string_view chunk) {
        if (cancelled()) return cancel;
        return importer.accept(chunk);
      });
      result.events += importer.events_received();
      if (s.is_ok() && !importer.finished())
        s = Status::unavailable("the peer's transfer ended early");
      if (s.is_ok()) {
        result.peer_id = id;
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::fprintf(
            stderr,
            "reckondb: caught up from node %llu (%s) to applied index %llu: %llu events after "
            "position %llu in %.3f s\n",
            static_cast<unsigned long long>(id), address.c_str(),
            static_cast<unsigned long long>(importer.state().applied_index),
            static_cast<unsigned long long>(result.events), static_cast<unsigned long long>(from),
            secs);
        return result;
      }
      last = Status(s.code(), "catch-up from node " + std::to_string(id) + " (" + address +
                                  "): " + s.message());
      std::fprintf(stderr, "reckondb: %s\n", last.to_string().c_str());
      if (std::chrono::steady_clock::now() >= deadline) return last;
    }
    const auto retry_at = std::chrono::steady_clock::now() + request.retry_delay;
    if (retry_at >= deadline) return last;
    while (std::chrono::steady_clock::now() < retry_at) {
      if (cancelled()) return cancel;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          retry_at - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
    }
  }
}

}  // namespace reckon::store
