#include "core/encoding.h"

#include <gtest/gtest.h>

#include <limits>

namespace reckon::enc {

TEST(Encoding, BigEndianKeysSortNumerically) {
  std::string a, b;
  put_u64_be(a, 255);
  put_u64_be(b, 256);
  EXPECT_LT(a, b);
  EXPECT_EQ(load_u64_be(a.data()), 255u);
}

TEST(Encoding, VarintsAndSignedVarintsRoundTrip) {
  std::string out;
  const int64_t values[] = {0, 1, -1, -2, -4, 127, 128, std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min()};
  for (int64_t v : values) put_svarint(out, v);
  put_varint(out, std::numeric_limits<uint64_t>::max());
  put_bytes(out, "hello");
  ByteReader r(out);
  for (int64_t v : values) {
    int64_t got;
    ASSERT_TRUE(r.get_svarint(got));
    EXPECT_EQ(got, v);
  }
  uint64_t u;
  ASSERT_TRUE(r.get_varint(u));
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  std::string_view s;
  ASSERT_TRUE(r.get_bytes(s));
  EXPECT_EQ(s, "hello");
  EXPECT_TRUE(r.empty());
}

TEST(Encoding, ReaderRefusesTruncatedInput) {
  std::string out;
  put_bytes(out, "hello world");
  for (size_t cut = 0; cut < out.size(); ++cut) {
    ByteReader r(std::string_view(out).substr(0, cut));
    std::string_view s;
    EXPECT_FALSE(r.get_bytes(s)) << cut;
  }
  const std::string too_long(11, '\xff');
  ByteReader endless(too_long);
  uint64_t v;
  EXPECT_FALSE(endless.get_varint(v));
}

}  // namespace reckon::enc
