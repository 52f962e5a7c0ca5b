// ReplicaStateMachine's pipelined commits, driven by hand: a LoopOffload that keeps each job
// until the test runs it, so every interleaving of "the loop stages the next turn" and "the
// pool thread writes the previous one" can be placed exactly.
#include "store/replica_state_machine.h"

#include <gtest/gtest.h>
#include <rocksdb/iterator.h>

#include <future>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/command.h"
#include "storage/database.h"
#include "support/simulation.h"
#include "support/temp_dir.h"

namespace reckon::store {
namespace {

// The test plays both threads: work_one() is the pool thread's part of the oldest job,
// finish_one() its continuation on the loop.
struct ManualOffload : reckon::testing::ScriptedOffload {
  ManualOffload() { defer_work(true); }
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
    replica_->set_pipelined_writes(true);
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

  offload.work_one();
  EXPECT_EQ(stored_events(), 1u);           // in RocksDB...
  EXPECT_EQ(replica_->visible_index(), 0u);  // ...but published only on the loop
  offload.finish_one();
  EXPECT_EQ(replica_->visible_index(), 1u);
  EXPECT_EQ(published_, (std::vector<Position>{1}));
  ASSERT_EQ(offload.pending(), 1u);  // the continuation started the next write: both turns

  offload.work_one();
  offload.finish_one();
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
  offload.work_one();  // the pool thread finished; its continuation has not run yet

  replica_->set_offload(nullptr);  // what a closing node does
  replica_->drain();
  EXPECT_EQ(replica_->visible_index(), 2u);
  EXPECT_EQ(stored_events(), 2u);
  offload.finish_one();  // the late continuation finds nothing to do
  EXPECT_EQ(replica_->visible_index(), 2u);
  EXPECT_EQ(replica_->commits(), 2u);
}

TEST_F(ReplicaStateMachineTest, SnapshotWaitsForTheWriteInFlight) {
  ManualOffload offload;
  replica_->set_offload(&offload);
  replica_->apply(append(kExpectNoStream), 1);
  replica_->commit_applied();
  offload.work_one();
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

TEST_F(ReplicaStateMachineTest, PipelinedResultsAreAnsweredOnceStagedAndReadersWaitForTheirWrite) {
  ManualOffload offload;
  replica_->set_offload(&offload);
  EXPECT_TRUE(replica_->await_readable().is_ok());  // nothing staged: immediate

  auto first = replica_->apply(append(kExpectNoStream), 1);
  replica_->commit_applied();
  EXPECT_EQ(replica_->answerable_index(), 1u);  // answered before its write...
  EXPECT_EQ(replica_->visible_index(), 0u);

  // ...so a reader that starts now waits until the write has landed and is published.
  auto reader = std::async(std::launch::async, [&] {
    Status s = replica_->await_readable();
    return std::make_pair(s, published_);
  });
  EXPECT_EQ(reader.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  offload.work_one();  // the pool thread's write
  EXPECT_EQ(reader.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  offload.finish_one();  // its continuation on the loop publishes it
  ASSERT_EQ(reader.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto [status, published] = reader.get();
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(published, (std::vector<Position>{1}));
  EXPECT_EQ(stored_events(), 1u);
  EXPECT_TRUE(result(first).status.is_ok());
}

// An offload whose after_next_poll() keeps the function until the test plays "the loop polled".
struct PollingOffload : ManualOffload {
  void after_next_poll(std::function<void()> fn) override { after_poll.push_back(std::move(fn)); }
  void poll() {
    auto fns = std::move(after_poll);
    after_poll.clear();
    for (auto& fn : fns) fn();
  }
  std::vector<std::function<void()>> after_poll;
};

TEST_F(ReplicaStateMachineTest, CommittedEntriesAreStagedAfterTheLoopPollsAgain) {
  PollingOffload offload;
  replica_->set_offload(&offload);
  auto first = replica_->apply(append(kExpectNoStream), 1);
  auto second = replica_->apply(append(0), 2);
  replica_->commit_applied();
  replica_->commit_applied();  // one staging per poll, however often the loop settles
  EXPECT_EQ(offload.after_poll.size(), 1u);
  EXPECT_EQ(replica_->applied_index(), 2u);     // applied as far as libraft is concerned...
  EXPECT_EQ(replica_->answerable_index(), 0u);  // ...but no result exists yet
  EXPECT_EQ(offload.pending(), 0u);             // nor a write
  EXPECT_TRUE(replica_->await_readable().is_ok());  // nothing answered: nothing to wait for

  offload.poll();
  EXPECT_EQ(replica_->answerable_index(), 2u);
  ASSERT_TRUE(result(first).status.is_ok()) << result(first).status.to_string();
  ASSERT_TRUE(result(second).status.is_ok()) << result(second).status.to_string();
  EXPECT_EQ(result(second).appends.at(0).first_version, 1);
  ASSERT_EQ(offload.pending(), 1u);  // both in one write
  offload.finish_one();
  EXPECT_EQ(replica_->visible_index(), 2u);
  EXPECT_EQ(stored_events(), 2u);
}

TEST_F(ReplicaStateMachineTest, DrainStagesWhatWaitsForThePoll) {
  PollingOffload offload;
  replica_->set_offload(&offload);
  auto first = replica_->apply(append(kExpectNoStream), 1);
  replica_->commit_applied();
  replica_->set_offload(nullptr);  // a closing node
  replica_->drain();
  EXPECT_TRUE(result(first).status.is_ok());
  EXPECT_EQ(replica_->visible_index(), 1u);
  EXPECT_EQ(stored_events(), 1u);
  offload.poll();  // the late function finds nothing left to do
  EXPECT_EQ(stored_events(), 1u);
  EXPECT_EQ(replica_->commits(), 1u);
}

TEST_F(ReplicaStateMachineTest, WithoutPipeliningResultsWaitForTheWrite) {
  ManualOffload offload;
  replica_->set_offload(&offload);
  replica_->set_pipelined_writes(false);
  replica_->apply(append(kExpectNoStream), 1);
  EXPECT_EQ(replica_->answerable_index(), 0u);
  replica_->commit_applied();  // written at once
  EXPECT_EQ(replica_->answerable_index(), 1u);
  EXPECT_TRUE(replica_->await_readable().is_ok());
}

// A replica behind a Raft snapshot catches up in the background when it has an offload:
// restore_state returns at once, commands committed meanwhile wait (unanswered, not visible)
// and are applied on top of the fetched state.
class BackgroundCatchUpTest : public ReplicaStateMachineTest {
 protected:
  // The peer's history: applied on a scratch store to learn the snapshot point, and replayed
  // onto this replica's store by the catch-up hook (as a bulk transfer would leave it).
  std::vector<std::string> history_ = {append(kExpectNoStream), append(0), append(1)};

  SnapshotPoint point_after(size_t commands) {
    StoreOptions o;
    o.data_dir = dir_.sub("peer" + std::to_string(commands));
    auto db = storage::Database::open(o);
    EXPECT_TRUE(db);
    storage::StateMachine peer(**db, 10);
    EXPECT_TRUE(peer.load().is_ok());
    for (size_t i = 0; i < commands; ++i) {
      storage::ApplyBatch b = peer.begin();
      peer.apply(history_[i], i + 1, b);
      EXPECT_TRUE(peer.commit(b, false).is_ok());
    }
    return SnapshotPoint{peer.committed().applied_index, peer.committed().last_position,
                         peer.committed().digest, {}};
  }

  // Replays `commands` of the history (0: as many as the point asked for).
  void catch_up_to(size_t commands, Status outcome = Status::ok()) {
    replica_->set_catch_up([this, commands, outcome](const SnapshotPoint& wanted) {
      if (!outcome.is_ok()) return outcome;
      asked_.push_back(wanted.applied_index);
      const size_t n = commands != 0 ? commands : wanted.applied_index;
      storage::StateMachine writer(*db_, 10);  // the importer writes the store directly
      EXPECT_TRUE(writer.load().is_ok());
      for (size_t i = writer.committed().applied_index; i < n; ++i) {
        storage::ApplyBatch b = writer.begin();
        writer.apply(history_[i], i + 1, b);
        EXPECT_TRUE(writer.commit(b, false).is_ok());
      }
      return Status::ok();
    });
  }

  std::vector<uint64_t> asked_;  // applied indexes the catch-up hook was asked for
};

TEST_F(BackgroundCatchUpTest, CommandsCommittedWhileFetchingAreAppliedOnTopOfTheFetchedState) {
  ManualOffload offload;
  replica_->set_offload(&offload);
  catch_up_to(3);
  ASSERT_TRUE(replica_->restore_state(encode_snapshot_point(point_after(3))).is_ok());
  ASSERT_EQ(offload.pending(), 1u);  // returned at once: the fetch runs on the pool

  auto fourth = replica_->apply(append(2), 4);  // needs the fetched stream head
  replica_->commit_applied();
  EXPECT_EQ(replica_->applied_index(), 4u);
  EXPECT_EQ(replica_->visible_index(), 0u);  // held until caught up and written
  EXPECT_EQ(replica_->answerable_index(), 0u);  // a deferred command has no result yet
  EXPECT_EQ(replica_->snapshot_state().code(), ErrorCode::kUnavailable);

  offload.work_one();
  offload.finish_one();
  EXPECT_EQ(replica_->visible_index(), 3u);  // the fetched state
  ASSERT_EQ(offload.pending(), 1u);          // the deferred command's write
  offload.work_one();
  offload.finish_one();
  EXPECT_EQ(replica_->visible_index(), 4u);
  ASSERT_TRUE(result(fourth).status.is_ok()) << result(fourth).status.to_string();
  EXPECT_EQ(result(fourth).appends.at(0).first_version, 3);
  EXPECT_EQ(stored_events(), 4u);
  EXPECT_TRUE(replica_->snapshot_state().is_ok());
}

TEST_F(BackgroundCatchUpTest, CommandsThePeerAlreadyAppliedAreNotAppliedTwice) {
  history_.push_back(append(2));  // index 4, which the peer will have applied
  ManualOffload offload;
  replica_->set_offload(&offload);
  catch_up_to(4);
  ASSERT_TRUE(replica_->restore_state(encode_snapshot_point(point_after(3))).is_ok());
  auto fourth = replica_->apply(history_[3], 4);
  auto fifth = replica_->apply(append(3), 5);
  replica_->commit_applied();
  offload.work_one();
  offload.finish_one();
  offload.work_one();
  offload.finish_one();
  EXPECT_EQ(result(fourth).status.code(), ErrorCode::kUnavailable);  // outcome decided by the peer
  ASSERT_TRUE(result(fifth).status.is_ok()) << result(fifth).status.to_string();
  EXPECT_EQ(result(fifth).appends.at(0).first_version, 4);
  EXPECT_EQ(stored_events(), 5u);
  EXPECT_EQ(replica_->visible_index(), 5u);
}

TEST_F(BackgroundCatchUpTest, AFailedFetchFailStopsAndAnswersEverythingHeld) {
  ManualOffload offload;
  replica_->set_offload(&offload);
  catch_up_to(3, Status::unavailable("no peer has applied index 3"));
  ASSERT_TRUE(replica_->restore_state(encode_snapshot_point(point_after(3))).is_ok());
  auto held = replica_->apply(append(2), 4);
  offload.work_one();
  offload.finish_one();
  EXPECT_EQ(result(held).status.code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(replica_->failed_status().is_ok());
  EXPECT_GE(replica_->visible_index(), 4u);  // nothing left to wait for
  EXPECT_EQ(offload.pending(), 0u);
  EXPECT_EQ(stored_events(), 0u);
}

TEST_F(BackgroundCatchUpTest, ANewerSnapshotWhileFetchingRaisesTheTargetWithoutBlocking) {
  history_.push_back(append(2));
  ManualOffload offload;
  replica_->set_offload(&offload);
  catch_up_to(0);
  ASSERT_TRUE(replica_->restore_state(encode_snapshot_point(point_after(3))).is_ok());
  ASSERT_TRUE(replica_->restore_state(encode_snapshot_point(point_after(4))).is_ok());  // at once
  EXPECT_EQ(offload.pending(), 1u);  // the same fetch, now to index 4
  EXPECT_EQ(replica_->applied_index(), 4u);
  auto fifth = replica_->apply(append(3), 5);
  offload.work_one();
  offload.finish_one();
  offload.work_one();
  offload.finish_one();
  EXPECT_EQ(asked_, (std::vector<uint64_t>{4}));
  ASSERT_TRUE(result(fifth).status.is_ok()) << result(fifth).status.to_string();
  EXPECT_EQ(replica_->visible_index(), 5u);
  EXPECT_EQ(stored_events(), 5u);

  // A snapshot arriving after a fetch ended (its continuation not yet run) concludes that one
  // and, already there, starts nothing new.
  ASSERT_TRUE(replica_->restore_state(encode_snapshot_point(point_after(4))).is_ok());
  EXPECT_EQ(offload.pending(), 0u);
}

TEST_F(BackgroundCatchUpTest, DrainWaitsForTheFetch) {
  ManualOffload offload;
  replica_->set_offload(&offload);
  catch_up_to(3);
  ASSERT_TRUE(replica_->restore_state(encode_snapshot_point(point_after(3))).is_ok());
  auto fourth = replica_->apply(append(2), 4);
  offload.work_one();  // fetched; the continuation has not run
  replica_->set_offload(nullptr);
  replica_->drain();
  EXPECT_TRUE(result(fourth).status.is_ok()) << result(fourth).status.to_string();
  EXPECT_EQ(replica_->visible_index(), 4u);
  offload.finish_one();  // late continuation: nothing to do
  EXPECT_EQ(stored_events(), 4u);
}

}  // namespace
}  // namespace reckon::store
