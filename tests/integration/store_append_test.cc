// Appends against a real on-disk store: expected versions, versions and positions, created_us,
// event ids, idempotent retries, multi-stream and conditional (DCB) appends.
// Contract: docs/DATA_MODEL.md.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
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
using testing::make_event_with_id;
using testing::make_events;
using testing::make_events_with_ids;
using testing::one;
using testing::positions_of;
using testing::versions_of;

class StoreAppendTest : public testing::StoreTest {
 protected:
  // What the store holds, to prove a failed operation wrote nothing.
  struct Observed {
    std::vector<Event> all;
    std::map<std::string, int64_t> versions;
  };

  Observed Observe(const std::vector<std::string>& streams) {
    Observed o;
    o.all = AllEvents();
    for (const auto& s : streams) {
      auto v = store().get_version(s);
      EXPECT_TRUE(v.is_ok()) << v.status().to_string();
      o.versions[s] = v.is_ok() ? *v : -100;
    }
    return o;
  }

  void ExpectUnchanged(const Observed& before, const std::vector<std::string>& streams) {
    Observed after = Observe(streams);
    ASSERT_EQ(after.all.size(), before.all.size()) << "a failed operation wrote events";
    for (size_t i = 0; i < after.all.size(); ++i) {
      EXPECT_EQ(after.all[i].event_id, before.all[i].event_id);
      EXPECT_EQ(after.all[i].position, before.all[i].position);
    }
    EXPECT_EQ(after.versions, before.versions);
  }

  void ExpectWrongExpectedVersion(const Result<AppendResult>& r, const std::string& stream,
                                  int64_t expected, int64_t current) {
    RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
    const WrongExpectedVersionInfo* info = r.status().wrong_expected_version_info();
    ASSERT_NE(info, nullptr) << "WrongExpectedVersion without details";
    EXPECT_EQ(info->stream_id, stream);
    EXPECT_EQ(info->expected, expected);
    EXPECT_EQ(info->current, current);
  }
};

bool is_uuid_v7(const Uuid& u) { return (u.bytes[6] >> 4) == 7 && (u.bytes[8] & 0xC0) == 0x80; }

// ---------------------------------------------------------------------------------------------
// Versions, positions, fields

TEST_F(StoreAppendTest, FirstAppendStartsAtVersionZeroAndPositionOne) {
  auto r = store().append("orders-1", kExpectNoStream, make_events(3));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->stream_id, "orders-1");
  EXPECT_EQ(r->first_version, 0);
  EXPECT_EQ(r->last_version, 2);
  EXPECT_EQ(r->first_position, 1u);
  EXPECT_EQ(r->position, 3u);

  auto events = StreamEvents("orders-1");
  EXPECT_EQ(versions_of(events), iota_versions(0, 2));
  EXPECT_EQ(positions_of(events), iota_positions(1, 3));
}

TEST_F(StoreAppendTest, VersionsAreGaplessAcrossAppends) {
  MustAppend("s", kExpectAny, make_events(2));
  auto r2 = store().append("s", kExpectAny, make_events(3));
  RECKON_ASSERT_OK(r2);
  EXPECT_EQ(r2->first_version, 2);
  EXPECT_EQ(r2->last_version, 4);
  auto r3 = store().append("s", 4, make_events(1));
  RECKON_ASSERT_OK(r3);
  EXPECT_EQ(r3->first_version, 5);
  EXPECT_EQ(r3->last_version, 5);
  EXPECT_EQ(versions_of(StreamEvents("s")), iota_versions(0, 5));
  EXPECT_EQ(*store().get_version("s"), 5);
}

TEST_F(StoreAppendTest, PositionsAreDenseAcrossStreams) {
  auto a = MustAppend("a", kExpectAny, make_events(2));
  auto b = MustAppend("b", kExpectAny, make_events(3));
  auto c = MustAppend("a", kExpectAny, make_events(1));
  auto d = MustAppend("c", kExpectAny, make_events(4));
  EXPECT_EQ(a.first_position, 1u);
  EXPECT_EQ(a.position, 2u);
  EXPECT_EQ(b.first_position, 3u);
  EXPECT_EQ(b.position, 5u);
  EXPECT_EQ(c.first_position, 6u);
  EXPECT_EQ(c.position, 6u);
  EXPECT_EQ(d.first_position, 7u);
  EXPECT_EQ(d.position, 10u);

  auto all = AllEvents();
  EXPECT_EQ(positions_of(all), iota_positions(1, 10));
  std::vector<std::string> streams;
  for (const auto& e : all) streams.push_back(e.stream_id);
  EXPECT_EQ(streams, (std::vector<std::string>{"a", "a", "b", "b", "b", "a", "c", "c", "c", "c"}));
  // Per-stream versions stay 0-based and gapless even though positions interleave.
  EXPECT_EQ(versions_of(StreamEvents("a")), iota_versions(0, 2));
  EXPECT_EQ(positions_of(StreamEvents("a")), (std::vector<Position>{1, 2, 6}));
}

TEST_F(StoreAppendTest, AppendedEventKeepsEveryField) {
  Uuid id = Uuid::v7();
  NewEvent json = make_event_with_id(id, "OrderPlaced", R"({"total":42,"items":["a","b"]})",
                                     {"customer:7", "region:eu"});
  json.metadata = R"({"correlation_id":"c-1","actor_id":"u-9"})";
  NewEvent bin;
  bin.event_type = "Blob";
  bin.data = std::string("\x00\x01\xff\xfe binary", 11);
  bin.data_content_type = ContentType::kBinary;
  bin.metadata = std::string("\x80\x81", 2);
  bin.metadata_content_type = ContentType::kBinary;
  std::vector<NewEvent> evs;
  evs.push_back(json);
  evs.push_back(bin);
  auto r = store().append("order-7", kExpectNoStream, std::move(evs));
  RECKON_ASSERT_OK(r);

  auto events = StreamEvents("order-7");
  ASSERT_EQ(events.size(), 2u);
  const Event& e0 = events[0];
  EXPECT_EQ(e0.event_id, id);
  EXPECT_EQ(e0.event_type, "OrderPlaced");
  EXPECT_EQ(e0.stream_id, "order-7");
  EXPECT_EQ(e0.version, 0);
  EXPECT_EQ(e0.position, 1u);
  EXPECT_EQ(e0.data, R"({"total":42,"items":["a","b"]})");
  EXPECT_EQ(e0.data_content_type, ContentType::kJson);
  EXPECT_EQ(e0.metadata, R"({"correlation_id":"c-1","actor_id":"u-9"})");
  EXPECT_EQ(e0.metadata_content_type, ContentType::kJson);
  EXPECT_EQ(testing::sorted(e0.tags), (std::vector<std::string>{"customer:7", "region:eu"}));
  EXPECT_EQ(e0.created_us, r->created_us);

  const Event& e1 = events[1];
  EXPECT_EQ(e1.event_type, "Blob");
  EXPECT_EQ(e1.data, std::string("\x00\x01\xff\xfe binary", 11));
  EXPECT_EQ(e1.data_content_type, ContentType::kBinary);
  EXPECT_EQ(e1.metadata, std::string("\x80\x81", 2));
  EXPECT_EQ(e1.metadata_content_type, ContentType::kBinary);
  EXPECT_TRUE(e1.tags.empty());
  EXPECT_EQ(e1.version, 1);
  EXPECT_EQ(e1.position, 2u);

  // read_all returns the same stored events.
  auto all = AllEvents();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].event_id, id);
  EXPECT_EQ(all[0].data, e0.data);
  EXPECT_EQ(all[1].data, e1.data);
}

// ---------------------------------------------------------------------------------------------
// created_us

TEST_F(StoreAppendTest, CreatedUsIsSharedByAllEventsOfOneAppend) {
  auto r = store().append("s", kExpectAny, make_events(5));
  RECKON_ASSERT_OK(r);
  EXPECT_GT(r->created_us, 0);
  for (const auto& e : StreamEvents("s")) EXPECT_EQ(e.created_us, r->created_us);
}

TEST_F(StoreAppendTest, CreatedUsIsMonotonicInPositionOrder) {
  for (int i = 0; i < 20; ++i) MustAppend("s" + std::to_string(i % 3), kExpectAny, make_events(2));
  auto all = AllEvents();
  ASSERT_EQ(all.size(), 40u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i].created_us, all[i - 1].created_us) << "at position " << all[i].position;
  }
}

TEST(StoreAppendClockTest, CreatedUsComesFromTheConfiguredClockAndNeverGoesBack) {
  testing::TempDir dir;
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000'000);
  StoreOptions o;
  o.data_dir = dir.sub("store");
  o.clock = clock;
  auto opened = Store::open(o);
  RECKON_ASSERT_OK(opened);
  auto& store = *opened.value();

  auto r1 = store.append("s", kExpectAny, make_events(2));
  RECKON_ASSERT_OK(r1);
  EXPECT_EQ(r1->created_us, 1'700'000'000'000'000);

  clock->advance_us(5'000'000);
  auto r2 = store.append("s", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(r2);
  EXPECT_EQ(r2->created_us, 1'700'000'005'000'000);

  // The wall clock steps back: created_us must not.
  clock->set_us(1'600'000'000'000'000);
  auto r3 = store.append("t", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(r3);
  EXPECT_GE(r3->created_us, r2->created_us);

  ReadAllOptions ro;
  auto all = store.read_all(ro);
  RECKON_ASSERT_OK(all);
  ASSERT_EQ(all->events.size(), 4u);
  EXPECT_EQ(all->events[0].created_us, r1->created_us);
  EXPECT_EQ(all->events[1].created_us, r1->created_us);
  EXPECT_EQ(all->events[2].created_us, r2->created_us);
  EXPECT_EQ(all->events[3].created_us, r3->created_us);
}

// ---------------------------------------------------------------------------------------------
// Event ids

TEST_F(StoreAppendTest, GeneratedEventIdsAreUniqueUuidV7) {
  for (int i = 0; i < 5; ++i) MustAppend("s", kExpectAny, make_events(20));
  auto all = AllEvents();
  ASSERT_EQ(all.size(), 100u);
  std::set<Uuid> ids;
  for (const auto& e : all) {
    EXPECT_FALSE(e.event_id.is_nil());
    EXPECT_TRUE(is_uuid_v7(e.event_id)) << e.event_id.to_string();
    ids.insert(e.event_id);
  }
  EXPECT_EQ(ids.size(), all.size());
}

TEST_F(StoreAppendTest, UuidV7IsTimeOrderedAndWellFormed) {
  Uuid prev = Uuid::v7();
  EXPECT_TRUE(is_uuid_v7(prev));
  for (int i = 0; i < 1000; ++i) {
    Uuid next = Uuid::v7();
    EXPECT_TRUE(is_uuid_v7(next));
    EXPECT_NE(next, prev);
    // The first 48 bits are a millisecond timestamp: never decreasing.
    uint64_t prev_ms = 0, next_ms = 0;
    for (int b = 0; b < 6; ++b) {
      prev_ms = (prev_ms << 8) | prev.bytes[b];
      next_ms = (next_ms << 8) | next.bytes[b];
    }
    EXPECT_GE(next_ms, prev_ms);
    prev = next;
  }
}

TEST_F(StoreAppendTest, ClientSuppliedEventIdsAreKept) {
  auto evs = make_events_with_ids(3);
  std::vector<Uuid> ids;
  for (const auto& e : evs) ids.push_back(*e.event_id);
  MustAppend("s", kExpectAny, evs);
  auto events = StreamEvents("s");
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(events[i].event_id, ids[i]);
}

// ---------------------------------------------------------------------------------------------
// Expected versions

TEST_F(StoreAppendTest, AppendWithAnySucceedsOnNewAndExistingStream) {
  auto r1 = store().append("s", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(r1);
  EXPECT_EQ(r1->first_version, 0);
  auto r2 = store().append("s", kExpectAny, make_events(1));
  RECKON_ASSERT_OK(r2);
  EXPECT_EQ(r2->first_version, 1);
}

TEST_F(StoreAppendTest, AppendWithNoStreamSucceedsOnNewStream) {
  auto r = store().append("s", kExpectNoStream, make_events(2));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 0);
  EXPECT_EQ(r->last_version, 1);
}

TEST_F(StoreAppendTest, AppendWithNoStreamFailsWhenStreamExists) {
  MustAppend("s", kExpectAny, make_events(3));
  MustAppend("other", kExpectAny, make_events(1));
  auto before = Observe({"s", "other"});
  auto r = store().append("s", kExpectNoStream, make_events(1));
  ExpectWrongExpectedVersion(r, "s", kExpectNoStream, 2);
  ExpectUnchanged(before, {"s", "other"});
}

TEST_F(StoreAppendTest, AppendWithStreamExistsFailsOnNewStream) {
  MustAppend("other", kExpectAny, make_events(1));
  auto before = Observe({"s", "other"});
  auto r = store().append("s", kExpectStreamExists, make_events(1));
  ExpectWrongExpectedVersion(r, "s", kExpectStreamExists, kNoVersion);
  ExpectUnchanged(before, {"s", "other"});
  RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{}), ErrorCode::kStreamNotFound);
}

TEST_F(StoreAppendTest, AppendWithStreamExistsSucceedsOnExistingStream) {
  MustAppend("s", kExpectAny, make_events(2));
  auto r = store().append("s", kExpectStreamExists, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 2);
}

TEST_F(StoreAppendTest, AppendWithExactVersionSucceedsWhenItMatches) {
  MustAppend("s", kExpectAny, make_events(3));
  auto r = store().append("s", 2, make_events(2));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 3);
  EXPECT_EQ(r->last_version, 4);
}

TEST_F(StoreAppendTest, AppendWithExactVersionFailsWhenStreamIsAhead) {
  MustAppend("s", kExpectAny, make_events(5));
  auto before = Observe({"s"});
  auto r = store().append("s", 2, make_events(1));
  ExpectWrongExpectedVersion(r, "s", 2, 4);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, AppendWithExactVersionFailsWhenStreamIsBehind) {
  MustAppend("s", kExpectAny, make_events(2));
  auto before = Observe({"s"});
  auto r = store().append("s", 7, make_events(1));
  ExpectWrongExpectedVersion(r, "s", 7, 1);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, AppendWithExactVersionZeroFailsOnNewStream) {
  auto before = Observe({"s"});
  auto r = store().append("s", 0, make_events(1));
  ExpectWrongExpectedVersion(r, "s", 0, kNoVersion);
  ExpectUnchanged(before, {"s"});
  EXPECT_EQ(*store().get_version("s"), kNoVersion);
}

TEST_F(StoreAppendTest, FailedAppendDoesNotConsumePositionsOrVersions) {
  MustAppend("s", kExpectAny, make_events(2));
  RECKON_EXPECT_CODE(store().append("s", kExpectNoStream, make_events(3)),
                     ErrorCode::kWrongExpectedVersion);
  RECKON_EXPECT_CODE(store().append("s", 9, make_events(3)), ErrorCode::kWrongExpectedVersion);
  auto r = store().append("s", 1, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 2);
  EXPECT_EQ(r->first_position, 3u);
  EXPECT_EQ(positions_of(AllEvents()), iota_positions(1, 3));
}

// ---------------------------------------------------------------------------------------------
// Idempotency

TEST_F(StoreAppendTest, RetryWithSameIdsAndNoStreamReturnsOriginalResultAndWritesNothing) {
  auto evs = make_events_with_ids(3);
  auto first = store().append("s", kExpectNoStream, evs);
  RECKON_ASSERT_OK(first);
  auto before = Observe({"s"});

  auto retry = store().append("s", kExpectNoStream, evs);
  RECKON_ASSERT_OK(retry);
  EXPECT_EQ(retry->stream_id, first->stream_id);
  EXPECT_EQ(retry->first_version, first->first_version);
  EXPECT_EQ(retry->last_version, first->last_version);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->position, first->position);
  EXPECT_EQ(retry->created_us, first->created_us);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, RetryWithSameIdsAndExactVersionReturnsOriginalResult) {
  MustAppend("s", kExpectAny, make_events(2));
  auto evs = make_events_with_ids(2);
  auto first = store().append("s", 1, evs);
  RECKON_ASSERT_OK(first);
  MustAppend("other", kExpectAny, make_events(1));
  auto before = Observe({"s", "other"});

  auto retry = store().append("s", 1, evs);
  RECKON_ASSERT_OK(retry);
  EXPECT_EQ(retry->first_version, 2);
  EXPECT_EQ(retry->last_version, 3);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->position, first->position);
  EXPECT_EQ(retry->created_us, first->created_us);
  ExpectUnchanged(before, {"s", "other"});
}

TEST_F(StoreAppendTest, RetryWithExactVersionStillIdempotentAfterStreamMovedOn) {
  auto evs = make_events_with_ids(2);
  auto first = store().append("s", kExpectNoStream, evs);
  RECKON_ASSERT_OK(first);
  MustAppend("s", kExpectAny, make_events(3));
  auto before = Observe({"s"});

  // NO_STREAM still admits the retry because the events are the stream's first, even though
  // the stream has events now.
  auto retry = store().append("s", kExpectNoStream, evs);
  RECKON_ASSERT_OK(retry);
  EXPECT_EQ(retry->first_version, 0);
  EXPECT_EQ(retry->last_version, 1);
  EXPECT_EQ(retry->position, first->position);
  ExpectUnchanged(before, {"s"});

  auto evs2 = make_events_with_ids(1);
  auto second = store().append("s", 4, evs2);
  RECKON_ASSERT_OK(second);
  MustAppend("s", kExpectAny, make_events(2));
  auto retry2 = store().append("s", 4, evs2);
  RECKON_ASSERT_OK(retry2);
  EXPECT_EQ(retry2->first_version, 5);
  EXPECT_EQ(retry2->position, second->position);
  EXPECT_EQ(*store().get_version("s"), 7);
}

TEST_F(StoreAppendTest, RetryWithAnyReturnsOriginalResult) {
  MustAppend("s", kExpectAny, make_events(1));
  auto evs = make_events_with_ids(2);
  auto first = store().append("s", 0, evs);
  RECKON_ASSERT_OK(first);
  MustAppend("s", kExpectAny, make_events(1));
  auto before = Observe({"s"});

  auto retry = store().append("s", kExpectAny, evs);
  RECKON_ASSERT_OK(retry);
  EXPECT_EQ(retry->first_version, first->first_version);
  EXPECT_EQ(retry->last_version, first->last_version);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->position, first->position);
  EXPECT_EQ(retry->created_us, first->created_us);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, RetryWithStreamExistsReturnsOriginalResultWhenNotStreamsFirstEvents) {
  MustAppend("s", kExpectAny, make_events(1));
  auto evs = make_events_with_ids(2);
  auto first = store().append("s", kExpectStreamExists, evs);
  RECKON_ASSERT_OK(first);
  auto before = Observe({"s"});
  auto retry = store().append("s", kExpectStreamExists, evs);
  RECKON_ASSERT_OK(retry);
  EXPECT_EQ(retry->first_version, 1);
  EXPECT_EQ(retry->position, first->position);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, RetryOfFirstEventsWithStreamExistsIsWrongExpectedVersion) {
  auto evs = make_events_with_ids(2);
  RECKON_ASSERT_OK(store().append("s", kExpectNoStream, evs));
  MustAppend("s", kExpectAny, make_events(1));
  auto before = Observe({"s"});
  auto retry = store().append("s", kExpectStreamExists, evs);
  ExpectWrongExpectedVersion(retry, "s", kExpectStreamExists, 2);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, RetryWithWrongExactVersionIsWrongExpectedVersion) {
  MustAppend("s", kExpectAny, make_events(2));
  auto evs = make_events_with_ids(2);
  RECKON_ASSERT_OK(store().append("s", 1, evs));
  auto before = Observe({"s"});
  auto retry = store().append("s", 0, evs);
  ExpectWrongExpectedVersion(retry, "s", 0, 3);
  ExpectUnchanged(before, {"s"});

  auto retry_no_stream = store().append("s", kExpectNoStream, evs);
  ExpectWrongExpectedVersion(retry_no_stream, "s", kExpectNoStream, 3);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, PartiallyExistingIdsAreIdempotencyConflict) {
  auto evs = make_events_with_ids(2);
  RECKON_ASSERT_OK(store().append("s", kExpectNoStream, evs));
  auto before = Observe({"s"});

  std::vector<NewEvent> mixed = evs;
  mixed.push_back(make_event_with_id(Uuid::v7(), "New"));
  RECKON_EXPECT_CODE(store().append("s", kExpectAny, mixed), ErrorCode::kIdempotencyConflict);
  ExpectUnchanged(before, {"s"});

  std::vector<NewEvent> new_then_old;
  new_then_old.push_back(make_event_with_id(Uuid::v7(), "New"));
  new_then_old.push_back(evs[1]);
  RECKON_EXPECT_CODE(store().append("s", kExpectAny, new_then_old),
                     ErrorCode::kIdempotencyConflict);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, ExistingIdsInDifferentOrderAreIdempotencyConflict) {
  auto evs = make_events_with_ids(2);
  RECKON_ASSERT_OK(store().append("s", kExpectNoStream, evs));
  auto before = Observe({"s"});
  std::vector<NewEvent> swapped{evs[1], evs[0]};
  RECKON_EXPECT_CODE(store().append("s", kExpectAny, swapped), ErrorCode::kIdempotencyConflict);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, EventIdReusedInAnotherStreamIsIdempotencyConflict) {
  auto evs = make_events_with_ids(1);
  RECKON_ASSERT_OK(store().append("a", kExpectNoStream, evs));
  auto before = Observe({"a", "b"});
  RECKON_EXPECT_CODE(store().append("b", kExpectAny, evs), ErrorCode::kIdempotencyConflict);
  RECKON_EXPECT_CODE(store().append("b", kExpectNoStream, evs), ErrorCode::kIdempotencyConflict);
  ExpectUnchanged(before, {"a", "b"});
  EXPECT_EQ(*store().get_version("b"), kNoVersion);
}

TEST_F(StoreAppendTest, DuplicateIdsInOneAppendAreInvalidArgument) {
  Uuid id = Uuid::v7();
  std::vector<NewEvent> evs{make_event_with_id(id, "A"), make_event_with_id(id, "B")};
  RECKON_EXPECT_CODE(store().append("s", kExpectAny, evs), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(AllEvents().empty());
  EXPECT_EQ(*store().get_version("s"), kNoVersion);
}

// ---------------------------------------------------------------------------------------------
// Multi-stream appends

TEST_F(StoreAppendTest, AppendMultiWritesEveryPartWithPositionsInPartOrder) {
  MustAppend("b", kExpectAny, make_events(2));
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectNoStream, make_events(2)});
  parts.push_back({"b", 1, make_events(1)});
  parts.push_back({"c", kExpectAny, make_events(3)});
  auto r = store().append_multi(parts);
  RECKON_ASSERT_OK(r);
  ASSERT_EQ(r->size(), 3u);
  const auto& ra = (*r)[0];
  const auto& rb = (*r)[1];
  const auto& rc = (*r)[2];
  EXPECT_EQ(ra.stream_id, "a");
  EXPECT_EQ(ra.first_version, 0);
  EXPECT_EQ(ra.last_version, 1);
  EXPECT_EQ(ra.first_position, 3u);
  EXPECT_EQ(ra.position, 4u);
  EXPECT_EQ(rb.stream_id, "b");
  EXPECT_EQ(rb.first_version, 2);
  EXPECT_EQ(rb.last_version, 2);
  EXPECT_EQ(rb.first_position, 5u);
  EXPECT_EQ(rb.position, 5u);
  EXPECT_EQ(rc.stream_id, "c");
  EXPECT_EQ(rc.first_version, 0);
  EXPECT_EQ(rc.last_version, 2);
  EXPECT_EQ(rc.first_position, 6u);
  EXPECT_EQ(rc.position, 8u);
  // One command: one commit time.
  EXPECT_EQ(ra.created_us, rb.created_us);
  EXPECT_EQ(rb.created_us, rc.created_us);

  auto all = AllEvents();
  EXPECT_EQ(positions_of(all), iota_positions(1, 8));
  EXPECT_EQ(versions_of(StreamEvents("a")), iota_versions(0, 1));
  EXPECT_EQ(versions_of(StreamEvents("b")), iota_versions(0, 2));
  EXPECT_EQ(versions_of(StreamEvents("c")), iota_versions(0, 2));
}

TEST_F(StoreAppendTest, AppendMultiWritesNothingWhenOnePartsExpectationFails) {
  MustAppend("b", kExpectAny, make_events(2));
  auto before = Observe({"a", "b", "c"});
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectNoStream, make_events(2)});
  parts.push_back({"b", 0, make_events(1)});  // b is at 1
  parts.push_back({"c", kExpectAny, make_events(3)});
  auto r = store().append_multi(parts);
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  const auto* info = r.status().wrong_expected_version_info();
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->stream_id, "b");
  EXPECT_EQ(info->expected, 0);
  EXPECT_EQ(info->current, 1);
  ExpectUnchanged(before, {"a", "b", "c"});
  RECKON_EXPECT_CODE(store().read("a", ReadStreamOptions{}), ErrorCode::kStreamNotFound);
  RECKON_EXPECT_CODE(store().read("c", ReadStreamOptions{}), ErrorCode::kStreamNotFound);
}

TEST_F(StoreAppendTest, AppendMultiWritesNothingWhenLastPartsExpectationFails) {
  auto before = Observe({"a", "b"});
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectAny, make_events(2)});
  parts.push_back({"b", kExpectStreamExists, make_events(1)});
  auto r = store().append_multi(parts);
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  ExpectUnchanged(before, {"a", "b"});
}

TEST_F(StoreAppendTest, AppendMultiWithSameStreamTwiceIsInvalidArgument) {
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectAny, make_events(1)});
  parts.push_back({"b", kExpectAny, make_events(1)});
  parts.push_back({"a", kExpectAny, make_events(1)});
  RECKON_EXPECT_CODE(store().append_multi(parts), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(AllEvents().empty());
}

TEST_F(StoreAppendTest, AppendMultiWritesNothingWhenOnePartHasInvalidEvent) {
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectAny, make_events(1)});
  parts.push_back({"b", kExpectAny, one(make_event("Bad", "{not json"))});
  RECKON_EXPECT_CODE(store().append_multi(parts), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(AllEvents().empty());
}

TEST_F(StoreAppendTest, AppendMultiWithFailingConditionWritesNothing) {
  MustAppend("x", kExpectAny, one(make_event("Reserved", "{}", {"seat:1"})));
  auto before = Observe({"a", "b", "x"});
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectAny, make_events(1)});
  parts.push_back({"b", kExpectAny, make_events(1)});
  AppendCondition cond;
  cond.items.push_back(QueryItem{{}, {"seat:1"}});
  RECKON_EXPECT_CODE(store().append_multi(parts, cond), ErrorCode::kConditionFailed);
  ExpectUnchanged(before, {"a", "b", "x"});

  cond.after_position = 1;  // the reservation is at position 1: it no longer counts
  RECKON_EXPECT_OK(store().append_multi(parts, cond));
  EXPECT_EQ(*store().get_version("a"), 0);
  EXPECT_EQ(*store().get_version("b"), 0);
}

TEST_F(StoreAppendTest, LargeEventUnderTheDefaultLimitRoundTrips) {
  std::string big = "\"" + std::string(1'000'000, 'x') + "\"";
  auto r = store().append("big", kExpectNoStream, one(make_event("Big", big)));
  RECKON_ASSERT_OK(r);
  auto events = StreamEvents("big");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data.size(), big.size());
  EXPECT_TRUE(events[0].data == big);
}

TEST_F(StoreAppendTest, AppendMultiWritesNothingWhenOnePartHasAnIdempotencyConflict) {
  auto used = make_events_with_ids(1);
  RECKON_ASSERT_OK(store().append("x", kExpectAny, used));
  auto before = Observe({"a", "b", "x"});
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectAny, make_events(2)});
  parts.push_back({"b", kExpectAny, used});
  RECKON_EXPECT_CODE(store().append_multi(parts), ErrorCode::kIdempotencyConflict);
  ExpectUnchanged(before, {"a", "b", "x"});
}

TEST_F(StoreAppendTest, AppendMultiWithDuplicateIdsAcrossPartsIsInvalidArgument) {
  Uuid id = Uuid::v7();
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectAny, one(make_event_with_id(id, "A"))});
  parts.push_back({"b", kExpectAny, one(make_event_with_id(id, "B"))});
  RECKON_EXPECT_CODE(store().append_multi(parts), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(AllEvents().empty());
}

// ---------------------------------------------------------------------------------------------
// Conditional appends (append_if)

AppendCondition types_condition(std::vector<std::string> types, Position after = 0) {
  AppendCondition c;
  c.items.push_back(QueryItem{std::move(types), {}});
  c.after_position = after;
  return c;
}

AppendCondition tags_condition(std::vector<std::string> tags, Position after = 0) {
  AppendCondition c;
  c.items.push_back(QueryItem{{}, std::move(tags)});
  c.after_position = after;
  return c;
}

TEST_F(StoreAppendTest, AppendIfSucceedsWhenNoEventMatches) {
  MustAppend("a", kExpectAny, one(make_event("Other", "{}", {"k:1"})));
  auto r =
      store().append_if("s", kExpectAny, make_events(1, "Booked"), types_condition({"Booked"}));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 0);
  EXPECT_EQ(r->position, 2u);
}

TEST_F(StoreAppendTest, AppendIfByTypeFailsWhenMatchingEventExistsInAnyStream) {
  MustAppend("elsewhere", kExpectAny, one(make_event("Booked")));
  MustAppend("s", kExpectAny, make_events(1, "Noise"));
  auto before = Observe({"s", "elsewhere"});
  RECKON_EXPECT_CODE(
      store().append_if("s", kExpectAny, make_events(1), types_condition({"Booked"})),
      ErrorCode::kConditionFailed);
  ExpectUnchanged(before, {"s", "elsewhere"});
}

TEST_F(StoreAppendTest, AppendIfItemWithSeveralTypesMatchesAnyOfThem) {
  MustAppend("a", kExpectAny, one(make_event("Cancelled")));
  RECKON_EXPECT_CODE(
      store().append_if("s", kExpectAny, make_events(1), types_condition({"Booked", "Cancelled"})),
      ErrorCode::kConditionFailed);
  RECKON_EXPECT_OK(
      store().append_if("s", kExpectAny, make_events(1), types_condition({"Booked", "Moved"})));
}

TEST_F(StoreAppendTest, AppendIfByTagsRequiresEveryTagOfTheItem) {
  MustAppend("a", kExpectAny, one(make_event("E", "{}", {"course:1", "student:9"})));
  MustAppend("b", kExpectAny, one(make_event("E", "{}", {"course:2"})));
  auto before = Observe({"a", "b", "s"});

  // Matches the first event (it carries both tags).
  RECKON_EXPECT_CODE(
      store().append_if("s", kExpectAny, make_events(1), tags_condition({"course:1", "student:9"})),
      ErrorCode::kConditionFailed);
  // A single tag carried by an event.
  RECKON_EXPECT_CODE(
      store().append_if("s", kExpectAny, make_events(1), tags_condition({"course:2"})),
      ErrorCode::kConditionFailed);
  ExpectUnchanged(before, {"a", "b", "s"});
  // No single event carries both course:2 and student:9.
  RECKON_EXPECT_OK(store().append_if("s", kExpectAny, make_events(1),
                                     tags_condition({"course:2", "student:9"})));
  // No event carries student:1.
  RECKON_EXPECT_OK(
      store().append_if("s", kExpectAny, make_events(1), tags_condition({"student:1"})));
  EXPECT_EQ(*store().get_version("s"), 1);
}

TEST_F(StoreAppendTest, AppendIfByTypeAndTagsRequiresBothOnTheSameEvent) {
  MustAppend("a", kExpectAny, one(make_event("Enrolled", "{}", {"course:1"})));
  MustAppend("b", kExpectAny, one(make_event("Dropped", "{}", {"course:2"})));

  auto cond = [](std::vector<std::string> types, std::vector<std::string> tags) {
    AppendCondition c;
    c.items.push_back(QueryItem{std::move(types), std::move(tags)});
    return c;
  };
  // Type matches one event, tags match another: no single event matches both.
  RECKON_EXPECT_OK(
      store().append_if("s", kExpectAny, make_events(1), cond({"Enrolled"}, {"course:2"})));
  RECKON_EXPECT_OK(
      store().append_if("s", kExpectAny, make_events(1), cond({"Dropped"}, {"course:1"})));
  // Both on the same event.
  auto before = Observe({"s"});
  RECKON_EXPECT_CODE(
      store().append_if("s", kExpectAny, make_events(1), cond({"Enrolled"}, {"course:1"})),
      ErrorCode::kConditionFailed);
  RECKON_EXPECT_CODE(store().append_if("s", kExpectAny, make_events(1),
                                       cond({"Enrolled", "Dropped"}, {"course:2"})),
                     ErrorCode::kConditionFailed);
  ExpectUnchanged(before, {"s"});
}

TEST_F(StoreAppendTest, AppendIfFailsWhenAnyOfSeveralItemsMatches) {
  MustAppend("a", kExpectAny, one(make_event("X", "{}", {"t:2"})));
  AppendCondition c;
  c.items.push_back(QueryItem{{"Nope"}, {}});
  c.items.push_back(QueryItem{{}, {"t:2"}});
  RECKON_EXPECT_CODE(store().append_if("s", kExpectAny, make_events(1), c),
                     ErrorCode::kConditionFailed);
  c.items.pop_back();
  RECKON_EXPECT_OK(store().append_if("s", kExpectAny, make_events(1), c));
}

TEST_F(StoreAppendTest, AppendIfIgnoresMatchingEventsAtOrBeforeAfterPosition) {
  MustAppend("a", kExpectAny, make_events(2, "Noise"));                   // positions 1, 2
  MustAppend("b", kExpectAny, one(make_event("Booked", "{}", {"r:1"})));  // position 3
  MustAppend("c", kExpectAny, make_events(2, "Noise"));                   // positions 4, 5

  // The matching event is at 3: after_position 2 sees it, 3 and later do not.
  RECKON_EXPECT_CODE(
      store().append_if("s", kExpectAny, make_events(1), types_condition({"Booked"}, 0)),
      ErrorCode::kConditionFailed);
  RECKON_EXPECT_CODE(
      store().append_if("s", kExpectAny, make_events(1), types_condition({"Booked"}, 2)),
      ErrorCode::kConditionFailed);
  RECKON_EXPECT_CODE(store().append_if("s", kExpectAny, make_events(1), tags_condition({"r:1"}, 2)),
                     ErrorCode::kConditionFailed);
  EXPECT_EQ(*store().get_version("s"), kNoVersion);

  auto r = store().append_if("s", kExpectAny, make_events(1), types_condition({"Booked"}, 3));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->position, 6u);
  RECKON_EXPECT_OK(store().append_if("s", kExpectAny, make_events(1), tags_condition({"r:1"}, 4)));

  // A new matching event after the position the caller read up to makes the decision stale.
  MustAppend("b", kExpectAny, one(make_event("Booked", "{}", {"r:1"})));  // position 8
  RECKON_EXPECT_CODE(
      store().append_if("s", kExpectAny, make_events(1), types_condition({"Booked"}, 7)),
      ErrorCode::kConditionFailed);
  RECKON_EXPECT_OK(
      store().append_if("s", kExpectAny, make_events(1), types_condition({"Booked"}, 8)));
}

TEST_F(StoreAppendTest, AppendIfStillChecksExpectedVersion) {
  MustAppend("s", kExpectAny, make_events(2));
  auto before = Observe({"s"});
  auto r = store().append_if("s", 0, make_events(1), types_condition({"Nothing"}));
  ExpectWrongExpectedVersion(r, "s", 0, 1);
  ExpectUnchanged(before, {"s"});
  auto ok = store().append_if("s", 1, make_events(1), types_condition({"Nothing"}));
  RECKON_ASSERT_OK(ok);
  EXPECT_EQ(ok->first_version, 2);
}

TEST_F(StoreAppendTest, ConditionFailedWritesNothing) {
  MustAppend("a", kExpectAny, one(make_event("Booked", "{}", {"seat:4"})));
  MustAppend("s", kExpectAny, make_events(2));
  auto before = Observe({"a", "s"});
  for (int i = 0; i < 3; ++i) {
    RECKON_EXPECT_CODE(
        store().append_if("s", 1, make_events_with_ids(3), tags_condition({"seat:4"})),
        ErrorCode::kConditionFailed);
  }
  ExpectUnchanged(before, {"a", "s"});
  auto r = store().append("s", 1, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->first_position, 4u);
}

}  // namespace
}  // namespace reckon
