// Cluster commands: status.
#include "commands.h"
#include "output.h"

namespace reckon::cli {

namespace {

Json member_to_json(const ClusterMember& m) {
  Json j;
  j["node_id"] = m.node_id;
  j["address"] = m.address;
  j["raft_address"] = m.raft_address;
  j["role"] = m.role;
  j["voter"] = m.voter;
  j["match_index"] = m.match_index;
  j["lag"] = m.lag;
  return j;
}

int run_status(Session& s) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  auto st = (*client)->cluster_status();
  if (!st) return report_error(st.status());
  Json j;
  j["node_id"] = st->node_id;
  j["role"] = st->role;
  j["leader"] = st->leader;
  j["term"] = st->term;
  Json members = Json::array();
  for (const auto& m : st->members) members.push_back(member_to_json(m));
  j["members"] = members;
  j["leader_id"] = st->leader_id;
  j["store"] = st->store;
  j["mode"] = st->mode;
  j["commit_index"] = st->commit_index;
  j["applied_index"] = st->applied_index;
  j["last_position"] = st->last_position;
  j["is_active"] = st->is_active;
  if (s.out().json()) {
    s.out().record(j);
    return kExitOk;
  }
  j.erase("members");
  s.out().record(j);
  s.out().stream() << "\n";
  Output::List list(s.out(),
                    {"node_id", "address", "raft_address", "role", "voter", "match_index", "lag"});
  for (const auto& m : st->members) list.add(member_to_json(m));
  list.finish();
  return kExitOk;
}

}  // namespace

void add_cluster_commands(CLI::App& app, Runner* selected) {
  auto* sub = app.add_subcommand("status", "Show the node's role, the leader, the term and members");
  sub->callback([selected] { *selected = [](Session& s) { return run_status(s); }; });
}

}  // namespace reckon::cli
