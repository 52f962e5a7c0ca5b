#include <gtest/gtest.h>

#include <set>

#include "reckon/types.h"

namespace reckon {

TEST(Uuid, ParsesCanonicalFormInAnyCaseAndPrintsLowercase) {
  auto u = Uuid::parse("0190F3A4-1B2C-7D3E-8F40-123456789ABC");
  ASSERT_TRUE(u) << u.status().to_string();
  EXPECT_EQ(u->to_string(), "0190f3a4-1b2c-7d3e-8f40-123456789abc");
  EXPECT_EQ(u->bytes[0], 0x01);
  EXPECT_EQ(u->bytes[15], 0xbc);
}

TEST(Uuid, RejectsMalformedText) {
  for (const char* bad : {"", "not-a-uuid", "0190f3a4-1b2c-7d3e-8f40-123456789ab",
                          "0190f3a4-1b2c-7d3e-8f40-123456789abcd", "0190f3a41b2c7d3e8f40123456789abc",
                          "0190f3a4-1b2c-7d3e-8f40_123456789abc", "0190f3a4-1b2c-7d3e-8f40-12345678gabc"}) {
    auto u = Uuid::parse(bad);
    EXPECT_FALSE(u) << bad;
    EXPECT_EQ(u.code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(Uuid, V7HasVersionAndVariantBitsAndIsUniqueAndTimeOrdered) {
  std::set<Uuid> seen;
  Uuid prev = Uuid::v7();
  for (int i = 0; i < 10000; ++i) {
    Uuid u = Uuid::v7();
    EXPECT_EQ(u.bytes[6] >> 4, 7);
    EXPECT_EQ(u.bytes[8] >> 6, 2);
    EXPECT_TRUE(seen.insert(u).second);
    // The 48-bit millisecond prefix never goes backwards.
    EXPECT_GE(std::vector<uint8_t>(u.bytes.begin(), u.bytes.begin() + 6),
              std::vector<uint8_t>(prev.bytes.begin(), prev.bytes.begin() + 6));
    prev = u;
  }
}

TEST(Uuid, RoundTripsThroughText) {
  Uuid u = Uuid::v7();
  auto back = Uuid::parse(u.to_string());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, u);
}

}  // namespace reckon
