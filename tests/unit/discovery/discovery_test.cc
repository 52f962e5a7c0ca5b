#include "discovery/discovery.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "discovery/seed_list.h"

namespace reckon::discovery {
namespace {

using namespace std::chrono_literals;

TEST(MergePeers, AnnouncementsFillAndOverrideSeedsAndDnsAddsOnlyUnknownAddresses) {
  std::vector<Peer> seeds = {{1, "10.0.0.1:7001", "10.0.0.1:2113"}, {2, "10.0.0.2:7001", ""}};
  std::vector<Peer> announced = {{2, "10.0.0.22:7001", "10.0.0.22:2113"}, {3, "10.0.0.3:7001", ""}};
  std::vector<std::string> dns = {"10.0.0.1:7001", "10.0.0.3:7001", "10.0.0.9:7001"};
  std::vector<Peer> merged = merge_peers(seeds, announced, dns, 2113);
  EXPECT_EQ(merged, (std::vector<Peer>{{1, "10.0.0.1:7001", "10.0.0.1:2113"},
                                       {2, "10.0.0.22:7001", "10.0.0.22:2113"},
                                       {3, "10.0.0.3:7001", ""},
                                       {0, "10.0.0.9:7001", "10.0.0.9:2113"}}));
}

TEST(MergePeers, AnnouncementWithoutClientAddressKeepsTheConfiguredOne) {
  std::vector<Peer> merged = merge_peers({{1, "a:1", "a:2"}}, {{1, "a:1", ""}}, {}, 0);
  EXPECT_EQ(merged, (std::vector<Peer>{{1, "a:1", "a:2"}}));
}

TEST(Discovery, CombinesSeedsDnsAndAnnouncements) {
  DiscoveryOptions o;
  o.seeds = *parse_seed_list("1=127.0.0.1:7001");
  o.dns = {.name = "reckon.test",
           .raft_port = 7001,
           .client_port = 2113,
           .resolver = [](const std::string&) -> Result<std::vector<std::string>> {
             return std::vector<std::string>{"127.0.0.1", "127.0.0.5"};
           }};
  auto d = Discovery::start(o);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ((*d)->peers(), (std::vector<Peer>{{1, "127.0.0.1:7001", ""},
                                              {0, "127.0.0.5:7001", "127.0.0.5:2113"}}));

  // A second node announces itself to the first; the facade reports the change.
  DiscoveryOptions self;
  AnnouncerOptions ann;
  ann.cluster_name = "c";
  ann.secret = "a shared cluster secret";
  ann.self = {1, "127.0.0.1:7001", ""};
  ann.listen_address = "127.0.0.1:0";
  ann.send_to = {"127.0.0.1:9"};
  ann.announce_interval = 20ms;
  self.announce = ann;
  auto first = Discovery::start(self);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Peer> latest;
  (*first)->set_on_change([&](const std::vector<Peer>& peers) {
    std::lock_guard lock(mu);
    latest = peers;
    cv.notify_all();
  });
  AnnouncerOptions other = ann;
  other.self = {2, "127.0.0.1:7002", "127.0.0.1:2102"};
  other.send_to = {"127.0.0.1:" + std::to_string((*first)->announcer()->local_port())};
  DiscoveryOptions second_options;
  second_options.announce = other;
  auto second = Discovery::start(second_options);
  ASSERT_TRUE(second.is_ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return latest.size() == 1; }));
  EXPECT_EQ(latest[0], (Peer{2, "127.0.0.1:7002", "127.0.0.1:2102"}));
}

TEST(Discovery, DnsFailureIsReportedNotFatalAndTheLastAnswerIsKept) {
  bool fail = false;
  DiscoveryOptions o;
  o.dns = {.name = "x",
           .raft_port = 7001,
           .resolver = [&](const std::string&) -> Result<std::vector<std::string>> {
             if (fail) return Status::not_found("gone");
             return std::vector<std::string>{"10.1.1.1"};
           }};
  auto d = Discovery::start(o);
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ((*d)->peers().size(), 1u);
  fail = true;
  EXPECT_EQ((*d)->refresh_dns().code(), ErrorCode::kNotFound);
  EXPECT_EQ((*d)->last_dns_status().code(), ErrorCode::kNotFound);
  EXPECT_EQ((*d)->peers().size(), 1u);
}

TEST(Discovery, RejectsDnsWithoutPort) {
  DiscoveryOptions o;
  o.dns.name = "x";
  EXPECT_EQ(Discovery::start(o).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace reckon::discovery
