// Reads against a real store: stream reads in both directions with paging, $all reads with every
// filter kind and max_scan, index-served reads checked against a brute-force filter of $all,
// and scan_all.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

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

class StoreReadTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    // Pure logic: no power-loss concern, so skip fsync to keep the many appends fast.
    options().sync_writes = false;
    OpenStore();
  }

  // Pages through read_all with `o` until end; checks paging makes progress.
  std::vector<Event> PageAll(ReadAllOptions o, int* pages = nullptr) {
    std::vector<Event> out;
    int n = 0;
    for (; n < 100000; ++n) {
      auto r = store().read_all(o);
      EXPECT_TRUE(r.is_ok()) << r.status().to_string();
      if (!r.is_ok()) break;
      EXPECT_LE(r->events.size(), o.max_count);
      out.insert(out.end(), r->events.begin(), r->events.end());
      if (r->end) break;
      if (o.direction == Direction::kForward) {
        EXPECT_GT(r->next_position, o.from_position) << "forward paging went nowhere";
        if (r->next_position <= o.from_position) break;
      } else {
        EXPECT_LT(r->next_position, o.from_position) << "backward paging went nowhere";
        if (r->next_position >= o.from_position) break;
      }
      o.from_position = r->next_position;
    }
    if (pages) *pages = n + 1;
    return out;
  }

  template <typename ReadFn>
  std::vector<Event> PageIndex(ReadFn read, IndexReadOptions o) {
    std::vector<Event> out;
    for (int n = 0; n < 100000; ++n) {
      Result<ReadAllResult> r = read(o);
      EXPECT_TRUE(r.is_ok()) << r.status().to_string();
      if (!r.is_ok()) break;
      EXPECT_LE(r->events.size(), o.max_count);
      out.insert(out.end(), r->events.begin(), r->events.end());
      if (r->end) break;
      if (o.direction == Direction::kForward) {
        EXPECT_GT(r->next_position, o.from_position);
        if (r->next_position <= o.from_position) break;
      } else {
        EXPECT_LT(r->next_position, o.from_position);
        if (r->next_position >= o.from_position) break;
      }
      o.from_position = r->next_position;
    }
    return out;
  }

  std::vector<Position> Filtered(const EventFilter& f, Direction dir = Direction::kForward,
                                 uint64_t max_count = 4096) {
    ReadAllOptions o;
    o.filter = f;
    o.direction = dir;
    o.max_count = max_count;
    o.from_position = dir == Direction::kForward ? kStartPosition : kEndPosition;
    return positions_of(PageAll(o));
  }

  // Ten events over several streams; positions 1..10 in this order.
  void AppendFilterFixture() {
    MustAppend("order-1", kExpectAny,
               one(make_event("OrderPlaced", "{}", {"customer:1", "region:eu"})));
    MustAppend("order-2", kExpectAny,
               one(make_event("OrderPlaced", "{}", {"customer:2", "region:us"})));
    MustAppend("order-1", kExpectAny, one(make_event("OrderShipped", "{}", {"customer:1"})));
    MustAppend("invoice-1", kExpectAny,
               one(make_event("InvoiceIssued", "{}", {"customer:1", "region:eu"})));
    MustAppend("user-10", kExpectAny, one(make_event("UserRegistered", "{}")));
    MustAppend("order-10", kExpectAny,
               one(make_event("OrderPlaced", "{}", {"customer:3", "region:eu"})));
    MustAppend("orderx", kExpectAny, one(make_event("OrderCancelled", "{}", {"customer:2"})));
    MustAppend("invoice-2", kExpectAny,
               one(make_event("InvoiceIssued", "{}", {"customer:2", "region:us"})));
    MustAppend("user-11", kExpectAny, one(make_event("UserRenamed", "{}", {"region:eu"})));
    MustAppend("order-2", kExpectAny,
               one(make_event("OrderShipped", "{}", {"customer:2", "region:us"})));
  }
};

using P = std::vector<Position>;

// ---------------------------------------------------------------------------------------------
// Stream reads

TEST_F(StoreReadTest, ReadForwardReturnsPageAndNextVersion) {
  MustAppend("s", kExpectAny, make_events(10));
  auto r = store().read("s", ReadStreamOptions{0, 3, Direction::kForward});
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(versions_of(r->events), iota_versions(0, 2));
  EXPECT_EQ(r->last_version, 9);
  EXPECT_EQ(r->next_version, 3);
  EXPECT_FALSE(r->end_of_stream);

  auto mid = store().read("s", ReadStreamOptions{4, 3, Direction::kForward});
  RECKON_ASSERT_OK(mid);
  EXPECT_EQ(versions_of(mid->events), iota_versions(4, 6));
  EXPECT_EQ(mid->next_version, 7);
  EXPECT_FALSE(mid->end_of_stream);
}

TEST_F(StoreReadTest, ReadForwardPastTheLastEventEndsTheStream) {
  MustAppend("s", kExpectAny, make_events(10));
  auto r = store().read("s", ReadStreamOptions{7, 5, Direction::kForward});
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(versions_of(r->events), iota_versions(7, 9));
  EXPECT_TRUE(r->end_of_stream);
  EXPECT_EQ(r->next_version, kNoVersion);
  EXPECT_EQ(r->last_version, 9);

  auto beyond = store().read("s", ReadStreamOptions{50, 5, Direction::kForward});
  RECKON_ASSERT_OK(beyond);
  EXPECT_TRUE(beyond->events.empty());
  EXPECT_TRUE(beyond->end_of_stream);
  EXPECT_EQ(beyond->last_version, 9);
}

TEST_F(StoreReadTest, ReadBackwardFromEndVersionStartsAtTheLastEvent) {
  MustAppend("s", kExpectAny, make_events(10));
  auto r = store().read("s", ReadStreamOptions{kEndVersion, 3, Direction::kBackward});
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(versions_of(r->events), (std::vector<int64_t>{9, 8, 7}));
  EXPECT_EQ(r->next_version, 6);
  EXPECT_FALSE(r->end_of_stream);
  EXPECT_EQ(r->last_version, 9);
}

TEST_F(StoreReadTest, ReadBackwardFromAVersionIsInclusiveAndEndsAtZero) {
  MustAppend("s", kExpectAny, make_events(10));
  auto r = store().read("s", ReadStreamOptions{5, 3, Direction::kBackward});
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(versions_of(r->events), (std::vector<int64_t>{5, 4, 3}));
  EXPECT_EQ(r->next_version, 2);
  EXPECT_FALSE(r->end_of_stream);

  auto tail = store().read("s", ReadStreamOptions{2, 10, Direction::kBackward});
  RECKON_ASSERT_OK(tail);
  EXPECT_EQ(versions_of(tail->events), (std::vector<int64_t>{2, 1, 0}));
  EXPECT_TRUE(tail->end_of_stream);
  EXPECT_EQ(tail->next_version, kNoVersion);

  // A start beyond the last version reads from the last version down.
  auto beyond = store().read("s", ReadStreamOptions{100, 2, Direction::kBackward});
  RECKON_ASSERT_OK(beyond);
  EXPECT_EQ(versions_of(beyond->events), (std::vector<int64_t>{9, 8}));
  EXPECT_EQ(beyond->next_version, 7);
}

TEST_F(StoreReadTest, PagingForwardAndBackwardVisitsEveryVersionOnce) {
  for (int i = 0; i < 5; ++i) {
    MustAppend("s", kExpectAny, make_events(5));
    MustAppend("noise", kExpectAny, make_events(2));
  }
  for (uint64_t page : {1u, 3u, 4u, 25u, 100u}) {
    SCOPED_TRACE(page);
    std::vector<int64_t> fwd;
    ReadStreamOptions o{0, page, Direction::kForward};
    for (int guard = 0; guard < 100; ++guard) {
      auto r = store().read("s", o);
      RECKON_ASSERT_OK(r);
      for (const auto& e : r->events) {
        EXPECT_EQ(e.stream_id, "s");
        fwd.push_back(e.version);
      }
      if (r->end_of_stream) break;
      ASSERT_EQ(r->next_version, o.from_version + static_cast<int64_t>(r->events.size()));
      o.from_version = r->next_version;
    }
    EXPECT_EQ(fwd, iota_versions(0, 24));

    std::vector<int64_t> bwd;
    ReadStreamOptions b{kEndVersion, page, Direction::kBackward};
    for (int guard = 0; guard < 100; ++guard) {
      auto r = store().read("s", b);
      RECKON_ASSERT_OK(r);
      for (const auto& e : r->events) bwd.push_back(e.version);
      if (r->end_of_stream) break;
      ASSERT_FALSE(r->events.empty());
      ASSERT_EQ(r->next_version, r->events.back().version - 1);
      b.from_version = r->next_version;
    }
    std::vector<int64_t> expected = iota_versions(0, 24);
    std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(bwd, expected);
  }
}

TEST_F(StoreReadTest, ReadOfStreamWithoutEventsIsStreamNotFound) {
  MustAppend("other", kExpectAny, make_events(1));
  RECKON_EXPECT_CODE(store().read("missing", ReadStreamOptions{}), ErrorCode::kStreamNotFound);
  RECKON_EXPECT_CODE(
      store().read("missing", ReadStreamOptions{kEndVersion, 10, Direction::kBackward}),
      ErrorCode::kStreamNotFound);
}

TEST_F(StoreReadTest, StreamReadReturnsOnlyThatStreamsEvents) {
  MustAppend("a", kExpectAny, make_events(2));
  MustAppend("ab", kExpectAny, make_events(2));
  MustAppend("a", kExpectAny, make_events(2));
  auto events = StreamEvents("a");
  ASSERT_EQ(events.size(), 4u);
  for (const auto& e : events) EXPECT_EQ(e.stream_id, "a");
  EXPECT_EQ(positions_of(events), (P{1, 2, 5, 6}));
}

// ---------------------------------------------------------------------------------------------
// $all reads

TEST_F(StoreReadTest, ReadAllForwardPagesWithNextPosition) {
  MustAppend("a", kExpectAny, make_events(4));
  MustAppend("b", kExpectAny, make_events(6));
  ReadAllOptions o;
  o.max_count = 4;
  auto r = store().read_all(o);
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(positions_of(r->events), iota_positions(1, 4));
  EXPECT_FALSE(r->end);
  EXPECT_EQ(r->next_position, 5u);

  o.from_position = 5;
  o.max_count = 100;
  auto rest = store().read_all(o);
  RECKON_ASSERT_OK(rest);
  EXPECT_EQ(positions_of(rest->events), iota_positions(5, 10));
  EXPECT_TRUE(rest->end);

  // Position 0 means "before the first event": the same as starting at 1.
  o.from_position = 1;
  o.max_count = 2;
  auto from_one = store().read_all(o);
  RECKON_ASSERT_OK(from_one);
  EXPECT_EQ(positions_of(from_one->events), (P{1, 2}));
}

TEST_F(StoreReadTest, ReadAllBackwardFromEndPositionStartsAtTheLastEvent) {
  MustAppend("a", kExpectAny, make_events(10));
  ReadAllOptions o;
  o.direction = Direction::kBackward;
  o.from_position = kEndPosition;
  o.max_count = 4;
  auto r = store().read_all(o);
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(positions_of(r->events), (P{10, 9, 8, 7}));
  EXPECT_FALSE(r->end);
  EXPECT_EQ(r->next_position, 6u);

  o.from_position = 3;
  o.max_count = 10;
  auto tail = store().read_all(o);
  RECKON_ASSERT_OK(tail);
  EXPECT_EQ(positions_of(tail->events), (P{3, 2, 1}));
  EXPECT_TRUE(tail->end);

  // A start beyond the last position is inclusive of everything before it.
  o.from_position = 1000;
  o.max_count = 2;
  auto beyond = store().read_all(o);
  RECKON_ASSERT_OK(beyond);
  EXPECT_EQ(positions_of(beyond->events), (P{10, 9}));
  EXPECT_FALSE(beyond->end);
  EXPECT_EQ(beyond->next_position, 8u);
}

TEST_F(StoreReadTest, ReadAllPagingVisitsEveryPositionOnceInBothDirections) {
  for (int i = 0; i < 7; ++i) MustAppend("s" + std::to_string(i % 3), kExpectAny, make_events(3));
  for (uint64_t page : {1u, 2u, 5u, 21u, 50u}) {
    SCOPED_TRACE(page);
    ReadAllOptions o;
    o.max_count = page;
    EXPECT_EQ(positions_of(PageAll(o)), iota_positions(1, 21));
    o.direction = Direction::kBackward;
    o.from_position = kEndPosition;
    P expected = iota_positions(1, 21);
    std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(positions_of(PageAll(o)), expected);
  }
}

TEST_F(StoreReadTest, ReadAllOnEmptyStoreIsEmptyAndAtEnd) {
  ReadAllOptions o;
  auto fwd = store().read_all(o);
  RECKON_ASSERT_OK(fwd);
  EXPECT_TRUE(fwd->events.empty());
  EXPECT_TRUE(fwd->end);
  o.direction = Direction::kBackward;
  o.from_position = kEndPosition;
  auto bwd = store().read_all(o);
  RECKON_ASSERT_OK(bwd);
  EXPECT_TRUE(bwd->events.empty());
  EXPECT_TRUE(bwd->end);
}

TEST_F(StoreReadTest, ReadAllFromBeyondTheLastPositionIsEmptyAndAtEnd) {
  MustAppend("a", kExpectAny, make_events(3));
  ReadAllOptions o;
  o.from_position = 100;
  auto r = store().read_all(o);
  RECKON_ASSERT_OK(r);
  EXPECT_TRUE(r->events.empty());
  EXPECT_TRUE(r->end);
}

// ---------------------------------------------------------------------------------------------
// Filters

TEST_F(StoreReadTest, FilterByStreamPrefix) {
  AppendFilterFixture();
  EventFilter f;
  f.stream_prefixes = {"order-"};
  EXPECT_EQ(Filtered(f), (P{1, 2, 3, 6, 10}));
  f.stream_prefixes = {"invoice-", "user-"};
  EXPECT_EQ(Filtered(f), (P{4, 5, 8, 9}));
  f.stream_prefixes = {"order"};
  EXPECT_EQ(Filtered(f), (P{1, 2, 3, 6, 7, 10}));
  f.stream_prefixes = {"nothing"};
  EXPECT_EQ(Filtered(f), P{});
}

TEST_F(StoreReadTest, FilterByStreamWildcard) {
  AppendFilterFixture();
  EventFilter f;
  f.stream_wildcard = "order-?";
  EXPECT_EQ(Filtered(f), (P{1, 2, 3, 10}));
  f.stream_wildcard = "order*";
  EXPECT_EQ(Filtered(f), (P{1, 2, 3, 6, 7, 10}));
  f.stream_wildcard = "*-1*";
  EXPECT_EQ(Filtered(f), (P{1, 3, 4, 5, 6, 9}));
  f.stream_wildcard = "user-1?";
  EXPECT_EQ(Filtered(f), (P{5, 9}));
  f.stream_wildcard = "*";
  EXPECT_EQ(Filtered(f), iota_positions(1, 10));
  // The wildcard covers the whole name.
  f.stream_wildcard = "order";
  EXPECT_EQ(Filtered(f), P{});
  f.stream_wildcard = "?nvoice-2";
  EXPECT_EQ(Filtered(f), (P{8}));
}

TEST_F(StoreReadTest, FilterByStreamRegexMatchesTheWholeName) {
  AppendFilterFixture();
  EventFilter f;
  f.stream_regex = "order-[0-9]+";
  EXPECT_EQ(Filtered(f), (P{1, 2, 3, 6, 10}));
  f.stream_regex = "(invoice|user)-1.*";
  EXPECT_EQ(Filtered(f), (P{4, 5, 9}));
  f.stream_regex = "order";  // a substring is not enough
  EXPECT_EQ(Filtered(f), P{});
  f.stream_regex = ".*x";
  EXPECT_EQ(Filtered(f), (P{7}));
}

TEST_F(StoreReadTest, FilterByEventTypeList) {
  AppendFilterFixture();
  EventFilter f;
  f.event_types = {"OrderPlaced", "InvoiceIssued"};
  EXPECT_EQ(Filtered(f), (P{1, 2, 4, 6, 8}));
  f.event_types = {"UserRenamed"};
  EXPECT_EQ(Filtered(f), (P{9}));
  f.event_types = {"Order"};  // exact names, not prefixes
  EXPECT_EQ(Filtered(f), P{});
}

TEST_F(StoreReadTest, FilterByEventTypePrefix) {
  AppendFilterFixture();
  EventFilter f;
  f.event_type_prefixes = {"Order"};
  EXPECT_EQ(Filtered(f), (P{1, 2, 3, 6, 7, 10}));
  f.event_type_prefixes = {"User", "Invoice"};
  EXPECT_EQ(Filtered(f), (P{4, 5, 8, 9}));
}

TEST_F(StoreReadTest, FilterByEventTypeRegexMatchesTheWholeName) {
  AppendFilterFixture();
  EventFilter f;
  f.event_type_regex = "Order(Placed|Shipped)";
  EXPECT_EQ(Filtered(f), (P{1, 2, 3, 6, 10}));
  f.event_type_regex = "User.*";
  EXPECT_EQ(Filtered(f), (P{5, 9}));
  f.event_type_regex = "Placed";
  EXPECT_EQ(Filtered(f), P{});
}

TEST_F(StoreReadTest, FilterByTagsAnyAndAll) {
  AppendFilterFixture();
  EventFilter f;
  f.tags = {"customer:1"};
  f.tag_match = TagMatch::kAny;
  EXPECT_EQ(Filtered(f), (P{1, 3, 4}));
  f.tags = {"customer:1", "customer:2"};
  EXPECT_EQ(Filtered(f), (P{1, 2, 3, 4, 7, 8, 10}));
  f.tag_match = TagMatch::kAll;
  EXPECT_EQ(Filtered(f), P{});
  f.tags = {"customer:2", "region:us"};
  EXPECT_EQ(Filtered(f), (P{2, 8, 10}));
  f.tags = {"region:eu", "customer:1"};
  EXPECT_EQ(Filtered(f), (P{1, 4}));
}

TEST_F(StoreReadTest, ExcludeSystemStreamsKeepsEveryUserEvent) {
  AppendFilterFixture();
  EventFilter f;
  f.exclude_system_streams = true;
  ReadAllOptions o;
  o.filter = f;
  auto events = PageAll(o);
  for (const auto& e : events) EXPECT_NE(e.stream_id.front(), '$') << e.stream_id;
  // Every user event is there (whatever system events the store may keep).
  P user;
  for (const auto& e : AllEvents()) {
    if (e.stream_id.front() != '$') user.push_back(e.position);
  }
  EXPECT_EQ(positions_of(events), user);
  EXPECT_EQ(user, iota_positions(1, 10));
}

TEST_F(StoreReadTest, CombinedCriteriaMustAllHold) {
  AppendFilterFixture();
  EventFilter f;
  f.stream_prefixes = {"order-"};
  f.event_types = {"OrderShipped"};
  EXPECT_EQ(Filtered(f), (P{3, 10}));

  EventFilter g;
  g.stream_prefixes = {"order"};
  g.tags = {"region:eu"};
  EXPECT_EQ(Filtered(g), (P{1, 6}));

  EventFilter h;
  h.stream_wildcard = "*-1";
  h.event_type_prefixes = {"Order"};
  EXPECT_EQ(Filtered(h), (P{1, 3}));

  EventFilter k;
  k.event_types = {"OrderPlaced"};
  k.tags = {"customer:3", "region:eu"};
  k.tag_match = TagMatch::kAll;
  k.stream_regex = "order-[0-9]+";
  k.exclude_system_streams = true;
  EXPECT_EQ(Filtered(k), (P{6}));

  EventFilter none;
  none.event_type_regex = "Invoice.*";
  none.stream_prefixes = {"user-"};
  EXPECT_EQ(Filtered(none), P{});
}

TEST_F(StoreReadTest, FilteredReadsPageInBothDirections) {
  AppendFilterFixture();
  EventFilter f;
  f.stream_prefixes = {"order-"};
  for (uint64_t page : {1u, 2u, 3u}) {
    SCOPED_TRACE(page);
    EXPECT_EQ(Filtered(f, Direction::kForward, page), (P{1, 2, 3, 6, 10}));
    EXPECT_EQ(Filtered(f, Direction::kBackward, page), (P{10, 6, 3, 2, 1}));
  }
  ReadAllOptions o;
  o.filter = f;
  o.max_count = 2;
  auto first = store().read_all(o);
  RECKON_ASSERT_OK(first);
  EXPECT_EQ(positions_of(first->events), (P{1, 2}));
  EXPECT_FALSE(first->end);
  EXPECT_EQ(first->next_position, 3u);
}

TEST_F(StoreReadTest, InvalidRegexIsInvalidArgument) {
  AppendFilterFixture();
  ReadAllOptions o;
  o.filter.stream_regex = "(unclosed";
  RECKON_EXPECT_CODE(store().read_all(o), ErrorCode::kInvalidArgument);
  ReadAllOptions t;
  t.filter.event_type_regex = "[a-";
  RECKON_EXPECT_CODE(store().read_all(t), ErrorCode::kInvalidArgument);
}

TEST_F(StoreReadTest, MaxScanReturnsEarlyAndPagingContinuesCorrectly) {
  MustAppend("noise", kExpectAny, make_events(50, "Noise"));
  MustAppend("rare", kExpectAny, one(make_event("Rare")));
  MustAppend("noise", kExpectAny, make_events(20, "Noise"));
  MustAppend("rare", kExpectAny, one(make_event("Rare")));  // positions 51 and 72

  ReadAllOptions o;
  o.filter.event_types = {"Rare"};
  o.max_scan = 10;
  auto first = store().read_all(o);
  RECKON_ASSERT_OK(first);
  EXPECT_TRUE(first->events.empty());
  EXPECT_FALSE(first->end) << "a scan stopped by max_scan is not the end";
  EXPECT_GT(first->next_position, 1u);
  EXPECT_LE(first->next_position, 11u);

  int pages = 0;
  auto all = PageAll(o, &pages);
  EXPECT_EQ(positions_of(all), (P{51, 72}));
  EXPECT_GE(pages, 7);  // 72 events at 10 per call

  o.direction = Direction::kBackward;
  o.from_position = kEndPosition;
  auto back = PageAll(o, &pages);
  EXPECT_EQ(positions_of(back), (P{72, 51}));
  EXPECT_GE(pages, 7);

  // max_scan with a match inside the window returns it.
  o.direction = Direction::kForward;
  o.from_position = 45;
  auto hit = store().read_all(o);
  RECKON_ASSERT_OK(hit);
  EXPECT_EQ(positions_of(hit->events), (P{51}));
}

// ---------------------------------------------------------------------------------------------
// Index reads against a brute-force oracle

class StoreIndexReadTest : public StoreReadTest {
 protected:
  void SetUp() override {
    StoreReadTest::SetUp();
    // A deterministic mix: 6 streams, 5 types, 0-3 tags from a pool of 6.
    const std::vector<std::string> types = {"A", "B", "C", "D", "E"};
    const std::vector<std::string> tags = {"t0", "t1", "t2", "t3", "t4", "t5"};
    uint64_t x = 12345;
    auto next = [&x] {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<uint32_t>(x >> 33);
    };
    for (int a = 0; a < 30; ++a) {
      std::vector<NewEvent> evs;
      int n = 1 + next() % 4;
      for (int k = 0; k < n; ++k) {
        std::vector<std::string> ts;
        int nt = next() % 4;
        for (int j = 0; j < nt; ++j) ts.push_back(tags[next() % tags.size()]);
        evs.push_back(make_event(types[next() % types.size()], "{}", ts));
      }
      MustAppend("s" + std::to_string(next() % 6), kExpectAny, std::move(evs));
    }
    all_ = AllEvents();
    ASSERT_GT(all_.size(), 40u);
  }

  static bool has_tag(const Event& e, const std::string& t) {
    return std::find(e.tags.begin(), e.tags.end(), t) != e.tags.end();
  }

  P OracleTypes(const std::vector<std::string>& types, Direction dir, Position from) {
    P out;
    for (const auto& e : all_) {
      if (std::find(types.begin(), types.end(), e.event_type) != types.end())
        out.push_back(e.position);
    }
    return Clip(out, dir, from);
  }

  P OracleTags(const std::vector<std::string>& tags, TagMatch m, Direction dir, Position from) {
    P out;
    for (const auto& e : all_) {
      bool any = false, all = true;
      for (const auto& t : tags) {
        bool h = has_tag(e, t);
        any = any || h;
        all = all && h;
      }
      if (m == TagMatch::kAny ? any : all) out.push_back(e.position);
    }
    return Clip(out, dir, from);
  }

  static P Clip(P in, Direction dir, Position from) {
    P out;
    for (Position p : in) {
      if (dir == Direction::kForward ? p >= from : p <= from) out.push_back(p);
    }
    if (dir == Direction::kBackward) std::reverse(out.begin(), out.end());
    return out;
  }

  std::vector<Event> all_;
};

TEST_F(StoreIndexReadTest, ReadByEventTypesEqualsFilteredReadAll) {
  const std::vector<std::vector<std::string>> queries = {{"A"}, {"A", "C"}, {"E", "B", "D"}, {"Z"}};
  const Position mid = all_.size() / 2;
  for (const auto& q : queries) {
    for (Direction dir : {Direction::kForward, Direction::kBackward}) {
      for (Position from : {dir == Direction::kForward ? kStartPosition : kEndPosition, mid}) {
        for (uint64_t page : {1u, 3u, 7u, 1000u}) {
          SCOPED_TRACE(::testing::Message() << "types[0]=" << q[0] << " n=" << q.size() << " dir="
                                            << (dir == Direction::kForward ? "fwd" : "bwd")
                                            << " from=" << from << " page=" << page);
          IndexReadOptions o{from, page, dir};
          auto got = PageIndex(
              [&](const IndexReadOptions& io) { return store().read_by_event_types(q, io); }, o);
          EXPECT_EQ(positions_of(got), OracleTypes(q, dir, from));
          for (const auto& e : got) {
            ASSERT_GE(e.position, 1u);
            const Event& truth = all_[e.position - 1];
            EXPECT_EQ(e.event_id, truth.event_id);
            EXPECT_EQ(e.stream_id, truth.stream_id);
            EXPECT_EQ(e.version, truth.version);
          }
        }
      }
    }
  }
}

TEST_F(StoreIndexReadTest, ReadByTagsAnyAndAllEqualFilteredReadAll) {
  const std::vector<std::vector<std::string>> queries = {
      {"t1"}, {"t1", "t4"}, {"t0", "t2", "t5"}, {"t3", "t3"}, {"nope"}};
  const Position mid = all_.size() / 2;
  for (TagMatch m : {TagMatch::kAny, TagMatch::kAll}) {
    for (const auto& q : queries) {
      for (Direction dir : {Direction::kForward, Direction::kBackward}) {
        for (Position from : {dir == Direction::kForward ? kStartPosition : kEndPosition, mid}) {
          for (uint64_t page : {1u, 4u, 1000u}) {
            SCOPED_TRACE(::testing::Message()
                         << "tags[0]=" << q[0] << " n=" << q.size()
                         << " match=" << (m == TagMatch::kAny ? "any" : "all")
                         << " dir=" << (dir == Direction::kForward ? "fwd" : "bwd")
                         << " from=" << from << " page=" << page);
            IndexReadOptions o{from, page, dir};
            auto got = PageIndex(
                [&](const IndexReadOptions& io) { return store().read_by_tags(q, m, io); }, o);
            EXPECT_EQ(positions_of(got), OracleTags(q, m, dir, from));
          }
        }
      }
    }
  }
}

TEST_F(StoreIndexReadTest, IndexReadsAgreeWithReadAllFilters) {
  EventFilter f;
  f.event_types = {"B", "D"};
  ReadAllOptions o;
  o.filter = f;
  auto via_filter = positions_of(PageAll(o));
  auto via_index = positions_of(PageIndex(
      [&](const IndexReadOptions& io) {
        return store().read_by_event_types({"B", "D"}, io);
      },
      IndexReadOptions{}));
  EXPECT_EQ(via_index, via_filter);

  EventFilter g;
  g.tags = {"t2", "t5"};
  g.tag_match = TagMatch::kAll;
  ReadAllOptions og;
  og.filter = g;
  auto tag_filter = positions_of(PageAll(og));
  auto tag_index = positions_of(PageIndex(
      [&](const IndexReadOptions& io) {
        return store().read_by_tags({"t2", "t5"}, TagMatch::kAll, io);
      },
      IndexReadOptions{}));
  EXPECT_EQ(tag_index, tag_filter);
}

// ---------------------------------------------------------------------------------------------
// scan_all

TEST_F(StoreReadTest, ScanAllVisitsEveryEventInOrder) {
  for (int i = 0; i < 6; ++i) MustAppend("s" + std::to_string(i % 4), kExpectAny, make_events(5));
  auto truth = AllEvents();
  std::vector<Event> seen;
  RECKON_ASSERT_OK(store().scan_all(kStartPosition, [&](const Event& e) {
    seen.push_back(e);
    return true;
  }));
  ASSERT_EQ(seen.size(), truth.size());
  EXPECT_EQ(positions_of(seen), iota_positions(1, 30));
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].event_id, truth[i].event_id);
    EXPECT_EQ(seen[i].stream_id, truth[i].stream_id);
    EXPECT_EQ(seen[i].version, truth[i].version);
    EXPECT_EQ(seen[i].data, truth[i].data);
  }
}

TEST_F(StoreReadTest, ScanAllStartsAtAnInclusivePosition) {
  MustAppend("s", kExpectAny, make_events(30));
  P seen;
  RECKON_ASSERT_OK(store().scan_all(17, [&](const Event& e) {
    seen.push_back(e.position);
    return true;
  }));
  EXPECT_EQ(seen, iota_positions(17, 30));
}

TEST_F(StoreReadTest, ScanAllStopsWhenTheVisitorReturnsFalse) {
  MustAppend("s", kExpectAny, make_events(30));
  P seen;
  RECKON_ASSERT_OK(store().scan_all(kStartPosition, [&](const Event& e) {
    seen.push_back(e.position);
    return seen.size() < 7;
  }));
  EXPECT_EQ(seen, iota_positions(1, 7));
}

TEST_F(StoreReadTest, ScanAllOfEmptyStoreVisitsNothing) {
  int calls = 0;
  RECKON_ASSERT_OK(store().scan_all(kStartPosition, [&](const Event&) {
    ++calls;
    return true;
  }));
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace reckon
