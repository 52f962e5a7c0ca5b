#include "server/cluster_status.h"

namespace reckon::server {

v1::ClusterStatus cluster_status(const ServerConfig& config, ServedStore& store,
                                 const std::string& grpc_address) {
  StoreStats stats = store.store->stats();
  v1::ClusterStatus st;
  st.set_node_id(config.node_id);
  st.set_store(store.config.store_id);
  st.set_mode(store.config.mode);
  st.set_last_position(stats.last_position);
  st.set_is_active(store.leader_worker && store.leader_worker->is_active());
  st.set_digest(stats.digest);
  Replication* replication = store.store->replication();
  if (replication == nullptr) {
    // Not replicated (an embedded store served directly): its own leader.
    st.set_role("leader");
    st.set_leader_id(config.node_id);
    st.set_leader(grpc_address);
    st.set_applied_index(stats.applied_index);
    st.set_commit_index(stats.applied_index);
    auto* self = st.add_members();
    self->set_node_id(config.node_id);
    self->set_address(grpc_address);
    self->set_role("leader");
    self->set_voter(true);
    self->set_match_index(stats.applied_index);
    self->set_lag(0);
    return st;
  }
  ReplicaStatus cs = replication->status();
  st.set_role(cs.role);
  st.set_term(cs.term);
  st.set_leader_id(cs.leader_id);
  st.set_leader(cs.leader_client_address);
  st.set_applied_index(cs.applied_index);
  st.set_commit_index(cs.commit_index);
  st.set_last_log_index(cs.last_log_index);
  st.set_log_write_error(cs.log_write_error);
  st.set_log_write_failures(cs.log_write_failures);
  for (const auto& m : cs.members) {
    auto* member = st.add_members();
    member->set_node_id(m.id);
    member->set_address(m.client_address);
    member->set_raft_address(m.raft_address);
    // Role as seen from here: this node's Raft role for itself, the leader as leader, others by
    // their configuration role (a voter that is not the leader follows).
    if (m.id == cs.node_id) {
      member->set_role(cs.role);
    } else if (m.id == cs.leader_id) {
      member->set_role("leader");
    } else {
      member->set_role(m.role == "voter" ? "follower" : m.role);
    }
    member->set_voter(m.role == "voter");
    member->set_config_role(m.role);
    if (m.match_index) {
      member->set_match_index(*m.match_index);
      member->set_lag(cs.last_log_index > *m.match_index ? cs.last_log_index - *m.match_index : 0);
    }
  }
  return st;
}

}  // namespace reckon::server
