#include "subscriptions/subscription_key.h"

#include <gtest/gtest.h>

#include "subscriptions/selector.h"

namespace reckon::subscriptions {
namespace {

// Golden values, computed independently (Python hashlib) from the documented definition:
// hex(SHA-256(u32be len + type, u32be len + canonical selector, u32be len + name))[:32].
// They are part of the stored format: if one of these fails, stored keys would change.
TEST(SubscriptionKeyTest, MatchesGoldenValues) {
  EXPECT_EQ(subscription_key(SubscriptionType::kStream, "$all", "all-events"), "11653d18b77d4a920bd15adb17eac896");
  EXPECT_EQ(subscription_key(SubscriptionType::kEventType, "OrderPlaced", "orders"),
            "ae091babafb45e0611045cfda5162b09");
  EXPECT_EQ(subscription_key(SubscriptionType::kEventPayload, R"({"amount":{"$gt":10}})", "big"),
            "8069e950a4f45ffab2dd5b6caaaeb245");
  EXPECT_EQ(subscription_key(SubscriptionType::kTags, R"({"any":["a","b"]})", "t"), "d50334b3a6ed2084e719594b800cb99b");
  EXPECT_EQ(subscription_key(SubscriptionType::kStream, "", ""), "b26a41fd66149fd01f17e06dce1a68e4");
}

TEST(SubscriptionKeyTest, LengthPrefixesSeparateFields) {
  EXPECT_NE(subscription_key(SubscriptionType::kStream, "ab", "c"), subscription_key(SubscriptionType::kStream, "a", "bc"));
}

TEST(SubscriptionKeyTest, DependsOnTypeSelectorAndName) {
  const auto k = subscription_key(SubscriptionType::kStream, "s", "n");
  EXPECT_NE(k, subscription_key(SubscriptionType::kEventPattern, "s", "n"));
  EXPECT_NE(k, subscription_key(SubscriptionType::kStream, "t", "n"));
  EXPECT_NE(k, subscription_key(SubscriptionType::kStream, "s", "m"));
  EXPECT_EQ(k, subscription_key(SubscriptionType::kStream, "s", "n"));
}

TEST(SubscriptionKeyTest, EquivalentSelectorTextsShareAKeyThroughTheCanonicalForm) {
  auto a = parse_selector(SubscriptionType::kEventPayload, R"({ "b": 1, "a": {"$lt": 5, "$gt": 1} })");
  auto b = parse_selector(SubscriptionType::kEventPayload, R"({"a":{"$gt":1,"$lt":5},"b":1})");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->canonical, b->canonical);
  EXPECT_EQ(subscription_key(SubscriptionType::kEventPayload, a->canonical, "x"),
            subscription_key(SubscriptionType::kEventPayload, b->canonical, "x"));
}

TEST(SubscriptionKeyTest, RecognisesItsOwnForm) {
  EXPECT_TRUE(is_subscription_key(subscription_key(SubscriptionType::kTags, "a", "b")));
  EXPECT_FALSE(is_subscription_key(""));
  EXPECT_FALSE(is_subscription_key("11653D18B77D4A920BD15ADB17EAC896"));  // upper case
  EXPECT_FALSE(is_subscription_key("11653d18b77d4a920bd15adb17eac89"));   // 31 chars
  EXPECT_FALSE(is_subscription_key("11653d18b77d4a920bd15adb17eac89g"));
}

TEST(SubscriptionTypeTest, ByAliasesParseToThePlainTypes) {
  for (auto [name, type] : {std::pair{"stream", SubscriptionType::kStream}, {"by_stream", SubscriptionType::kStream},
                            {"event_type", SubscriptionType::kEventType}, {"by_event_type", SubscriptionType::kEventType},
                            {"event_pattern", SubscriptionType::kEventPattern},
                            {"by_event_pattern", SubscriptionType::kEventPattern},
                            {"event_payload", SubscriptionType::kEventPayload},
                            {"by_event_payload", SubscriptionType::kEventPayload}, {"tags", SubscriptionType::kTags},
                            {"by_tags", SubscriptionType::kTags}}) {
    auto t = parse_subscription_type(name);
    ASSERT_TRUE(t) << name;
    EXPECT_EQ(*t, type) << name;
  }
  for (const char* bad : {"", "streams", "by_", "by_by_stream", "STREAM", "pattern"}) {
    EXPECT_EQ(parse_subscription_type(bad).code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(subscription_type_name(SubscriptionType::kEventPayload), "event_payload");
}

TEST(SubscriptionTypeTest, DeliveryStrategiesRoundTrip) {
  for (auto s : {DeliveryStrategy::kRoundRobin, DeliveryStrategy::kSingle, DeliveryStrategy::kPinned}) {
    auto p = parse_delivery_strategy(delivery_strategy_name(s));
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, s);
  }
  EXPECT_EQ(parse_delivery_strategy("random").code(), ErrorCode::kInvalidArgument);
}

TEST(SubscriptionTypeTest, DeliveryOrderingsRoundTripAndPerStreamIsTheDefault) {
  for (auto o : {DeliveryOrdering::kPerStream, DeliveryOrdering::kNone}) {
    auto p = parse_delivery_ordering(delivery_ordering_name(o));
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, o);
  }
  EXPECT_EQ(delivery_ordering_name(DeliveryOrdering::kPerStream), "per_stream");
  EXPECT_EQ(parse_delivery_ordering("per-stream").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(SubscriptionOptions{}.ordering, DeliveryOrdering::kPerStream);
}

}  // namespace
}  // namespace reckon::subscriptions
