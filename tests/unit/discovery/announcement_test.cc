#include "discovery/announcement.h"

#include <gtest/gtest.h>

#include <random>

#include "discovery/freshness_filter.h"
#include "discovery/hmac.h"

namespace reckon::discovery {
namespace {

constexpr std::string_view kSecret = "correct horse battery staple";

Announcement sample(int64_t ts = 1'700'000'000'000, uint8_t nonce_seed = 1, uint64_t node_id = 3) {
  Announcement a{.cluster = "prod",
                 .node_id = node_id,
                 .raft_address = "10.0.0.3:7001",
                 .client_address = "10.0.0.3:2113",
                 .term = 42,
                 .role = AnnouncedRole::kLeader,
                 .timestamp_ms = ts};
  for (size_t i = 0; i < a.nonce.size(); ++i) a.nonce[i] = static_cast<uint8_t>(nonce_seed + i);
  return a;
}

TEST(Hmac, MatchesRfc4231TestCase2) {
  Mac mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  const uint8_t expected[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  EXPECT_TRUE(mac_equal(mac, std::string_view(reinterpret_cast<const char*>(expected), 32)));
  EXPECT_FALSE(mac_equal(mac, std::string_view(reinterpret_cast<const char*>(expected), 31)));
}

TEST(Announcement, RoundTrips) {
  auto bytes = encode_announcement(sample(), kSecret);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  auto decoded = decode_announcement(*bytes, kSecret);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, sample());
}

TEST(Announcement, SecretIsNotOnTheWire) {
  auto bytes = encode_announcement(sample(), kSecret);
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ(bytes->find(kSecret), std::string::npos);
}

TEST(Announcement, WrongSecretIsBadSignature) {
  auto bytes = encode_announcement(sample(), kSecret);
  Rejection why{};
  auto decoded = decode_announcement(*bytes, "another secret", &why);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(why, Rejection::kBadSignature);
}

TEST(Announcement, UnsignedDatagramIsBadSignature) {
  auto bytes = encode_announcement(sample(), kSecret);
  std::string unsigned_bytes = bytes->substr(0, bytes->size() - 32);
  Rejection why{};
  EXPECT_FALSE(decode_announcement(unsigned_bytes, kSecret, &why).is_ok());
  EXPECT_EQ(why, Rejection::kBadSignature);
}

TEST(Announcement, EveryFlippedBitIsRejected) {
  auto bytes = encode_announcement(sample(), kSecret);
  ASSERT_TRUE(bytes.is_ok());
  for (size_t i = 0; i < bytes->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = *bytes;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      EXPECT_FALSE(decode_announcement(tampered, kSecret).is_ok())
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Announcement, EveryTruncationIsRejected) {
  auto bytes = encode_announcement(sample(), kSecret);
  for (size_t n = 0; n < bytes->size(); ++n) {
    EXPECT_FALSE(decode_announcement(bytes->substr(0, n), kSecret).is_ok()) << n;
  }
  EXPECT_FALSE(decode_announcement(*bytes + "x", kSecret).is_ok());
}

TEST(Announcement, RandomGarbageNeverDecodes) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 1400, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 2 == 0 && junk.size() >= 7) junk.replace(0, 5, "RKDA\x01");  // get past the magic
    EXPECT_FALSE(decode_announcement(junk, kSecret).is_ok());
  }
}

TEST(Announcement, SignedButInvalidBodyIsMalformed) {
  // A correctly signed datagram whose body does not decode: only a secret holder can send it,
  // and it is still refused.
  std::string datagram = "RKDA";
  datagram.push_back(1);
  datagram.push_back(0);
  datagram.push_back(3);
  datagram += "abc";
  Mac mac = hmac_sha256(kSecret, datagram);
  datagram.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  Rejection why{};
  EXPECT_FALSE(decode_announcement(datagram, kSecret, &why).is_ok());
  EXPECT_EQ(why, Rejection::kMalformed);
}

TEST(Announcement, EncodeRejectsWhatCannotBeSent) {
  EXPECT_FALSE(encode_announcement(sample(), "").is_ok());
  Announcement a = sample();
  a.cluster.clear();
  EXPECT_FALSE(encode_announcement(a, kSecret).is_ok());
  a = sample();
  a.node_id = 0;
  EXPECT_FALSE(encode_announcement(a, kSecret).is_ok());
  a = sample();
  a.raft_address = std::string(256, 'a');
  EXPECT_FALSE(encode_announcement(a, kSecret).is_ok());
}

TEST(FreshnessFilter, AcceptsCurrentAndRejectsStaleFutureReplayAndOtherCluster) {
  const int64_t now = 1'700'000'000'000;
  FreshnessFilter f("prod", {.max_age_ms = 30'000, .max_future_ms = 5'000});
  EXPECT_EQ(f.check(sample(now, 1), now), std::nullopt);
  EXPECT_EQ(f.check(sample(now, 1), now), Rejection::kReplay);
  EXPECT_EQ(f.check(sample(now - 30'000, 2, 4), now), std::nullopt);  // exactly at the edge
  EXPECT_EQ(f.check(sample(now - 30'001, 3, 5), now), Rejection::kStale);
  EXPECT_EQ(f.check(sample(now + 5'000, 4, 6), now), std::nullopt);
  EXPECT_EQ(f.check(sample(now + 5'001, 5, 7), now), Rejection::kFuture);
  Announcement other = sample(now, 6);
  other.cluster = "staging";
  EXPECT_EQ(f.check(other, now), Rejection::kOtherCluster);
}

TEST(FreshnessFilter, ForgetsNoncesOnlyOnceTheyWouldBeStaleAnyway) {
  const int64_t now = 1'700'000'000'000;
  FreshnessFilter f("prod", {.max_age_ms = 30'000, .max_future_ms = 5'000});
  ASSERT_EQ(f.check(sample(now, 1), now), std::nullopt);
  // Still inside the window: a replay is caught.
  EXPECT_EQ(f.check(sample(now, 1), now + 29'000), Rejection::kReplay);
  // Past the window: the nonce is forgotten, and the old datagram is refused as stale instead.
  EXPECT_EQ(f.check(sample(now, 1), now + 31'000), Rejection::kStale);
  EXPECT_EQ(f.check(sample(now + 31'000, 9), now + 31'000), std::nullopt);
  EXPECT_EQ(f.remembered_nonces(), 1u);
}

TEST(FreshnessFilter, RefusesAnAnnouncementOlderThanTheLastOneFromThatNode) {
  // A delayed (captured, never delivered) datagram must not revert a node to an old address.
  const int64_t now = 1'700'000'000'000;
  FreshnessFilter f("prod", {});
  ASSERT_EQ(f.check(sample(now, 1), now), std::nullopt);
  EXPECT_EQ(f.check(sample(now - 1'000, 2), now), Rejection::kStale);
  EXPECT_EQ(f.check(sample(now - 1'000, 3, 4), now), std::nullopt);  // another node: fine
  EXPECT_EQ(f.check(sample(now, 4), now), std::nullopt);             // same ms, new nonce
  EXPECT_EQ(f.check(sample(now + 1'000, 5), now + 1'000), std::nullopt);
}

TEST(FreshnessFilter, NonceCacheIsBounded) {
  const int64_t now = 1'700'000'000'000;
  FreshnessFilter f("prod", {.max_nonces = 10});
  for (int i = 0; i < 100; ++i) {
    Announcement a = sample(now, 0);
    a.nonce[0] = static_cast<uint8_t>(i);
    ASSERT_EQ(f.check(a, now), std::nullopt);
  }
  EXPECT_EQ(f.remembered_nonces(), 10u);
}

}  // namespace
}  // namespace reckon::discovery
