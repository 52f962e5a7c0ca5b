#include "health/health_json.h"

#include <algorithm>

namespace reckon::health {

nlohmann::json finding_to_json(const Finding& f) {
  return {{"severity", severity_name(f.severity)},
          {"code", finding_code_name(f.code)},
          {"nodes", f.node_ids},
          {"message", f.message}};
}

nlohmann::json findings_to_json(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const Finding& f : findings) out.push_back(finding_to_json(f));
  return out;
}

nlohmann::json report_to_json(const NodeReport& r) {
  nlohmann::json members = nlohmann::json::array();
  for (const MemberReport& m : r.members) {
    nlohmann::json j = {{"id", m.id}, {"address", m.address}, {"role", member_role_name(m.role)}};
    if (m.match_index) {
      j["match_index"] = *m.match_index;
      j["lag"] = r.last_log_index > *m.match_index ? r.last_log_index - *m.match_index : 0;
    }
    members.push_back(std::move(j));
  }
  return {{"node_id", r.node_id},
          {"address", r.address},
          {"role", node_role_name(r.role)},
          {"term", r.term},
          {"leader_id", r.leader_id},
          {"commit_index", r.commit_index},
          {"applied_index", r.applied_index},
          {"last_log_index", r.last_log_index},
          {"members", std::move(members)}};
}

nlohmann::json snapshot_to_json(const HealthSnapshot& s) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const NodeHealth& n : s.nodes) {
    nlohmann::json j = {{"node_id", n.node_id},
                        {"address", n.address},
                        {"local", n.local},
                        {"reachable", n.reachable},
                        {"latency_us", n.latency.count()},
                        {"consecutive_failures", n.consecutive_failures},
                        {"last_success_ms", n.last_success_ms}};
    if (n.report) j["report"] = report_to_json(*n.report);
    if (!n.error.empty()) j["error"] = n.error;
    nodes.push_back(std::move(j));
  }
  bool healthy = std::none_of(s.findings.begin(), s.findings.end(),
                              [](const Finding& f) { return f.severity >= Severity::kError; });
  return {{"round", s.round},
          {"taken_at_ms", s.taken_at_ms},
          {"healthy", healthy},
          {"nodes", std::move(nodes)},
          {"findings", findings_to_json(s.findings)}};
}

}  // namespace reckon::health
