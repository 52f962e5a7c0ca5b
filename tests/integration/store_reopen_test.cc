// Closing and reopening a store: every acknowledged write is readable, positions and versions
// continue densely, indexes and idempotency survive.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reckon/clock.h"
#include "reckon/store.h"
#include "support/store_test_util.h"

namespace reckon {
namespace {

using testing::iota_positions;
using testing::iota_versions;
using testing::make_event;
using testing::make_events;
using testing::make_events_with_ids;
using testing::one;
using testing::positions_of;
using testing::versions_of;

class StoreReopenTest : public testing::StoreTest {};

TEST_F(StoreReopenTest, EverythingIsReadableAfterReopen) {
  MustAppend("a", kExpectNoStream, make_events(3, "A"));
  MustAppend("b", kExpectNoStream, one(make_event("B", R"({"x":1})", {"t:1"})));
  MustAppend("a", 2, make_events(2, "A2"));
  auto before = AllEvents();
  ASSERT_EQ(before.size(), 6u);

  Reopen();
  auto after = AllEvents();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].event_id, before[i].event_id);
    EXPECT_EQ(after[i].event_type, before[i].event_type);
    EXPECT_EQ(after[i].stream_id, before[i].stream_id);
    EXPECT_EQ(after[i].version, before[i].version);
    EXPECT_EQ(after[i].position, before[i].position);
    EXPECT_EQ(after[i].data, before[i].data);
    EXPECT_EQ(after[i].tags, before[i].tags);
    EXPECT_EQ(after[i].created_us, before[i].created_us);
  }
  EXPECT_EQ(versions_of(StreamEvents("a")), iota_versions(0, 4));
  EXPECT_EQ(*store().get_version("a"), 4);
  EXPECT_EQ(*store().get_version("b"), 0);
  EXPECT_TRUE(*store().exists("b"));
  auto info = store().stream_info("a");
  RECKON_ASSERT_OK(info);
  EXPECT_EQ(info->last_version, 4);
  EXPECT_EQ(info->last_position, 6u);
  ListStreamsOptions lo;
  auto list = store().list_streams(lo);
  RECKON_ASSERT_OK(list);
  ASSERT_EQ(list->streams.size(), 2u);
  EXPECT_EQ(list->streams[0].stream_id, "a");
  EXPECT_EQ(list->streams[1].stream_id, "b");
}

TEST_F(StoreReopenTest, PositionsAndVersionsContinueDenselyAfterReopen) {
  MustAppend("a", kExpectAny, make_events(3));
  MustAppend("b", kExpectAny, make_events(2));
  Reopen();
  auto r = store().append("a", 2, make_events(2));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 3);
  EXPECT_EQ(r->first_position, 6u);
  EXPECT_EQ(r->position, 7u);
  auto nb = store().append("b", kExpectStreamExists, make_events(1));
  RECKON_ASSERT_OK(nb);
  EXPECT_EQ(nb->first_version, 2);
  EXPECT_EQ(nb->position, 8u);
  auto c = store().append("c", kExpectNoStream, make_events(1));
  RECKON_ASSERT_OK(c);
  EXPECT_EQ(c->position, 9u);
  Reopen();
  Reopen();
  EXPECT_EQ(positions_of(AllEvents()), iota_positions(1, 9));
  auto d = store().append("a", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(d);
  EXPECT_EQ(d->first_version, 5);
  EXPECT_EQ(d->position, 10u);
  EXPECT_EQ(store().stats().last_position, 10u);
}

TEST_F(StoreReopenTest, ExpectedVersionChecksUseTheRecoveredHead) {
  MustAppend("a", kExpectAny, make_events(3));
  Reopen();
  auto r = store().append("a", kExpectNoStream, make_events(1));
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(r.status().wrong_expected_version_info(), nullptr);
  EXPECT_EQ(r.status().wrong_expected_version_info()->current, 2);
  RECKON_EXPECT_CODE(store().append("a", 1, make_events(1)), ErrorCode::kWrongExpectedVersion);
  RECKON_EXPECT_OK(store().append("a", 2, make_events(1)));
}

TEST_F(StoreReopenTest, IdempotentRetryAfterReopenReturnsTheOriginalResult) {
  MustAppend("a", kExpectAny, make_events(2));
  auto evs = make_events_with_ids(3);
  auto first = store().append("a", 1, evs);
  RECKON_ASSERT_OK(first);
  MustAppend("b", kExpectAny, make_events(1));

  Reopen();
  auto retry = store().append("a", 1, evs);
  RECKON_ASSERT_OK(retry);
  EXPECT_EQ(retry->stream_id, "a");
  EXPECT_EQ(retry->first_version, first->first_version);
  EXPECT_EQ(retry->last_version, first->last_version);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->position, first->position);
  EXPECT_EQ(retry->created_us, first->created_us);
  EXPECT_EQ(AllEvents().size(), 6u);
  EXPECT_EQ(*store().get_version("a"), 4);

  // The ids are still known: reusing one elsewhere is a conflict.
  RECKON_EXPECT_CODE(store().append("c", kExpectAny, std::vector<NewEvent>{evs[0]}),
                     ErrorCode::kIdempotencyConflict);
  auto r = store().append("a", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->position, 7u);
}

TEST_F(StoreReopenTest, IndexReadsWorkAfterReopen) {
  MustAppend("a", kExpectAny, one(make_event("Placed", "{}", {"c:1"})));
  MustAppend("b", kExpectAny, one(make_event("Shipped", "{}", {"c:1", "c:2"})));
  MustAppend("a", kExpectAny, one(make_event("Placed", "{}", {"c:2"})));
  Reopen();
  auto by_type = store().read_by_event_types({"Placed"}, IndexReadOptions{});
  RECKON_ASSERT_OK(by_type);
  EXPECT_EQ(positions_of(by_type->events), (std::vector<Position>{1, 3}));
  auto by_tag = store().read_by_tags({"c:2"}, TagMatch::kAny, IndexReadOptions{});
  RECKON_ASSERT_OK(by_tag);
  EXPECT_EQ(positions_of(by_tag->events), (std::vector<Position>{2, 3}));
  // The condition check is index-served too.
  AppendCondition cond;
  cond.items.push_back(QueryItem{{"Shipped"}, {}});
  RECKON_EXPECT_CODE(store().append_if("x", kExpectAny, make_events(1), cond),
                     ErrorCode::kConditionFailed);
  cond.after_position = 2;
  RECKON_EXPECT_OK(store().append_if("x", kExpectAny, make_events(1), cond));
}

TEST_F(StoreReopenTest, ManyAppendsSurviveReopen) {
  options().sync_writes = true;
  for (int i = 0; i < 50; ++i) MustAppend("s" + std::to_string(i % 5), kExpectAny, make_events(4));
  Reopen();
  EXPECT_EQ(positions_of(AllEvents()), iota_positions(1, 200));
  for (int s = 0; s < 5; ++s) {
    EXPECT_EQ(versions_of(StreamEvents("s" + std::to_string(s))), iota_versions(0, 39));
  }
}

TEST(StoreReopenClockTest, CreatedUsStaysMonotonicAcrossReopenWhenTheClockGoesBack) {
  testing::TempDir dir;
  auto clock = std::make_shared<ManualClock>(2'000'000'000'000'000);
  StoreOptions o;
  o.data_dir = dir.sub("store");
  o.clock = clock;
  int64_t last_created = 0;
  {
    auto opened = Store::open(o);
    RECKON_ASSERT_OK(opened);
    auto r = opened.value()->append("s", kExpectAny, make_events(2));
    RECKON_ASSERT_OK(r);
    last_created = r->created_us;
    EXPECT_EQ(last_created, 2'000'000'000'000'000);
  }
  clock->set_us(1'000'000'000'000'000);  // the machine's clock stepped back while down
  auto reopened = Store::open(o);
  RECKON_ASSERT_OK(reopened);
  auto r = reopened.value()->append("s", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_GE(r->created_us, last_created);
}

TEST_F(StoreReopenTest, StreamStateAndMetadataSurviveReopen) {
  MustAppend("soft", kExpectAny, make_events(2));
  MustAppend("tomb", kExpectAny, make_events(2));
  MustAppend("trunc", kExpectAny, make_events(5));
  RECKON_ASSERT_OK(store().delete_stream("soft", kExpectAny));
  RECKON_ASSERT_OK(store().tombstone_stream("tomb", kExpectAny));
  RECKON_ASSERT_OK(store().truncate_before("trunc", 3));
  Reopen();
  RECKON_EXPECT_CODE(store().read("soft", ReadStreamOptions{}), ErrorCode::kStreamDeleted);
  RECKON_EXPECT_CODE(store().read("tomb", ReadStreamOptions{}), ErrorCode::kStreamDeleted);
  RECKON_EXPECT_CODE(store().append("tomb", kExpectAny, make_events(1)), ErrorCode::kStreamDeleted);
  EXPECT_EQ(versions_of(StreamEvents("trunc")), iota_versions(3, 4));
  EXPECT_EQ(store().get_stream_metadata("trunc")->truncate_before, std::optional<int64_t>(3));
  EXPECT_EQ(positions_of(AllEvents()), iota_positions(1, 9));
}

}  // namespace
}  // namespace reckon
