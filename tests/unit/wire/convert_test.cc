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

}  // namespace reckon::wire
