// reckon.v1.Cluster: node and membership status, and membership changes (run by the leader of
// the store's Raft group; other nodes answer NotLeader with the leader's client address).
#include "server/cluster_status.h"
#include "server/grpc_server.h"
#include "server/service_helpers.h"

namespace reckon::server {
namespace {

using Svc = v1::Cluster::AsyncService;
using MembershipCall = UnaryCall<Svc, v1::MembershipRequest, v1::Empty>;
using MembershipOp = void (*)(Replication&, const v1::MembershipRequest&, std::function<void(Status)>);

// Registers one membership RPC: find the store, check it is replicated, run `op`, answer with
// the Status it completes with (on the Raft loop thread).
void add_membership_rpc(GrpcServer& server, Svc& service,
                        decltype(&Svc::RequestAddMember) request_fn, const char* name, MembershipOp op) {
  server.add_unary<Svc, v1::MembershipRequest, v1::Empty>(
      &service, request_fn, name, [&server, op](MembershipCall& call) {
        ServedStore* store = find_store(server, call, call.request.store());
        if (!store) return;
        Replication* replication = store->store->replication();
        if (replication == nullptr) return call.fail(Status::invalid_argument("store is not replicated"));
        op(*replication, call.request, [&call](Status s) {
          if (s.is_ok()) return call.finish();
          call.fail(s);
        });
      });
}

}  // namespace

void register_cluster_service(GrpcServer& server, v1::Cluster::AsyncService& service) {
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

  add_membership_rpc(server, service, &Svc::RequestAddMember, "AddMember",
                     [](Replication& r, const v1::MembershipRequest& req, std::function<void(Status)> done) {
                       if (req.node_id() == 0 || req.raft_address().empty()) {
                         return done(Status::invalid_argument("AddMember needs node_id > 0 and raft_address"));
                       }
                       r.add_member(req.node_id(), req.raft_address(), std::move(done));
                     });
  add_membership_rpc(server, service, &Svc::RequestPromoteMember, "PromoteMember",
                     [](Replication& r, const v1::MembershipRequest& req, std::function<void(Status)> done) {
                       r.promote_member(req.node_id(), std::move(done));
                     });
  add_membership_rpc(server, service, &Svc::RequestRemoveMember, "RemoveMember",
                     [](Replication& r, const v1::MembershipRequest& req, std::function<void(Status)> done) {
                       r.remove_member(req.node_id(), std::move(done));
                     });
  add_membership_rpc(server, service, &Svc::RequestTransferLeadership, "TransferLeadership",
                     [](Replication& r, const v1::MembershipRequest& req, std::function<void(Status)> done) {
                       r.transfer_leadership(req.node_id(), std::move(done));
                     });
  add_membership_rpc(server, service, &Svc::RequestRegisterMember, "RegisterMember",
                     [](Replication& r, const v1::MembershipRequest& req, std::function<void(Status)> done) {
                       if (req.node_id() == 0 || req.address().empty()) {
                         return done(Status::invalid_argument("RegisterMember needs node_id > 0 and address"));
                       }
                       r.set_member_address(req.node_id(), req.address(), std::move(done));
                     });
}

}  // namespace reckon::server
