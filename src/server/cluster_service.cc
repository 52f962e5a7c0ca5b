// reckon.v1.Cluster: node and membership status. In single mode the node is the only voter
// and the leader of its one-member group (the Raft issue fills in terms, indexes and peers).
#include "server/cluster_status.h"
#include "server/grpc_server.h"
#include "server/service_helpers.h"

namespace reckon::server {

void register_cluster_service(GrpcServer& server, v1::Cluster::AsyncService& service) {
  using Svc = v1::Cluster::AsyncService;
  server.add_unary<Svc, v1::ClusterStatusRequest, v1::ClusterStatus>(
      &service, &Svc::RequestStatus, "ClusterStatus",
      [&server](UnaryCall<Svc, v1::ClusterStatusRequest, v1::ClusterStatus>& call) {
        ServedStore* store = find_store(server, call, call.request.store());
        if (!store) return;
        call.response = cluster_status(server.config(), *store, server.address());
        call.finish();
      });
  server.add_unary<Svc, v1::Empty, v1::StoreList>(
      &service, &Svc::RequestListStores, "ListStores",
      [&server](UnaryCall<Svc, v1::Empty, v1::StoreList>& call) {
        for (const auto& id : server.stores().ids()) call.response.add_stores(id);
        call.finish();
      });
}

}  // namespace reckon::server
