#include "subscriptions/payload_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace reckon::subscriptions {
namespace {

std::shared_ptr<const PayloadPattern> must(std::string_view text) {
  auto p = PayloadPattern::parse(text);
  EXPECT_TRUE(p) << text << ": " << p.status().to_string();
  return p ? std::move(p).value() : nullptr;
}

void expect_invalid(std::string_view text, std::string_view mentions = "") {
  auto p = PayloadPattern::parse(text);
  ASSERT_FALSE(p) << "accepted " << text;
  EXPECT_EQ(p.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find(mentions), std::string::npos) << p.status().message();
}

TEST(PayloadPatternTest, SubsetOfTopLevelFields) {
  auto p = must(R"({"status": "paid", "n": 3})");
  EXPECT_TRUE(p->matches(R"({"status":"paid","n":3,"extra":true})"));
  EXPECT_FALSE(p->matches(R"({"status":"paid"})"));
  EXPECT_FALSE(p->matches(R"({"status":"open","n":3})"));
  EXPECT_FALSE(p->matches(R"({"status":"paid","n":"3"})"));  // type mismatch
}

TEST(PayloadPatternTest, NestedObjectsAreSubsetsToo) {
  auto p = must(R"({"customer": {"address": {"country": "NL"}}})");
  EXPECT_TRUE(p->matches(R"({"customer":{"name":"x","address":{"country":"NL","city":"A"}}})"));
  EXPECT_FALSE(p->matches(R"({"customer":{"address":{"country":"BE"}}})"));
  EXPECT_FALSE(p->matches(R"({"customer":{"address":"NL"}})"));
  EXPECT_FALSE(p->matches(R"({"customer":null})"));
}

TEST(PayloadPatternTest, ArraysMatchExactly) {
  auto p = must(R"({"items": [1, "a", {"k": true}]})");
  EXPECT_TRUE(p->matches(R"({"items":[1,"a",{"k":true}]})"));
  EXPECT_FALSE(p->matches(R"({"items":[1,"a"]})"));
  EXPECT_FALSE(p->matches(R"({"items":["a",1,{"k":true}]})"));
  EXPECT_FALSE(p->matches(R"({"items":[1,"a",{"k":true,"j":1}]})"));  // objects in arrays: exact
}

TEST(PayloadPatternTest, NumbersCompareByValue) {
  auto p = must(R"({"n": 2})");
  EXPECT_TRUE(p->matches(R"({"n":2.0})"));
  EXPECT_TRUE(p->matches(R"({"n":2e0})"));
  EXPECT_FALSE(p->matches(R"({"n":2.5})"));
  auto big = must(R"({"n": 18446744073709551615})");
  EXPECT_TRUE(big->matches(R"({"n":18446744073709551615})"));
  EXPECT_FALSE(big->matches(R"({"n":18446744073709551614})"));
}

TEST(PayloadPatternTest, NullAndBoolMatchExactly) {
  auto p = must(R"({"a": null, "b": false})");
  EXPECT_TRUE(p->matches(R"({"a":null,"b":false})"));
  EXPECT_FALSE(p->matches(R"({"b":false})"));  // absent is not null
  EXPECT_FALSE(p->matches(R"({"a":null,"b":0})"));
}

TEST(PayloadPatternTest, OrderingOperatorsOnNumbers) {
  auto p = must(R"({"amount": {"$gt": 10, "$lte": 100}})");
  EXPECT_FALSE(p->matches(R"({"amount":10})"));
  EXPECT_TRUE(p->matches(R"({"amount":10.5})"));
  EXPECT_TRUE(p->matches(R"({"amount":100})"));
  EXPECT_FALSE(p->matches(R"({"amount":100.01})"));
  EXPECT_FALSE(p->matches(R"({"amount":"50"})"));  // a string is not a number
  EXPECT_FALSE(p->matches(R"({"amount":null})"));
  EXPECT_FALSE(p->matches(R"({})"));
  auto ge = must(R"({"n": {"$gte": -1, "$lt": 0}})");
  EXPECT_TRUE(ge->matches(R"({"n":-1})"));
  EXPECT_TRUE(ge->matches(R"({"n":-0.5})"));
  EXPECT_FALSE(ge->matches(R"({"n":0})"));
}

TEST(PayloadPatternTest, OrderingOperatorsOnStringsAreBytewise) {
  auto p = must(R"({"day": {"$gte": "2024-01-01", "$lt": "2024-02-01"}})");
  EXPECT_TRUE(p->matches(R"({"day":"2024-01-15"})"));
  EXPECT_TRUE(p->matches(R"({"day":"2024-01-01"})"));
  EXPECT_FALSE(p->matches(R"({"day":"2024-02-01"})"));
  EXPECT_FALSE(p->matches(R"({"day":20240115})"));  // a number is not a string
}

TEST(PayloadPatternTest, NotEqualMatchesDifferentAndAbsentValues) {
  auto p = must(R"({"status": {"$ne": "cancelled"}})");
  EXPECT_TRUE(p->matches(R"({"status":"paid"})"));
  EXPECT_TRUE(p->matches(R"({"status":1})"));
  EXPECT_TRUE(p->matches(R"({})"));
  EXPECT_FALSE(p->matches(R"({"status":"cancelled"})"));
  auto both = must(R"({"n": {"$ne": 3, "$gt": 1}})");
  EXPECT_FALSE(both->matches(R"({})"));  // absent fails $gt
}

TEST(PayloadPatternTest, InMatchesAnyListedValue) {
  auto p = must(R"({"country": {"$in": ["NL", "BE", 3, [1]]}})");
  EXPECT_TRUE(p->matches(R"({"country":"BE"})"));
  EXPECT_TRUE(p->matches(R"({"country":3.0})"));
  EXPECT_TRUE(p->matches(R"({"country":[1]})"));
  EXPECT_FALSE(p->matches(R"({"country":"DE"})"));
  EXPECT_FALSE(p->matches(R"({})"));
}

TEST(PayloadPatternTest, NonObjectOrInvalidDataNeverMatches) {
  auto p = must(R"({"a": 1})");
  EXPECT_FALSE(p->matches("[1]"));
  EXPECT_FALSE(p->matches("1"));
  EXPECT_FALSE(p->matches("not json"));
  EXPECT_FALSE(p->matches(""));
}

TEST(PayloadPatternTest, CanonicalFormSortsKeysAndMinifies) {
  EXPECT_EQ(must(R"( { "b" : [1, 2.5, "x\n\"y"], "a" : {"z": null, "_":1} } )")->canonical(),
            R"({"a":{"_":1,"z":null},"b":[1,2.5,"x\n\"y"]})");
  EXPECT_EQ(must(R"({"n": {"$lt": 5, "$gt": 1e2}})")->canonical(), R"({"n":{"$gt":100,"$lt":5}})");
  // The canonical form parses to itself.
  auto p = must(R"({"k": {"$in": [1.5, "\u0001", {"y": 1, "x": 2}]}, "t": true})");
  EXPECT_EQ(must(p->canonical())->canonical(), p->canonical());
}

TEST(PayloadPatternTest, RefusesInvalidSelectors) {
  expect_invalid("", "not valid JSON");
  expect_invalid("{", "not valid JSON");
  expect_invalid("[1]", "must be a JSON object");
  expect_invalid("\"x\"", "must be a JSON object");
  expect_invalid("{}", "at least one field");
  expect_invalid(R"({"$gt": 1})", "operators need a field");
  expect_invalid(R"({"a": {"$gt": 1, "b": 2}})", "not both");
  expect_invalid(R"({"a": {"$regex": "x"}})", "unknown operator");
  expect_invalid(R"({"a": {"$gt": true}})", "number or a string");
  expect_invalid(R"({"a": {"$lt": [1]}})", "number or a string");
  expect_invalid(R"({"a": {"$in": 1}})", "non-empty array");
  expect_invalid(R"({"a": {"$in": []}})", "non-empty array");
  expect_invalid(R"({"a": 1, "a": 2})", "duplicate key");
  expect_invalid(R"({"a": {"$gt": 1, "$gt": 2}})", "duplicate operator");
  expect_invalid(R"({"a": {"b": {"$nope": 1}}})", "$.a.b.$nope");
}

}  // namespace
}  // namespace reckon::subscriptions
