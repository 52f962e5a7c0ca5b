// EmitterPool on a real embedded store: a pool without consumers must stay idle while events are
// appended (regression: the default all-events pool used to wake at every commit and walk its
// pending map, burning two cores under load).
#include "subscriptions_runtime/emitter_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "reckon/store.h"
#include "support/store_test_util.h"
#include "support/temp_dir.h"

namespace reckon::subscriptions_runtime {
namespace {

TEST(EmitterPool, WithoutConsumersItStaysIdleWhileEventsAreAppended) {
  testing::TempDir dir;
  StoreOptions o;
  o.data_dir = dir.path();
  o.sync_writes = false;  // durability is not what this test is about
  auto store = LocalStore::open_local(o);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  NewSubscription n;
  n.type = SubscriptionType::kStream;
  n.selector = "$all";
  n.name = "idle";
  auto sub = (*store)->create_subscription(n);
  ASSERT_TRUE(sub.is_ok()) << sub.status().to_string();

  PoolContext ctx;
  ctx.store = store->get();
  ctx.store_id = "default";
  ctx.leading = std::make_shared<std::atomic<bool>>(true);
  auto pool = std::make_shared<EmitterPool>(*sub, ctx);
  ASSERT_TRUE(pool->start().is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the emitter settle
  const uint64_t before = pool->loop_passes();

  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE((*store)->append("s-" + std::to_string(i % 7), kExpectAny, testing::make_events(1)).is_ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // One commit per append: a pool that followed the live tail would pass ~200 times.
  EXPECT_LE(pool->loop_passes() - before, 5u);
  EXPECT_EQ(pool->checkpoint(), 0u) << "nothing was delivered, so nothing is checkpointed";
  pool->stop("", "test over");
}

}  // namespace
}  // namespace reckon::subscriptions_runtime
