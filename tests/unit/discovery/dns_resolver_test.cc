#include "discovery/dns_resolver.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace reckon::discovery {
namespace {

TEST(DnsResolver, ResolvesLocalhostWithThePort) {
  auto addresses = resolve_peer_addresses("localhost", 7001, system_host_resolver());
  ASSERT_TRUE(addresses.is_ok()) << addresses.status().to_string();
  ASSERT_FALSE(addresses->empty());
  bool has_loopback = std::any_of(addresses->begin(), addresses->end(), [](const std::string& a) {
    return a == "127.0.0.1:7001" || a == "[::1]:7001";
  });
  EXPECT_TRUE(has_loopback);
}

TEST(DnsResolver, InjectedResolverGivesEveryRecordAPeerAddress) {
  HostResolver fake = [](const std::string& host) -> Result<std::vector<std::string>> {
    EXPECT_EQ(host, "reckon.svc");
    return std::vector<std::string>{"10.0.0.1", "10.0.0.2", "fd00::3"};
  };
  auto addresses = resolve_peer_addresses("reckon.svc", 7001, fake);
  ASSERT_TRUE(addresses.is_ok());
  EXPECT_EQ(*addresses,
            (std::vector<std::string>{"10.0.0.1:7001", "10.0.0.2:7001", "[fd00::3]:7001"}));
}

TEST(DnsResolver, UnknownNameIsNotFound) {
  auto addresses = resolve_peer_addresses("no-such-host.invalid", 7001, system_host_resolver());
  ASSERT_FALSE(addresses.is_ok());
  EXPECT_EQ(addresses.code(), ErrorCode::kNotFound);
}

TEST(DnsResolver, EmptyAnswerIsNotFoundAndBadInputsAreRejected) {
  HostResolver empty = [](const std::string&) -> Result<std::vector<std::string>> {
    return std::vector<std::string>{};
  };
  EXPECT_EQ(resolve_peer_addresses("x", 1, empty).code(), ErrorCode::kNotFound);
  EXPECT_EQ(resolve_peer_addresses("", 1, empty).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(resolve_peer_addresses("x", 0, empty).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace reckon::discovery
