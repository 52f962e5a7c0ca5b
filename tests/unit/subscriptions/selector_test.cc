#include "subscriptions/selector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace reckon::subscriptions {
namespace {

Event make(std::string stream, std::string type, std::string data = "{}", std::vector<std::string> tags = {}) {
  Event e;
  e.stream_id = std::move(stream);
  e.event_type = std::move(type);
  e.data = std::move(data);
  e.tags = std::move(tags);
  e.position = 1;
  return e;
}

SelectorMatcher must_compile(SubscriptionType type, std::string_view text) {
  auto m = SelectorMatcher::compile(type, text);
  EXPECT_TRUE(m) << text << ": " << m.status().to_string();
  return m ? std::move(m).value() : SelectorMatcher(Selector{});
}

void expect_invalid(SubscriptionType type, std::string_view text) {
  auto m = SelectorMatcher::compile(type, text);
  EXPECT_FALSE(m) << subscription_type_name(type) << " accepted '" << text << "'";
  if (!m) {
    EXPECT_TRUE(m.code() == ErrorCode::kInvalidArgument || m.code() == ErrorCode::kLimitExceeded)
        << m.status().to_string();
  }
}

// ---- stream ----
TEST(StreamSelectorTest, MatchesTheExactStreamOnly) {
  auto m = must_compile(SubscriptionType::kStream, "orders-1");
  EXPECT_TRUE(m.matches(make("orders-1", "T")));
  EXPECT_FALSE(m.matches(make("orders-10", "T")));
  EXPECT_FALSE(m.matches(make("orders-", "T")));
  EXPECT_EQ(m.selector().canonical, "orders-1");
}

TEST(StreamSelectorTest, AllMatchesEveryEventIncludingSystemStreams) {
  auto m = must_compile(SubscriptionType::kStream, "$all");
  EXPECT_TRUE(m.matches(make("a", "T")));
  EXPECT_TRUE(m.matches(make("$system", "T")));
}

TEST(StreamSelectorTest, StreamIdsNeedNoDollarSign) {  // reckon-db 1.4.4 required one (bug)
  EXPECT_TRUE(SelectorMatcher::compile(SubscriptionType::kStream, "plain"));
  EXPECT_TRUE(SelectorMatcher::compile(SubscriptionType::kStream, "$ce-orders"));
}

TEST(StreamSelectorTest, RefusesEmptyNulAndOverlongIds) {
  expect_invalid(SubscriptionType::kStream, "");
  expect_invalid(SubscriptionType::kStream, std::string("a\0b", 3));
  expect_invalid(SubscriptionType::kStream, std::string(1025, 'x'));
  expect_invalid(SubscriptionType::kStream, "\xff\xfe");
}

// ---- event_type ----
TEST(EventTypeSelectorTest, OneTypeMatchesExactly) {
  auto m = must_compile(SubscriptionType::kEventType, "OrderPlaced");
  EXPECT_TRUE(m.matches(make("s", "OrderPlaced")));
  EXPECT_FALSE(m.matches(make("s", "OrderPlaced2")));
  EXPECT_FALSE(m.matches(make("s", "orderplaced")));
  EXPECT_EQ(m.selector().canonical, "OrderPlaced");
}

TEST(EventTypeSelectorTest, AListMatchesAnyOfItsTypes) {
  auto m = must_compile(SubscriptionType::kEventType, R"(["B", "A", "B"])");
  EXPECT_TRUE(m.matches(make("s", "A")));
  EXPECT_TRUE(m.matches(make("s", "B")));
  EXPECT_FALSE(m.matches(make("s", "C")));
  EXPECT_EQ(m.selector().canonical, R"(["A","B"])");
}

TEST(EventTypeSelectorTest, AOneElementListIsTheSameSelectorAsThePlainType) {
  EXPECT_EQ(must_compile(SubscriptionType::kEventType, R"(["A"])").selector().canonical, "A");
  // ...unless the type itself starts with '[' and would read as a list.
  auto m = must_compile(SubscriptionType::kEventType, R"(["[x"])");
  EXPECT_EQ(m.selector().canonical, R"(["[x"])");
  EXPECT_TRUE(m.matches(make("s", "[x")));
}

TEST(EventTypeSelectorTest, RefusesBadLists) {
  expect_invalid(SubscriptionType::kEventType, "");
  expect_invalid(SubscriptionType::kEventType, "[]");
  expect_invalid(SubscriptionType::kEventType, R"(["A", 1])");
  expect_invalid(SubscriptionType::kEventType, R"(["A", ""])");
  expect_invalid(SubscriptionType::kEventType, R"(["A")");
  expect_invalid(SubscriptionType::kEventType, std::string(513, 'T'));
}

// ---- event_pattern ----
TEST(EventPatternSelectorTest, StarMatchesAnyRunAnchored) {
  auto m = must_compile(SubscriptionType::kEventPattern, "order-*");
  EXPECT_TRUE(m.matches(make("order-1", "T")));
  EXPECT_TRUE(m.matches(make("order-", "T")));
  EXPECT_TRUE(m.matches(make("order-1-x", "T")));
  EXPECT_FALSE(m.matches(make("my-order-1", "T")));
  EXPECT_FALSE(m.matches(make("order", "T")));
}

TEST(EventPatternSelectorTest, QuestionMarkMatchesOneCharacter) {
  auto m = must_compile(SubscriptionType::kEventPattern, "user-?");
  EXPECT_TRUE(m.matches(make("user-1", "T")));
  EXPECT_TRUE(m.matches(make("user-\xc3\xa9", "T")));  // one UTF-8 character, two bytes
  EXPECT_FALSE(m.matches(make("user-12", "T")));
  EXPECT_FALSE(m.matches(make("user-", "T")));
  auto mid = must_compile(SubscriptionType::kEventPattern, "*-?-*");
  EXPECT_TRUE(mid.matches(make("a-b-c", "T")));
  EXPECT_FALSE(mid.matches(make("a-bb-c", "T")));
}

TEST(EventPatternSelectorTest, PatternWithoutWildcardsIsExact) {
  auto m = must_compile(SubscriptionType::kEventPattern, "abc");
  EXPECT_TRUE(m.matches(make("abc", "T")));
  EXPECT_FALSE(m.matches(make("abcd", "T")));
  expect_invalid(SubscriptionType::kEventPattern, "");
}

// ---- tags ----
TEST(TagsSelectorTest, AnyMatchesOneOfTheTags) {
  auto m = must_compile(SubscriptionType::kTags, R"({"any": ["b", "a"]})");
  EXPECT_TRUE(m.matches(make("s", "T", "{}", {"a"})));
  EXPECT_TRUE(m.matches(make("s", "T", "{}", {"x", "b"})));
  EXPECT_FALSE(m.matches(make("s", "T", "{}", {"x"})));
  EXPECT_FALSE(m.matches(make("s", "T")));
  EXPECT_EQ(m.selector().canonical, R"({"any":["a","b"]})");
}

TEST(TagsSelectorTest, AllNeedsEveryTag) {
  auto m = must_compile(SubscriptionType::kTags, R"({"all": ["a", "b"]})");
  EXPECT_TRUE(m.matches(make("s", "T", "{}", {"b", "x", "a"})));
  EXPECT_FALSE(m.matches(make("s", "T", "{}", {"a"})));
  EXPECT_EQ(m.selector().canonical, R"({"all":["a","b"]})");
}

TEST(TagsSelectorTest, AListOrOnePlainTagMeansAny) {
  EXPECT_EQ(must_compile(SubscriptionType::kTags, R"(["b","a"])").selector().canonical, R"({"any":["a","b"]})");
  auto one = must_compile(SubscriptionType::kTags, "vip");
  EXPECT_EQ(one.selector().canonical, R"({"any":["vip"]})");
  EXPECT_TRUE(one.matches(make("s", "T", "{}", {"vip"})));
}

TEST(TagsSelectorTest, MatchesEventRefsToo) {
  auto m = must_compile(SubscriptionType::kTags, R"({"all":["a","b"]})");
  std::vector<std::string_view> tags = {"a", "b"};
  EventRef ref;
  ref.stream_id = "s";
  ref.event_type = "T";
  ref.tags = &tags;
  EXPECT_TRUE(m.matches(ref));
  ref.tags = nullptr;
  EXPECT_FALSE(m.matches(ref));
}

TEST(TagsSelectorTest, RefusesBadForms) {
  expect_invalid(SubscriptionType::kTags, "");
  expect_invalid(SubscriptionType::kTags, "[]");
  expect_invalid(SubscriptionType::kTags, R"({"some": ["a"]})");
  expect_invalid(SubscriptionType::kTags, R"({"any": ["a"], "all": ["b"]})");
  expect_invalid(SubscriptionType::kTags, R"({"any": "a"})");
  expect_invalid(SubscriptionType::kTags, R"({"any": []})");
  expect_invalid(SubscriptionType::kTags, R"([1])");
  expect_invalid(SubscriptionType::kTags, R"({"any": ["a")");
}

// ---- all types ----
TEST(SelectorTest, RefusesOversizedSelectors) {
  auto r = parse_selector(SubscriptionType::kEventPayload, std::string(kMaxSelectorBytes + 1, ' '));
  EXPECT_EQ(r.code(), ErrorCode::kLimitExceeded);
}

TEST(SelectorTest, ErrorsNameTheType) {
  auto r = parse_selector(SubscriptionType::kTags, "[]");
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("tags selector"), std::string::npos) << r.status().message();
}

TEST(SelectorTest, SubscriptionNames) {
  EXPECT_TRUE(check_subscription_name("orders").is_ok());
  EXPECT_EQ(check_subscription_name("").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(check_subscription_name(std::string("a\0", 2)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(check_subscription_name(std::string(kMaxSubscriptionNameBytes + 1, 'n')).code(),
            ErrorCode::kLimitExceeded);
}

}  // namespace
}  // namespace reckon::subscriptions
