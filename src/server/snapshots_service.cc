// reckon.v1.Snapshots: save/load/list/delete/exists of aggregate snapshots.
#include "server/grpc_server.h"
#include "server/service_helpers.h"
#include "wire/convert.h"

namespace reckon::server {

void register_snapshots_service(GrpcServer& server, v1::Snapshots::AsyncService& service) {
  using Svc = v1::Snapshots::AsyncService;
  server.add_unary<Svc, v1::SaveSnapshotRequest, v1::Empty>(
      &service, &Svc::RequestSave, "SaveSnapshot",
      [&server](UnaryCall<Svc, v1::SaveSnapshotRequest, v1::Empty>& call) {
        on_writers(server, call, call.request.store(), [&call](Store& s) {
          return s.save_snapshot(wire::from_proto(call.request.snapshot()));
        });
      });
  server.add_unary<Svc, v1::SnapshotRequest, v1::Snapshot>(
      &service, &Svc::RequestLoad, "LoadSnapshot",
      [&server](UnaryCall<Svc, v1::SnapshotRequest, v1::Snapshot>& call) {
        on_readers(server, call, call.request.store(), [&call](Store& s) {
          const auto& r = call.request;
          auto snap = r.has_version() ? s.load_snapshot_at(r.stream_id(), r.version())
                                      : s.load_snapshot(r.stream_id());
          if (!snap) return snap.status();
          wire::to_proto(*snap, &call.response);
          return Status::ok();
        });
      });
  server.add_unary<Svc, v1::SnapshotRequest, v1::SnapshotList>(
      &service, &Svc::RequestList, "ListSnapshots",
      [&server](UnaryCall<Svc, v1::SnapshotRequest, v1::SnapshotList>& call) {
        on_readers(server, call, call.request.store(), [&call](Store& s) {
          RECKON_ASSIGN_OR_RETURN(auto list, s.list_snapshots(call.request.stream_id()));
          for (const auto& snap : list) wire::to_proto(snap, call.response.add_snapshots());
          return Status::ok();
        });
      });
  server.add_unary<Svc, v1::SnapshotRequest, v1::Empty>(
      &service, &Svc::RequestDelete, "DeleteSnapshot",
      [&server](UnaryCall<Svc, v1::SnapshotRequest, v1::Empty>& call) {
        on_writers(server, call, call.request.store(), [&call](Store& s) {
          const auto& r = call.request;
          return r.has_version() ? s.delete_snapshot_at(r.stream_id(), r.version())
                                 : s.delete_snapshots(r.stream_id());
        });
      });
  server.add_unary<Svc, v1::SnapshotRequest, v1::ExistsResponse>(
      &service, &Svc::RequestExists, "SnapshotExists",
      [&server](UnaryCall<Svc, v1::SnapshotRequest, v1::ExistsResponse>& call) {
        on_readers(server, call, call.request.store(), [&call](Store& s) {
          const auto& r = call.request;
          auto e = r.has_version() ? s.snapshot_exists_at(r.stream_id(), r.version())
                                   : s.snapshot_exists(r.stream_id());
          if (!e) return e.status();
          call.response.set_exists(*e);
          return Status::ok();
        });
      });
}

}  // namespace reckon::server
