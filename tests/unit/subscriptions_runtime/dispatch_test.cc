#include "subscriptions_runtime/dispatch.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace reckon::subscriptions_runtime {
namespace {

std::vector<ConsumerLoad> loads(std::initializer_list<std::pair<uint32_t, uint32_t>> l) {
  std::vector<ConsumerLoad> out;
  for (auto [in, max] : l) out.push_back(ConsumerLoad{in, max});
  return out;
}

TEST(Dispatch, NoConsumerMeansWait) {
  uint64_t cursor = 0;
  EXPECT_FALSE(pick_consumer(DeliveryStrategy::kRoundRobin, {}, "s", cursor));
}

TEST(Dispatch, RoundRobinTakesTurns) {
  uint64_t cursor = 0;
  auto c = loads({{0, 10}, {0, 10}, {0, 10}});
  std::vector<size_t> got;
  for (int i = 0; i < 6; ++i) got.push_back(*pick_consumer(DeliveryStrategy::kRoundRobin, c, "s", cursor));
  EXPECT_EQ(got, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(Dispatch, RoundRobinSkipsFullConsumersAndWaitsWhenAllAreFull) {
  uint64_t cursor = 0;
  auto c = loads({{10, 10}, {2, 10}});
  EXPECT_EQ(*pick_consumer(DeliveryStrategy::kRoundRobin, c, "s", cursor), 1u);
  EXPECT_EQ(*pick_consumer(DeliveryStrategy::kRoundRobin, c, "s", cursor), 1u);
  auto full = loads({{1, 1}, {1, 1}});
  EXPECT_FALSE(pick_consumer(DeliveryStrategy::kRoundRobin, full, "s", cursor));
}

TEST(Dispatch, SingleAlwaysPicksTheFirstConsumerAndWaitsForIt) {
  uint64_t cursor = 0;
  auto c = loads({{0, 2}, {0, 2}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*pick_consumer(DeliveryStrategy::kSingle, c, "s", cursor), 0u);
  auto first_full = loads({{2, 2}, {0, 2}});
  EXPECT_FALSE(pick_consumer(DeliveryStrategy::kSingle, first_full, "s", cursor));
}

TEST(Dispatch, PinnedSendsOneStreamToOneConsumerAndSpreadsStreams) {
  uint64_t cursor = 0;
  auto c = loads({{0, 100}, {0, 100}, {0, 100}});
  std::set<size_t> used;
  for (int s = 0; s < 50; ++s) {
    std::string stream = "order-" + std::to_string(s);
    size_t first = *pick_consumer(DeliveryStrategy::kPinned, c, stream, cursor);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(*pick_consumer(DeliveryStrategy::kPinned, c, stream, cursor), first);
    used.insert(first);
  }
  EXPECT_EQ(used.size(), 3u);
}

TEST(Dispatch, PinnedWaitsForItsConsumerInsteadOfReordering) {
  uint64_t cursor = 0;
  auto c = loads({{0, 1}, {0, 1}});
  size_t pinned = *pick_consumer(DeliveryStrategy::kPinned, c, "acct-7", cursor);
  c[pinned].in_flight = 1;
  EXPECT_FALSE(pick_consumer(DeliveryStrategy::kPinned, c, "acct-7", cursor));
}

TEST(Dispatch, EmitterForStreamIsStableAndInRange) {
  for (int s = 0; s < 100; ++s) {
    std::string stream = "s-" + std::to_string(s);
    size_t e = emitter_for_stream(stream, 4);
    EXPECT_LT(e, 4u);
    EXPECT_EQ(e, emitter_for_stream(stream, 4));
    EXPECT_EQ(emitter_for_stream(stream, 1), 0u);
  }
}

}  // namespace
}  // namespace reckon::subscriptions_runtime
