#include "health/health_json.h"

#include <gtest/gtest.h>

#include "consensus/node_state.h"
#include "health/from_node_status.h"
#include "unit/health/cluster_fixture.h"

namespace reckon::health {
namespace {

using namespace reckon::health::testing;

TEST(HealthJson, FindingsHaveStableNames) {
  Finding f{Severity::kCritical, FindingCode::kSplitBrain, {1, 2}, "nodes 1, 2 ..."};
  EXPECT_EQ(finding_to_json(f),
            nlohmann::json::parse(R"({"severity":"critical","code":"split_brain",
                                      "nodes":[1,2],"message":"nodes 1, 2 ..."})"));
  EXPECT_EQ(findings_to_json({}), nlohmann::json::array());
}

TEST(HealthJson, SnapshotHasNodesReportsAndHealth) {
  HealthSnapshot s;
  s.round = 4;
  s.taken_at_ms = 1234;
  NodeHealth n;
  n.node_id = 1;
  n.address = "10.0.0.1:7001";
  n.local = true;
  n.reachable = true;
  n.report = leader(1, 5);
  n.report->members[1].match_index = 90;
  n.latency = std::chrono::microseconds(15);
  s.nodes.push_back(n);
  NodeHealth down;
  down.node_id = 2;
  down.error = "refused";
  down.consecutive_failures = 3;
  s.nodes.push_back(down);
  s.findings.push_back({Severity::kWarning, FindingCode::kNodeUnreachable, {2}, "x"});

  nlohmann::json j = snapshot_to_json(s);
  EXPECT_EQ(j["round"], 4);
  EXPECT_EQ(j["taken_at_ms"], 1234);
  EXPECT_EQ(j["healthy"], true);  // warnings only
  EXPECT_EQ(j["nodes"][0]["report"]["role"], "leader");
  EXPECT_EQ(j["nodes"][0]["report"]["members"][1]["match_index"], 90);
  EXPECT_EQ(j["nodes"][0]["report"]["members"][1]["lag"], 10);
  EXPECT_FALSE(j["nodes"][0]["report"]["members"][0].contains("match_index"));
  EXPECT_EQ(j["nodes"][0]["latency_us"], 15);
  EXPECT_EQ(j["nodes"][1]["reachable"], false);
  EXPECT_EQ(j["nodes"][1]["error"], "refused");
  EXPECT_FALSE(j["nodes"][1].contains("report"));
  EXPECT_EQ(j["findings"][0]["code"], "node_unreachable");

  s.findings.push_back({Severity::kError, FindingCode::kMembershipDivergent, {1, 2}, "y"});
  EXPECT_EQ(snapshot_to_json(s)["healthy"], false);
}

TEST(FromNodeStatus, CopiesEveryField) {
  consensus::NodeStatus st;
  st.id = 2;
  st.address = "10.0.0.2:7001";
  st.role = consensus::Role::kFollower;
  st.term = 9;
  st.leader_id = 1;
  st.commit_index = 50;
  st.last_applied = 49;
  st.state_machine_applied = 48;
  st.last_index = 51;
  st.members = {{1, "10.0.0.1:7001", consensus::MemberRole::kVoter},
                {4, "10.0.0.4:7001", consensus::MemberRole::kStandby}};
  NodeReport r = report_from_status(st);
  EXPECT_EQ(r.node_id, 2u);
  EXPECT_EQ(r.role, NodeRole::kFollower);
  EXPECT_EQ(r.term, 9u);
  EXPECT_EQ(r.leader_id, 1u);
  EXPECT_EQ(r.commit_index, 50u);
  EXPECT_EQ(r.applied_index, 48u);  // what the state machine holds, not what Raft handed over
  EXPECT_EQ(r.last_log_index, 51u);
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[1].role, MemberRole::kStandby);
  EXPECT_FALSE(r.members[1].match_index.has_value());
}

}  // namespace
}  // namespace reckon::health
