#include "core/event_filter.h"

#include <gtest/gtest.h>

namespace reckon {

TEST(Wildcard, MatchesStarAndQuestionMark) {
  EXPECT_TRUE(wildcard_match("order-*", "order-42"));
  EXPECT_TRUE(wildcard_match("order-*", "order-"));
  EXPECT_FALSE(wildcard_match("order-*", "orders-1"));
  EXPECT_TRUE(wildcard_match("*-1?", "cart-12"));
  EXPECT_FALSE(wildcard_match("*-1?", "cart-1"));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(wildcard_match("a*b*c", "aXXbYY"));
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("caf?", "café"));  // '?' is one character, not one byte
}

TEST(CompiledFilter, EmptyFilterAcceptsEverything) {
  auto f = CompiledFilter::compile(EventFilter{});
  ASSERT_TRUE(f);
  EXPECT_TRUE((*f)->accepts_everything());
  EXPECT_TRUE((*f)->matches("$system", "Any", std::vector<std::string>{}));
}

TEST(CompiledFilter, AllCriteriaMustHoldAndAnyValueWithinOne) {
  EventFilter spec;
  spec.stream_prefixes = {"order-", "cart-"};
  spec.event_types = {"Placed", "Paid"};
  spec.tags = {"eu", "vip"};
  spec.tag_match = TagMatch::kAny;
  auto f = CompiledFilter::compile(spec);
  ASSERT_TRUE(f);
  const std::vector<std::string> eu{"eu"}, none{};
  EXPECT_TRUE((*f)->matches("order-1", "Paid", eu));
  EXPECT_FALSE((*f)->matches("user-1", "Paid", eu));
  EXPECT_FALSE((*f)->matches("order-1", "Shipped", eu));
  EXPECT_FALSE((*f)->matches("order-1", "Paid", none));
}

TEST(CompiledFilter, TagsAllRequiresEveryTag) {
  EventFilter spec;
  spec.tags = {"eu", "vip"};
  spec.tag_match = TagMatch::kAll;
  auto f = CompiledFilter::compile(spec);
  ASSERT_TRUE(f);
  EXPECT_TRUE((*f)->matches_tags(std::vector<std::string>{"vip", "x", "eu"}));
  EXPECT_FALSE((*f)->matches_tags(std::vector<std::string>{"vip"}));
}

TEST(CompiledFilter, RegexesMatchWholeNames) {
  EventFilter spec;
  spec.stream_regex = "order-[0-9]+";
  spec.event_type_regex = "(Placed|Paid)";
  auto f = CompiledFilter::compile(spec);
  ASSERT_TRUE(f);
  EXPECT_TRUE((*f)->matches_stream("order-12"));
  EXPECT_FALSE((*f)->matches_stream("order-12x"));
  EXPECT_TRUE((*f)->matches_type("Paid"));
  EXPECT_FALSE((*f)->matches_type("Unpaid"));
}

TEST(CompiledFilter, InvalidRegexIsInvalidArgument) {
  EventFilter spec;
  spec.stream_regex = "order-(";
  auto f = CompiledFilter::compile(spec);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.code(), ErrorCode::kInvalidArgument);
}

TEST(CompiledFilter, ExcludesSystemStreams) {
  EventFilter spec;
  spec.exclude_system_streams = true;
  auto f = CompiledFilter::compile(spec);
  ASSERT_TRUE(f);
  EXPECT_FALSE((*f)->matches_stream("$settings"));
  EXPECT_TRUE((*f)->matches_stream("order-1"));
}

}  // namespace reckon
