// A full disk: appends fail with a clear error, the store then refuses writes instead of
// guessing, nothing acknowledged is lost, and after space is freed a reopen recovers.
// Needs root (it mounts a small tmpfs); skipped otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "reckon/store.h"
#include "support/temp_dir.h"

namespace reckon {
namespace {

class SmallDisk {
 public:
  explicit SmallDisk(const std::string& path) : path_(path) {
    std::filesystem::create_directories(path_);
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, "size=12m") == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  bool grow() { return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, "size=256m") == 0; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(DiskFull, AppendsFailCleanlyWritesAreRefusedAndReopenRecoversEverythingAcknowledged) {
  testing::TempDir dir;
  SmallDisk disk(dir.sub("disk"));
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  StoreOptions o;
  o.data_dir = dir.sub("disk") + "/store";
  o.memtable_budget_bytes = 4 << 20;  // flushes happen while the disk fills
  std::vector<AppendResult> acked;
  Status failure;
  {
    auto store = Store::open(o);
    ASSERT_TRUE(store) << store.status().to_string();
    const std::string payload = "{\"p\":\"" + std::string(4000, 'x') + "\"}";
    for (int i = 0; i < 20000; ++i) {
      NewEvent e;
      e.event_type = "Fill";
      e.data = payload;
      auto r = (*store)->append("fill-" + std::to_string(i % 10), kExpectAny, {e});
      if (!r) {
        failure = r.status();
        break;
      }
      acked.push_back(*r);
    }
    ASSERT_FALSE(failure.is_ok()) << "the disk never filled up";
    EXPECT_TRUE(failure.code() == ErrorCode::kIoError || failure.code() == ErrorCode::kUnavailable)
        << failure.to_string();
    ASSERT_GT(acked.size(), 10u);
    // After a failed commit the store refuses writes rather than guessing what reached disk.
    NewEvent small;
    small.event_type = "After";
    small.data = "{}";
    auto refused = (*store)->append("after", kExpectAny, {small});
    EXPECT_FALSE(refused) << "a write after a failed commit must be refused";
    // Reads keep working.
    auto last = (*store)->read(acked.back().stream_id, ReadStreamOptions{acked.back().last_version, 1});
    ASSERT_TRUE(last) << last.status().to_string();
  }
  ASSERT_TRUE(disk.grow());
  auto reopened = Store::open(o);
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

}  // namespace
}  // namespace reckon
