// Persistent subscriptions through the public reckon::Store API on a real temporary RocksDB.
#include <gtest/gtest.h>

#include "support/store_test_util.h"
#include "subscriptions/subscription_key.h"

namespace reckon {
namespace {

using testing::make_event;
using testing::one;

NewSubscription new_sub(SubscriptionType type, std::string selector, std::string name) {
  NewSubscription n;
  n.type = type;
  n.selector = std::move(selector);
  n.name = std::move(name);
  return n;
}

class StoreSubscriptionsTest : public testing::StoreTest {
 protected:
  Subscription MustCreate(const NewSubscription& n) {
    auto r = store().create_subscription(n);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : Subscription{};
  }
};

TEST_F(StoreSubscriptionsTest, CreateGetExistsListDelete) {
  Subscription s = MustCreate(new_sub(SubscriptionType::kStream, "$all", "all-events"));
  EXPECT_EQ(s.key, "11653d18b77d4a920bd15adb17eac896");  // the documented hash
  EXPECT_EQ(s.type, SubscriptionType::kStream);
  EXPECT_EQ(s.selector, "$all");
  EXPECT_EQ(s.name, "all-events");
  EXPECT_EQ(s.pool_size, 1u);
  EXPECT_EQ(s.checkpoint, 0u);
  EXPECT_GT(s.created_us, 0);

  auto got = store().get_subscription(s.key);
  RECKON_ASSERT_OK(got);
  EXPECT_EQ(*got, s);
  EXPECT_TRUE(*store().subscription_exists(s.key));
  Subscription t = MustCreate(new_sub(SubscriptionType::kEventType, "OrderPlaced", "orders"));
  auto list = store().list_subscriptions();
  RECKON_ASSERT_OK(list);
  EXPECT_EQ(list->size(), 2u);

  RECKON_EXPECT_OK(store().delete_subscription(s.key));
  EXPECT_FALSE(*store().subscription_exists(s.key));
  RECKON_EXPECT_CODE(store().get_subscription(s.key), ErrorCode::kNotFound);
  RECKON_EXPECT_CODE(store().delete_subscription(s.key), ErrorCode::kNotFound);
  EXPECT_EQ(store().list_subscriptions()->size(), 1u);
  EXPECT_TRUE(*store().subscription_exists(t.key));
}

TEST_F(StoreSubscriptionsTest, InvalidSelectorIsRefusedAndNothingStored) {
  RECKON_EXPECT_CODE(store().create_subscription(new_sub(SubscriptionType::kEventPayload, "{\"a\":", "x")),
                     ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().create_subscription(new_sub(SubscriptionType::kTags, "[]", "x")),
                     ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().create_subscription(new_sub(SubscriptionType::kStream, "", "x")),
                     ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().create_subscription(new_sub(SubscriptionType::kStream, "s", "")),
                     ErrorCode::kInvalidArgument);
  auto bad_pool = new_sub(SubscriptionType::kStream, "s", "x");
  bad_pool.pool_size = 0;
  RECKON_EXPECT_CODE(store().create_subscription(bad_pool), ErrorCode::kInvalidArgument);
  bad_pool.pool_size = kMaxSubscriptionPoolSize + 1;
  RECKON_EXPECT_CODE(store().create_subscription(bad_pool), ErrorCode::kInvalidArgument);
  auto bad_options = new_sub(SubscriptionType::kStream, "s", "x");
  bad_options.options.max_in_flight = 0;
  RECKON_EXPECT_CODE(store().create_subscription(bad_options), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(store().list_subscriptions()->empty());
  EXPECT_EQ(store().stats().commands, 0u);  // refused before any command was proposed
}

TEST_F(StoreSubscriptionsTest, SubscribingAgainReattachesAndUpdatesPoolSizeAndOptions) {
  Subscription first = MustCreate(new_sub(SubscriptionType::kEventType, "A", "n"));
  RECKON_ASSERT_OK(store().checkpoint_subscriptions({{first.key, 12}}));
  auto again = new_sub(SubscriptionType::kEventType, "A", "n");
  again.pool_size = 4;
  again.options.strategy = DeliveryStrategy::kPinned;
  Subscription second = MustCreate(again);
  EXPECT_EQ(second.key, first.key);
  EXPECT_EQ(second.created_us, first.created_us);
  EXPECT_EQ(second.checkpoint, 12u);
  EXPECT_EQ(second.pool_size, 4u);
  EXPECT_EQ(second.options.strategy, DeliveryStrategy::kPinned);
  EXPECT_EQ(store().list_subscriptions()->size(), 1u);
}

TEST_F(StoreSubscriptionsTest, AliasesAndEquivalentSelectorsGiveTheSameKey) {
  auto by = parse_subscription_type("by_event_type");
  ASSERT_TRUE(by);
  Subscription a = MustCreate(new_sub(*by, R"(["B","A"])", "n"));
  Subscription b = MustCreate(new_sub(SubscriptionType::kEventType, R"([ "A", "B", "A" ])", "n"));
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.selector, R"(["A","B"])");
  EXPECT_EQ(a.key, subscriptions::subscription_key(SubscriptionType::kEventType, R"(["A","B"])", "n"));
}

TEST_F(StoreSubscriptionsTest, DeleteByTypeAndName) {
  Subscription a = MustCreate(new_sub(SubscriptionType::kEventPattern, "order-*", "orders"));
  MustCreate(new_sub(SubscriptionType::kStream, "x", "orders"));  // same name, other type
  RECKON_EXPECT_CODE(store().delete_subscription(SubscriptionType::kTags, "orders"), ErrorCode::kNotFound);
  RECKON_EXPECT_OK(store().delete_subscription(SubscriptionType::kEventPattern, "orders"));
  EXPECT_FALSE(*store().subscription_exists(a.key));
  EXPECT_EQ(store().list_subscriptions()->size(), 1u);
  // Two selectors of one type under one name: ambiguous, delete by key.
  MustCreate(new_sub(SubscriptionType::kStream, "y", "orders"));
  RECKON_EXPECT_CODE(store().delete_subscription(SubscriptionType::kStream, "orders"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store().list_subscriptions()->size(), 2u);
}

TEST_F(StoreSubscriptionsTest, StartFromEndBeginsAtTheCurrentLastPosition) {
  MustAppend("s", kExpectAny, testing::make_events(3));
  auto n = new_sub(SubscriptionType::kStream, "$all", "live");
  n.start_from = kEndPosition;
  Subscription s = MustCreate(n);
  EXPECT_EQ(s.checkpoint, 3u);
  auto from = new_sub(SubscriptionType::kStream, "$all", "from-2");
  from.start_from = 2;
  EXPECT_EQ(MustCreate(from).checkpoint, 2u);
}

TEST_F(StoreSubscriptionsTest, CheckpointsAdvanceOnlyForwardAndCoalesce) {
  Subscription a = MustCreate(new_sub(SubscriptionType::kStream, "a", "a"));
  Subscription b = MustCreate(new_sub(SubscriptionType::kStream, "b", "b"));
  const std::string gone = subscriptions::subscription_key(SubscriptionType::kStream, "gone", "gone");
  RECKON_ASSERT_OK(store().checkpoint_subscriptions({{a.key, 5}, {b.key, 7}, {gone, 3}}));
  EXPECT_EQ(store().get_subscription(a.key)->checkpoint, 5u);
  EXPECT_EQ(store().get_subscription(b.key)->checkpoint, 7u);
  RECKON_ASSERT_OK(store().checkpoint_subscriptions({{a.key, 2}, {b.key, 9}}));
  EXPECT_EQ(store().get_subscription(a.key)->checkpoint, 5u);
  EXPECT_EQ(store().get_subscription(b.key)->checkpoint, 9u);
  EXPECT_FALSE(*store().subscription_exists(gone));
  RECKON_EXPECT_CODE(store().checkpoint_subscriptions({{"nope", 1}}), ErrorCode::kInvalidArgument);
}

TEST_F(StoreSubscriptionsTest, ParkListUnpark) {
  Subscription s = MustCreate(new_sub(SubscriptionType::kStream, "$all", "p"));
  RECKON_ASSERT_OK(store().park_events(s.key, {{4, "timeout", 10, 0}, {2, "nack: bad data", 10, 0}}));
  auto parked = store().list_parked(s.key);
  RECKON_ASSERT_OK(parked);
  ASSERT_EQ(parked->size(), 2u);
  EXPECT_EQ((*parked)[0].position, 2u);
  EXPECT_EQ((*parked)[0].reason, "nack: bad data");
  EXPECT_EQ((*parked)[0].attempts, 10u);
  EXPECT_GT((*parked)[0].parked_us, 0);
  auto page = store().list_parked(s.key, ListParkedOptions{2, 100});
  RECKON_ASSERT_OK(page);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].position, 4u);
  RECKON_ASSERT_OK(store().unpark(s.key, {2}));
  EXPECT_EQ(store().list_parked(s.key)->size(), 1u);
  RECKON_EXPECT_CODE(store().park_events(s.key, {{0, "r", 1, 0}}), ErrorCode::kInvalidArgument);
  // Deleting the subscription removes its parked events.
  RECKON_ASSERT_OK(store().delete_subscription(s.key));
  RECKON_EXPECT_CODE(store().list_parked(s.key), ErrorCode::kNotFound);
  RECKON_EXPECT_CODE(store().park_events(s.key, {{1, "r", 1, 0}}), ErrorCode::kNotFound);
  RECKON_ASSERT_OK(store().create_subscription(new_sub(SubscriptionType::kStream, "$all", "p")));
  EXPECT_TRUE(store().list_parked(s.key)->empty());
}

TEST_F(StoreSubscriptionsTest, MalformedKeysAreInvalidArgument) {
  RECKON_EXPECT_CODE(store().get_subscription("x"), ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().subscription_exists(""), ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().delete_subscription("84739201"), ErrorCode::kInvalidArgument);  // reckon-db style
  RECKON_EXPECT_CODE(store().list_parked("ZZ"), ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().unpark("ZZ", {1}), ErrorCode::kInvalidArgument);
}

TEST_F(StoreSubscriptionsTest, SubscriptionsSurviveReopen) {
  auto n = new_sub(SubscriptionType::kEventPayload, R"({"amount": {"$gt": 10}})", "big");
  n.pool_size = 3;
  n.options = SubscriptionOptions{DeliveryStrategy::kSingle, 4, 5000, 20, DeliveryOrdering::kNone};
  Subscription s = MustCreate(n);
  EXPECT_EQ(s.selector, R"({"amount":{"$gt":10}})");
  RECKON_ASSERT_OK(store().checkpoint_subscriptions({{s.key, 42}}));
  RECKON_ASSERT_OK(store().park_events(s.key, {{7, "r", 4, 0}}));
  Reopen();
  auto got = store().get_subscription(s.key);
  RECKON_ASSERT_OK(got);
  s.checkpoint = 42;
  EXPECT_EQ(*got, s);
  EXPECT_EQ(store().list_parked(s.key)->size(), 1u);
}

}  // namespace
}  // namespace reckon
