// Persistent-subscription records and create requests through the reckon.v1 messages.
#include "wire/subscription_convert.h"

#include <gtest/gtest.h>

namespace reckon::wire {

TEST(SubscriptionConvert, RecordRoundTripsEveryOption) {
  Subscription s;
  s.key = "0123456789abcdef0123456789abcdef";
  s.type = SubscriptionType::kTags;
  s.selector = R"({"any":["a"]})";
  s.name = "n";
  s.pool_size = 3;
  s.start_from = 4;
  s.checkpoint = 9;
  s.created_us = 77;
  s.options = SubscriptionOptions{DeliveryStrategy::kPinned, 5, 1234, 7, DeliveryOrdering::kNone};
  v1::PersistentSubscription p;
  to_proto(s, &p);
  EXPECT_EQ(p.settings().ordering(), "none");
  auto back = from_proto(p);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, s);
}

TEST(SubscriptionConvert, EmptySettingsAreTheDefaultsAndUnknownNamesAreRefused) {
  v1::CreatePersistentSubscriptionRequest r;
  r.set_type("stream");
  r.set_selector("$all");
  r.set_name("n");
  auto n = from_proto(r);
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  EXPECT_EQ(n->options, SubscriptionOptions{});
  EXPECT_EQ(n->options.ordering, DeliveryOrdering::kPerStream);

  NewSubscription none;
  none.options.ordering = DeliveryOrdering::kNone;
  v1::CreatePersistentSubscriptionRequest q;
  to_proto(none, &q);
  auto back = from_proto(q);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->options.ordering, DeliveryOrdering::kNone);

  r.mutable_settings()->set_ordering("per-stream");
  EXPECT_EQ(from_proto(r).code(), ErrorCode::kInvalidArgument);
}

}  // namespace reckon::wire
