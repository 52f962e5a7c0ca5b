// Stream state against a real store: versions, existence, stream_info, list_streams, soft delete,
// tombstone, truncate_before and stream metadata (max_count, max_age, custom JSON).

#include <gtest/gtest.h>

#include <algorithm>
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
using testing::one;
using testing::positions_of;
using testing::versions_of;

constexpr int64_t kT0 = 1'700'000'000'000'000;  // µs

class StoreStreamsTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kT0);
    options().clock = clock_;
    OpenStore();
  }

  std::vector<std::string> ListIds(const ListStreamsOptions& o) {
    auto r = store().list_streams(o);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    std::vector<std::string> ids;
    if (r.is_ok()) {
      for (const auto& s : r->streams) ids.push_back(s.stream_id);
    }
    return ids;
  }

  // Every stream id from paging list_streams with `o`.
  std::vector<std::string> ListAllIds(ListStreamsOptions o) {
    std::vector<std::string> ids;
    for (int guard = 0; guard < 1000; ++guard) {
      auto r = store().list_streams(o);
      EXPECT_TRUE(r.is_ok()) << r.status().to_string();
      if (!r.is_ok()) break;
      EXPECT_LE(r->streams.size(), o.limit);
      for (const auto& s : r->streams) ids.push_back(s.stream_id);
      if (r->next_after.empty()) break;
      EXPECT_GT(r->next_after, o.after);
      o.after = r->next_after;
    }
    return ids;
  }

  std::shared_ptr<ManualClock> clock_;
};

// ---------------------------------------------------------------------------------------------
// get_version, exists, stream_info

TEST_F(StoreStreamsTest, GetVersionOfAbsentStreamIsMinusOne) {
  auto v = store().get_version("never");
  RECKON_ASSERT_OK(v);
  EXPECT_EQ(*v, kNoVersion);
  auto e = store().exists("never");
  RECKON_ASSERT_OK(e);
  EXPECT_FALSE(*e);
}

TEST_F(StoreStreamsTest, GetVersionAndExistsFollowAppends) {
  MustAppend("s", kExpectAny, make_events(3));
  EXPECT_EQ(*store().get_version("s"), 2);
  EXPECT_TRUE(*store().exists("s"));
  MustAppend("s", kExpectAny, make_events(2));
  EXPECT_EQ(*store().get_version("s"), 4);
  EXPECT_EQ(*store().get_version("s2"), kNoVersion);
  EXPECT_FALSE(*store().exists("s2"));
}

TEST_F(StoreStreamsTest, StreamInfoReportsTheHead) {
  MustAppend("s", kExpectAny, make_events(3));
  MustAppend("other", kExpectAny, make_events(2));
  MustAppend("s", kExpectAny, make_events(1));
  auto info = store().stream_info("s");
  RECKON_ASSERT_OK(info);
  EXPECT_EQ(info->stream_id, "s");
  EXPECT_EQ(info->last_version, 3);
  EXPECT_EQ(info->state, StreamState::kLive);
  EXPECT_EQ(info->last_position, 6u);
  EXPECT_EQ(info->metadata, StreamMetadata{});
}

TEST_F(StoreStreamsTest, StreamInfoOfNeverTouchedStreamIsStreamNotFound) {
  MustAppend("other", kExpectAny, make_events(1));
  RECKON_EXPECT_CODE(store().stream_info("never"), ErrorCode::kStreamNotFound);
}

// ---------------------------------------------------------------------------------------------
// list_streams

TEST_F(StoreStreamsTest, ListStreamsReturnsStreamsInByteOrder) {
  for (const char* s : {"b", "a", "c/1", "B", "a-2", "a"})
    MustAppend(s, kExpectAny, make_events(1));
  ListStreamsOptions o;
  EXPECT_EQ(ListIds(o), (std::vector<std::string>{"B", "a", "a-2", "b", "c/1"}));
  auto r = store().list_streams(o);
  RECKON_ASSERT_OK(r);
  EXPECT_TRUE(r->next_after.empty());
  ASSERT_EQ(r->streams.size(), 5u);
  EXPECT_EQ(r->streams[1].stream_id, "a");
  EXPECT_EQ(r->streams[1].last_version, 1);
  EXPECT_EQ(r->streams[1].last_position, 6u);
  EXPECT_EQ(r->streams[1].state, StreamState::kLive);
}

TEST_F(StoreStreamsTest, ListStreamsPagesWithAfterAndLimit) {
  std::vector<std::string> ids = {"s1", "s2", "s3", "s4", "s5", "s6", "s7"};
  for (const auto& s : ids) MustAppend(s, kExpectAny, make_events(1));

  ListStreamsOptions o;
  o.limit = 3;
  auto p1 = store().list_streams(o);
  RECKON_ASSERT_OK(p1);
  ASSERT_EQ(p1->streams.size(), 3u);
  EXPECT_EQ(p1->streams[2].stream_id, "s3");
  EXPECT_EQ(p1->next_after, "s3");

  o.after = p1->next_after;
  auto p2 = store().list_streams(o);
  RECKON_ASSERT_OK(p2);
  ASSERT_EQ(p2->streams.size(), 3u);
  EXPECT_EQ(p2->streams[0].stream_id, "s4");
  EXPECT_EQ(p2->next_after, "s6");

  o.after = p2->next_after;
  auto p3 = store().list_streams(o);
  RECKON_ASSERT_OK(p3);
  ASSERT_EQ(p3->streams.size(), 1u);
  EXPECT_EQ(p3->streams[0].stream_id, "s7");
  EXPECT_TRUE(p3->next_after.empty());

  // `after` is exclusive and need not be an existing id.
  ListStreamsOptions q;
  q.after = "s4";
  EXPECT_EQ(ListIds(q), (std::vector<std::string>{"s5", "s6", "s7"}));
  q.after = "s45";
  EXPECT_EQ(ListIds(q), (std::vector<std::string>{"s5", "s6", "s7"}));

  for (uint64_t limit : {1u, 2u, 7u, 100u}) {
    ListStreamsOptions all;
    all.limit = limit;
    EXPECT_EQ(ListAllIds(all), ids) << "limit " << limit;
  }
}

TEST_F(StoreStreamsTest, ListStreamsFiltersByPrefix) {
  for (const char* s : {"order-1", "order-2", "order-10", "orders", "invoice-1", "order-3"}) {
    MustAppend(s, kExpectAny, make_events(1));
  }
  ListStreamsOptions o;
  o.prefix = "order-";
  EXPECT_EQ(ListIds(o), (std::vector<std::string>{"order-1", "order-10", "order-2", "order-3"}));
  o.limit = 2;
  EXPECT_EQ(ListAllIds(o), (std::vector<std::string>{"order-1", "order-10", "order-2", "order-3"}));
  o.limit = 1000;
  o.after = "order-10";
  EXPECT_EQ(ListIds(o), (std::vector<std::string>{"order-2", "order-3"}));
  o.prefix = "zzz";
  o.after = "";
  EXPECT_TRUE(ListIds(o).empty());
}

TEST_F(StoreStreamsTest, ListStreamsShowsDeletedStreamsOnlyWhenAsked) {
  for (const char* s : {"a", "b", "c", "d"}) MustAppend(s, kExpectAny, make_events(2));
  RECKON_ASSERT_OK(store().delete_stream("b", kExpectAny));
  RECKON_ASSERT_OK(store().tombstone_stream("c", kExpectAny));
  ListStreamsOptions o;
  EXPECT_EQ(ListIds(o), (std::vector<std::string>{"a", "d"}));
  o.limit = 1;
  EXPECT_EQ(ListAllIds(o), (std::vector<std::string>{"a", "d"}));

  ListStreamsOptions with;
  with.include_deleted = true;
  auto r = store().list_streams(with);
  RECKON_ASSERT_OK(r);
  ASSERT_EQ(r->streams.size(), 4u);
  EXPECT_EQ(r->streams[1].stream_id, "b");
  EXPECT_EQ(r->streams[1].state, StreamState::kSoftDeleted);
  EXPECT_EQ(r->streams[2].stream_id, "c");
  EXPECT_EQ(r->streams[2].state, StreamState::kTombstoned);
  with.limit = 1;
  EXPECT_EQ(ListAllIds(with), (std::vector<std::string>{"a", "b", "c", "d"}));
}

// ---------------------------------------------------------------------------------------------
// Soft delete

TEST_F(StoreStreamsTest, SoftDeletedStreamReadsAreStreamDeleted) {
  MustAppend("s", kExpectAny, make_events(3));
  RECKON_ASSERT_OK(store().delete_stream("s", 2));
  RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{}), ErrorCode::kStreamDeleted);
  RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{kEndVersion, 10, Direction::kBackward}),
                     ErrorCode::kStreamDeleted);
  EXPECT_EQ(*store().get_version("s"), kNoVersion);
  EXPECT_FALSE(*store().exists("s"));
  auto info = store().stream_info("s");
  RECKON_ASSERT_OK(info);
  EXPECT_EQ(info->state, StreamState::kSoftDeleted);
}

TEST_F(StoreStreamsTest, AppendWithNoStreamAfterSoftDeleteContinuesAfterOldLastVersion) {
  MustAppend("s", kExpectAny, make_events(3));
  RECKON_ASSERT_OK(store().delete_stream("s", kExpectAny));
  auto r = store().append("s", kExpectNoStream, make_events(2, "Reborn"));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 3);
  EXPECT_EQ(r->last_version, 4);
  EXPECT_EQ(r->first_position, 4u);

  auto events = StreamEvents("s");
  EXPECT_EQ(versions_of(events), iota_versions(3, 4));
  for (const auto& e : events) EXPECT_EQ(e.event_type, "Reborn");
  auto back = store().read("s", ReadStreamOptions{kEndVersion, 100, Direction::kBackward});
  RECKON_ASSERT_OK(back);
  EXPECT_EQ(versions_of(back->events), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE(back->end_of_stream);
  // Reading from an old version only yields the new events.
  auto from_old = store().read("s", ReadStreamOptions{1, 100, Direction::kForward});
  RECKON_ASSERT_OK(from_old);
  EXPECT_EQ(versions_of(from_old->events), iota_versions(3, 4));

  EXPECT_EQ(*store().get_version("s"), 4);
  EXPECT_TRUE(*store().exists("s"));
  EXPECT_EQ(store().stream_info("s")->state, StreamState::kLive);
}

TEST_F(StoreStreamsTest, SoftDeletedStreamAcceptsItsOldLastVersionAsExpectation) {
  MustAppend("s", kExpectAny, make_events(3));
  RECKON_ASSERT_OK(store().delete_stream("s", kExpectAny));
  auto r = store().append("s", 2, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 3);
}

TEST_F(StoreStreamsTest, SoftDeletedStreamRefusesStreamExistsAndReportsCurrentMinusOne) {
  MustAppend("s", kExpectAny, make_events(3));
  RECKON_ASSERT_OK(store().delete_stream("s", kExpectAny));
  auto r = store().append("s", kExpectStreamExists, make_events(1));
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(r.status().wrong_expected_version_info(), nullptr);
  EXPECT_EQ(r.status().wrong_expected_version_info()->expected, kExpectStreamExists);
  EXPECT_EQ(r.status().wrong_expected_version_info()->current, kNoVersion);

  auto wrong = store().append("s", 0, make_events(1));
  RECKON_ASSERT_CODE(wrong, ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(wrong.status().wrong_expected_version_info(), nullptr);
  EXPECT_EQ(wrong.status().wrong_expected_version_info()->current, kNoVersion);
  RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{}), ErrorCode::kStreamDeleted);
  EXPECT_EQ(AllEvents().size(), 3u);
}

TEST_F(StoreStreamsTest, AppendWithAnyAfterSoftDeleteContinuesAfterOldLastVersion) {
  MustAppend("s", kExpectAny, make_events(2));
  RECKON_ASSERT_OK(store().delete_stream("s", kExpectAny));
  auto r = store().append("s", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 2);
  EXPECT_EQ(versions_of(StreamEvents("s")), (std::vector<int64_t>{2}));
}

TEST_F(StoreStreamsTest, ReadAllStillShowsSoftDeletedEvents) {
  MustAppend("s", kExpectAny, make_events(3));
  MustAppend("t", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(store().delete_stream("s", kExpectAny));
  auto all = AllEvents();
  EXPECT_EQ(positions_of(all), iota_positions(1, 4));
  EXPECT_EQ(all[0].stream_id, "s");
  MustAppend("s", kExpectNoStream, make_events(1));
  EXPECT_EQ(positions_of(AllEvents()), iota_positions(1, 5));
}

TEST_F(StoreStreamsTest, DeleteWithWrongExpectationIsWrongExpectedVersionAndKeepsTheStream) {
  MustAppend("s", kExpectAny, make_events(3));
  Status st = store().delete_stream("s", 1);
  RECKON_ASSERT_CODE(st, ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(st.wrong_expected_version_info(), nullptr);
  EXPECT_EQ(st.wrong_expected_version_info()->expected, 1);
  EXPECT_EQ(st.wrong_expected_version_info()->current, 2);
  RECKON_EXPECT_CODE(store().delete_stream("s", kExpectNoStream), ErrorCode::kWrongExpectedVersion);
  RECKON_EXPECT_CODE(store().delete_stream("absent", kExpectStreamExists),
                     ErrorCode::kWrongExpectedVersion);
  EXPECT_EQ(StreamEvents("s").size(), 3u);
  EXPECT_TRUE(*store().exists("s"));
}

TEST_F(StoreStreamsTest, DeletingAbsentOrAlreadyDeletedStreamWithAnySucceeds) {
  RECKON_EXPECT_OK(store().delete_stream("absent", kExpectAny));
  MustAppend("s", kExpectAny, make_events(2));
  RECKON_ASSERT_OK(store().delete_stream("s", kExpectStreamExists));
  RECKON_EXPECT_OK(store().delete_stream("s", kExpectAny));
  RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{}), ErrorCode::kStreamDeleted);
  // Still continues after the original last version.
  auto r = store().append("s", kExpectNoStream, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 2);
}

TEST_F(StoreStreamsTest, SoftDeleteSurvivesReopen) {
  MustAppend("s", kExpectAny, make_events(3));
  RECKON_ASSERT_OK(store().delete_stream("s", kExpectAny));
  Reopen();
  RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{}), ErrorCode::kStreamDeleted);
  EXPECT_EQ(*store().get_version("s"), kNoVersion);
  auto r = store().append("s", kExpectNoStream, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 3);
  EXPECT_EQ(r->position, 4u);
}

// ---------------------------------------------------------------------------------------------
// Tombstone

TEST_F(StoreStreamsTest, TombstonedStreamRefusesReadsAndAppendsForever) {
  MustAppend("s", kExpectAny, make_events(3));
  MustAppend("other", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(store().tombstone_stream("s", 2));

  auto check = [&] {
    RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{}), ErrorCode::kStreamDeleted);
    RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{kEndVersion, 10, Direction::kBackward}),
                       ErrorCode::kStreamDeleted);
    for (ExpectedVersion ev :
         {kExpectAny, kExpectNoStream, kExpectStreamExists, int64_t{2}, int64_t{3}}) {
      RECKON_EXPECT_CODE(store().append("s", ev, make_events(1)), ErrorCode::kStreamDeleted);
    }
    RECKON_EXPECT_CODE(store().append_if("s", kExpectAny, make_events(1), AppendCondition{}),
                       ErrorCode::kStreamDeleted);
    std::vector<StreamAppend> parts;
    parts.push_back({"other", kExpectAny, make_events(1)});
    parts.push_back({"s", kExpectAny, make_events(1)});
    RECKON_EXPECT_CODE(store().append_multi(parts), ErrorCode::kStreamDeleted);
    EXPECT_FALSE(*store().exists("s"));
    auto info = store().stream_info("s");
    RECKON_ASSERT_OK(info);
    EXPECT_EQ(info->state, StreamState::kTombstoned);
    EXPECT_EQ(*store().get_version("other"), 0);
    EXPECT_EQ(AllEvents().size(), 4u);
  };
  check();
  // A soft delete cannot bring it back either.
  (void)store().delete_stream("s", kExpectAny);
  check();
  Reopen();
  check();
}

TEST_F(StoreStreamsTest, TombstoneWithWrongExpectationKeepsTheStreamLive) {
  MustAppend("s", kExpectAny, make_events(2));
  Status st = store().tombstone_stream("s", 5);
  RECKON_ASSERT_CODE(st, ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(st.wrong_expected_version_info(), nullptr);
  EXPECT_EQ(st.wrong_expected_version_info()->current, 1);
  EXPECT_EQ(StreamEvents("s").size(), 2u);
  RECKON_EXPECT_OK(store().append("s", 1, make_events(1)));
}

// ---------------------------------------------------------------------------------------------
// truncate_before

TEST_F(StoreStreamsTest, TruncateBeforeHidesLowerVersions) {
  MustAppend("s", kExpectAny, make_events(10));
  RECKON_ASSERT_OK(store().truncate_before("s", 4));

  EXPECT_EQ(versions_of(StreamEvents("s")), iota_versions(4, 9));
  auto from_two = store().read("s", ReadStreamOptions{2, 3, Direction::kForward});
  RECKON_ASSERT_OK(from_two);
  EXPECT_EQ(versions_of(from_two->events), iota_versions(4, 6));
  auto back = store().read("s", ReadStreamOptions{kEndVersion, 100, Direction::kBackward});
  RECKON_ASSERT_OK(back);
  EXPECT_EQ(versions_of(back->events), (std::vector<int64_t>{9, 8, 7, 6, 5, 4}));
  EXPECT_TRUE(back->end_of_stream);

  EXPECT_EQ(*store().get_version("s"), 9);
  auto md = store().get_stream_metadata("s");
  RECKON_ASSERT_OK(md);
  EXPECT_EQ(md->truncate_before, std::optional<int64_t>(4));
  EXPECT_EQ(AllEvents().size(), 10u);  // $all still shows them until a scavenge

  auto r = store().append("s", 9, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 10);
  EXPECT_EQ(versions_of(StreamEvents("s")), iota_versions(4, 10));
}

TEST_F(StoreStreamsTest, TruncateBeforeEverythingLeavesAnEmptyReadableStream) {
  MustAppend("s", kExpectAny, make_events(3));
  RECKON_ASSERT_OK(store().truncate_before("s", 3));
  auto r = store().read("s", ReadStreamOptions{});
  RECKON_ASSERT_OK(r);  // reading never fails because events are hidden
  EXPECT_TRUE(r->events.empty());
  EXPECT_EQ(r->last_version, 2);
  EXPECT_EQ(*store().get_version("s"), 2);
  MustAppend("s", 2, make_events(1));
  EXPECT_EQ(versions_of(StreamEvents("s")), (std::vector<int64_t>{3}));
}

// ---------------------------------------------------------------------------------------------
// Metadata

TEST_F(StoreStreamsTest, MaxCountShowsOnlyTheNewestEvents) {
  MustAppend("s", kExpectAny, make_events(10));
  StreamMetadata md;
  md.max_count = 3;
  RECKON_ASSERT_OK(store().set_stream_metadata("s", md));
  EXPECT_EQ(versions_of(StreamEvents("s")), iota_versions(7, 9));
  auto back = store().read("s", ReadStreamOptions{kEndVersion, 100, Direction::kBackward});
  RECKON_ASSERT_OK(back);
  EXPECT_EQ(versions_of(back->events), (std::vector<int64_t>{9, 8, 7}));
  EXPECT_TRUE(back->end_of_stream);

  MustAppend("s", kExpectAny, make_events(2));
  EXPECT_EQ(versions_of(StreamEvents("s")), iota_versions(9, 11));
  EXPECT_EQ(*store().get_version("s"), 11);
  EXPECT_EQ(AllEvents().size(), 12u);
}

TEST_F(StoreStreamsTest, MaxAgeHidesEventsOlderThanNowMinusAge) {
  MustAppend("s", kExpectAny, make_events(3, "Old"));  // at kT0
  clock_->advance_us(60'000'000);
  MustAppend("s", kExpectAny, make_events(2, "New"));  // at kT0 + 60 s
  StreamMetadata md;
  md.max_age_seconds = 30;
  RECKON_ASSERT_OK(store().set_stream_metadata("s", md));

  auto events = StreamEvents("s");
  EXPECT_EQ(versions_of(events), iota_versions(3, 4));
  for (const auto& e : events) EXPECT_EQ(e.event_type, "New");

  clock_->advance_us(31'000'000);  // now kT0 + 91 s: the new events are 31 s old
  auto r = store().read("s", ReadStreamOptions{});
  RECKON_ASSERT_OK(r);
  EXPECT_TRUE(r->events.empty());
  EXPECT_EQ(*store().get_version("s"), 4);
  EXPECT_EQ(AllEvents().size(), 5u);

  // Raising the age makes them readable again: hiding is a read-time rule.
  md.max_age_seconds = 3600;
  RECKON_ASSERT_OK(store().set_stream_metadata("s", md));
  EXPECT_EQ(versions_of(StreamEvents("s")), iota_versions(0, 4));
}

TEST_F(StoreStreamsTest, MetadataRoundTripsEveryField) {
  MustAppend("s", kExpectAny, make_events(1));
  StreamMetadata md;
  md.max_count = 50;
  md.max_age_seconds = 86400;
  md.truncate_before = 0;
  md.custom_json = R"({"owner":"team-a","tags":["x","y"],"nested":{"n":1}})";
  RECKON_ASSERT_OK(store().set_stream_metadata("s", md));
  auto got = store().get_stream_metadata("s");
  RECKON_ASSERT_OK(got);
  EXPECT_EQ(*got, md);
  auto info = store().stream_info("s");
  RECKON_ASSERT_OK(info);
  EXPECT_EQ(info->metadata, md);
  Reopen();
  EXPECT_EQ(*store().get_stream_metadata("s"), md);
}

TEST_F(StoreStreamsTest, SettingMetadataReplacesThePreviousMetadata) {
  MustAppend("s", kExpectAny, make_events(5));
  StreamMetadata a;
  a.max_count = 2;
  RECKON_ASSERT_OK(store().set_stream_metadata("s", a));
  StreamMetadata b;
  b.custom_json = R"({"k":1})";
  RECKON_ASSERT_OK(store().set_stream_metadata("s", b));
  EXPECT_EQ(*store().get_stream_metadata("s"), b);
  EXPECT_EQ(StreamEvents("s").size(), 5u);
}

TEST_F(StoreStreamsTest, StreamWithoutMetadataHasDefaultMetadata) {
  MustAppend("s", kExpectAny, make_events(1));
  auto md = store().get_stream_metadata("s");
  RECKON_ASSERT_OK(md);
  EXPECT_EQ(*md, StreamMetadata{});
}

TEST_F(StoreStreamsTest, InvalidCustomJsonIsInvalidArgument) {
  MustAppend("s", kExpectAny, make_events(1));
  StreamMetadata good;
  good.custom_json = R"({"ok":true})";
  RECKON_ASSERT_OK(store().set_stream_metadata("s", good));
  for (const std::string bad : {"{bad", "{\"a\":", "[1,2]", "\"text\"", "42"}) {
    SCOPED_TRACE(bad);
    StreamMetadata md;
    md.custom_json = bad;
    md.max_count = 1;
    RECKON_EXPECT_CODE(store().set_stream_metadata("s", md), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(*store().get_stream_metadata("s"), good);
  EXPECT_EQ(StreamEvents("s").size(), 1u);
}

TEST_F(StoreStreamsTest, MetadataCanBeSetOnAStreamWithoutEvents) {
  StreamMetadata md;
  md.max_count = 2;
  md.custom_json = R"({"created_by":"test"})";
  RECKON_ASSERT_OK(store().set_stream_metadata("fresh", md));
  auto got = store().get_stream_metadata("fresh");
  RECKON_ASSERT_OK(got);
  EXPECT_EQ(*got, md);
  EXPECT_EQ(*store().get_version("fresh"), kNoVersion);
  EXPECT_FALSE(*store().exists("fresh"));
  RECKON_EXPECT_CODE(store().read("fresh", ReadStreamOptions{}), ErrorCode::kStreamNotFound);
  auto info = store().stream_info("fresh");
  RECKON_ASSERT_OK(info);
  EXPECT_EQ(info->last_version, kNoVersion);
  EXPECT_EQ(info->metadata, md);

  // The first append still counts as a new stream, and the metadata applies to it.
  auto r = store().append("fresh", kExpectNoStream, make_events(4));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 0);
  EXPECT_EQ(versions_of(StreamEvents("fresh")), iota_versions(2, 3));
}

TEST_F(StoreStreamsTest, TruncateBeforeAndMaxCountBothHideEvents) {
  MustAppend("s", kExpectAny, make_events(10));
  StreamMetadata md;
  md.max_count = 5;
  md.truncate_before = 2;
  RECKON_ASSERT_OK(store().set_stream_metadata("s", md));
  EXPECT_EQ(versions_of(StreamEvents("s")), iota_versions(5, 9));  // max_count is stricter
  md.truncate_before = 7;
  RECKON_ASSERT_OK(store().set_stream_metadata("s", md));
  EXPECT_EQ(versions_of(StreamEvents("s")), iota_versions(7, 9));  // truncation is stricter
}

TEST_F(StoreStreamsTest, PagingSkipsHiddenEventsInBothDirections) {
  MustAppend("s", kExpectAny, make_events(10));
  RECKON_ASSERT_OK(store().truncate_before("s", 4));
  auto fwd = store().read("s", ReadStreamOptions{0, 3, Direction::kForward});
  RECKON_ASSERT_OK(fwd);
  EXPECT_EQ(versions_of(fwd->events), iota_versions(4, 6));
  EXPECT_FALSE(fwd->end_of_stream);
  EXPECT_EQ(fwd->next_version, 7);

  auto b1 = store().read("s", ReadStreamOptions{kEndVersion, 4, Direction::kBackward});
  RECKON_ASSERT_OK(b1);
  EXPECT_EQ(versions_of(b1->events), (std::vector<int64_t>{9, 8, 7, 6}));
  EXPECT_FALSE(b1->end_of_stream);
  EXPECT_EQ(b1->next_version, 5);
  auto b2 = store().read("s", ReadStreamOptions{5, 4, Direction::kBackward});
  RECKON_ASSERT_OK(b2);
  EXPECT_EQ(versions_of(b2->events), (std::vector<int64_t>{5, 4}));
  EXPECT_TRUE(b2->end_of_stream);
  // Starting backward inside the hidden range yields nothing, without an error.
  auto hidden = store().read("s", ReadStreamOptions{2, 4, Direction::kBackward});
  RECKON_ASSERT_OK(hidden);
  EXPECT_TRUE(hidden->events.empty());
  EXPECT_TRUE(hidden->end_of_stream);
}

TEST_F(StoreStreamsTest, MetadataOnlyStreamDoesNotSatisfyStreamExists) {
  StreamMetadata md;
  md.custom_json = R"({"a":1})";
  RECKON_ASSERT_OK(store().set_stream_metadata("fresh", md));
  auto r = store().append("fresh", kExpectStreamExists, make_events(1));
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(r.status().wrong_expected_version_info(), nullptr);
  EXPECT_EQ(r.status().wrong_expected_version_info()->current, kNoVersion);
  RECKON_EXPECT_CODE(store().append("fresh", 0, make_events(1)), ErrorCode::kWrongExpectedVersion);
  EXPECT_TRUE(AllEvents().empty());
}

TEST_F(StoreStreamsTest, ListStreamsOrdersUtf8NamesByBytes) {
  for (const char* s : {"\xc3\xa9t\xc3\xa9", "zeta", "Zeta", "alpha"}) {
    MustAppend(s, kExpectAny, make_events(1));
  }
  ListStreamsOptions o;
  EXPECT_EQ(ListIds(o), (std::vector<std::string>{"Zeta", "alpha", "zeta", "\xc3\xa9t\xc3\xa9"}));
}

}  // namespace
}  // namespace reckon
