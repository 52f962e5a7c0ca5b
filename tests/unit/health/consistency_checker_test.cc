#include "health/consistency_checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "unit/health/cluster_fixture.h"

namespace reckon::health {
namespace {

using namespace reckon::health::testing;
using S = Severity;
using C = FindingCode;

struct Expected {
  Severity severity;
  FindingCode code;
  std::vector<uint64_t> ids;
  bool operator==(const Expected&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Expected& e) {
  os << severity_name(e.severity) << " " << finding_code_name(e.code) << " {";
  for (uint64_t id : e.ids) os << id << " ";
  return os << "}";
}

struct Case {
  const char* name;
  std::vector<NodeObservation> cluster;
  std::vector<Expected> expected;  // in the checker's order: most severe first
};

NodeObservation with_match(NodeObservation o, std::vector<uint64_t> match) {
  for (size_t i = 0; i < match.size(); ++i) o.report->members[i].match_index = match[i];
  o.report->last_log_index = 5000;
  return o;
}

std::vector<Case> cases() {
  return {
      {"healthy three nodes", {up(leader(1, 5)), up(follower(2, 5, 1)), up(follower(3, 5, 1))}, {}},
      {"nothing observed", {}, {}},
      {"single voter", {up(leader(1, 1, 10, {1}))}, {}},
      {"two leaders in one term",
       {up(leader(1, 5)), up(leader(2, 5)), up(follower(3, 5, 1))},
       {{S::kCritical, C::kSplitBrain, {1, 2}}}},
      {"three leaders in one term",
       {up(leader(1, 5)), up(leader(2, 5)), up(leader(3, 5))},
       {{S::kCritical, C::kSplitBrain, {1, 2, 3}}}},
      {"old leader in an older term is not split brain",
       {up(leader(1, 4)), up(leader(2, 5)), up(follower(3, 5, 2))},
       {}},
      {"follower names a leader other than the term's leader",
       {up(leader(1, 5)), up(follower(2, 5, 1)), up(follower(3, 5, 2))},
       {{S::kError, C::kLeaderMismatch, {1, 2, 3}}}},
      {"follower of an older term's leader is not a mismatch",
       {up(leader(1, 5)), up(follower(2, 5, 1)), up(follower(3, 4, 2))},
       {}},
      {"split brain with a follower of a third node",
       {up(leader(1, 5)), up(leader(2, 5)), up(follower(3, 5, 4, 100, 100, {1, 2, 3}))},
       {{S::kCritical, C::kSplitBrain, {1, 2}}, {S::kError, C::kLeaderMismatch, {1, 2, 3, 4}}}},
      {"divergent voter sets in one term",
       {up(leader(1, 5)), up(follower(2, 5, 1)), up(follower(3, 5, 1, 100, 100, {1, 2, 3, 4}))},
       {{S::kError, C::kMembershipDivergent, {1, 2, 3}}}},
      {"different voter sets in different terms are not divergence",
       {up(leader(1, 6)), up(follower(2, 6, 1)), up(follower(3, 5, 1, 100, 100, {1, 2, 3, 4}))},
       {}},
      {"standby membership does not change the voter set",
       {up(leader(1, 5)), up(follower(2, 5, 1)),
        [] {
          NodeObservation o = up(follower(3, 5, 1));
          o.report->members.push_back({4, "10.0.0.4:7001", MemberRole::kStandby, {}});
          return o;
        }()},
       {}},
      {"no leader known in the highest term",
       {up(follower(1, 7, 0)), up(node(2, NodeRole::kCandidate, 7, 0)), up(follower(3, 6, 1))},
       {{S::kWarning, C::kNoLeader, {}}}},
      {"leader unreachable but followers know it",
       {down(1), up(follower(2, 5, 1)), up(follower(3, 5, 1))},
       {{S::kWarning, C::kNodeUnreachable, {1}}}},
      {"one of three unreachable keeps quorum",
       {up(leader(1, 5)), up(follower(2, 5, 1)), down(3)},
       {{S::kWarning, C::kNodeUnreachable, {3}}}},
      {"two of three unreachable lose quorum",
       {up(leader(1, 5)), down(2), down(3)},
       {{S::kCritical, C::kQuorumLost, {2, 3}},
        {S::kWarning, C::kNodeUnreachable, {2}},
        {S::kWarning, C::kNodeUnreachable, {3}}}},
      {"voters nobody could ask count as down",
       {up(leader(1, 5))},
       {{S::kCritical, C::kQuorumLost, {2, 3}}}},
      {"a stopped node answers but counts as down",
       {up(leader(1, 5)), up(node(2, NodeRole::kUnavailable, 0, 0)), down(3)},
       {{S::kCritical, C::kQuorumLost, {2, 3}},
        {S::kWarning, C::kNodeUnreachable, {3}},
        {S::kWarning, C::kNodeNotRunning, {2}}}},
      {"everything unreachable",
       {down(1), down(2)},
       {{S::kWarning, C::kNodeUnreachable, {1}}, {S::kWarning, C::kNodeUnreachable, {2}}}},
      {"follower applied too far behind",
       {up(leader(1, 5, 5000)), up(follower(2, 5, 1, 5000, 3999)), up(follower(3, 5, 1, 5000))},
       {{S::kWarning, C::kNodeLagging, {2}}}},
      {"follower commit too far behind",
       {up(leader(1, 5, 5000)), up(follower(2, 5, 1, 3000, 3000)), up(follower(3, 5, 1, 5000))},
       {{S::kWarning, C::kNodeLagging, {2}}}},
      {"a restarted node knows its applied entries are committed before the leader says so",
       {up(leader(1, 5, 5822)), up(follower(2, 5, 1, 1, 5820)), up(follower(3, 5, 1, 5822))},
       {}},
      {"lag exactly at the threshold is fine",
       {up(leader(1, 5, 5000)), up(follower(2, 5, 1, 4000, 4000)), up(follower(3, 5, 1, 5000))},
       {}},
      {"lag without a leader is measured against the highest commit",
       {up(follower(1, 5, 0, 5000)), up(follower(2, 5, 0, 100, 100)), up(follower(3, 5, 0, 5000))},
       {{S::kWarning, C::kNoLeader, {}}, {S::kWarning, C::kNodeLagging, {2}}}},
      {"leader sees a member's match index far behind",
       {with_match(up(leader(1, 5, 5000)), {5000, 4500, 3000}), up(follower(2, 5, 1, 5000)),
        up(follower(3, 5, 1, 5000))},
       {{S::kWarning, C::kReplicationLag, {3}}}},
      {"a follower that cannot write its Raft log",
       {up(leader(1, 5, 5000)), up(follower(2, 5, 1, 5000)),
        [] {
          NodeObservation o = up(follower(3, 5, 1, 5000));
          o.report->log_write_error = "no space left on device";
          return o;
        }()},
       {{S::kError, C::kLogWriteFailing, {3}}}},
  };
}

TEST(ConsistencyChecker, Table) {
  ConsistencyChecker checker;
  for (const Case& c : cases()) {
    std::vector<Expected> got;
    for (const Finding& f : checker.check(c.cluster))
      got.push_back({f.severity, f.code, f.node_ids});
    EXPECT_EQ(got, c.expected) << c.name;
  }
}

TEST(ConsistencyChecker, SameFindingsInAnyInputOrder) {
  ConsistencyChecker checker;
  for (const Case& c : cases()) {
    std::vector<NodeObservation> cluster = c.cluster;
    std::vector<Finding> reference = checker.check(cluster);
    std::sort(cluster.begin(), cluster.end(),
              [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
    do {
      EXPECT_EQ(checker.check(cluster), reference) << c.name;
    } while (
        std::next_permutation(cluster.begin(), cluster.end(),
                              [](const auto& a, const auto& b) { return a.node_id < b.node_id; }));
  }
}

TEST(ConsistencyChecker, MessagesNameTheNodesAndTerms) {
  ConsistencyChecker checker;
  auto split = checker.check({up(leader(1, 5)), up(leader(2, 5)), up(follower(3, 5, 1))});
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0].message, "nodes 1, 2 all claim leadership of term 5");

  auto mismatch = checker.check({up(leader(1, 5)), up(follower(2, 5, 1)), up(follower(3, 5, 2))});
  ASSERT_EQ(mismatch.size(), 1u);
  EXPECT_EQ(mismatch[0].message, "node 3 follows node 2 in term 5, but node(s) 1 claim that term");

  auto divergent = checker.check(
      {up(leader(1, 5)), up(follower(2, 5, 1)), up(follower(3, 5, 1, 100, 100, {1, 2, 3, 4}))});
  ASSERT_EQ(divergent.size(), 1u);
  EXPECT_EQ(divergent[0].message,
            "term 5: node(s) 1, 2 have voters {1, 2, 3}; node(s) 3 have voters {1, 2, 3, 4}");

  auto unreachable = checker.check({up(leader(1, 5)), up(follower(2, 5, 1)), down(3, "timeout")});
  ASSERT_EQ(unreachable.size(), 1u);
  EXPECT_EQ(unreachable[0].message, "node 3 (10.0.0.3:7001) is unreachable: timeout");

  auto quorum = checker.check({up(leader(1, 5)), down(2), down(3)});
  EXPECT_EQ(quorum[0].message, "only 1 of 3 voters reachable and running (need 2); down: 2, 3");

  auto lag = checker.check(
      {up(leader(1, 5, 5000)), up(follower(2, 5, 1, 5000, 3999)), up(follower(3, 5, 1, 5000))});
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_EQ(lag[0].message, "node 2 commit 5000, applied 3999 vs leader commit 5000 (lag 0/1001)");
}

TEST(ConsistencyChecker, UnknownNodeIsNamedByAddress) {
  NodeObservation o;
  o.address = "10.9.9.9:7001";
  o.error = "refused";
  auto findings = ConsistencyChecker().check({o});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(findings[0].node_ids.empty());
  EXPECT_EQ(findings[0].message, "node at 10.9.9.9:7001 is unreachable: refused");
}

TEST(ConsistencyChecker, ThresholdsAreOptions) {
  ConsistencyChecker strict({.max_commit_lag = 0, .max_applied_lag = 0, .max_replication_lag = 0});
  auto findings = strict.check(
      {up(leader(1, 5, 100)), up(follower(2, 5, 1, 100, 99)), up(follower(3, 5, 1, 100))});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].code, FindingCode::kNodeLagging);
}

}  // namespace
}  // namespace reckon::health
