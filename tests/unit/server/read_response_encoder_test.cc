// ReadResponseEncoder writes the same bytes protobuf would for the same ReadResponse, and those
// bytes parse back into the events.
#include "server/read_response_encoder.h"

#include <gtest/gtest.h>

#include "reckon/v1/reckon.pb.h"
#include "wire/convert.h"

namespace reckon::server {
namespace {

std::string bytes_of(grpc::ByteBuffer buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

TEST(ReadResponseEncoder, WritesWhatProtobufWouldAndParsesBack) {
  grpc::CompletionQueue grpc_initialized;  // slices and byte buffers need the gRPC library up
  std::vector<std::string_view> tags{"tenant-1", "", "region-eu"};
  std::vector<std::string_view> no_tags;
  std::string binary("\x00\x01\xff", 3);
  std::vector<EventRef> events(3);
  events[0].event_id = Uuid::v7();
  events[0].event_type = "OrderPlaced";
  events[0].stream_id = "order-1";
  events[0].version = 0;  // default value: left out
  events[0].position = 1;
  events[0].data = R"({"total":12})";
  events[0].metadata = R"({"m":1})";
  events[0].tags = &tags;
  events[0].created_us = 1'700'000'000'000'000;
  events[1].event_id = Uuid::v7();
  events[1].event_type = "Blob";
  events[1].stream_id = "s";
  events[1].version = 300;  // a two-byte varint
  events[1].position = 1ull << 40;
  events[1].data = binary;
  events[1].data_content_type = ContentType::kBinary;
  events[1].metadata_content_type = ContentType::kBinary;
  events[1].tags = &no_tags;
  events[1].created_us = -5;  // negative int64: ten-byte varint
  events[2] = events[0];      // an event with nothing but defaults apart from its id
  events[2].event_type = "";
  events[2].stream_id = "";
  events[2].data = "";
  events[2].metadata = "";
  events[2].tags = &no_tags;
  events[2].position = 0;
  events[2].created_us = 0;

  for (bool end : {false, true}) {
    ReadResponseEncoder encoder;
    v1::ReadResponse expected;
    for (const auto& e : events) {
      encoder.add_event(e);
      wire::to_proto(e, expected.add_events());
    }
    encoder.finish(end, end, end ? 0 : 42);
    expected.set_end(end);
    expected.set_end_of_data(end);
    expected.set_next_position(end ? 0 : 42);
    EXPECT_EQ(encoder.events(), 3u);
    const std::string got = bytes_of(encoder.take());
    EXPECT_EQ(encoder.bytes(), 0u) << "take() starts over";
    EXPECT_EQ(got, expected.SerializeAsString());

    v1::ReadResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(got));
    ASSERT_EQ(parsed.events_size(), 3);
    auto back = wire::from_proto(parsed.events(1));
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->event_id, events[1].event_id);
    EXPECT_EQ(back->version, 300);
    EXPECT_EQ(back->position, 1ull << 40);
    EXPECT_EQ(back->data, binary);
    EXPECT_EQ(back->data_content_type, ContentType::kBinary);
    EXPECT_EQ(back->created_us, -5);
    EXPECT_EQ(parsed.events(0).tags_size(), 3);
    EXPECT_EQ(parsed.events(0).tags(1), "");
  }
}

}  // namespace
}  // namespace reckon::server
