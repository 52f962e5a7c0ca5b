#include "server/state_fetcher.h"

#include <grpcpp/grpcpp.h>

#include "reckon/v1/reckon.grpc.pb.h"
#include "wire/status_mapping.h"

namespace reckon::server {

FetchState grpc_state_fetcher(std::string store_id, std::chrono::milliseconds timeout) {
  return
      [store_id = std::move(store_id), timeout](const std::string& address, uint64_t after_position,
                                                const StateChunkSink& sink) -> Status {
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(-1);  // one event larger than a chunk travels alone
        auto stub = v1::Replication::NewStub(
            grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + timeout);
        v1::FetchStateRequest request;
        request.set_store(store_id);
        request.set_after_position(after_position);
        auto reader = stub->FetchState(&ctx, request);
        v1::StateChunk chunk;
        Status refused;
        while (reader->Read(&chunk)) {
          refused = sink(chunk.data());
          if (!refused.is_ok()) {
            ctx.TryCancel();
            break;
          }
        }
        grpc::Status st = reader->Finish();
        if (!refused.is_ok()) return refused;
        return wire::from_grpc(st, ctx.GetServerTrailingMetadata());
      };
}

}  // namespace reckon::server
