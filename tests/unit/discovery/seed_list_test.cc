#include "discovery/seed_list.h"

#include <gtest/gtest.h>

namespace reckon::discovery {
namespace {

TEST(SeedList, ParsesIdsAndAddresses) {
  auto peers = parse_seed_list("1=127.0.0.1:7001, 2=node-b:7002 ,3=[::1]:7003");
  ASSERT_TRUE(peers.is_ok()) << peers.status().to_string();
  ASSERT_EQ(peers->size(), 3u);
  EXPECT_EQ((*peers)[0], (Peer{1, "127.0.0.1:7001", ""}));
  EXPECT_EQ((*peers)[1], (Peer{2, "node-b:7002", ""}));
  EXPECT_EQ((*peers)[2], (Peer{3, "[::1]:7003", ""}));
}

TEST(SeedList, ParsesOptionalClientAddress) {
  auto peers = parse_seed_list("7=10.0.0.7:7001/10.0.0.7:2113");
  ASSERT_TRUE(peers.is_ok());
  EXPECT_EQ((*peers)[0], (Peer{7, "10.0.0.7:7001", "10.0.0.7:2113"}));
}

TEST(SeedList, EmptyListHasNoSeeds) {
  auto peers = parse_seed_list("  ");
  ASSERT_TRUE(peers.is_ok());
  EXPECT_TRUE(peers->empty());
}

TEST(SeedList, RejectsMalformedEntriesWithClearErrors) {
  struct Case {
    const char* text;
    const char* message_part;
  };
  const Case cases[] = {
      {"127.0.0.1:7001", "expected id=host:port"},
      {"0=127.0.0.1:7001", "positive integer"},
      {"-1=127.0.0.1:7001", "positive integer"},
      {"x=127.0.0.1:7001", "positive integer"},
      {"1=127.0.0.1", "expected host:port"},
      {"1=127.0.0.1:0", "1..65535"},
      {"1=127.0.0.1:65536", "1..65535"},
      {"1=127.0.0.1:70a", "1..65535"},
      {"1=:7001", "empty host"},
      {"1=::1:7001", "brackets"},
      {"1=[::1]7001", "[ipv6]:port"},
      {"1=a:1,,2=b:2", "empty entry"},
      {"1=a:1,", "empty entry"},
      {"1=a:1,1=b:2", "node id 1 appears twice"},
      {"1=a:1,2=a:1", "address a:1 appears twice"},
      {"1=a:1/b", "expected host:port"},
  };
  for (const Case& c : cases) {
    auto r = parse_seed_list(c.text);
    ASSERT_FALSE(r.is_ok()) << c.text;
    EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument) << c.text;
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.text << " -> " << r.status().message();
  }
}

}  // namespace
}  // namespace reckon::discovery
