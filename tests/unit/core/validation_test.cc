#include "core/validation.h"

#include <gtest/gtest.h>

#include <optional>

namespace reckon::validation {

NewEvent json_event(std::string type, std::string data) {
  NewEvent e;
  e.event_type = std::move(type);
  e.data = std::move(data);
  return e;
}

TEST(Validation, StreamNames) {
  Limits limits;
  EXPECT_TRUE(check_user_stream("order-1", limits).is_ok());
  EXPECT_EQ(check_user_stream("", limits).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(check_user_stream("$all", limits).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(check_stream_name("$all", limits).is_ok());
  EXPECT_EQ(check_user_stream(std::string("a\0b", 3), limits).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(check_user_stream("\xff\xfe", limits).code(), ErrorCode::kInvalidArgument);
  limits.max_stream_id_bytes = 4;
  EXPECT_EQ(check_user_stream("abcde", limits).code(), ErrorCode::kLimitExceeded);
}

TEST(Validation, EventsNeedTypeAndValidJson) {
  Limits limits;
  auto e = json_event("Placed", R"({"a":1})");
  EXPECT_TRUE(check_event(e, limits, 0).is_ok());
  auto no_type = json_event("", "{}");
  EXPECT_EQ(check_event(no_type, limits, 0).code(), ErrorCode::kInvalidArgument);
  auto bad_json = json_event("Placed", R"({"a":)");
  EXPECT_EQ(check_event(bad_json, limits, 0).code(), ErrorCode::kInvalidArgument);
  auto binary = json_event("Blob", std::string("\x00\x01\xff", 3));
  binary.data_content_type = ContentType::kBinary;
  EXPECT_TRUE(check_event(binary, limits, 0).is_ok());
  auto bad_meta = json_event("Placed", "{}");
  bad_meta.metadata = "not json";
  EXPECT_EQ(check_event(bad_meta, limits, 0).code(), ErrorCode::kInvalidArgument);
}

TEST(Validation, TagsAreDeduplicatedAndLimited) {
  Limits limits;
  auto e = json_event("T", "{}");
  e.tags = {"a", "b", "a"};
  ASSERT_TRUE(check_event(e, limits, 0).is_ok());
  EXPECT_EQ(e.tags, (std::vector<std::string>{"a", "b"}));
  limits.max_tags_per_event = 1;
  EXPECT_EQ(check_event(e, limits, 0).code(), ErrorCode::kLimitExceeded);
  auto empty_tag = json_event("T", "{}");
  empty_tag.tags = {""};
  EXPECT_EQ(check_event(empty_tag, Limits{}, 0).code(), ErrorCode::kInvalidArgument);
}

TEST(Validation, SizeLimits) {
  Limits limits;
  limits.max_event_bytes = 16;
  auto big = json_event("T", R"({"payload":"0123456789"})");
  EXPECT_EQ(check_event(big, limits, 0).code(), ErrorCode::kLimitExceeded);
  std::vector<NewEvent> none;
  EXPECT_EQ(check_events(none, Limits{}).code(), ErrorCode::kInvalidArgument);
}

TEST(Validation, DuplicateClientIdsInOneAppend) {
  std::vector<NewEvent> events{json_event("T", "{}"), json_event("T", "{}")};
  events[0].event_id = events[1].event_id = Uuid::v7();
  EXPECT_EQ(check_events(events, Limits{}).code(), ErrorCode::kInvalidArgument);
}

TEST(Validation, TheFirstRepeatedIdIsNamedAndEarlierProblemsComeFirst) {
  const Uuid a = Uuid::v7(), b = Uuid::v7(), c = Uuid::v7();
  auto events_with = [](std::vector<std::optional<Uuid>> ids) {
    std::vector<NewEvent> events;
    for (auto& id : ids) {
      events.push_back(json_event("T", "{}"));
      events.back().event_id = id;
    }
    return events;
  };
  // b repeats before a does.
  auto events = events_with({a, b, c, b, a});
  Status s = check_events(events, Limits{});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "event id " + b.to_string() + " appears twice in one append");
  // Events without ids never collide.
  events = events_with({std::nullopt, a, std::nullopt});
  EXPECT_TRUE(check_events(events, Limits{}).is_ok());
  // A repeat before an invalid event is reported; an invalid event before a repeat is.
  events = events_with({a, a, c});
  events[2].event_type.clear();
  EXPECT_EQ(check_events(events, Limits{}).message(), "event id " + a.to_string() + " appears twice in one append");
  events = events_with({a, c, a});
  events[1].data = "{";
  s = check_events(events, Limits{});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("event #1 data is not valid JSON", 0), 0u) << s.message();
}

TEST(Validation, MessagesNameTheEventAndTheField) {
  auto e = json_event("", "{}");
  EXPECT_EQ(check_event(e, Limits{}, 4).message(), "event #4 event_type must not be empty");
  e = json_event("T", "{}");
  e.tags = {"ok", std::string("a\0b", 3)};
  EXPECT_EQ(check_event(e, Limits{}, 2).message(), "event #2 tag must not contain NUL bytes");
  e = json_event("T", "{}");
  e.metadata = "[";
  EXPECT_EQ(check_event(e, Limits{}, 0).message().rfind("event #0 metadata is not valid JSON", 0), 0u);
}

TEST(Validation, ExpectedVersions) {
  for (int64_t ok : {-1, -2, -4, 0, 7}) EXPECT_TRUE(check_expected_version(ok).is_ok()) << ok;
  for (int64_t bad : {-3, -5, -100}) EXPECT_FALSE(check_expected_version(bad).is_ok()) << bad;
}

TEST(Validation, Utf8) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("café ✓ 😀"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
}

}  // namespace reckon::validation
