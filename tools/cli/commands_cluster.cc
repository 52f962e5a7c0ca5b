// Cluster commands: status; cluster add/promote/remove/transfer (membership, run by the leader).
#include "commands.h"
#include "option_checks.h"
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
  j["match_index"] = m.match_index ? Json(*m.match_index) : Json(nullptr);  // null: not the leader's view
  j["lag"] = m.lag ? Json(*m.lag) : Json(nullptr);
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
  j["digest"] = st->digest;
  j["log_write_failures"] = st->log_write_failures;
  if (!st->log_write_error.empty()) j["log_write_error"] = st->log_write_error;
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

struct MembershipArgs {
  uint64_t node_id = 0;
  std::string raft_address;
};

// Runs one membership change; the client follows NotLeader to the leader and never re-sends a
// change the server may have run (see reckon::Client).
int run_membership(Session& s, const std::string& action, const MembershipArgs& a) {
  if (action == "add") {
    auto colon = a.raft_address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == a.raft_address.size()) {
      return report_usage_error("RAFT_ADDR must be HOST:PORT, not '" + a.raft_address + "'");
    }
  }
  auto client = s.client();
  if (!client) return report_error(client.status());
  Client& c = **client;
  Status st = action == "add"       ? c.add_member(a.node_id, a.raft_address)
              : action == "promote" ? c.promote_member(a.node_id)
              : action == "remove"  ? c.remove_member(a.node_id)
                                    : c.transfer_leadership(a.node_id);
  if (!st) return report_error(st);
  Json j;
  j["ok"] = true;
  j["action"] = action;
  j["node_id"] = a.node_id;
  if (action == "add") j["raft_address"] = a.raft_address;
  s.out().record(j);
  return kExitOk;
}

void add_membership_command(CLI::App& group, Runner* selected, const std::string& action,
                            const std::string& help) {
  auto a = std::make_shared<MembershipArgs>();
  auto* sub = group.add_subcommand(action, help);
  auto* id = sub->add_option("ID", a->node_id, "Node id")->check(integer_at_least(1));
  if (action == "transfer") {
    id->description("Node id of the new leader (default: the most up-to-date voter)");
  } else {
    id->required();
  }
  if (action == "add") sub->add_option("RAFT_ADDR", a->raft_address, "The node's Raft address HOST:PORT")->required();
  sub->callback([a, selected, action] {
    *selected = [a, action](Session& s) { return run_membership(s, action, *a); };
  });
}

}  // namespace

void add_cluster_commands(CLI::App& app, Runner* selected) {
  auto* sub = app.add_subcommand("status", "Show the node's role, the leader, the term and members");
  sub->callback([selected] { *selected = [](Session& s) { return run_status(s); }; });

  auto* group = app.add_subcommand("cluster", "Change the cluster's membership (run by the leader)");
  group->require_subcommand(1);
  add_membership_command(*group, selected, "add",
                         "Add a node started with --join; it replicates without voting until promoted");
  add_membership_command(*group, selected, "promote", "Make a member a voter");
  add_membership_command(*group, selected, "remove", "Remove a member from the cluster");
  add_membership_command(*group, selected, "transfer", "Hand leadership to a voter");
}

}  // namespace reckon::cli
