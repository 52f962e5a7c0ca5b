// reckon.v1.Replication: the sending side of a bulk catch-up. Any node serves it (a follower
// is as good a source as the leader); one chunk is produced on the store's reader pool per
// completed write, so a slow receiver holds at most one chunk here.
#include <memory>

#include "server/grpc_server.h"
#include "server/service_helpers.h"

namespace reckon::server {

void register_replication_service(GrpcServer& server, v1::Replication::AsyncService& service) {
  using Svc = v1::Replication::AsyncService;
  using Call = StreamCall<Svc, v1::FetchStateRequest, v1::StateChunk>;
  server.add_stream<Svc, v1::FetchStateRequest, v1::StateChunk>(
      &service, &Svc::RequestFetchState, "FetchState", [&server](Call& call) {
        ServedStore* store = find_store(server, call, call.request.store());
        if (!store) return;
        Replication* replication = store->store->replication();
        if (replication == nullptr)
          return call.fail(Status::invalid_argument("store is not replicated"));
        // The export and a one-chunk lookahead (to mark the last message) live with the call.
        struct State {
          std::unique_ptr<StateExport> exp;
          std::optional<std::string> next;
          bool primed = false;
        };
        auto state = std::make_shared<State>();
        auto opened = replication->open_state_export(call.request.after_position());
        if (!opened) return call.fail(opened.status());
        state->exp = std::move(opened).value();
        call.start(store->readers.get(), [state](v1::StateChunk& msg) -> Result<StreamStep> {
          if (!state->primed) {
            RECKON_ASSIGN_OR_RETURN(state->next, state->exp->next());
            state->primed = true;
          }
          if (!state->next) return Status::internal("state export produced no chunk");
          msg.set_data(std::move(*state->next));
          RECKON_ASSIGN_OR_RETURN(state->next, state->exp->next());
          return state->next ? StreamStep::kMore : StreamStep::kLast;
        });
      });
}

}  // namespace reckon::server
