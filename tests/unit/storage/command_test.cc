#include "storage/command.h"

#include <gtest/gtest.h>

namespace reckon::storage {

TEST(Command, AppendRoundTripsAndGeneratesMissingIds) {
  std::vector<StreamAppend> parts(2);
  parts[0].stream_id = "order-1";
  parts[0].expected = kExpectNoStream;
  NewEvent e;
  e.event_type = "Placed";
  e.data = R"({"n":1})";
  e.metadata = R"({"correlation_id":"x"})";
  e.tags = {"eu", "vip"};
  parts[0].events.push_back(e);
  e.event_id = Uuid::v7();
  e.data_content_type = ContentType::kBinary;
  parts[0].events.push_back(e);
  parts[1].stream_id = "order-2";
  parts[1].expected = 4;
  parts[1].events.push_back(e);
  parts[1].events.back().event_id = Uuid::v7();
  AppendCondition cond{{QueryItem{{"Placed"}, {"eu"}}}, 17};

  std::string bytes = encode_append_command(123456, parts, cond);
  ASSERT_TRUE(parts[0].events[0].event_id.has_value()) << "encoding fills generated ids";

  DecodedCommand c;
  ASSERT_TRUE(decode_command(bytes, c).is_ok());
  EXPECT_EQ(c.type, CommandType::kAppend);
  EXPECT_EQ(c.proposed_us, 123456);
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(c.parts[0].stream_id, "order-1");
  EXPECT_EQ(c.parts[0].expected, kExpectNoStream);
  ASSERT_EQ(c.parts[0].events.size(), 2u);
  EXPECT_FALSE(c.parts[0].events[0].client_supplied_id);
  EXPECT_TRUE(c.parts[0].events[1].client_supplied_id);
  EXPECT_EQ(c.parts[0].events[0].event_id, *parts[0].events[0].event_id);
  EXPECT_EQ(c.parts[0].events[1].data_content_type, ContentType::kBinary);
  EXPECT_EQ(c.parts[0].events[0].tags.size(), 2u);
  EXPECT_EQ(c.parts[0].events[0].metadata, R"({"correlation_id":"x"})");
  EXPECT_EQ(c.parts[1].expected, 4);
  ASSERT_TRUE(c.condition);
  EXPECT_EQ(c.condition->after_position, 17u);
  EXPECT_EQ(c.condition->items[0].tags, std::vector<std::string>{"eu"});
}

TEST(Command, EveryTruncationIsCorruptionNotACrash) {
  std::vector<StreamAppend> parts(1);
  parts[0].stream_id = "s";
  NewEvent e;
  e.event_type = "T";
  e.data = "{}";
  e.tags = {"t"};
  parts[0].events.push_back(e);
  std::string bytes = encode_append_command(1, parts, std::nullopt);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    DecodedCommand c;
    EXPECT_EQ(decode_command(std::string_view(bytes).substr(0, cut), c).code(),
              ErrorCode::kCorruption)
        << cut;
  }
  DecodedCommand c;
  EXPECT_EQ(decode_command(bytes + "x", c).code(), ErrorCode::kCorruption);
}

TEST(Command, StreamCommandsRoundTrip) {
  DecodedCommand c;
  ASSERT_TRUE(decode_command(encode_delete_command(CommandType::kTombstoneStream, "s", 3), c).is_ok());
  EXPECT_EQ(c.type, CommandType::kTombstoneStream);
  EXPECT_EQ(c.expected, 3);
  StreamMetadata m;
  m.max_count = 10;
  m.truncate_before = 2;
  m.custom_json = R"({"owner":"x"})";
  DecodedCommand d;
  ASSERT_TRUE(decode_command(encode_set_metadata_command("s", m), d).is_ok());
  EXPECT_EQ(d.metadata, m);
  DecodedCommand s;
  ASSERT_TRUE(decode_command(encode_save_snapshot_command(9, Snapshot{"s", 5, "{}", "", 0}), s).is_ok());
  EXPECT_EQ(s.version, 5);
  EXPECT_EQ(s.snapshot_data, "{}");
}

TEST(Command, UnknownTypeIsCorruption) {
  DecodedCommand c;
  EXPECT_EQ(decode_command(std::string("\x01\x7f", 2), c).code(), ErrorCode::kCorruption);
  EXPECT_EQ(decode_command(std::string("\x09\x01", 2), c).code(), ErrorCode::kCorruption);
}

}  // namespace reckon::storage

namespace reckon::storage {

TEST(Command, MemberAddressRoundTripsAndRejectsIdZero) {
  DecodedCommand c;
  const std::string set = encode_set_member_address_command(7, "10.0.0.7:2113");  // views point into it
  ASSERT_TRUE(decode_command(set, c).is_ok());
  EXPECT_EQ(c.type, CommandType::kSetMemberAddress);
  EXPECT_EQ(c.member_id, 7u);
  EXPECT_EQ(c.member_address, "10.0.0.7:2113");
  DecodedCommand forget;
  ASSERT_TRUE(decode_command(encode_set_member_address_command(7, ""), forget).is_ok());
  EXPECT_TRUE(forget.member_address.empty());
  DecodedCommand zero;
  EXPECT_EQ(decode_command(encode_set_member_address_command(0, "x:1"), zero).code(), ErrorCode::kCorruption);
  // Every truncation is refused, never misread.
  std::string bytes = encode_set_member_address_command(7, "10.0.0.7:2113");
  for (size_t n = 0; n < bytes.size(); ++n) {
    DecodedCommand t;
    EXPECT_FALSE(decode_command(bytes.substr(0, n), t).is_ok()) << n;
  }
}

}  // namespace reckon::storage
