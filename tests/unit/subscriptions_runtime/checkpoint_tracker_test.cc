#include "subscriptions_runtime/checkpoint_tracker.h"

#include <gtest/gtest.h>

namespace reckon::subscriptions_runtime {
namespace {

TEST(ContiguousAckTracker, StartsAtTheStoredCheckpoint) {
  ContiguousAckTracker t(41);
  EXPECT_EQ(t.checkpoint(), 41u);
}

TEST(ContiguousAckTracker, ScannedEventsWithoutMatchesAdvanceTheCheckpoint) {
  ContiguousAckTracker t(0);
  t.scanned_to(100);
  EXPECT_EQ(t.checkpoint(), 100u);
}

TEST(ContiguousAckTracker, AdvancesOnlyToTheHighestContiguouslyHandledPosition) {
  ContiguousAckTracker t(0);
  t.begin(3);
  t.begin(5);
  t.begin(9);
  t.scanned_to(12);
  EXPECT_EQ(t.checkpoint(), 2u);  // 3 outstanding
  t.finish(5);
  EXPECT_EQ(t.checkpoint(), 2u);  // an ack above a gap does not move it
  t.finish(3);
  EXPECT_EQ(t.checkpoint(), 8u);  // 9 outstanding
  t.finish(9);
  EXPECT_EQ(t.checkpoint(), 12u);
}

TEST(ContiguousAckTracker, NeverGoesBackwards) {
  ContiguousAckTracker t(10);
  t.begin(5);  // below the checkpoint: ignored
  EXPECT_EQ(t.checkpoint(), 10u);
  t.scanned_to(3);
  EXPECT_EQ(t.checkpoint(), 10u);
  t.begin(11);
  t.finish(11);
  EXPECT_EQ(t.checkpoint(), 11u);
}

TEST(ContiguousAckTracker, UnknownFinishesAreIgnored) {
  ContiguousAckTracker t(0);
  t.begin(1);
  t.finish(7);
  EXPECT_EQ(t.checkpoint(), 0u);
  EXPECT_TRUE(t.is_outstanding(1));
  EXPECT_EQ(t.outstanding(), 1u);
}

}  // namespace
}  // namespace reckon::subscriptions_runtime
