#include "server/cluster_status.h"

namespace reckon::server {

v1::ClusterStatus cluster_status(const ServerConfig& config, ServedStore& store,
                                 const std::string& grpc_address) {
  StoreStats stats = store.store->stats();
  v1::ClusterStatus st;
  st.set_node_id(config.node_id);
  st.set_store(store.config.store_id);
  st.set_mode(store.config.mode);
  // Single mode: a one-voter group whose only member leads from the first term.
  st.set_role("leader");
  st.set_leader_id(config.node_id);
  st.set_leader(grpc_address);
  st.set_term(1);
  st.set_applied_index(stats.applied_index);
  st.set_commit_index(stats.applied_index);
  st.set_last_position(stats.last_position);
  auto* self = st.add_members();
  self->set_node_id(config.node_id);
  self->set_address(grpc_address);
  self->set_role("leader");
  self->set_voter(true);
  self->set_match_index(stats.applied_index);
  self->set_lag(0);
  return st;
}

}  // namespace reckon::server
