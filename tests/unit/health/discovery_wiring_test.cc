// The wiring the server will do, end to end on 127.0.0.1: nodes find each other through signed
// UDP announcements, and node 1's prober probes whatever discovery found.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>

#include "discovery/discovery.h"
#include "health/health_prober.h"
#include "unit/health/cluster_fixture.h"

namespace reckon::health {
namespace {

using namespace std::chrono_literals;
using namespace reckon::health::testing;
using discovery::Peer;

discovery::AnnouncerOptions announce_as(uint64_t id) {
  discovery::AnnouncerOptions o;
  o.cluster_name = "wiring";
  o.secret = "a shared cluster secret";
  o.self = {id, "10.0.0." + std::to_string(id) + ":7001", ""};
  o.listen_address = "127.0.0.1:0";
  o.send_to = {"127.0.0.1:9"};
  o.announce_interval = 20ms;
  return o;
}

TEST(DiscoveryWiring, ProberFindsSplitBrainAmongDiscoveredNodes) {
  std::vector<std::unique_ptr<discovery::Discovery>> nodes;
  for (uint64_t id : {1, 2, 3}) {
    discovery::DiscoveryOptions o;
    o.announce = announce_as(id);
    auto d = discovery::Discovery::start(o);
    ASSERT_TRUE(d.is_ok()) << d.status().to_string();
    nodes.push_back(std::move(d).value());
  }
  // Unicast "multicast": everyone announces to everyone.
  std::vector<std::string> all;
  for (auto& n : nodes) all.push_back("127.0.0.1:" + std::to_string(n->announcer()->local_port()));
  for (auto& n : nodes) ASSERT_TRUE(n->announcer()->set_send_to(all).is_ok());

  // What each node would answer over gRPC: nodes 1 and 3 both lead term 4.
  std::map<uint64_t, NodeReport> answers = {
      {1, leader(1, 4)}, {2, follower(2, 4, 1)}, {3, leader(3, 4)}};
  ProberOptions options;
  options.local_node_id = 1;
  options.interval = 20ms;
  auto prober = HealthProber::start(
      options, [&] { return Result<NodeReport>(answers.at(1)); }, [&] { return nodes[0]->peers(); },
      [&](const Peer& peer, std::chrono::milliseconds) -> Result<NodeReport> {
        return answers.at(peer.node_id);  // read-only after start: no lock needed
      });
  ASSERT_TRUE(prober.is_ok());

  auto deadline = std::chrono::steady_clock::now() + 5s;
  HealthSnapshot s;
  uint64_t round = 1;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*prober)->wait_for_round(round++, 5s));
    s = (*prober)->snapshot();
    if (s.nodes.size() == 3) break;
  }
  ASSERT_EQ(s.nodes.size(), 3u) << "discovery did not find both peers";
  ASSERT_EQ(s.findings.size(), 1u);
  EXPECT_EQ(s.findings[0].code, FindingCode::kSplitBrain);
  EXPECT_EQ(s.findings[0].node_ids, (std::vector<uint64_t>{1, 3}));
}

}  // namespace
}  // namespace reckon::health
