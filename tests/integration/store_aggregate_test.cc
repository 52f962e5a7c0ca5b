#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reckon/aggregate.h"
#include "support/temp_dir.h"

namespace reckon {
namespace {

NewEvent ev(std::string data) {
  NewEvent e;
  e.event_type = "Changed";
  e.data = std::move(data);
  return e;
}

class AggregateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.data_dir = dir_.sub("store");
    auto s = Store::open(o);
    ASSERT_TRUE(s) << s.status().to_string();
    store_ = std::move(s).value();
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(AggregateTest, FoldSumsOverwritesAndReplaces) {
  std::vector<Event> events(3);
  events[0].data = R"({"count":{"$sum":2},"name":"a","price":{"$sum":1.5}})";
  events[1].data = R"({"count":{"$sum":3},"name":{"$overwrite":"b"}})";
  events[2].data = R"({"status":"open"})";
  auto state = fold_events(R"({"count":10})", events);
  ASSERT_TRUE(state) << state.status().to_string();
  auto j = nlohmann::json::parse(*state);
  EXPECT_EQ(j["count"], 15);
  EXPECT_EQ(j["name"], "b");
  EXPECT_DOUBLE_EQ(j["price"].get<double>(), 1.5);
  EXPECT_EQ(j["status"], "open");
}

TEST_F(AggregateTest, FoldRefusesNonObjectDataAndNonNumericSums) {
  std::vector<Event> arr(1);
  arr[0].data = "[1,2]";
  EXPECT_EQ(fold_events("", arr).code(), ErrorCode::kInvalidArgument);
  std::vector<Event> bad_sum(1);
  bad_sum[0].data = R"({"n":{"$sum":"x"}})";
  EXPECT_EQ(fold_events("", bad_sum).code(), ErrorCode::kInvalidArgument);
  std::vector<Event> sum_into_string(1);
  sum_into_string[0].data = R"({"n":{"$sum":1}})";
  EXPECT_EQ(fold_events(R"({"n":"text"})", sum_into_string).code(), ErrorCode::kInvalidArgument);
}

TEST_F(AggregateTest, AggregateStartsFromLatestSnapshot) {
  std::vector<NewEvent> events;
  for (int i = 0; i < 5; ++i) events.push_back(ev(R"({"total":{"$sum":1}})"));
  ASSERT_TRUE(store_->append("cart-1", kExpectNoStream, events));
  // A snapshot at version 2 claims total 100: folding from it must give 100 + 2 (versions 3, 4).
  ASSERT_TRUE(store_->save_snapshot(Snapshot{"cart-1", 2, R"({"total":100})", "", 0}).is_ok());
  auto agg = aggregate_stream(*store_, "cart-1");
  ASSERT_TRUE(agg) << agg.status().to_string();
  EXPECT_EQ(nlohmann::json::parse(agg->state_json)["total"], 102);
  EXPECT_EQ(agg->version, 4);
  EXPECT_EQ(agg->snapshot_version, 2);

  auto full = aggregate_stream(*store_, "cart-1", /*use_snapshot=*/false);
  ASSERT_TRUE(full);
  EXPECT_EQ(nlohmann::json::parse(full->state_json)["total"], 5);
  EXPECT_EQ(full->snapshot_version, kNoVersion);
}

TEST_F(AggregateTest, AggregateOfMissingStreamIsStreamNotFound) {
  EXPECT_EQ(aggregate_stream(*store_, "nope").code(), ErrorCode::kStreamNotFound);
}

}  // namespace
}  // namespace reckon
