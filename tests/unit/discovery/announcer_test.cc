// Announcers exchanging signed datagrams over 127.0.0.1: unicast (the same code path as
// multicast, only the destination differs), plus one real multicast test that skips if the
// sandbox's kernel refuses multicast.
#include "discovery/announcer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "discovery/hmac.h"

namespace reckon::discovery {
namespace {

using namespace std::chrono_literals;

// Polls `condition` until it holds or the deadline passes. (The announcer has no event for
// "a datagram was rejected", so counters are polled; the deadline keeps it from hanging.)
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

constexpr const char* kSecret = "sixteen+ byte test secret";

AnnouncerOptions unicast_options(uint64_t id, std::string secret = kSecret,
                                 std::string cluster = "test") {
  AnnouncerOptions o;
  o.cluster_name = std::move(cluster);
  o.secret = std::move(secret);
  o.self = {id, "127.0.0.1:" + std::to_string(7000 + id), "127.0.0.1:" + std::to_string(2100 + id)};
  o.listen_address = "127.0.0.1:0";
  o.send_to = {"127.0.0.1:9"};  // replaced once the peers' ports are known
  o.announce_interval = 20ms;
  return o;
}

std::string local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// Sends raw bytes to a port on 127.0.0.1, as an attacker or a broken node would.
void send_raw(uint16_t port, std::string_view bytes) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
}

TEST(Announcer, TwoNodesDiscoverEachOther) {
  auto a = Announcer::start(unicast_options(1));
  auto b = Announcer::start(unicast_options(2));
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  // Each also sends to itself: its own announcements must be recognised and skipped.
  ASSERT_TRUE((*a)->set_send_to({local((*a)->local_port()), local((*b)->local_port())}).is_ok());
  ASSERT_TRUE((*b)->set_send_to({local((*b)->local_port()), local((*a)->local_port())}).is_ok());
  (*b)->set_raft_state(AnnouncedRole::kLeader, 7);

  ASSERT_TRUE(eventually([&] { return (*a)->peers().entries().size() == 1; }));
  ASSERT_TRUE(eventually([&] { return (*b)->peers().entries().size() == 1; }));
  ASSERT_TRUE(eventually([&] { return (*a)->peers().entries()[0].term == 7; }));
  PeerEntry seen_by_a = (*a)->peers().entries()[0];
  EXPECT_EQ(seen_by_a.peer, (Peer{2, "127.0.0.1:7002", "127.0.0.1:2102"}));
  EXPECT_EQ(seen_by_a.role, AnnouncedRole::kLeader);
  EXPECT_EQ((*b)->peers().entries()[0].peer.node_id, 1u);
  ASSERT_TRUE(eventually([&] { return (*a)->stats().own > 0; }));
  EXPECT_EQ((*a)->stats().bad_signature, 0u);
  EXPECT_EQ((*a)->stats().replay, 0u);
}

TEST(Announcer, PeerChangeCallbackFiresWhenAPeerAppears) {
  auto a = Announcer::start(unicast_options(1));
  AnnouncerOptions bo = unicast_options(2);
  ASSERT_TRUE(a.is_ok());
  bo.send_to = {local((*a)->local_port())};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<size_t> sizes;
  (*a)->peers().set_on_change([&](const std::vector<PeerEntry>& entries) {
    std::lock_guard lock(mu);
    sizes.push_back(entries.size());
    cv.notify_all();
  });
  {
    auto b = Announcer::start(bo);
    ASSERT_TRUE(b.is_ok());
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return !sizes.empty(); }));
    EXPECT_EQ(sizes.front(), 1u);
  }
}

TEST(Announcer, ForgetsAPeerThatStopsAnnouncing) {
  AnnouncerOptions ao = unicast_options(1);
  ao.peer_ttl_ms = 200;
  auto a = Announcer::start(ao);
  ASSERT_TRUE(a.is_ok());
  AnnouncerOptions bo = unicast_options(2);
  bo.send_to = {local((*a)->local_port())};
  auto b = Announcer::start(bo);
  ASSERT_TRUE(b.is_ok());
  ASSERT_TRUE(eventually([&] { return (*a)->peers().entries().size() == 1; }));
  (*b)->stop();
  EXPECT_TRUE(eventually([&] { return (*a)->peers().entries().empty(); }));
}

TEST(Announcer, IgnoresOtherSecretsAndOtherClusters) {
  auto a = Announcer::start(unicast_options(1));
  ASSERT_TRUE(a.is_ok());
  AnnouncerOptions wrong_secret = unicast_options(2, "not the cluster secret at all");
  wrong_secret.send_to = {local((*a)->local_port())};
  AnnouncerOptions other_cluster = unicast_options(3, kSecret, "other");
  other_cluster.send_to = {local((*a)->local_port())};
  auto b = Announcer::start(wrong_secret);
  auto c = Announcer::start(other_cluster);
  ASSERT_TRUE(b.is_ok());
  ASSERT_TRUE(c.is_ok());
  ASSERT_TRUE(eventually([&] {
    AnnouncerStats s = (*a)->stats();
    return s.bad_signature >= 3 && s.other_cluster >= 3;
  }));
  EXPECT_TRUE((*a)->peers().entries().empty());
  EXPECT_EQ((*a)->stats().accepted, 0u);
}

TEST(Announcer, DropsGarbageReplaysAndStaleDatagramsAndKeepsWorking) {
  auto a = Announcer::start(unicast_options(1));
  ASSERT_TRUE(a.is_ok());
  uint16_t port = (*a)->local_port();
  send_raw(port, "");
  send_raw(port, "hello");
  send_raw(port, std::string(5000, 'x'));  // larger than any announcement

  int64_t now_ms = system_clock()->now_us() / 1000;
  Announcement fresh;
  fresh.cluster = "test";
  fresh.node_id = 5;
  fresh.raft_address = "127.0.0.1:7005";
  fresh.timestamp_ms = now_ms;
  fresh.nonce[0] = 1;
  std::string fresh_bytes = *encode_announcement(fresh, kSecret);
  Announcement stale = fresh;
  stale.node_id = 6;
  stale.nonce[0] = 2;
  stale.timestamp_ms = now_ms - 60'000;
  Announcement future = fresh;
  future.node_id = 7;
  future.nonce[0] = 3;
  future.timestamp_ms = now_ms + 60'000;
  send_raw(port, fresh_bytes.substr(0, fresh_bytes.size() - 32));  // unsigned
  send_raw(port, fresh_bytes);
  send_raw(port, fresh_bytes);  // replayed
  send_raw(port, *encode_announcement(stale, kSecret));
  send_raw(port, *encode_announcement(future, kSecret));

  ASSERT_TRUE(eventually([&] {
    AnnouncerStats s = (*a)->stats();
    return s.malformed >= 3 && s.bad_signature >= 1 && s.replay >= 1 && s.stale >= 1 &&
           s.future >= 1 && s.accepted >= 1;
  })) << "malformed "
      << (*a)->stats().malformed << " bad " << (*a)->stats().bad_signature;
  auto entries = (*a)->peers().entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].peer.node_id, 5u);
}

TEST(Announcer, AnotherNodeUsingOurIdIsCountedNotAdded) {
  auto a = Announcer::start(unicast_options(1));
  ASSERT_TRUE(a.is_ok());
  AnnouncerOptions imposter = unicast_options(1);
  imposter.self.raft_address = "127.0.0.1:7999";
  imposter.send_to = {local((*a)->local_port())};
  auto b = Announcer::start(imposter);
  ASSERT_TRUE(b.is_ok());
  ASSERT_TRUE(eventually([&] { return (*a)->stats().id_conflict > 0; }));
  EXPECT_TRUE((*a)->peers().entries().empty());
}

TEST(Announcer, StartRejectsBadOptions) {
  AnnouncerOptions o = unicast_options(1);
  o.secret.clear();
  EXPECT_EQ(Announcer::start(o).code(), ErrorCode::kInvalidArgument);
  o.secret = "short";  // brute-forceable offline from one captured datagram
  EXPECT_EQ(Announcer::start(o).code(), ErrorCode::kInvalidArgument);
  o = unicast_options(1);
  o.cluster_name.clear();
  EXPECT_EQ(Announcer::start(o).code(), ErrorCode::kInvalidArgument);
  o = unicast_options(0);
  EXPECT_EQ(Announcer::start(o).code(), ErrorCode::kInvalidArgument);
  o = unicast_options(1);
  o.listen_address = "localhost:1";
  EXPECT_EQ(Announcer::start(o).code(), ErrorCode::kInvalidArgument);
  o = unicast_options(1);
  o.send_to = {"127.0.0.1"};
  EXPECT_EQ(Announcer::start(o).code(), ErrorCode::kInvalidArgument);
  o = unicast_options(1);
  o.announce_interval = 0ms;
  EXPECT_EQ(Announcer::start(o).code(), ErrorCode::kInvalidArgument);
}

TEST(Announcer, StopsPromptlyEvenWithALongInterval) {
  AnnouncerOptions o = unicast_options(1);
  o.announce_interval = std::chrono::hours(1);
  auto a = Announcer::start(o);
  ASSERT_TRUE(a.is_ok());
  auto start = std::chrono::steady_clock::now();
  (*a)->stop();
  (*a)->stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(Announcer, RealMulticastOnLoopback) {
  // Group and port unlikely to collide with anything else on the host.
  std::string group = "239.255.77." + std::to_string(1 + ::getpid() % 250) + ":" +
                      std::to_string(20000 + ::getpid() % 20000);
  auto make = [&](uint64_t id) {
    AnnouncerOptions o = unicast_options(id);
    o.listen_address = group;
    o.send_to.clear();  // = the group
    o.multicast_interface = "127.0.0.1";
    o.multicast_loop = true;
    return o;
  };
  auto a = Announcer::start(make(1));
  if (!a.is_ok()) GTEST_SKIP() << "kernel refuses multicast here: " << a.status().to_string();
  auto b = Announcer::start(make(2));
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  bool found = eventually(
      [&] { return (*a)->peers().entries().size() == 1 && (*b)->peers().entries().size() == 1; },
      3s);
  if (!found && (*a)->stats().received == 0) {
    GTEST_SKIP() << "multicast datagrams are not looped back here (sent " << (*a)->stats().sent
                 << ", send errors " << (*a)->stats().send_errors << ")";
  }
  ASSERT_TRUE(found);
  EXPECT_EQ((*a)->peers().entries()[0].peer.node_id, 2u);
  EXPECT_EQ((*b)->peers().entries()[0].peer.node_id, 1u);
}

}  // namespace
}  // namespace reckon::discovery
