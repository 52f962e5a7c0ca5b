// Bad input gets a precise error and changes nothing: malformed events, reserved and malformed
// names, configured limits, malformed UUIDs and read arguments.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "reckon/store.h"
#include "support/store_test_util.h"

namespace reckon {
namespace {

using testing::make_event;
using testing::make_events;
using testing::one;

class StoreValidationTest : public testing::StoreTest {
 protected:
  // Appends `events` to a fresh stream and expects `code` with nothing written anywhere.
  void ExpectRejected(const std::string& stream, std::vector<NewEvent> events, ErrorCode code) {
    size_t before = AllEvents().size();
    RECKON_EXPECT_CODE(store().append(stream, kExpectAny, events), code);
    EXPECT_EQ(AllEvents().size(), before) << "a rejected append wrote events";
    auto v = store().get_version(stream);
    if (v.is_ok()) {
      EXPECT_EQ(*v, before_version(stream)) << "a rejected append moved the stream";
    }
  }

  int64_t before_version(const std::string& stream) {
    auto it = known_versions_.find(stream);
    return it == known_versions_.end() ? kNoVersion : it->second;
  }

  std::map<std::string, int64_t> known_versions_;
};

// A store with small limits so every limit is cheap to cross.
class StoreLimitsTest : public StoreValidationTest {
 protected:
  void SetUp() override {
    Limits& l = options().limits;
    l.max_event_bytes = 1000;
    l.max_append_bytes = 3000;
    l.max_events_per_append = 5;
    l.max_stream_id_bytes = 32;
    l.max_event_type_bytes = 16;
    l.max_tags_per_event = 3;
    l.max_tag_bytes = 8;
    l.max_read_count = 10;
    OpenStore();
  }
};

// JSON string value of n bytes: "aaa..." quoted (n + 2 bytes of data).
std::string json_string_of(size_t n) { return "\"" + std::string(n, 'a') + "\""; }

// ---------------------------------------------------------------------------------------------
// Content

TEST_F(StoreValidationTest, InvalidJsonDataIsInvalidArgumentAndWritesNothing) {
  for (const std::string bad :
       {"{not json", "{\"a\":1", "[1,]", "tru", "{\"a\":1} trailing", "{'a':1}", "{\"a\" 1}"}) {
    SCOPED_TRACE(bad);
    ExpectRejected("s", one(make_event("E", bad)), ErrorCode::kInvalidArgument);
  }
}

TEST_F(StoreValidationTest, JsonDataWithInvalidUtf8IsInvalidArgument) {
  ExpectRejected("s", one(make_event("E", "{\"a\":\"\xff\xfe\"}")), ErrorCode::kInvalidArgument);
  ExpectRejected("s", one(make_event("E", "{\"a\":\"\xc3\"}")), ErrorCode::kInvalidArgument);
}

TEST_F(StoreValidationTest, AnyValidJsonValueIsAcceptedAsData) {
  for (const std::string good : {"{}", "[1,2,3]", "42", "\"text\"", "null", "true",
                                 " { \"nested\" : { \"a\" : [ null , 1.5e3 ] } } ",
                                 "{\"unicode\":\"\xc3\xa9\xe2\x82\xac\"}"}) {
    SCOPED_TRACE(good);
    auto r = store().append("good", kExpectAny, one(make_event("E", good)));
    RECKON_ASSERT_OK(r);
    auto read = store().read("good", ReadStreamOptions{r->first_version, 1});
    RECKON_ASSERT_OK(read);
    ASSERT_EQ(read->events.size(), 1u);
    EXPECT_EQ(read->events[0].data, good);
  }
}

TEST_F(StoreValidationTest, BinaryDataAcceptsAnyBytes) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  for (const std::string& data :
       {every_byte, std::string("{not json"), std::string(), std::string("\0\0\0", 3)}) {
    NewEvent e = make_event("Bin", data);
    e.data_content_type = ContentType::kBinary;
    auto r = store().append("bin", kExpectAny, one(e));
    RECKON_ASSERT_OK(r);
    auto read = store().read("bin", ReadStreamOptions{r->first_version, 1});
    RECKON_ASSERT_OK(read);
    ASSERT_EQ(read->events.size(), 1u);
    EXPECT_EQ(read->events[0].data, data);
    EXPECT_EQ(read->events[0].data_content_type, ContentType::kBinary);
  }
}

TEST_F(StoreValidationTest, InvalidJsonMetadataIsInvalidArgument) {
  NewEvent e = make_event("E", "{}");
  e.metadata = "{\"correlation_id\": ";
  ExpectRejected("s", one(e), ErrorCode::kInvalidArgument);
  e.metadata = "not json";
  ExpectRejected("s", one(e), ErrorCode::kInvalidArgument);
}

TEST_F(StoreValidationTest, EmptyMetadataAndBinaryMetadataAreAccepted) {
  NewEvent empty = make_event("E", "{}");
  RECKON_EXPECT_OK(store().append("s", kExpectAny, one(empty)));
  NewEvent bin = make_event("E", "{}");
  bin.metadata = std::string("\xff\x00{", 3);
  bin.metadata_content_type = ContentType::kBinary;
  RECKON_EXPECT_OK(store().append("s", kExpectAny, one(bin)));
  auto events = StreamEvents("s");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].metadata, "");
  EXPECT_EQ(events[1].metadata, std::string("\xff\x00{", 3));
}

TEST_F(StoreValidationTest, OneInvalidEventRejectsTheWholeAppend) {
  MustAppend("s", kExpectAny, make_events(1));
  known_versions_["s"] = 0;
  std::vector<NewEvent> evs = make_events(3);
  evs.push_back(make_event("Bad", "{oops"));
  evs.push_back(make_event("Fine", "{}"));
  ExpectRejected("s", evs, ErrorCode::kInvalidArgument);
  EXPECT_EQ(StreamEvents("s").size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Names

TEST_F(StoreValidationTest, EmptyEventTypeIsInvalidArgument) {
  ExpectRejected("s", one(make_event("", "{}")), ErrorCode::kInvalidArgument);
}

TEST_F(StoreValidationTest, NulInEventTypeIsInvalidArgument) {
  ExpectRejected("s", one(make_event(std::string("Ty\0pe", 5), "{}")), ErrorCode::kInvalidArgument);
}

TEST_F(StoreValidationTest, NulInStreamIdIsInvalidArgument) {
  std::string stream("str\0eam", 7);
  ExpectRejected(stream, make_events(1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(*store().get_version("str"), kNoVersion);
}

TEST_F(StoreValidationTest, NulInTagIsInvalidArgument) {
  ExpectRejected("s", one(make_event("E", "{}", {std::string("ta\0g", 4)})),
                 ErrorCode::kInvalidArgument);
}

TEST_F(StoreValidationTest, EmptyTagIsInvalidArgument) {
  ExpectRejected("s", one(make_event("E", "{}", {"ok", ""})), ErrorCode::kInvalidArgument);
}

TEST_F(StoreValidationTest, EmptyStreamIdIsInvalidArgument) {
  ExpectRejected("", make_events(1), ErrorCode::kInvalidArgument);
}

TEST_F(StoreValidationTest, AppendToDollarPrefixedStreamIsInvalidArgument) {
  ExpectRejected("$system", make_events(1), ErrorCode::kInvalidArgument);
  ExpectRejected("$", make_events(1), ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().append_if("$ce-orders", kExpectAny, make_events(1), AppendCondition{}),
                     ErrorCode::kInvalidArgument);
  std::vector<StreamAppend> parts;
  parts.push_back({"user", kExpectAny, make_events(1)});
  parts.push_back({"$all", kExpectAny, make_events(1)});
  RECKON_EXPECT_CODE(store().append_multi(parts), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(AllEvents().empty());
  // A '$' elsewhere in the name is fine.
  RECKON_EXPECT_OK(store().append("price$usd", kExpectAny, make_events(1)));
}

TEST_F(StoreValidationTest, DuplicateTagsAreRemoved) {
  MustAppend("s", kExpectAny, one(make_event("E", "{}", {"a", "b", "a", "b", "c"})));
  auto events = StreamEvents("s");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(testing::sorted(events[0].tags), (std::vector<std::string>{"a", "b", "c"}));
}

// ---------------------------------------------------------------------------------------------
// Empty appends

TEST_F(StoreValidationTest, EmptyEventListIsInvalidArgument) {
  ExpectRejected("s", {}, ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().append_if("s", kExpectAny, {}, AppendCondition{}),
                     ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().append_multi({}), ErrorCode::kInvalidArgument);
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectAny, make_events(1)});
  parts.push_back({"b", kExpectAny, {}});
  RECKON_EXPECT_CODE(store().append_multi(parts), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(AllEvents().empty());
  EXPECT_EQ(*store().get_version("s"), kNoVersion);
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST_F(StoreLimitsTest, StreamIdOverLimitIsLimitExceeded) {
  RECKON_EXPECT_OK(store().append(std::string(32, 's'), kExpectAny, make_events(1)));
  ExpectRejected(std::string(33, 't'), make_events(1), ErrorCode::kLimitExceeded);
  ExpectRejected(std::string(2000, 'u'), make_events(1), ErrorCode::kLimitExceeded);
}

TEST_F(StoreLimitsTest, EventTypeOverLimitIsLimitExceeded) {
  RECKON_EXPECT_OK(store().append("ok", kExpectAny, one(make_event(std::string(16, 'T')))));
  ExpectRejected("s", one(make_event(std::string(17, 'T'))), ErrorCode::kLimitExceeded);
}

TEST_F(StoreLimitsTest, EventOverMaxEventBytesIsLimitExceeded) {
  RECKON_EXPECT_OK(store().append("ok", kExpectAny, one(make_event("E", json_string_of(500)))));
  ExpectRejected("s", one(make_event("E", json_string_of(1200))), ErrorCode::kLimitExceeded);
  // Metadata counts too.
  NewEvent e = make_event("E", json_string_of(600));
  e.metadata = json_string_of(600);
  ExpectRejected("s", one(e), ErrorCode::kLimitExceeded);
  // So does binary data.
  NewEvent b = make_event("E", std::string(1500, '\x01'));
  b.data_content_type = ContentType::kBinary;
  ExpectRejected("s", one(b), ErrorCode::kLimitExceeded);
}

TEST_F(StoreLimitsTest, AppendOverMaxAppendBytesIsLimitExceeded) {
  std::vector<NewEvent> evs;
  for (int i = 0; i < 4; ++i) evs.push_back(make_event("E", json_string_of(900)));
  ExpectRejected("s", evs, ErrorCode::kLimitExceeded);
  evs.pop_back();
  evs.pop_back();
  RECKON_EXPECT_OK(store().append("s", kExpectAny, evs));
}

TEST_F(StoreLimitsTest, TooManyEventsIsLimitExceeded) {
  ExpectRejected("s", make_events(6), ErrorCode::kLimitExceeded);
  RECKON_EXPECT_OK(store().append("s", kExpectAny, make_events(5)));
}

TEST_F(StoreLimitsTest, TooManyTagsIsLimitExceeded) {
  ExpectRejected("s", one(make_event("E", "{}", {"a", "b", "c", "d"})), ErrorCode::kLimitExceeded);
  RECKON_EXPECT_OK(store().append("s", kExpectAny, one(make_event("E", "{}", {"a", "b", "c"}))));
}

TEST_F(StoreLimitsTest, TagOverMaxTagBytesIsLimitExceeded) {
  ExpectRejected("s", one(make_event("E", "{}", {"123456789"})), ErrorCode::kLimitExceeded);
  RECKON_EXPECT_OK(store().append("s", kExpectAny, one(make_event("E", "{}", {"12345678"}))));
}

TEST_F(StoreLimitsTest, LimitViolationInAppendMultiWritesNothing) {
  std::vector<StreamAppend> parts;
  parts.push_back({"a", kExpectAny, make_events(1)});
  parts.push_back({"b", kExpectAny, make_events(6)});
  RECKON_EXPECT_CODE(store().append_multi(parts), ErrorCode::kLimitExceeded);
  EXPECT_TRUE(AllEvents().empty());
}

TEST_F(StoreLimitsTest, LargerReadPagesAreClampedToMaxReadCount) {
  for (int i = 0; i < 5; ++i) MustAppend("s", kExpectAny, make_events(5));
  auto r = store().read("s", ReadStreamOptions{0, 1000, Direction::kForward});
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->events.size(), 10u);
  EXPECT_FALSE(r->end_of_stream);
  EXPECT_EQ(r->next_version, 10);

  ReadAllOptions o;
  o.max_count = 1000;
  auto all = store().read_all(o);
  RECKON_ASSERT_OK(all);
  EXPECT_EQ(all->events.size(), 10u);
  EXPECT_FALSE(all->end);
  EXPECT_EQ(all->next_position, 11u);
  // Paging still reaches every event.
  EXPECT_EQ(AllEvents().size(), 25u);
}

// ---------------------------------------------------------------------------------------------
// UUIDs

TEST(UuidParseTest, MalformedStringsFail) {
  for (const std::string bad : {
           "", "not-a-uuid",
           "0190f5c2-7d4a-7b3c-8e1f-2a3b4c5d6e7",     // one digit short
           "0190f5c2-7d4a-7b3c-8e1f-2a3b4c5d6e7f0",   // one digit long
           "0190f5c27d4a7b3c8e1f2a3b4c5d6e7f",        // no dashes
           "0190f5c2-7d4a-7b3c-8e1f2a3b4c5d6e7f-",    // dash misplaced
           "0190f5c2-7d4a-7b3c-8e1f-2a3b4c5d6e7g",    // non-hex
           "{0190f5c2-7d4a-7b3c-8e1f-2a3b4c5d6e7f}",  // braces
           " 0190f5c2-7d4a-7b3c-8e1f-2a3b4c5d6e7f",   // whitespace
           "0190f5c2_7d4a_7b3c_8e1f_2a3b4c5d6e7f",    // wrong separators
       }) {
    SCOPED_TRACE(bad);
    RECKON_EXPECT_CODE(Uuid::parse(bad), ErrorCode::kInvalidArgument);
  }
}

TEST(UuidParseTest, CanonicalStringsParseInAnyCaseAndPrintLowercase) {
  auto lower = Uuid::parse("0190f5c2-7d4a-7b3c-8e1f-2a3b4c5d6e7f");
  RECKON_ASSERT_OK(lower);
  auto upper = Uuid::parse("0190F5C2-7D4A-7B3C-8E1F-2A3B4C5D6E7F");
  RECKON_ASSERT_OK(upper);
  EXPECT_EQ(*lower, *upper);
  EXPECT_EQ(lower->to_string(), "0190f5c2-7d4a-7b3c-8e1f-2a3b4c5d6e7f");
  EXPECT_EQ(lower->bytes[0], 0x01);
  EXPECT_EQ(lower->bytes[15], 0x7f);
  Uuid v7 = Uuid::v7();
  auto round = Uuid::parse(v7.to_string());
  RECKON_ASSERT_OK(round);
  EXPECT_EQ(*round, v7);
  auto nil = Uuid::parse("00000000-0000-0000-0000-000000000000");
  RECKON_ASSERT_OK(nil);
  EXPECT_TRUE(nil->is_nil());
}

// ---------------------------------------------------------------------------------------------
// Read arguments

TEST_F(StoreValidationTest, NegativeFromVersionForwardIsInvalidArgument) {
  MustAppend("s", kExpectAny, make_events(3));
  RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{-1, 10, Direction::kForward}),
                     ErrorCode::kInvalidArgument);
  RECKON_EXPECT_CODE(store().read("s", ReadStreamOptions{-5, 10, Direction::kForward}),
                     ErrorCode::kInvalidArgument);
}

// max_count = 0 is accepted as long as every read call treats it the same way: either all
// refuse it with InvalidArgument, or all return an empty page without error.
TEST_F(StoreValidationTest, ReadsWithMaxCountZeroAreConsistentlyEmptyOrRefused) {
  MustAppend("s", kExpectAny, one(make_event("T", "{}", {"tag"})));
  MustAppend("s", kExpectAny, one(make_event("T", "{}", {"tag"})));

  auto stream = store().read("s", ReadStreamOptions{0, 0, Direction::kForward});
  auto backward = store().read("s", ReadStreamOptions{kEndVersion, 0, Direction::kBackward});
  ReadAllOptions ao;
  ao.max_count = 0;
  auto all = store().read_all(ao);
  IndexReadOptions io;
  io.max_count = 0;
  auto by_type = store().read_by_event_types({"T"}, io);
  auto by_tag = store().read_by_tags({"tag"}, TagMatch::kAny, io);

  if (stream.is_ok()) {
    EXPECT_TRUE(stream->events.empty());
    RECKON_ASSERT_OK(backward);
    EXPECT_TRUE(backward->events.empty());
    RECKON_ASSERT_OK(all);
    EXPECT_TRUE(all->events.empty());
    RECKON_ASSERT_OK(by_type);
    EXPECT_TRUE(by_type->events.empty());
    RECKON_ASSERT_OK(by_tag);
    EXPECT_TRUE(by_tag->events.empty());
  } else {
    RECKON_EXPECT_CODE(stream, ErrorCode::kInvalidArgument);
    RECKON_EXPECT_CODE(backward, ErrorCode::kInvalidArgument);
    RECKON_EXPECT_CODE(all, ErrorCode::kInvalidArgument);
    RECKON_EXPECT_CODE(by_type, ErrorCode::kInvalidArgument);
    RECKON_EXPECT_CODE(by_tag, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace reckon
