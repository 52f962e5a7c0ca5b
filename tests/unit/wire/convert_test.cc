#include "wire/convert.h"

#include <gtest/gtest.h>

namespace reckon::wire {

TEST(Convert, NewEventRoundTrip) {
  NewEvent e;
  e.event_id = Uuid::v7();
  e.event_type = "Placed";
  e.data = std::string("\x00\x01", 2);
  e.data_content_type = ContentType::kBinary;
  e.metadata = "{}";
  e.tags = {"a", "b"};
  v1::NewEvent p;
  to_proto(e, &p);
  auto back = from_proto(p);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->event_id, e.event_id);
  EXPECT_EQ(back->data, e.data);
  EXPECT_EQ(back->data_content_type, ContentType::kBinary);
  EXPECT_EQ(back->tags, e.tags);
}

TEST(Convert, MalformedEventIdAndContentTypeAreRefused) {
  v1::NewEvent p;
  p.set_event_type("T");
  p.set_event_id("short");
  EXPECT_EQ(from_proto(p).code(), ErrorCode::kInvalidArgument);
  v1::NewEvent q;
  q.set_event_type("T");
  q.set_data_content_type(static_cast<v1::ContentType>(7));
  EXPECT_EQ(from_proto(q).code(), ErrorCode::kInvalidArgument);
}

TEST(Convert, MetadataOptionalsRoundTrip) {
  StreamMetadata m;
  m.max_count = 0;  // present and zero is not absent
  m.truncate_before = 5;
  m.custom_json = R"({"a":1})";
  v1::StreamMetadata p;
  to_proto(m, &p);
  EXPECT_EQ(from_proto(p), m);
}

// Streaming reads decode every event into one reused Event: nothing of the previous event may
// survive into the next (fewer tags, empty metadata, another content type).
TEST(Convert, AssigningIntoAReusedEventLeavesNothingOfThePreviousOne) {
  Event first;
  first.event_id = Uuid::v7();
  first.event_type = "Placed";
  first.stream_id = "order-1";
  first.version = 4;
  first.position = 17;
  first.data = std::string(300, 'x');
  first.data_content_type = ContentType::kBinary;
  first.metadata = R"({"m":1})";
  first.tags = {"a", "b", "c"};
  first.created_us = 1000;
  Event second;
  second.event_id = Uuid::v7();
  second.event_type = "Paid";
  second.stream_id = "o";
  second.version = 0;
  second.position = 18;
  second.data = "{}";
  second.tags = {"z"};
  second.created_us = 2000;

  v1::RecordedEvent p1, p2;
  to_proto(first, &p1);
  to_proto(second, &p2);
  Event reused;
  ASSERT_TRUE(assign_from_proto(p1, reused).is_ok());
  EXPECT_EQ(reused.tags, first.tags);
  ASSERT_TRUE(assign_from_proto(p2, reused).is_ok());
  EXPECT_EQ(reused.event_id, second.event_id);
  EXPECT_EQ(reused.event_type, "Paid");
  EXPECT_EQ(reused.stream_id, "o");
  EXPECT_EQ(reused.version, 0);
  EXPECT_EQ(reused.position, 18u);
  EXPECT_EQ(reused.data, "{}");
  EXPECT_EQ(reused.data_content_type, ContentType::kJson);
  EXPECT_EQ(reused.metadata, "");
  EXPECT_EQ(reused.tags, std::vector<std::string>{"z"});
  EXPECT_EQ(reused.created_us, 2000);

  p2.set_event_id("short");
  EXPECT_EQ(assign_from_proto(p2, reused).code(), ErrorCode::kInvalidArgument);
}

}  // namespace reckon::wire
