#include "server/service_helpers.h"

#include <future>

namespace reckon::server {

bool requires_leader(const CallInfo& info) {
  const auto& md = info.ctx->client_metadata();
  for (const char* name : {"requires-leader", "reckon-require-leader"}) {
    auto it = md.find(name);
    if (it != md.end() && (it->second == "true" || it->second == "1")) return true;
  }
  return false;
}

Status leader_view(ServedStore& store) {
  Replication* replication = store.store->replication();
  if (replication == nullptr) return Status::ok();
  RECKON_RETURN_IF_ERROR(store.require_leader());
  // Leadership seen here may already be lost; the barrier commits only on a real leader, and
  // completes once everything committed before it is applied on this node.
  auto done = std::make_shared<std::promise<Status>>();
  auto result = done->get_future();
  replication->barrier([done](Status s) { done->set_value(std::move(s)); });
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return Status(ErrorCode::kTimeout, "leader barrier did not complete in 5 s");
  }
  return result.get();
}

}  // namespace reckon::server
