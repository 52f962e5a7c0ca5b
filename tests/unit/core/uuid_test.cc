#include <gtest/gtest.h>

#include <set>

#include "core/uuid_v7.h"
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

TEST(Uuid, V7IdsOfOneThreadAreStrictlyIncreasing) {
  // Most of these are made within the same millisecond: the counter path orders them.
  Uuid prev = Uuid::v7();
  for (int i = 0; i < 100000; ++i) {
    Uuid u = Uuid::v7();
    ASSERT_LT(prev, u) << prev.to_string() << " then " << u.to_string();
    prev = u;
  }
}

static uint64_t unix_ms_of(const Uuid& u) {
  uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = ms << 8 | u.bytes[i];
  return ms;
}

TEST(UuidV7Generator, KeepsOrderWithinAMillisecondAndWhenTheClockGoesBack) {
  UuidV7Generator gen(42);
  Uuid prev = gen.next(1'700'000'000'000);
  EXPECT_EQ(unix_ms_of(prev), 1'700'000'000'000u);
  const uint64_t clock[] = {1'700'000'000'000, 1'700'000'000'000, 1'699'999'999'000,  // back 1 s
                            1'700'000'000'000, 1'700'000'000'005, 1'700'000'000'001};
  for (uint64_t ms : clock) {
    for (int i = 0; i < 1000; ++i) {
      Uuid u = gen.next(ms);
      ASSERT_LT(prev, u) << "at clock " << ms;
      EXPECT_EQ(u.bytes[6] >> 4, 7);
      EXPECT_EQ(u.bytes[8] >> 6, 2);
      prev = u;
    }
  }
  // While the clock stood still or went back, ids kept the newest timestamp seen.
  EXPECT_EQ(unix_ms_of(prev), 1'700'000'000'005u);
  // A later millisecond starts from fresh random bits with that timestamp.
  EXPECT_EQ(unix_ms_of(gen.next(1'700'000'000'006)), 1'700'000'000'006u);
}

TEST(UuidV7Generator, GeneratorsWithDifferentSeedsDoNotCollide) {
  UuidV7Generator a(1), b(2);
  std::set<Uuid> seen;
  for (int i = 0; i < 20000; ++i) {
    EXPECT_TRUE(seen.insert(a.next(1'700'000'000'000)).second);
    EXPECT_TRUE(seen.insert(b.next(1'700'000'000'000)).second);
  }
}

TEST(Uuid, RoundTripsThroughText) {
  Uuid u = Uuid::v7();
  auto back = Uuid::parse(u.to_string());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, u);
}

}  // namespace reckon
