// A full disk: appends fail with a clear error, the store then refuses writes instead of
// guessing, nothing acknowledged is lost, and after space is freed a reopen recovers.
// Needs root (it mounts a small tmpfs); skipped otherwise.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "reckon/store.h"
#include "support/small_disk.h"
#include "support/temp_dir.h"

namespace reckon {
namespace {

// Opens the store; a replicated one once its one-voter group has elected itself.
Result<std::unique_ptr<LocalStore>> open_and_lead(const StoreOptions& o) {
  auto store = LocalStore::open_local(o);
  if (!store || !(*store)->replication()) return store;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(*store)->replication()->is_leader() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return store;
}

// Fills the disk under the store, checks that writes then fail cleanly and are refused, grows the
// disk, reopens, and checks that every acknowledged append is there and writes work again.
void fill_refuse_grow_recover(testing::SmallDisk& disk, StoreOptions o) {
  std::vector<AppendResult> acked;
  Status failure;
  {
    auto store = open_and_lead(o);
    ASSERT_TRUE(store) << store.status().to_string();
    // Incompressible payloads: the disk fills with the data written, not with whatever
    // RocksDB and libraft happen to have preallocated by then.
    std::mt19937_64 rng(42);
    auto payload = [&rng] {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string p = "{\"p\":\"";
      for (int k = 0; k < 4000; ++k) p.push_back(kHex[rng() & 15]);
      return p + "\"}";
    };
    for (int i = 0; i < 20000; ++i) {
      NewEvent e;
      e.event_type = "Fill";
      e.data = payload();
      auto r = (*store)->append("fill-" + std::to_string(i % 10), kExpectAny, {e});
      if (!r) {
        failure = r.status();
        break;
      }
      acked.push_back(*r);
    }
    ASSERT_FALSE(failure.is_ok()) << "the disk never filled up";
    std::fprintf(stderr, "first failure after %zu appends: %s\n", acked.size(), failure.to_string().c_str());
    EXPECT_TRUE(failure.code() == ErrorCode::kIoError || failure.code() == ErrorCode::kUnavailable)
        << failure.to_string();
    ASSERT_GT(acked.size(), 10u);
    // After a failed commit the store refuses writes rather than guessing what reached disk.
    NewEvent small;
    small.event_type = "After";
    small.data = "{}";
    auto refused = (*store)->append("after", kExpectAny, {small});
    EXPECT_FALSE(refused) << "a write after a failed commit must be refused";
    // Reads keep working — or, on a replicated store that answered appends before writing them
    // to RocksDB (pipelined writes), fail with Unavailable until a restart replays its log:
    // a read never shows a state that misses an acknowledged append.
    auto last = (*store)->read(acked.back().stream_id, ReadStreamOptions{acked.back().last_version, 1});
    if (last) {
      ASSERT_EQ(last->events.size(), 1u);
      EXPECT_EQ(last->events[0].position, acked.back().position);
    } else {
      EXPECT_TRUE(o.replication.has_value()) << last.status().to_string();
      EXPECT_EQ(last.code(), ErrorCode::kUnavailable) << last.status().to_string();
    }
  }
  ASSERT_TRUE(disk.grow());
  auto reopened = open_and_lead(o);
  ASSERT_TRUE(reopened) << reopened.status().to_string();
  auto& store = **reopened;
  for (const auto& a : acked) {
    auto page = store.read(a.stream_id, ReadStreamOptions{a.last_version, 1});
    ASSERT_TRUE(page) << page.status().to_string();
    ASSERT_EQ(page->events.size(), 1u) << a.stream_id << "@" << a.last_version;
    ASSERT_EQ(page->events[0].position, a.position);
  }
  // Positions stay dense and the store accepts writes again.
  NewEvent e;
  e.event_type = "Recovered";
  e.data = "{}";
  auto r = store.append("after", kExpectAny, {e});
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_GT(r->position, acked.back().position);
  uint64_t count = 0;
  Position expect = 1;
  ASSERT_TRUE(store.scan_all(0, [&](const Event& ev) {
    EXPECT_EQ(ev.position, expect++);
    ++count;
    return true;
  }).is_ok());
  EXPECT_EQ(count, r->position);
}

TEST(DiskFull, AppendsFailCleanlyWritesAreRefusedAndReopenRecoversEverythingAcknowledged) {
  testing::TempDir dir;
  testing::SmallDisk disk(dir.sub("disk"), "12m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  StoreOptions o;
  o.data_dir = dir.sub("disk") + "/store";
  o.memtable_budget_bytes = 4 << 20;  // flushes happen while the disk fills
  fill_refuse_grow_recover(disk, o);
}

// The same through a one-voter Raft group (reckond's single mode): the Raft log fills first.
TEST(DiskFull, ThroughRaftWritesFailCleanlyAndReopenRecoversEverythingAcknowledged) {
  testing::TempDir dir;
  // libraft preallocates 8 MiB log segments and RocksDB its WAL: at 40m the disk was sometimes
  // full after 6 appends (timing of those preallocations), too early to test anything.
  testing::SmallDisk disk(dir.sub("disk"), "48m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  StoreOptions o;
  o.data_dir = dir.sub("disk") + "/store";
  o.memtable_budget_bytes = 4 << 20;
  ReplicationOptions r;
  r.node_id = 1;
  r.raft_address = "127.0.0.1:0";
  r.initial_members = {{1, r.raft_address}};
  r.snapshot_threshold = 256;  // snapshots (and log truncation) happen while the disk fills
  r.snapshot_trailing = 64;
  o.replication = r;
  fill_refuse_grow_recover(disk, o);
}

}  // namespace
}  // namespace reckon
