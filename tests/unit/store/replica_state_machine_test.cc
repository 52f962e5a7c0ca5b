// ReplicaStateMachine's pipelined commits, driven by hand: a LoopOffload that keeps each job
// until the test runs it, so every interleaving of "the loop stages the next turn" and "the
// pool thread writes the previous one" can be placed exactly.
#include "store/replica_state_machine.h"

#include <gtest/gtest.h>
#include <rocksdb/iterator.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/command.h"
#include "storage/database.h"
#include "support/temp_dir.h"

namespace reckon::store {
namespace {

class ManualOffload final : public consensus::LoopOffload {
 public:
  void run(std::function<void()> work, std::function<void()> then_on_loop) override {
    jobs_.push_back({std::move(work), std::move(then_on_loop)});
  }
  size_t pending() const { return jobs_.size(); }
  // The pool thread's part of the oldest job (the test plays both threads).
  void work() { jobs_.front().first(); }
  // Its continuation on the loop.
  void then() {
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    job.second();
  }

 private:
  std::deque<std::pair<std::function<void()>, std::function<void()>>> jobs_;
};

class ReplicaStateMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.data_dir = dir_.sub("store");
    auto db = storage::Database::open(o);
    ASSERT_TRUE(db) << db.status().to_string();
    db_ = std::move(db).value();
    machine_ = std::make_unique<storage::StateMachine>(*db_, 100);
    ASSERT_TRUE(machine_->load().is_ok());
    replica_ = std::make_unique<ReplicaStateMachine>(
        *machine_, [this](Position p) { published_.push_back(p); });
  }

  static std::string append(ExpectedVersion expected) {
    std::vector<StreamAppend> parts(1);
    parts[0].stream_id = "s";
    parts[0].expected = expected;
    NewEvent e;
    e.event_type = "T";
    e.data = "{}";
    parts[0].events.push_back(std::move(e));
    return storage::encode_append_command(1000, parts, std::nullopt);
  }

  const storage::CommandResult& result(const std::shared_ptr<void>& r) {
    return *static_cast<storage::CommandResult*>(r.get());
  }

  size_t stored_events() {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db()->NewIterator(rocksdb::ReadOptions(), db_->cf(storage::Cf::kEvents)));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    return n;
  }

  reckon::testing::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::StateMachine> machine_;
  std::unique_ptr<ReplicaStateMachine> replica_;
  std::vector<Position> published_;
};

TEST_F(ReplicaStateMachineTest, TurnsStagedWhileAWriteIsInFlightAreWrittenTogetherAfterIt) {
  ManualOffload offload;
  replica_->set_offload(&offload);

  auto first = replica_->apply(append(kExpectNoStream), 1);
  replica_->commit_applied();
  ASSERT_EQ(offload.pending(), 1u);
  EXPECT_EQ(replica_->applied_index(), 1u);
  EXPECT_EQ(replica_->visible_index(), 0u);  // not written yet: its result must wait

  // Two more turns arrive while the first is being written; they see its stream head.
  auto second = replica_->apply(append(0), 2);
  replica_->commit_applied();
  auto third = replica_->apply(append(1), 3);
  replica_->commit_applied();
  EXPECT_EQ(offload.pending(), 1u);  // one write in flight at a time
  ASSERT_TRUE(result(second).status.is_ok()) << result(second).status.to_string();
  EXPECT_EQ(result(third).appends.at(0).first_version, 2);
  EXPECT_EQ(replica_->applied_index(), 3u);

  offload.work();
  EXPECT_EQ(stored_events(), 1u);           // in RocksDB...
  EXPECT_EQ(replica_->visible_index(), 0u);  // ...but published only on the loop
  offload.then();
  EXPECT_EQ(replica_->visible_index(), 1u);
  EXPECT_EQ(published_, (std::vector<Position>{1}));
  ASSERT_EQ(offload.pending(), 1u);  // the continuation started the next write: both turns

  offload.work();
  offload.then();
  EXPECT_EQ(replica_->visible_index(), 3u);
  EXPECT_EQ(stored_events(), 3u);
  EXPECT_EQ(published_, (std::vector<Position>{1, 3}));
  EXPECT_EQ(replica_->commits(), 2u);
  EXPECT_EQ(replica_->commands(), 3u);
}

TEST_F(ReplicaStateMachineTest, DrainFinishesTheWriteInFlightAndWritesWhatIsStaged) {
  ManualOffload offload;
  replica_->set_offload(&offload);
  replica_->apply(append(kExpectNoStream), 1);
  replica_->commit_applied();
  replica_->apply(append(0), 2);
  offload.work();  // the pool thread finished; its continuation has not run yet

  replica_->set_offload(nullptr);  // what a closing node does
  replica_->drain();
  EXPECT_EQ(replica_->visible_index(), 2u);
  EXPECT_EQ(stored_events(), 2u);
  offload.then();  // the late continuation finds nothing to do
  EXPECT_EQ(replica_->visible_index(), 2u);
  EXPECT_EQ(replica_->commits(), 2u);
}

TEST_F(ReplicaStateMachineTest, SnapshotWaitsForTheWriteInFlight) {
  ManualOffload offload;
  replica_->set_offload(&offload);
  replica_->apply(append(kExpectNoStream), 1);
  replica_->commit_applied();
  offload.work();
  auto state = replica_->snapshot_state();
  ASSERT_TRUE(state.is_ok()) << state.status().to_string();
  auto point = decode_snapshot_point(*state);
  ASSERT_TRUE(point.is_ok());
  EXPECT_EQ(point->applied_index, 1u);
  EXPECT_EQ(point->last_position, 1u);
}

TEST_F(ReplicaStateMachineTest, WithoutOffloadEveryTurnIsWrittenAtOnce) {
  auto r = replica_->apply(append(kExpectNoStream), 1);
  EXPECT_EQ(replica_->visible_index(), 0u);
  replica_->commit_applied();
  EXPECT_EQ(replica_->visible_index(), 1u);
  EXPECT_EQ(stored_events(), 1u);
  EXPECT_TRUE(result(r).status.is_ok());
}

}  // namespace
}  // namespace reckon::store
