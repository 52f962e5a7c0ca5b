#include "storage/state_machine.h"
#include "support/db_dump.h"

#include <gtest/gtest.h>
#include <rocksdb/iterator.h>

#include <cstring>
#include <memory>
#include <random>

#include "support/temp_dir.h"

namespace reckon::storage {
namespace {

class StateMachineTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> open_db(const std::string& dir) {
    StoreOptions o;
    o.data_dir = dir;
    auto db = Database::open(o);
    EXPECT_TRUE(db) << db.status().to_string();
    return std::move(db).value();
  }

  static std::string append_cmd(const std::string& stream, ExpectedVersion expected, int n,
                                int64_t at_us = 1000) {
    std::vector<StreamAppend> parts(1);
    parts[0].stream_id = stream;
    parts[0].expected = expected;
    for (int i = 0; i < n; ++i) {
      NewEvent e;
      e.event_type = "T";
      e.data = "{\"i\":" + std::to_string(i) + "}";
      parts[0].events.push_back(std::move(e));
    }
    return encode_append_command(at_us, parts, std::nullopt);
  }

  // Every key/value of every column family, as one string: equal digests = equal stores.
  static std::string digest(Database& db) { return testing::dump_all_column_families(db); }

  testing::TempDir dir_;
};

TEST_F(StateMachineTest, CommandsInOneBatchSeeEachOther) {
  auto db = open_db(dir_.sub("a"));
  StateMachine sm(*db, 100);
  ASSERT_TRUE(sm.load().is_ok());
  ApplyBatch b = sm.begin();
  std::string c1 = append_cmd("s", kExpectNoStream, 2), c2 = append_cmd("s", 1, 1),
              c3 = append_cmd("s", kExpectNoStream, 1);
  auto r1 = sm.apply(c1, 1, b);
  auto r2 = sm.apply(c2, 2, b);
  auto r3 = sm.apply(c3, 3, b);
  ASSERT_TRUE(r1.status.is_ok());
  ASSERT_TRUE(r2.status.is_ok()) << r2.status.to_string();
  EXPECT_EQ(r2.appends[0].first_version, 2);
  EXPECT_EQ(r2.appends[0].position, 3u);
  EXPECT_EQ(r3.status.code(), ErrorCode::kWrongExpectedVersion);
  ASSERT_TRUE(sm.commit(b, true).is_ok());
  EXPECT_EQ(sm.committed().applied_index, 3u);
  EXPECT_EQ(sm.committed().last_position, 3u);
}

TEST_F(StateMachineTest, AppliedIndexAndPositionSurviveReopen) {
  {
    auto db = open_db(dir_.sub("a"));
    StateMachine sm(*db, 100);
    ASSERT_TRUE(sm.load().is_ok());
    ApplyBatch b = sm.begin();
    std::string c = append_cmd("s", kExpectAny, 5);
    ASSERT_TRUE(sm.apply(c, 41, b).status.is_ok());
    ASSERT_TRUE(sm.commit(b, true).is_ok());
  }
  auto db = open_db(dir_.sub("a"));
  StateMachine sm(*db, 100);
  ASSERT_TRUE(sm.load().is_ok());
  EXPECT_EQ(sm.committed().applied_index, 41u);
  EXPECT_EQ(sm.committed().last_position, 5u);
}

TEST_F(StateMachineTest, UncommittedBatchChangesNothing) {
  auto db = open_db(dir_.sub("a"));
  StateMachine sm(*db, 100);
  ASSERT_TRUE(sm.load().is_ok());
  {
    ApplyBatch b = sm.begin();
    std::string c = append_cmd("s", kExpectAny, 1);
    ASSERT_TRUE(sm.apply(c, 1, b).status.is_ok());
  }  // dropped, as after a failed commit
  ApplyBatch b = sm.begin();
  std::string c = append_cmd("s", kExpectNoStream, 1);
  auto r = sm.apply(c, 1, b);
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(r.appends[0].position, 1u);
}

TEST_F(StateMachineTest, SameCommandsGiveIdenticalReplicas) {
  // Determinism: the property Raft replication relies on.
  std::vector<std::string> commands;
  commands.push_back(append_cmd("a", kExpectNoStream, 3, 500));
  commands.push_back(append_cmd("b", kExpectAny, 2, 400));  // clock went backwards
  commands.push_back(append_cmd("a", 1, 1, 600));            // fails: wrong version
  commands.push_back(encode_delete_command(CommandType::kDeleteStream, "b", kExpectAny));
  commands.push_back(append_cmd("b", kExpectNoStream, 1, 700));
  commands.push_back(encode_save_snapshot_command(800, Snapshot{"a", 2, "{}", "", 0}));
  commands.push_back(encode_set_member_address_command(2, "127.0.0.1:2113"));
  std::string digests[2];
  uint64_t state_digests[2];
  for (int replica = 0; replica < 2; ++replica) {
    auto db = open_db(dir_.sub("r" + std::to_string(replica)));
    StateMachine sm(*db, replica == 0 ? 0 : 100);  // with and without head cache
    ASSERT_TRUE(sm.load().is_ok());
    uint64_t index = 0;
    // Replica 0 commits per command, replica 1 in one batch: same result.
    if (replica == 0) {
      for (auto& c : commands) {
        ApplyBatch b = sm.begin();
        sm.apply(c, ++index, b);
        ASSERT_TRUE(sm.commit(b, false).is_ok());
      }
    } else {
      ApplyBatch b = sm.begin();
      for (auto& c : commands) sm.apply(c, ++index, b);
      ASSERT_TRUE(sm.commit(b, false).is_ok());
    }
    digests[replica] = digest(*db);
    state_digests[replica] = sm.committed().digest;
  }
  EXPECT_FALSE(digests[0].empty());
  EXPECT_EQ(digests[0], digests[1]);
  EXPECT_NE(state_digests[0], 0u);
  EXPECT_EQ(state_digests[0], state_digests[1]);
}

// Pipelining (ReplicaStateMachine writes a turn's batch on a pool thread while the next turn
// stages on top of it): a batch begun after a parent still being written must see everything
// the parent staged — stream heads, client event ids, events for conditions, subscriptions,
// the member directory — and the store must end byte-identical to one-command-per-commit, with
// every command answered the same. Tried at every split point and in every phase of the
// parent's write (child applied before the write, between write and publish, after publish).
TEST_F(StateMachineTest, BatchStagedOnAParentBeingWrittenSeesItsState) {
  auto id = [](uint8_t n) {
    Uuid u;
    u.bytes.fill(0);
    u.bytes[0] = 0x01;
    u.bytes[6] = 0x70;  // version 7
    u.bytes[15] = n;
    return u;
  };
  auto append = [&](const std::string& stream, ExpectedVersion expected, std::vector<uint8_t> ids,
                    std::string type = "T", std::optional<AppendCondition> cond = std::nullopt) {
    std::vector<StreamAppend> parts(1);
    parts[0].stream_id = stream;
    parts[0].expected = expected;
    for (uint8_t n : ids) {
      NewEvent e;
      e.event_id = id(n);
      e.event_type = type;
      e.data = "{}";
      e.tags = {"tag-" + stream};
      parts[0].events.push_back(std::move(e));
    }
    return encode_append_command(1000 + ids.front(), parts, cond);
  };
  AppendCondition no_later_u{{QueryItem{{"U"}, {}}}, 2};
  Subscription sub;
  sub.key = "0123456789abcdef0123456789abcdef";
  sub.type = SubscriptionType::kEventType;
  sub.selector = "T";
  sub.name = "n";
  const std::vector<std::string> commands = {
      append("a", kExpectNoStream, {1, 2}),
      encode_set_member_address_command(1, "127.0.0.1:1"),
      encode_create_subscription_command(900, sub),
      append("b", kExpectNoStream, {3}, "U"),
      append("a", 1, {4}),                       // needs a's head from before
      append("a", kExpectNoStream, {1, 2}),      // idempotent retry of the first append
      append("c", kExpectAny, {5}, "T", no_later_u),  // fails: b's U event is after position 2
      encode_set_member_address_command(2, "127.0.0.1:2"),
      encode_create_subscription_command(950, sub),   // exists already
      encode_delete_command(CommandType::kDeleteStream, "b", 0),
      append("b", kExpectNoStream, {6}),
      encode_delete_subscription_command(sub.key),
      append("a", 2, {7}),
  };
  auto describe = [](const CommandResult& r) {
    std::string out = std::string(error_code_name(r.status.code()));
    for (const auto& a : r.appends) {
      out += " " + a.stream_id + "@" + std::to_string(a.first_version) + "-" +
             std::to_string(a.last_version) + "/" + std::to_string(a.position);
    }
    return out;
  };

  // Reference: one command per commit.
  std::vector<std::string> expected_answers;
  std::string expected_dump;
  {
    auto db = open_db(dir_.sub("reference"));
    StateMachine sm(*db, 100);
    ASSERT_TRUE(sm.load().is_ok());
    for (size_t i = 0; i < commands.size(); ++i) {
      ApplyBatch b = sm.begin();
      expected_answers.push_back(describe(sm.apply(commands[i], i + 1, b)));
      ASSERT_TRUE(sm.commit(b, false).is_ok());
    }
    expected_dump = digest(*db);
  }
  ASSERT_EQ(expected_answers[4], "Ok a@2-2/4");
  ASSERT_EQ(expected_answers[5], "Ok a@0-1/2");
  ASSERT_EQ(expected_answers[6], std::string(error_code_name(ErrorCode::kConditionFailed)));

  enum Phase { kBeforeWrite, kAfterWrite, kAfterPublish };
  for (size_t split = 1; split < commands.size(); ++split) {
    for (Phase phase : {kBeforeWrite, kAfterWrite, kAfterPublish}) {
      SCOPED_TRACE("split " + std::to_string(split) + ", phase " + std::to_string(phase));
      auto db = open_db(dir_.sub("p" + std::to_string(split) + "-" + std::to_string(phase)));
      StateMachine sm(*db, 100);
      ASSERT_TRUE(sm.load().is_ok());
      std::vector<std::string> answers;
      ApplyBatch parent = sm.begin();
      for (size_t i = 0; i < split; ++i) answers.push_back(describe(sm.apply(commands[i], i + 1, parent)));
      ApplyBatch child = sm.begin_after(parent);
      auto apply_child = [&] {
        for (size_t i = split; i < commands.size(); ++i) answers.push_back(describe(sm.apply(commands[i], i + 1, child)));
      };
      if (phase == kBeforeWrite) apply_child();
      ASSERT_TRUE(sm.write(parent, false).is_ok());
      if (phase == kAfterWrite) apply_child();
      sm.publish(parent, &child);
      if (phase == kAfterPublish) apply_child();
      ASSERT_TRUE(sm.write(child, false).is_ok());
      sm.publish(child, nullptr);
      EXPECT_EQ(answers, expected_answers);
      EXPECT_EQ(digest(*db), expected_dump);
      EXPECT_EQ(sm.committed().applied_index, commands.size());
      EXPECT_EQ(sm.members().size(), 2u);
    }
  }
}

TEST_F(StateMachineTest, DigestDependsOnEveryCommandAndItsIndex) {
  auto run = [&](const std::string& name, std::vector<std::pair<uint64_t, std::string>> commands) {
    auto db = open_db(dir_.sub(name));
    StateMachine sm(*db, 100);
    EXPECT_TRUE(sm.load().is_ok());
    ApplyBatch b = sm.begin();
    for (auto& [index, c] : commands) sm.apply(c, index, b);
    EXPECT_TRUE(sm.commit(b, false).is_ok());
    return sm.committed().digest;
  };
  std::string a = append_cmd("a", kExpectAny, 1), b = append_cmd("b", kExpectAny, 1);
  const uint64_t base = run("x", {{1, a}, {2, b}});
  EXPECT_EQ(base, run("y", {{1, a}, {2, b}}));
  EXPECT_NE(base, run("z", {{1, b}, {2, a}}));  // order
  EXPECT_NE(base, run("w", {{1, a}, {3, b}}));  // index
}

TEST_F(StateMachineTest, MemberDirectoryAndReplicatedFlagSurviveReopen) {
  {
    auto db = open_db(dir_.sub("a"));
    StateMachine sm(*db, 100);
    ASSERT_TRUE(sm.load().is_ok());
    ApplyBatch b = sm.begin();
    std::string c1 = encode_set_member_address_command(1, "h1:2113"),
                c2 = encode_set_member_address_command(2, "h2:2113"),
                c3 = encode_set_member_address_command(1, ""), a = append_cmd("s", kExpectAny, 2);
    ASSERT_TRUE(sm.apply(c1, 1, b).status.is_ok());
    ASSERT_TRUE(sm.apply(c2, 2, b).status.is_ok());
    ASSERT_TRUE(sm.apply(c3, 3, b).status.is_ok());  // forgets node 1
    ASSERT_TRUE(sm.apply(a, 4, b).status.is_ok());
    EXPECT_TRUE(b.members_changed());
    EXPECT_TRUE(sm.members().empty()) << "nothing is visible before the commit";
    ASSERT_TRUE(sm.commit(b, false).is_ok());
    EXPECT_EQ(sm.members(), (std::map<uint64_t, std::string>{{2, "h2:2113"}}));
    ASSERT_TRUE(sm.mark_replicated(/*rebase_index=*/true).is_ok());
    EXPECT_EQ(sm.committed().applied_index, 0u);
  }
  auto db = open_db(dir_.sub("a"));
  StateMachine sm(*db, 100);
  ASSERT_TRUE(sm.load().is_ok());
  EXPECT_EQ(sm.members(), (std::map<uint64_t, std::string>{{2, "h2:2113"}}));
  EXPECT_TRUE(sm.committed().replicated);
  EXPECT_EQ(sm.committed().applied_index, 0u);
  EXPECT_EQ(sm.committed().last_position, 2u) << "rebasing keeps positions";
}

TEST_F(StateMachineTest, CreatedTimeNeverGoesBackwards) {
  auto db = open_db(dir_.sub("a"));
  StateMachine sm(*db, 100);
  ASSERT_TRUE(sm.load().is_ok());
  ApplyBatch b = sm.begin();
  std::string c1 = append_cmd("s", kExpectAny, 1, 5000), c2 = append_cmd("s", kExpectAny, 1, 3000);
  auto r1 = sm.apply(c1, 1, b);
  auto r2 = sm.apply(c2, 2, b);
  EXPECT_EQ(r1.appends[0].created_us, 5000);
  EXPECT_EQ(r2.appends[0].created_us, 5000);
}

TEST_F(StateMachineTest, GarbageCommandIsRefusedAndConsumesItsIndex) {
  auto db = open_db(dir_.sub("a"));
  StateMachine sm(*db, 100);
  ASSERT_TRUE(sm.load().is_ok());
  ApplyBatch b = sm.begin();
  auto r = sm.apply("\x01\x01garbage", 7, b);
  EXPECT_EQ(r.status.code(), ErrorCode::kCorruption);
  ASSERT_TRUE(sm.commit(b, true).is_ok());
  EXPECT_EQ(sm.committed().applied_index, 7u);
  EXPECT_EQ(sm.committed().last_position, 0u);
}

// Found by the storage simulation (tests/unit/store/storage_simulation_test.cc; seed 7 of its
// first schedule): replicas fold commands into batches differently, so a condition check that
// looked at the batch's staged events before RocksDB named a different position on each
// replica. It names the lowest matching position now, however the commands were batched, and
// whatever phase a parent batch being written is in (pipelining).
TEST_F(StateMachineTest, AFailedConditionNamesTheSamePositionWhateverTheBatching) {
  auto typed_append = [](const std::string& type) {
    std::vector<StreamAppend> parts(1);
    parts[0].stream_id = "s-" + type;
    NewEvent e;
    e.event_id = Uuid::v7();
    e.event_type = type;
    e.data = "{}";
    parts[0].events.push_back(std::move(e));
    return encode_append_command(1000, parts, std::nullopt);
  };
  auto conditional = [](std::vector<std::string> types) {
    std::vector<StreamAppend> parts(1);
    parts[0].stream_id = "c";
    NewEvent e;
    e.event_id = Uuid::v7();
    e.event_type = "C";
    e.data = "{}";
    parts[0].events.push_back(std::move(e));
    AppendCondition cond;
    cond.items.push_back(QueryItem{std::move(types), {}});
    return encode_append_command(1000, parts, cond);
  };
  // Position 1 is a T, position 2 a U, then: T or U after 0 (fails at 1), T or U after 0 listed
  // the other way round (at 1), U after 0 (at 2), T after 0 (at 1).
  const std::vector<std::string> commands = {typed_append("T"),     typed_append("U"),
                                             conditional({"T"}),    conditional({"U", "T"}),
                                             conditional({"U"}),    conditional({"T", "U"})};
  auto answer = [](const CommandResult& r) { return r.status.to_string(); };
  auto expected_at = [](int p) {
    return "ConditionFailed: an event matching the append condition exists at position " +
           std::to_string(p) + " (after 0)";
  };

  // Reference: one batch per command.
  std::vector<std::string> reference;
  {
    auto db = open_db(dir_.sub("reference"));
    StateMachine sm(*db, 100);
    ASSERT_TRUE(sm.load().is_ok());
    for (size_t i = 0; i < commands.size(); ++i) {
      ApplyBatch b = sm.begin();
      reference.push_back(answer(sm.apply(commands[i], i + 1, b)));
      ASSERT_TRUE(sm.commit(b, false).is_ok());
    }
  }
  EXPECT_EQ(reference[2], expected_at(1));
  EXPECT_EQ(reference[3], expected_at(1));
  EXPECT_EQ(reference[4], expected_at(2));
  EXPECT_EQ(reference[5], expected_at(1));

  // The first `committed` commands committed one by one; the next up to `split` in a parent
  // batch; the rest in a child batch staged on it before the parent's write, after it, or after
  // it was published (without a parent: one batch).
  enum Phase { kOneBatch, kBeforeWrite, kAfterWrite, kAfterPublish };
  int dir = 0;
  for (size_t committed = 0; committed <= 2; ++committed) {
    for (size_t split = committed; split <= 2; ++split) {
      for (Phase phase : {kOneBatch, kBeforeWrite, kAfterWrite, kAfterPublish}) {
        if (phase == kOneBatch ? split != committed : split == committed) continue;
        SCOPED_TRACE("committed " + std::to_string(committed) + ", split " +
                     std::to_string(split) + ", phase " + std::to_string(phase));
        auto db = open_db(dir_.sub("v" + std::to_string(dir++)));
        StateMachine sm(*db, 100);
        ASSERT_TRUE(sm.load().is_ok());
        std::vector<std::string> answers;
        for (size_t i = 0; i < committed; ++i) {
          ApplyBatch b = sm.begin();
          answers.push_back(answer(sm.apply(commands[i], i + 1, b)));
          ASSERT_TRUE(sm.commit(b, false).is_ok());
        }
        auto apply_range = [&](size_t from, size_t to, ApplyBatch& b) {
          for (size_t i = from; i < to; ++i) {
            answers.push_back(answer(sm.apply(commands[i], i + 1, b)));
          }
        };
        if (phase == kOneBatch) {
          ApplyBatch b = sm.begin();
          apply_range(committed, commands.size(), b);
          ASSERT_TRUE(sm.commit(b, false).is_ok());
        } else {
          ApplyBatch parent = sm.begin();
          apply_range(committed, split, parent);
          ApplyBatch child = sm.begin_after(parent);
          if (phase == kBeforeWrite) apply_range(split, commands.size(), child);
          ASSERT_TRUE(sm.write(parent, false).is_ok());
          if (phase == kAfterWrite) apply_range(split, commands.size(), child);
          sm.publish(parent, &child);
          if (phase == kAfterPublish) apply_range(split, commands.size(), child);
          ASSERT_TRUE(sm.write(child, false).is_ok());
          sm.publish(child, nullptr);
        }
        EXPECT_EQ(answers, reference);
      }
    }
  }
}

// Idempotent retries must be recognised whether their ids are still in the state machine's
// window of recent ids, have left it (covered by its floor), or were stored before a reopen.
TEST_F(StateMachineTest, RetriesAreRecognisedAfterTheirIdsLeftTheRecentWindowAndAfterReopen) {
  std::mt19937_64 rng(3);
  auto random_id = [&rng] {  // random order: ids below the largest stored keep arriving
    Uuid u;
    const uint64_t a = rng(), b = rng();
    std::memcpy(u.bytes.data(), &a, 8);
    std::memcpy(u.bytes.data() + 8, &b, 8);
    return u;
  };
  auto command = [&](const std::string& stream, ExpectedVersion expected) {
    std::vector<StreamAppend> parts(1);
    parts[0].stream_id = stream;
    parts[0].expected = expected;
    for (int i = 0; i < 1000; ++i) {
      NewEvent e;
      e.event_id = random_id();
      e.event_type = "T";
      e.data = "{}";
      parts[0].events.push_back(std::move(e));
    }
    return encode_append_command(1000, parts, std::nullopt);
  };
  // More ids than the window holds (RecentIds::kDefaultCapacity).
  const int kCommands = static_cast<int>(RecentIds::kDefaultCapacity / 1000) + 6;
  std::vector<std::string> commands;
  std::vector<AppendResult> results;
  auto db = open_db(dir_.sub("a"));
  {
    StateMachine sm(*db, 100);
    ASSERT_TRUE(sm.load().is_ok());
    for (int i = 0; i < kCommands; ++i) {
      commands.push_back(command("s-" + std::to_string(i), kExpectNoStream));
      ApplyBatch b = sm.begin();
      auto r = sm.apply(commands.back(), static_cast<uint64_t>(i + 1), b);
      ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
      results.push_back(r.appends.at(0));
      ASSERT_TRUE(sm.commit(b, false).is_ok());
    }
    uint64_t index = static_cast<uint64_t>(kCommands);
    for (int i : {0, kCommands / 2, kCommands - 1}) {  // left the window, and still in it
      ApplyBatch b = sm.begin();
      auto r = sm.apply(commands[static_cast<size_t>(i)], ++index, b);
      ASSERT_TRUE(r.status.is_ok()) << i << ": " << r.status.to_string();
      EXPECT_EQ(r.appends.at(0).position, results[static_cast<size_t>(i)].position) << i;
      ASSERT_TRUE(sm.commit(b, false).is_ok());
      EXPECT_EQ(sm.committed().last_position, results.back().position) << "a retry wrote events";
    }
  }
  StateMachine reopened(*db, 100);
  ASSERT_TRUE(reopened.load().is_ok());
  for (int i : {0, kCommands - 1}) {
    ApplyBatch b = reopened.begin();
    auto r = reopened.apply(commands[static_cast<size_t>(i)], 1000 + static_cast<uint64_t>(i), b);
    ASSERT_TRUE(r.status.is_ok()) << i << ": " << r.status.to_string();
    EXPECT_EQ(r.appends.at(0).position, results[static_cast<size_t>(i)].position) << i;
    ASSERT_TRUE(reopened.commit(b, false).is_ok());
  }
  EXPECT_EQ(reopened.committed().last_position, results.back().position);
}

// The state machine refuses an id given twice in one command itself (a command may come from
// any proposer), naming the first id that repeats, across the parts of a multi-stream append.
TEST_F(StateMachineTest, AnIdGivenTwiceInOneCommandIsRefusedByName) {
  auto db = open_db(dir_.sub("a"));
  StateMachine sm(*db, 100);
  ASSERT_TRUE(sm.load().is_ok());
  const Uuid a = Uuid::v7(), b = Uuid::v7(), c = Uuid::v7();
  auto part = [](std::string stream, std::vector<Uuid> ids) {
    StreamAppend p;
    p.stream_id = std::move(stream);
    p.expected = kExpectAny;
    for (const Uuid& id : ids) {
      NewEvent e;
      e.event_id = id;
      e.event_type = "T";
      e.data = "{}";
      p.events.push_back(std::move(e));
    }
    return p;
  };
  std::vector<StreamAppend> two_parts{part("x", {a, b}), part("y", {c, b})};
  std::vector<StreamAppend> one_part{part("x", {c, a, c, a})};
  const std::string across = encode_append_command(1000, two_parts, std::nullopt);
  const std::string within = encode_append_command(1000, one_part, std::nullopt);
  ApplyBatch batch = sm.begin();
  auto r = sm.apply(across, 1, batch);
  EXPECT_EQ(r.status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status.message(), "event id " + b.to_string() + " appears twice in one append");
  r = sm.apply(within, 2, batch);
  EXPECT_EQ(r.status.message(), "event id " + c.to_string() + " appears twice in one append");
  ASSERT_TRUE(sm.commit(batch, true).is_ok());
  EXPECT_EQ(sm.committed().last_position, 0u) << "a refused command wrote events";
}

}  // namespace
}  // namespace reckon::storage
