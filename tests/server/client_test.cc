// End-to-end tests of reckond through reckon::Client: every Store call over the wire, error
// codes and their details, streaming reads, restart and kill -9 durability, garbage input.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "server/server_test_util.h"

namespace reckon::testing {
namespace {

class ClientTest : public SharedServerTest {};

NewEvent full_event(const std::string& type, const std::string& data, std::vector<std::string> tags) {
  NewEvent e = make_event_with_id(Uuid::v7(), type, data, std::move(tags));
  e.metadata = R"({"correlation_id":"c-1","actor_id":"tester"})";
  return e;
}

// ---------------------------------------------------------------- appends and reads

TEST_F(ClientTest, AppendAndReadRoundTripEveryField) {
  const std::string s = unique_name("order");
  std::vector<NewEvent> events;
  events.push_back(full_event("OrderPlaced", R"({"id":1,"total":9.5,"items":["a","b"]})", {"t1", "t2"}));
  NewEvent bin = make_event_with_id(Uuid::v7(), "Blob", std::string("\x00\x01\xff\xfe", 4));
  bin.data_content_type = ContentType::kBinary;
  bin.metadata = std::string("\x02\x00", 2);
  bin.metadata_content_type = ContentType::kBinary;
  events.push_back(bin);
  events.push_back(make_event("OrderShipped", R"({"id":1})"));  // no id: generated
  auto sent = events;

  auto r = client().append(s, kExpectNoStream, std::move(events));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->stream_id, s);
  EXPECT_EQ(r->first_version, 0);
  EXPECT_EQ(r->last_version, 2);
  EXPECT_EQ(r->position, r->first_position + 2);
  EXPECT_GT(r->first_position, 0u);
  EXPECT_GT(r->created_us, 0);

  auto read = client().read(s, ReadStreamOptions{});
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  ASSERT_EQ(read->events.size(), 3u);
  EXPECT_EQ(read->last_version, 2);
  EXPECT_TRUE(read->end_of_stream);
  for (int i = 0; i < 3; ++i) {
    const Event& e = read->events[static_cast<size_t>(i)];
    const NewEvent& n = sent[static_cast<size_t>(i)];
    EXPECT_EQ(e.stream_id, s);
    EXPECT_EQ(e.version, i);
    EXPECT_EQ(e.position, r->first_position + static_cast<Position>(i));
    EXPECT_EQ(e.event_type, n.event_type);
    EXPECT_EQ(e.data, n.data);
    EXPECT_EQ(e.data_content_type, n.data_content_type);
    EXPECT_EQ(e.metadata, n.metadata);
    EXPECT_EQ(e.metadata_content_type, n.metadata_content_type);
    EXPECT_EQ(sorted(e.tags), sorted(n.tags));
    EXPECT_EQ(e.created_us, r->created_us) << "one timestamp per append";
    if (n.event_id) {
      EXPECT_EQ(e.event_id, *n.event_id);
    }
    EXPECT_FALSE(e.event_id.is_nil());
  }
}

TEST_F(ClientTest, ReadForwardBackwardAndPaged) {
  const std::string s = unique_name("paged");
  MustAppend(s, kExpectAny, make_events(10));
  ReadStreamOptions o;
  o.from_version = 3;
  o.max_count = 4;
  auto r = client().read(s, o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(versions_of(r->events), iota_versions(3, 6));
  EXPECT_FALSE(r->end_of_stream);
  EXPECT_EQ(r->next_version, 7);
  EXPECT_EQ(r->last_version, 9);

  o.from_version = kEndVersion;
  o.direction = Direction::kBackward;
  o.max_count = 3;
  r = client().read(s, o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(versions_of(r->events), (std::vector<int64_t>{9, 8, 7}));

  // read_streaming: backward from 4 to the start, and a visitor that stops early.
  std::vector<int64_t> seen;
  ReadStreamOptions b;
  b.from_version = 4;
  b.direction = Direction::kBackward;
  b.max_count = 0;
  RECKON_ASSERT_OK(client().read_streaming(s, b, [&](const Event& e) {
    seen.push_back(e.version);
    return true;
  }));
  EXPECT_EQ(seen, (std::vector<int64_t>{4, 3, 2, 1, 0}));
  seen.clear();
  RECKON_ASSERT_OK(client().read_streaming(s, ReadStreamOptions{0, 0, Direction::kForward},
                                           [&](const Event& e) {
                                             seen.push_back(e.version);
                                             return seen.size() < 2;
                                           }));
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1}));
}

TEST_F(ClientTest, ReadMissingStreamIsStreamNotFound) {
  RECKON_EXPECT_CODE(client().read(unique_name("missing"), ReadStreamOptions{}),
                     ErrorCode::kStreamNotFound);
  Status st = client().read_streaming(unique_name("missing"), ReadStreamOptions{},
                                      [](const Event&) { return true; });
  RECKON_EXPECT_CODE(st, ErrorCode::kStreamNotFound);
}

// ---------------------------------------------------------------- expected versions

TEST_F(ClientTest, WrongExpectedVersionDetailsSurviveTheWire) {
  const std::string s = unique_name("wev");
  MustAppend(s, kExpectNoStream, make_events(6));  // versions 0..5

  auto r = client().append(s, 3, make_events(1));
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  const auto* info = r.status().wrong_expected_version_info();
  ASSERT_NE(info, nullptr) << "details lost on the wire: " << r.status().to_string();
  EXPECT_EQ(info->stream_id, s);
  EXPECT_EQ(info->expected, 3);
  EXPECT_EQ(info->current, 5);
  EXPECT_NE(r.status().message().find("expected version 3, current version 5"), std::string::npos)
      << r.status().message();

  r = client().append(s, kExpectNoStream, make_events(1));
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(r.status().wrong_expected_version_info(), nullptr);
  EXPECT_EQ(r.status().wrong_expected_version_info()->expected, kExpectNoStream);
  EXPECT_EQ(r.status().wrong_expected_version_info()->current, 5);

  const std::string absent = unique_name("absent");
  r = client().append(absent, kExpectStreamExists, make_events(1));
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(r.status().wrong_expected_version_info(), nullptr);
  EXPECT_EQ(r.status().wrong_expected_version_info()->expected, kExpectStreamExists);
  EXPECT_EQ(r.status().wrong_expected_version_info()->current, -1);

  // Nothing was written by the failed appends.
  EXPECT_EQ(client().get_version(s).value(), 5);
  EXPECT_EQ(client().get_version(absent).value(), -1);

  // The right expectations pass.
  EXPECT_EQ(MustAppend(s, 5, make_events(1)).last_version, 6);
  EXPECT_EQ(MustAppend(s, kExpectStreamExists, make_events(1)).last_version, 7);
}

TEST_F(ClientTest, RacingAppendsWithTheSameExpectationOneWins) {
  const std::string s = unique_name("race");
  MustAppend(s, kExpectNoStream, make_events(1));
  constexpr int kThreads = 8;
  std::atomic<int> ok{0}, wev{0}, other{0};
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kThreads; ++i) {
    auto c = connect_client(server().grpc_address());
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    clients.push_back(std::move(c).value());
  }
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = clients[static_cast<size_t>(i)]->append(s, 0, make_events(2));
      if (r.is_ok()) {
        ++ok;
      } else if (r.code() == ErrorCode::kWrongExpectedVersion) {
        ++wev;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(wev.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(client().get_version(s).value(), 2);
}

TEST_F(ClientTest, IdempotentRetryReturnsTheOriginalResult) {
  const std::string s = unique_name("idem");
  auto events = make_events_with_ids(3);
  auto first = MustAppend(s, kExpectNoStream, events);
  auto again = client().append(s, kExpectNoStream, events);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->first_version, first.first_version);
  EXPECT_EQ(again->last_version, first.last_version);
  EXPECT_EQ(again->position, first.position);
  EXPECT_EQ(StreamEvents(s).size(), 3u);

  // The same ids in another stream: a conflict, not a retry.
  RECKON_EXPECT_CODE(client().append(unique_name("idem-other"), kExpectAny, events),
                     ErrorCode::kIdempotencyConflict);
}

TEST_F(ClientTest, AppendMultiIsAllOrNothingAndConditionsHold) {
  const std::string a = unique_name("multi-a");
  const std::string b = unique_name("multi-b");
  MustAppend(b, kExpectNoStream, make_events(1));
  std::vector<StreamAppend> parts;
  parts.push_back({a, kExpectNoStream, make_events(2)});
  parts.push_back({b, 7, make_events(1)});  // wrong: b is at 0
  auto r = client().append_multi(parts);
  RECKON_ASSERT_CODE(r, ErrorCode::kWrongExpectedVersion);
  EXPECT_EQ(client().get_version(a).value(), -1) << "the first part must not be written";

  parts[1].expected = 0;
  auto ok = client().append_multi(parts);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].last_version, 1);
  EXPECT_EQ((*ok)[1].last_version, 1);
  EXPECT_LT((*ok)[0].position, (*ok)[1].position);

  // DCB: fails when a matching event exists after the position, passes otherwise.
  const std::string type = unique_name("Reserved");
  auto placed = MustAppend(a, kExpectAny, one(make_event(type, "{}", {"seat-1"})));
  AppendCondition cond;
  cond.items.push_back({{type}, {"seat-1"}});
  cond.after_position = placed.position - 1;
  RECKON_EXPECT_CODE(client().append_if(a, kExpectAny, one(make_event(type)), cond),
                     ErrorCode::kConditionFailed);
  cond.after_position = placed.position;
  RECKON_EXPECT_OK(client().append_if(a, kExpectAny, one(make_event(type)), cond));
}

// ---------------------------------------------------------------- $all and indexes

TEST_F(ClientTest, ReadAllFiltersByStreamPrefixTypeAndTags) {
  const std::string p = unique_name("filt") + "-";
  const std::string ta = unique_name("TypeA");
  const std::string tb = unique_name("TypeB");
  MustAppend(p + "1", kExpectAny, {make_event(ta, "{}", {"red"}), make_event(tb, "{}", {"blue"})});
  MustAppend(p + "2", kExpectAny,
             {make_event(ta, "{}", {"red", "blue"}), make_event(tb, "{}", {})});
  MustAppend(unique_name("other"), kExpectAny, {make_event(ta, "{}", {"red"})});

  auto all = PrefixEvents(p);
  ASSERT_EQ(all.size(), 4u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].position, all[i - 1].position);

  auto query = [&](EventFilter f, Direction d = Direction::kForward) {
    ReadAllOptions o;
    o.filter = std::move(f);
    o.filter.stream_prefixes = {p};
    o.direction = d;
    o.from_position = d == Direction::kForward ? kStartPosition : kEndPosition;
    auto r = client().read_all(o);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    std::vector<Position> out;
    if (r.is_ok()) out = positions_of(r->events);
    return out;
  };
  EventFilter by_type;
  by_type.event_types = {ta};
  EXPECT_EQ(query(by_type), (std::vector<Position>{all[0].position, all[2].position}));
  EventFilter any_tag;
  any_tag.tags = {"blue"};
  EXPECT_EQ(query(any_tag), (std::vector<Position>{all[1].position, all[2].position}));
  EventFilter all_tags;
  all_tags.tags = {"red", "blue"};
  all_tags.tag_match = TagMatch::kAll;
  EXPECT_EQ(query(all_tags), (std::vector<Position>{all[2].position}));
  EXPECT_EQ(query(EventFilter{}, Direction::kBackward),
            (std::vector<Position>{all[3].position, all[2].position, all[1].position,
                                   all[0].position}));
  EventFilter regex;
  regex.stream_regex = p + "2";
  EXPECT_EQ(query(regex).size(), 2u);

  // Paging: max_count 1 from the first event, continue at next_position.
  ReadAllOptions o;
  o.filter.stream_prefixes = {p};
  o.from_position = all[0].position;
  o.max_count = 1;
  auto page = client().read_all(o);
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_FALSE(page->end);
  EXPECT_GT(page->next_position, all[0].position);
  o.from_position = page->next_position;
  page = client().read_all(o);
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].position, all[1].position);
}

TEST_F(ClientTest, IndexReadsByTypeAndTags) {
  const std::string type = unique_name("Indexed");
  const std::string tag1 = unique_name("tag");
  const std::string tag2 = unique_name("tag");
  const std::string s = unique_name("idx");
  auto r = MustAppend(s, kExpectAny,
                      {make_event(type, "{}", {tag1}), make_event("Other", "{}", {tag1, tag2}),
                       make_event(type, "{}", {tag2})});
  auto by_type = client().read_by_event_types({type}, IndexReadOptions{});
  ASSERT_TRUE(by_type.is_ok()) << by_type.status().to_string();
  EXPECT_EQ(positions_of(by_type->events),
            (std::vector<Position>{r.first_position, r.first_position + 2}));
  auto any = client().read_by_tags({tag1, tag2}, TagMatch::kAny, IndexReadOptions{});
  ASSERT_TRUE(any.is_ok()) << any.status().to_string();
  EXPECT_EQ(positions_of(any->events), iota_positions(r.first_position, r.position));
  auto both = client().read_by_tags({tag1, tag2}, TagMatch::kAll, IndexReadOptions{});
  ASSERT_TRUE(both.is_ok()) << both.status().to_string();
  EXPECT_EQ(positions_of(both->events), (std::vector<Position>{r.first_position + 1}));
  IndexReadOptions back;
  back.direction = Direction::kBackward;
  back.from_position = kEndPosition;
  back.max_count = 1;
  auto last = client().read_by_event_types({type}, back);
  ASSERT_TRUE(last.is_ok()) << last.status().to_string();
  EXPECT_EQ(positions_of(last->events), (std::vector<Position>{r.position}));
}

TEST_F(ClientTest, ReadAllStreamingDeliversOneHundredThousandEvents) {
  const std::string p = unique_name("bulk") + "-";
  constexpr int kStreams = 10;
  constexpr int kBatches = 100;
  constexpr int kBatch = 1000;
  std::vector<NewEvent> batch;
  for (int i = 0; i < kBatch; ++i) batch.push_back(make_event("Bulk", R"({"n":1})"));
  for (int b = 0; b < kBatches; ++b) {
    auto r = client().append(p + std::to_string(b % kStreams), kExpectAny, batch);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  ReadAllOptions o;
  o.max_count = 0;
  o.filter.stream_prefixes = {p};
  uint64_t count = 0;
  Position last = 0;
  bool ordered = true;
  std::map<std::string, int64_t> next_version;
  bool versions_ok = true;
  RECKON_ASSERT_OK(client().read_all_streaming(o, [&](const Event& e) {
    ordered = ordered && e.position > last;
    last = e.position;
    versions_ok = versions_ok && e.version == next_version[e.stream_id]++;
    ++count;
    return true;
  }));
  EXPECT_EQ(count, static_cast<uint64_t>(kStreams) * 10'000);
  EXPECT_TRUE(ordered);
  EXPECT_TRUE(versions_ok);

  // max_count bounds the delivery; the visitor can stop it.
  o.max_count = 12'345;
  count = 0;
  RECKON_ASSERT_OK(client().read_all_streaming(o, [&](const Event&) { return ++count, true; }));
  EXPECT_EQ(count, 12'345u);
  o.max_count = 0;
  count = 0;
  RECKON_ASSERT_OK(client().read_all_streaming(o, [&](const Event&) { return ++count < 7; }));
  EXPECT_EQ(count, 7u);

  // A whole 10k-event stream through read_streaming.
  uint64_t in_stream = 0;
  RECKON_ASSERT_OK(client().read_streaming(p + "3", ReadStreamOptions{0, 0, Direction::kForward},
                                           [&](const Event&) { return ++in_stream, true; }));
  EXPECT_EQ(in_stream, 10'000u);
}

// Server streams produce the next batch while the previous one is written (two buffers): reads
// stopped at every batch boundary, and a reader slow enough to fill both buffers, must each end
// their call on the server, so a shutdown finds nothing running.
TEST(StreamedReadEndTest, ReadsStoppedEarlyAndSlowReadersLeaveNoCallRunning) {
  TempDir dir;
  ServerProcess server(reckond_bin(), dir.sub("node"));
  RECKON_ASSERT_OK(server.start());
  auto c = connect_client(server.grpc_address());
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  Client& client = **c;
  std::vector<NewEvent> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(make_event("Bulk", std::string(R"({"pad":")") + std::string(200, 'x') + "\"}"));
  for (int b = 0; b < 6; ++b) {
    auto appended = client.append("bulk-" + std::to_string(b), kExpectAny, batch);
    ASSERT_TRUE(appended.is_ok()) << appended.status().to_string();
  }

  ReadAllOptions o;
  o.max_count = 0;
  for (uint64_t stop_after : {1u, 1023u, 1024u, 1025u, 2048u, 2049u, 4000u, 5999u}) {
    uint64_t count = 0;
    RECKON_ASSERT_OK(client.read_all_streaming(o, [&](const Event&) { return ++count < stop_after; }));
    EXPECT_EQ(count, stop_after);
  }
  uint64_t count = 0;
  Position last = 0;
  bool ordered = true;
  RECKON_ASSERT_OK(client.read_all_streaming(o, [&](const Event& e) {
    if (++count % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ordered = ordered && e.position == last + 1;
    last = e.position;
    return true;
  }));
  EXPECT_EQ(count, 6000u);
  EXPECT_TRUE(ordered) << "a slow reader still gets every event once, in order";

  auto stopped = server.stop();
  ASSERT_TRUE(stopped.is_ok()) << stopped.status().to_string();
  EXPECT_EQ(*stopped, "exited 0");
  EXPECT_EQ(server.log_tail(100000).find("still running"), std::string::npos) << server.log_tail(3000);
}

TEST_F(ClientTest, LargeAppendsUpToTheLimitAndTimeouts) {
  // Ten events of ~1,000,000 bytes: 10 MB in one append, under the 16 MiB append limit (and
  // over gRPC's default 4 MiB message size).
  const std::string s = unique_name("large");
  const std::string big = "\"" + std::string(1'000'000, 'x') + "\"";
  std::vector<NewEvent> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(make_event("Large", big));
  auto r = client().append(s, kExpectNoStream, ten);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->last_version, 9);
  auto back = client().read(s, ReadStreamOptions{9, 1, Direction::kForward});
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  ASSERT_EQ(back->events.size(), 1u);
  EXPECT_EQ(back->events[0].data.size(), big.size());

  // Seventeen of them: over the append limit.
  std::vector<NewEvent> seventeen;
  for (int i = 0; i < 17; ++i) seventeen.push_back(make_event("Large", big));
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, seventeen), ErrorCode::kLimitExceeded);
  EXPECT_EQ(client().get_version(s).value(), 9);

  // A unary call that cannot finish within its 1 ms deadline.
  auto hurried = connect_client(server().grpc_address(), /*timeout_ms=*/1, /*max_attempts=*/1);
  ASSERT_TRUE(hurried.is_ok()) << hurried.status().to_string();
  RECKON_EXPECT_CODE((*hurried)->append(unique_name("hurried"), kExpectAny, ten),
                     ErrorCode::kTimeout);
}

// ---------------------------------------------------------------- stream state

TEST_F(ClientTest, VersionsExistenceInfoAndListing) {
  const std::string p = unique_name("list") + "-";
  EXPECT_EQ(client().get_version(p + "a").value(), -1);
  EXPECT_FALSE(client().exists(p + "a").value());
  RECKON_EXPECT_CODE(client().stream_info(p + "a"), ErrorCode::kStreamNotFound);
  for (const char* n : {"c", "a", "b"}) MustAppend(p + n, kExpectAny, make_events(2));
  auto last = MustAppend(p + "a", kExpectAny, make_events(1));
  EXPECT_EQ(client().get_version(p + "a").value(), 2);
  EXPECT_TRUE(client().exists(p + "a").value());
  auto info = client().stream_info(p + "a");
  ASSERT_TRUE(info.is_ok()) << info.status().to_string();
  EXPECT_EQ(info->last_version, 2);
  EXPECT_EQ(info->state, StreamState::kLive);
  EXPECT_EQ(info->last_position, last.position);

  ListStreamsOptions o;
  o.prefix = p;
  o.limit = 2;
  auto page = client().list_streams(o);
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  ASSERT_EQ(page->streams.size(), 2u);
  EXPECT_EQ(page->streams[0].stream_id, p + "a");
  EXPECT_EQ(page->streams[1].stream_id, p + "b");
  EXPECT_EQ(page->streams[0].last_version, 2);
  ASSERT_FALSE(page->next_after.empty());
  o.after = page->next_after;
  page = client().list_streams(o);
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->streams.size(), 1u);
  EXPECT_EQ(page->streams[0].stream_id, p + "c");
  EXPECT_TRUE(page->next_after.empty());
}

TEST_F(ClientTest, SoftDeleteHidesTheStreamUntilItIsWrittenAgain) {
  const std::string s = unique_name("soft");
  MustAppend(s, kExpectAny, make_events(3));
  RECKON_EXPECT_CODE(client().delete_stream(s, 1), ErrorCode::kWrongExpectedVersion);
  RECKON_ASSERT_OK(client().delete_stream(s, 2));
  RECKON_EXPECT_CODE(client().read(s, ReadStreamOptions{}), ErrorCode::kStreamDeleted);
  EXPECT_EQ(client().get_version(s).value(), -1);
  EXPECT_FALSE(client().exists(s).value());
  RECKON_EXPECT_OK(client().delete_stream(s, kExpectAny));  // idempotent

  ListStreamsOptions lo;
  lo.prefix = s;
  EXPECT_TRUE(client().list_streams(lo).value().streams.empty());
  lo.include_deleted = true;
  auto listed = client().list_streams(lo);
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->streams.size(), 1u);
  EXPECT_EQ(listed->streams[0].state, StreamState::kSoftDeleted);

  auto again = MustAppend(s, kExpectNoStream, make_events(2));
  EXPECT_EQ(again.first_version, 3);
  EXPECT_EQ(versions_of(StreamEvents(s)), iota_versions(3, 4));
}

TEST_F(ClientTest, TombstoneIsPermanent) {
  const std::string s = unique_name("tomb");
  MustAppend(s, kExpectAny, make_events(2));
  RECKON_EXPECT_CODE(client().tombstone_stream(s, 5), ErrorCode::kWrongExpectedVersion);
  RECKON_ASSERT_OK(client().tombstone_stream(s, 1));
  RECKON_EXPECT_CODE(client().read(s, ReadStreamOptions{}), ErrorCode::kStreamDeleted);
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, make_events(1)), ErrorCode::kStreamDeleted);
  RECKON_EXPECT_CODE(client().append(s, kExpectNoStream, make_events(1)),
                     ErrorCode::kStreamDeleted);
  auto info = client().stream_info(s);
  ASSERT_TRUE(info.is_ok()) << info.status().to_string();
  EXPECT_EQ(info->state, StreamState::kTombstoned);
}

TEST_F(ClientTest, StreamMetadataAndTruncation) {
  const std::string s = unique_name("meta");
  MustAppend(s, kExpectAny, make_events(10));
  StreamMetadata m;
  m.max_count = 4;
  m.custom_json = R"({"owner":"team-a"})";
  RECKON_ASSERT_OK(client().set_stream_metadata(s, m));
  auto got = client().get_stream_metadata(s);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got->max_count, std::optional<uint64_t>(4));
  EXPECT_EQ(nlohmann::json::parse(got->custom_json), nlohmann::json::parse(m.custom_json));
  EXPECT_EQ(versions_of(StreamEvents(s)), iota_versions(6, 9));

  RECKON_ASSERT_OK(client().set_stream_metadata(s, StreamMetadata{}));
  RECKON_ASSERT_OK(client().truncate_before(s, 8));
  EXPECT_EQ(versions_of(StreamEvents(s)), iota_versions(8, 9));
  EXPECT_EQ(client().get_stream_metadata(s).value().truncate_before, std::optional<int64_t>(8));

  // Metadata on a stream without events is allowed; invalid custom JSON is refused.
  RECKON_EXPECT_OK(client().set_stream_metadata(unique_name("meta-empty"), m));
  StreamMetadata bad;
  bad.custom_json = "{not json";
  RECKON_EXPECT_CODE(client().set_stream_metadata(s, bad), ErrorCode::kInvalidArgument);
}

// ---------------------------------------------------------------- snapshots

TEST_F(ClientTest, SnapshotsSaveLoadListDelete) {
  const std::string s = unique_name("snap");
  RECKON_EXPECT_CODE(client().load_snapshot(s), ErrorCode::kNotFound);
  EXPECT_FALSE(client().snapshot_exists(s).value());
  for (int64_t v : {5, 2, 9}) {
    Snapshot snap;
    snap.stream_id = s;
    snap.version = v;
    snap.data = R"({"v":)" + std::to_string(v) + "}";
    snap.metadata = R"({"by":"test"})";
    RECKON_ASSERT_OK(client().save_snapshot(snap));
  }
  auto latest = client().load_snapshot(s);
  ASSERT_TRUE(latest.is_ok()) << latest.status().to_string();
  EXPECT_EQ(latest->stream_id, s);
  EXPECT_EQ(latest->version, 9);
  EXPECT_EQ(latest->data, R"({"v":9})");
  EXPECT_EQ(latest->metadata, R"({"by":"test"})");
  EXPECT_GT(latest->created_us, 0);
  auto at = client().load_snapshot_at(s, 2);
  ASSERT_TRUE(at.is_ok());
  EXPECT_EQ(at->data, R"({"v":2})");
  RECKON_EXPECT_CODE(client().load_snapshot_at(s, 3), ErrorCode::kNotFound);
  EXPECT_TRUE(client().snapshot_exists_at(s, 5).value());
  EXPECT_FALSE(client().snapshot_exists_at(s, 6).value());

  auto list = client().list_snapshots(s);
  ASSERT_TRUE(list.is_ok());
  std::vector<int64_t> versions;
  for (const auto& sn : *list) versions.push_back(sn.version);
  EXPECT_EQ(versions, (std::vector<int64_t>{2, 5, 9}));

  RECKON_ASSERT_OK(client().delete_snapshot_at(s, 9));
  EXPECT_EQ(client().load_snapshot(s).value().version, 5);
  RECKON_ASSERT_OK(client().delete_snapshots(s));
  RECKON_EXPECT_CODE(client().load_snapshot(s), ErrorCode::kNotFound);
  EXPECT_TRUE(client().list_snapshots(s).value().empty());
}

// ---------------------------------------------------------------- garbage input

TEST_F(ClientTest, GarbageInputIsRefusedPreciselyAndWritesNothing) {
  const std::string s = unique_name("garbage");
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, one(make_event("T", "{not json"))),
                     ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, one(make_event("T", "\"\xff\xfe\""))),
                     ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, one(make_event("", "{}"))),
                     ErrorCode::kInvalidArgument);
  NewEvent bad_meta = make_event("T");
  bad_meta.metadata = "[1,";
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, one(bad_meta)), ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, {}), ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(client().append("", kExpectAny, make_events(1)), ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(client().append("$system", kExpectAny, make_events(1)),
                     ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(client().append(s, -3, make_events(1)), ErrorCode::kInvalidArgument);
  Uuid dup = Uuid::v7();
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, {make_event_with_id(dup, "T"),
                                                     make_event_with_id(dup, "T")}),
                     ErrorCode::kInvalidArgument);

  // An event over the 1 MiB limit, and one with too many tags.
  std::string big = "\"" + std::string(1'500'000, 'x') + "\"";
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, one(make_event("Big", big))),
                     ErrorCode::kLimitExceeded);
  std::vector<std::string> tags;
  for (int i = 0; i < 65; ++i) tags.push_back("t" + std::to_string(i));
  RECKON_EXPECT_CODE(client().append(s, kExpectAny, one(make_event("T", "{}", tags))),
                     ErrorCode::kLimitExceeded);
  RECKON_EXPECT_CODE(client().append(std::string(2000, 's'), kExpectAny, make_events(1)),
                     ErrorCode::kLimitExceeded);
  ReadAllOptions regex;
  regex.filter.stream_regex = "(unclosed";
  RECKON_EXPECT_CODE(client().read_all(regex), ErrorCode::kInvalidArgument);

  EXPECT_EQ(client().get_version(s).value(), -1) << "a refused append wrote something";
  // The server is still healthy after all that.
  EXPECT_EQ(MustAppend(s, kExpectNoStream, make_events(1)).last_version, 0);
}

// ---------------------------------------------------------------- cluster view

TEST_F(ClientTest, SingleNodeClusterStatusAndStores) {
  auto st = client().cluster_status();
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  EXPECT_EQ(st->role, "leader");
  EXPECT_EQ(st->mode, "single");
  EXPECT_GT(st->node_id, 0u);
  EXPECT_EQ(st->leader_id, st->node_id);
  EXPECT_FALSE(st->leader.empty());
  EXPECT_GE(st->term, 1u);
  ASSERT_EQ(st->members.size(), 1u);
  EXPECT_EQ(st->members[0].node_id, st->node_id);
  EXPECT_EQ(st->members[0].role, "leader");
  EXPECT_TRUE(st->members[0].voter);
  EXPECT_EQ(st->members[0].lag, 0u);
  auto stores = client().list_stores();
  ASSERT_TRUE(stores.is_ok()) << stores.status().to_string();
  EXPECT_FALSE(stores->empty());
  EXPECT_EQ(client().current_endpoint(), server().grpc_address());
  auto http = http_get("127.0.0.1", server().http_port(), "/health");
  ASSERT_TRUE(http.is_ok()) << http.status().to_string();
  EXPECT_EQ(http->status, 200);
}

TEST_F(ClientTest, UnknownStoreIsNotFound) {
  ClientOptions o;
  o.endpoints = {server().grpc_address()};
  o.store = unique_name("no-such-store");
  auto c = Client::connect(o);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  auto r = (*c)->get_version("x");
  EXPECT_FALSE(r.is_ok());
  EXPECT_EQ(error_code_name(r.code()), error_code_name(ErrorCode::kNotFound)) << r.status().to_string();
}

// ---------------------------------------------------------------- unreachable server

TEST(ClientUnreachableTest, CallsFailWithUnavailableWithinTheDeadline) {
  auto port = pick_free_port();
  ASSERT_TRUE(port.is_ok());
  ClientOptions o;
  o.endpoints = {"127.0.0.1:" + std::to_string(*port)};
  o.timeout_ms = 1000;
  o.max_attempts = 2;
  auto start = std::chrono::steady_clock::now();
  auto c = Client::connect(o);
  if (!c.is_ok()) {  // connecting eagerly is allowed too
    EXPECT_EQ(error_code_name(c.code()), error_code_name(ErrorCode::kUnavailable));
    return;
  }
  auto r = (*c)->append("s", kExpectAny, make_events(1));
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(r.code() == ErrorCode::kUnavailable || r.code() == ErrorCode::kTimeout)
      << r.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// ---------------------------------------------------------------- startup

// gRPC sets SO_REUSEPORT by default: unless the server turns it off, a second reckond binds
// the same port and the kernel splits connections between two stores.
TEST(ServerStartupTest, SecondServerOnATakenGrpcPortRefusesToStart) {
  TempDir dir;
  ServerProcess first(reckond_bin(), dir.sub("first"));
  RECKON_ASSERT_OK(first.start());
  auto http = pick_free_port();
  ASSERT_TRUE(http.is_ok());
  RunOptions o;
  o.timeout = std::chrono::seconds(5);
  auto second = run_program(reckond_bin(),
                            {"--data-dir", dir.sub("second"), "--listen", first.grpc_address(),
                             "--http", "127.0.0.1:" + std::to_string(*http)},
                            o);
  EXPECT_FALSE(second.timed_out) << "a second reckond kept running on " << first.grpc_address()
                                 << ":\n" << second.err;
  EXPECT_NE(second.exit_code, 0) << second.err;
}

// ---------------------------------------------------------------- restarts

TEST(ServerRestartTest, CleanRestartKeepsEverything) {
  TempDir dir;
  ServerProcess server(reckond_bin(), dir.sub("node"));
  RECKON_ASSERT_OK(server.start());
  auto c = connect_client(server.grpc_address());
  ASSERT_TRUE(c.is_ok());
  auto events = make_events_with_ids(5);
  auto r = (*c)->append("kept", kExpectNoStream, events);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  Snapshot snap{"kept", 4, R"({"s":1})", "", 0};
  RECKON_ASSERT_OK((*c)->save_snapshot(snap));
  ASSERT_TRUE((*c)->append("gone", kExpectAny, make_events(1)).is_ok());
  RECKON_ASSERT_OK((*c)->tombstone_stream("gone", kExpectAny));

  auto stopped = server.stop();
  ASSERT_TRUE(stopped.is_ok()) << stopped.status().to_string();
  EXPECT_EQ(*stopped, "exited 0") << "SIGTERM should shut reckond down cleanly; log:\n"
                                  << server.log_tail();
  RECKON_ASSERT_OK(server.start());

  auto fresh = connect_client(server.grpc_address());
  ASSERT_TRUE(fresh.is_ok());
  auto read = (*fresh)->read("kept", ReadStreamOptions{});
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  ASSERT_EQ(read->events.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(read->events[i].event_id, *events[i].event_id);
  EXPECT_EQ(read->events.back().position, r->position);
  EXPECT_EQ((*fresh)->load_snapshot("kept").value().version, 4);
  RECKON_EXPECT_CODE((*fresh)->append("gone", kExpectAny, make_events(1)), ErrorCode::kStreamDeleted);
  // Positions continue after the restart.
  auto next = (*fresh)->append("kept", 4, make_events(1));
  ASSERT_TRUE(next.is_ok()) << next.status().to_string();
  EXPECT_GT(next->position, r->position + 1);  // "gone" took one position
  EXPECT_EQ(next->first_version, 5);

  // The client from before the restart reconnects by itself.
  auto old = (*c)->get_version("kept");
  ASSERT_TRUE(old.is_ok()) << "a client should survive a server restart: " << old.status().to_string();
  EXPECT_EQ(*old, 5);
}

TEST(ServerRestartTest, KillNineLosesNoAcknowledgedAppend) {
  TempDir dir;
  ServerProcess server(reckond_bin(), dir.sub("node"));
  RECKON_ASSERT_OK(server.start());

  struct Ack {
    std::string stream;
    int64_t last_version;
    Position position;
    Uuid last_id;
  };
  std::mutex mu;
  std::vector<Ack> acks;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto c = connect_client(server.grpc_address(), 2000, 1);
      if (!c.is_ok()) return;
      const std::string stream = "crash-" + std::to_string(w);
      while (!stop.load()) {
        auto events = make_events_with_ids(1 + w);
        Uuid last_id = *events.back().event_id;
        auto r = (*c)->append(stream, kExpectAny, std::move(events));
        if (!r.is_ok()) continue;  // after the kill
        std::lock_guard lock(mu);
        acks.push_back({stream, r->last_version, r->position, last_id});
      }
    });
  }
  bool loaded = eventually([&] {
    std::lock_guard lock(mu);
    return acks.size() >= 400;
  }, std::chrono::seconds(20));
  server.kill9();  // mid-load
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_TRUE(loaded) << "the writers never got going; log:\n" << server.log_tail();

  RECKON_ASSERT_OK(server.start());
  auto c = connect_client(server.grpc_address());
  ASSERT_TRUE(c.is_ok());
  std::map<std::string, int64_t> highest;
  for (const auto& a : acks) {
    highest[a.stream] = std::max(highest[a.stream], a.last_version);
    ReadStreamOptions o;
    o.from_version = a.last_version;
    o.max_count = 1;
    auto r = (*c)->read(a.stream, o);
    ASSERT_TRUE(r.is_ok()) << a.stream << "@" << a.last_version << ": " << r.status().to_string();
    ASSERT_EQ(r->events.size(), 1u) << "acknowledged append lost: " << a.stream << "@" << a.last_version;
    EXPECT_EQ(r->events[0].event_id, a.last_id);
    EXPECT_EQ(r->events[0].position, a.position);
  }
  for (const auto& [stream, v] : highest) EXPECT_GE((*c)->get_version(stream).value(), v);
  ASSERT_EQ(highest.size(), 4u);
  // Positions of $all stay dense after recovery.
  ReadAllOptions all;
  all.max_count = 0;
  Position expect = 1;
  bool dense = true;
  RECKON_ASSERT_OK((*c)->read_all_streaming(all, [&](const Event& e) {
    dense = dense && e.position == expect++;
    return true;
  }));
  EXPECT_TRUE(dense);

  // And once more through a clean restart().
  c->reset();
  RECKON_ASSERT_OK(server.restart());
  auto again = connect_client(server.grpc_address());
  ASSERT_TRUE(again.is_ok());
  for (const auto& [stream, v] : highest) EXPECT_GE((*again)->get_version(stream).value(), v);
}

}  // namespace
}  // namespace reckon::testing
