#include "storage/recent_ids.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <vector>

namespace reckon::storage {
namespace {

Uuid random_id(std::mt19937_64& rng) {
  Uuid id;
  for (size_t i = 0; i < 16; i += 8) {
    const uint64_t r = rng();
    std::memcpy(id.bytes.data() + i, &r, 8);
  }
  return id;
}

Uuid id_of(uint8_t first) {
  Uuid id;
  id.bytes[0] = first;
  return id;
}

TEST(RecentIds, AnEmptyStoreHoldsNothingButWhatWasAdded) {
  RecentIds ids(8);
  ids.reset(std::nullopt);
  EXPECT_FALSE(ids.may_contain(id_of(5)));
  ids.add(id_of(5));
  EXPECT_TRUE(ids.may_contain(id_of(5)));
  EXPECT_FALSE(ids.may_contain(id_of(4)));
  EXPECT_FALSE(ids.may_contain(id_of(6)));
}

TEST(RecentIds, IdsAtOrBelowTheFloorMustBeLookedUp) {
  RecentIds ids(8);
  ids.reset(id_of(100));
  EXPECT_TRUE(ids.may_contain(id_of(100)));
  EXPECT_TRUE(ids.may_contain(id_of(3)));
  EXPECT_FALSE(ids.may_contain(id_of(101)));
}

TEST(RecentIds, AnIdLeavingTheWindowRaisesTheFloor) {
  RecentIds ids(4);
  ids.reset(std::nullopt);
  for (uint8_t k : {50, 10, 60, 20}) ids.add(id_of(k));
  EXPECT_FALSE(ids.may_contain(id_of(55)));
  ids.add(id_of(70));  // 50 leaves: every id <= 50 may now be stored
  ASSERT_TRUE(ids.floor().has_value());
  EXPECT_EQ(*ids.floor(), id_of(50));
  EXPECT_TRUE(ids.may_contain(id_of(50)));
  EXPECT_TRUE(ids.may_contain(id_of(10)));
  EXPECT_FALSE(ids.may_contain(id_of(55)));
  ids.add(id_of(30));  // 10 leaves: the floor stays at 50
  EXPECT_EQ(*ids.floor(), id_of(50));
  EXPECT_TRUE(ids.may_contain(id_of(60)));
  EXPECT_TRUE(ids.may_contain(id_of(70)));
}

TEST(RecentIds, NeverDeniesAnAddedIdWhateverTheOrder) {
  // Random ids in a small table: many probe collisions, evictions and backward shifts.
  std::mt19937_64 rng(7);
  RecentIds ids(16);
  ids.reset(std::nullopt);
  std::vector<Uuid> added;
  for (int i = 0; i < 20'000; ++i) {
    Uuid id = random_id(rng);
    if (i % 97 == 0 && !added.empty()) id = added[rng() % added.size()];  // added twice
    ids.add(id);
    added.push_back(id);
    if (i % 50 == 0) {
      for (const Uuid& a : added) ASSERT_TRUE(ids.may_contain(a)) << "denied " << a.to_string() << " at " << i;
    }
  }
  EXPECT_EQ(ids.size(), 16u);
}

TEST(RecentIds, GrowingIdsAreProvenAbsentWithoutLookups) {
  // Time-ordered ids, a little out of order (clients race): nearly all answered in memory.
  RecentIds ids(64);
  ids.reset(std::nullopt);
  std::mt19937_64 rng(11);
  int absent_proven = 0;
  const int n = 10'000;
  for (int i = 0; i < n; ++i) {
    Uuid id;
    const uint64_t t = static_cast<uint64_t>(i) * 16 + rng() % 64;  // overlaps the previous few
    for (int b = 0; b < 8; ++b) id.bytes[static_cast<size_t>(b)] = static_cast<uint8_t>(t >> (56 - 8 * b));
    const uint64_t r = rng();
    std::memcpy(id.bytes.data() + 8, &r, 8);
    if (!ids.may_contain(id)) ++absent_proven;
    ids.add(id);
  }
  EXPECT_EQ(absent_proven, n);
}

TEST(RecentIds, ResetForgetsTheWindow) {
  RecentIds ids(4);
  ids.reset(std::nullopt);
  ids.add(id_of(9));
  ids.reset(id_of(3));
  EXPECT_EQ(ids.size(), 0u);
  EXPECT_FALSE(ids.may_contain(id_of(9)));
  EXPECT_TRUE(ids.may_contain(id_of(2)));
}

}  // namespace
}  // namespace reckon::storage
