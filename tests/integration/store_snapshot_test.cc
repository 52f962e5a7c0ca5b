// Snapshots against a real store: save, load (latest and exact), list, delete, exists, overwrite
// and survival across reopen.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reckon/store.h"
#include "support/store_test_util.h"

namespace reckon {
namespace {

using testing::make_events;

Snapshot snap(const std::string& stream, int64_t version, std::string data = "",
              std::string metadata = "") {
  Snapshot s;
  s.stream_id = stream;
  s.version = version;
  s.data = data.empty() ? "{\"v\":" + std::to_string(version) + "}" : std::move(data);
  s.metadata = std::move(metadata);
  return s;
}

class StoreSnapshotTest : public testing::StoreTest {
 protected:
  std::vector<int64_t> ListedVersions(const std::string& stream) {
    auto r = store().list_snapshots(stream);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    std::vector<int64_t> out;
    if (r.is_ok()) {
      for (const auto& s : *r) {
        EXPECT_EQ(s.stream_id, stream);
        out.push_back(s.version);
      }
    }
    return out;
  }
};

TEST_F(StoreSnapshotTest, LoadReturnsTheHighestVersion) {
  MustAppend("acc", kExpectAny, make_events(12));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 3)));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 10, R"({"balance":100})", R"({"by":"t"})")));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 7)));
  auto s = store().load_snapshot("acc");
  RECKON_ASSERT_OK(s);
  EXPECT_EQ(s->stream_id, "acc");
  EXPECT_EQ(s->version, 10);
  EXPECT_EQ(s->data, R"({"balance":100})");
  EXPECT_EQ(s->metadata, R"({"by":"t"})");
}

TEST_F(StoreSnapshotTest, LoadAtReturnsTheExactVersion) {
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 3)));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 7)));
  auto s = store().load_snapshot_at("acc", 3);
  RECKON_ASSERT_OK(s);
  EXPECT_EQ(s->version, 3);
  EXPECT_EQ(s->data, "{\"v\":3}");
  RECKON_EXPECT_CODE(store().load_snapshot_at("acc", 5), ErrorCode::kNotFound);
  RECKON_EXPECT_CODE(store().load_snapshot_at("acc", 8), ErrorCode::kNotFound);
}

TEST_F(StoreSnapshotTest, LoadOfStreamWithoutSnapshotsIsNotFound) {
  RECKON_ASSERT_OK(store().save_snapshot(snap("other", 1)));
  MustAppend("acc", kExpectAny, make_events(2));
  RECKON_EXPECT_CODE(store().load_snapshot("acc"), ErrorCode::kNotFound);
  RECKON_EXPECT_CODE(store().load_snapshot("never"), ErrorCode::kNotFound);
  RECKON_EXPECT_CODE(store().load_snapshot_at("never", 0), ErrorCode::kNotFound);
}

TEST_F(StoreSnapshotTest, ListIsInVersionOrder) {
  for (int64_t v : {10, 2, 7, 100, 0}) RECKON_ASSERT_OK(store().save_snapshot(snap("acc", v)));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc-2", 5)));
  RECKON_ASSERT_OK(store().save_snapshot(snap("ac", 5)));
  EXPECT_EQ(ListedVersions("acc"), (std::vector<int64_t>{0, 2, 7, 10, 100}));
  auto list = store().list_snapshots("acc");
  RECKON_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 5u);
  EXPECT_EQ((*list)[3].data, "{\"v\":10}");
}

TEST_F(StoreSnapshotTest, ListOfStreamWithoutSnapshotsIsEmpty) {
  auto list = store().list_snapshots("never");
  RECKON_ASSERT_OK(list);
  EXPECT_TRUE(list->empty());
}

TEST_F(StoreSnapshotTest, SavingTheSameVersionOverwrites) {
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 4, R"({"old":true})")));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 4, R"({"new":true})", R"({"m":1})")));
  auto s = store().load_snapshot_at("acc", 4);
  RECKON_ASSERT_OK(s);
  EXPECT_EQ(s->data, R"({"new":true})");
  EXPECT_EQ(s->metadata, R"({"m":1})");
  EXPECT_EQ(ListedVersions("acc"), (std::vector<int64_t>{4}));
}

TEST_F(StoreSnapshotTest, DeleteRemovesEverySnapshotOfTheStreamOnly) {
  for (int64_t v : {1, 2, 3}) RECKON_ASSERT_OK(store().save_snapshot(snap("acc", v)));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc-2", 1)));
  RECKON_ASSERT_OK(store().delete_snapshots("acc"));
  EXPECT_TRUE(ListedVersions("acc").empty());
  RECKON_EXPECT_CODE(store().load_snapshot("acc"), ErrorCode::kNotFound);
  EXPECT_FALSE(*store().snapshot_exists("acc"));
  EXPECT_EQ(ListedVersions("acc-2"), (std::vector<int64_t>{1}));
  EXPECT_TRUE(*store().snapshot_exists("acc-2"));
}

TEST_F(StoreSnapshotTest, DeleteAtRemovesOneVersion) {
  for (int64_t v : {1, 2, 3}) RECKON_ASSERT_OK(store().save_snapshot(snap("acc", v)));
  RECKON_ASSERT_OK(store().delete_snapshot_at("acc", 3));
  EXPECT_EQ(ListedVersions("acc"), (std::vector<int64_t>{1, 2}));
  auto latest = store().load_snapshot("acc");
  RECKON_ASSERT_OK(latest);
  EXPECT_EQ(latest->version, 2);
  RECKON_EXPECT_CODE(store().load_snapshot_at("acc", 3), ErrorCode::kNotFound);
  RECKON_ASSERT_OK(store().delete_snapshot_at("acc", 1));
  EXPECT_EQ(ListedVersions("acc"), (std::vector<int64_t>{2}));
}

TEST_F(StoreSnapshotTest, ExistsAndExistsAtReflectSavesAndDeletes) {
  EXPECT_FALSE(*store().snapshot_exists("acc"));
  EXPECT_FALSE(*store().snapshot_exists_at("acc", 5));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 5)));
  EXPECT_TRUE(*store().snapshot_exists("acc"));
  EXPECT_TRUE(*store().snapshot_exists_at("acc", 5));
  EXPECT_FALSE(*store().snapshot_exists_at("acc", 4));
  EXPECT_FALSE(*store().snapshot_exists_at("acc", 6));
  EXPECT_FALSE(*store().snapshot_exists("ac"));
  EXPECT_FALSE(*store().snapshot_exists("acc-x"));
  RECKON_ASSERT_OK(store().delete_snapshot_at("acc", 5));
  EXPECT_FALSE(*store().snapshot_exists("acc"));
  EXPECT_FALSE(*store().snapshot_exists_at("acc", 5));
}

TEST_F(StoreSnapshotTest, SnapshotsDoNotRequireTheStreamToExist) {
  RECKON_ASSERT_OK(store().save_snapshot(snap("no-events", 42)));
  auto s = store().load_snapshot("no-events");
  RECKON_ASSERT_OK(s);
  EXPECT_EQ(s->version, 42);
  EXPECT_EQ(*store().get_version("no-events"), kNoVersion);
  EXPECT_TRUE(AllEvents().empty());
}

TEST_F(StoreSnapshotTest, SnapshotsDoNotChangeTheStream) {
  MustAppend("acc", kExpectAny, make_events(3));
  RECKON_ASSERT_OK(store().save_snapshot(snap("acc", 2)));
  EXPECT_EQ(*store().get_version("acc"), 2);
  EXPECT_EQ(AllEvents().size(), 3u);
  auto r = store().append("acc", 2, make_events(1));
  RECKON_ASSERT_OK(r);
  EXPECT_EQ(r->position, 4u);
}

TEST_F(StoreSnapshotTest, SnapshotsSurviveReopen) {
  for (int64_t v : {1, 5, 9}) RECKON_ASSERT_OK(store().save_snapshot(snap("acc", v)));
  RECKON_ASSERT_OK(store().save_snapshot(snap("other", 3, R"({"x":1})", R"({"y":2})")));
  RECKON_ASSERT_OK(store().delete_snapshot_at("acc", 5));
  Reopen();
  EXPECT_EQ(ListedVersions("acc"), (std::vector<int64_t>{1, 9}));
  auto s = store().load_snapshot("other");
  RECKON_ASSERT_OK(s);
  EXPECT_EQ(s->version, 3);
  EXPECT_EQ(s->data, R"({"x":1})");
  EXPECT_EQ(s->metadata, R"({"y":2})");
  EXPECT_TRUE(*store().snapshot_exists_at("acc", 9));
  EXPECT_FALSE(*store().snapshot_exists_at("acc", 5));
}

TEST_F(StoreSnapshotTest, SnapshotWithEmptyStreamIdIsInvalidArgument) {
  RECKON_EXPECT_CODE(store().save_snapshot(snap("", 1)), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace reckon
