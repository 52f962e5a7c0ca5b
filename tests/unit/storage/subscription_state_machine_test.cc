// The persistent-subscription commands (types 9-13) through StateMachine::apply on a real
// RocksDB, plus their encodings and the stored record's (old ones included).
#include <gtest/gtest.h>
#include <rocksdb/iterator.h>

#include <memory>

#include "storage/command.h"
#include "storage/records.h"
#include "storage/state_machine.h"
#include "support/db_dump.h"
#include "storage/subscription_reader.h"
#include "support/temp_dir.h"

namespace reckon::storage {
namespace {

const std::string kKeyA = "0123456789abcdef0123456789abcdef";
const std::string kKeyB = "fedcba9876543210fedcba9876543210";

Subscription sub(const std::string& key, const std::string& name = "n", uint32_t pool = 1, Position start = 0) {
  Subscription s;
  s.key = key;
  s.type = SubscriptionType::kEventType;
  s.selector = "T";
  s.name = name;
  s.pool_size = pool;
  s.start_from = start;
  return s;
}

ParkedEvent parked(Position p, std::string reason = "nack", uint32_t attempts = 3) {
  ParkedEvent e;
  e.position = p;
  e.reason = std::move(reason);
  e.attempts = attempts;
  return e;
}

class SubscriptionStateMachineTest : public ::testing::Test {
 protected:
  void SetUp() override { open("a"); }

  void open(const std::string& name) {
    StoreOptions o;
    o.data_dir = dir_.sub(name);
    auto db = Database::open(o);
    ASSERT_TRUE(db) << db.status().to_string();
    db_ = std::move(db).value();
    sm_ = std::make_unique<StateMachine>(*db_, 100);
    ASSERT_TRUE(sm_->load().is_ok());
    reader_ = std::make_unique<SubscriptionReader>(*db_);
  }

  // Applies one command in its own batch and commits it.
  CommandResult run(const std::string& command) {
    ApplyBatch b = sm_->begin();
    CommandResult r = sm_->apply(command, ++index_, b);
    EXPECT_TRUE(sm_->commit(b, false).is_ok());
    return r;
  }

  Subscription get(const std::string& key) {
    auto r = reader_->get(key);
    EXPECT_TRUE(r) << r.status().to_string();
    EXPECT_TRUE(r && *r) << "no subscription " << key;
    return r && *r ? **r : Subscription{};
  }

  std::vector<ParkedEvent> parked_of(const std::string& key) {
    auto r = reader_->list_parked(key, ListParkedOptions{});
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : std::vector<ParkedEvent>{};
  }

  static std::string append_cmd(int n) {
    std::vector<StreamAppend> parts(1);
    parts[0].stream_id = "s";
    for (int i = 0; i < n; ++i) {
      NewEvent e;
      e.event_type = "T";
      e.data = "{}";
      parts[0].events.push_back(std::move(e));
    }
    return encode_append_command(1, parts, std::nullopt);
  }

  static std::string digest(Database& db) { return testing::dump_all_column_families(db); }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<StateMachine> sm_;
  std::unique_ptr<SubscriptionReader> reader_;
  uint64_t index_ = 0;
};

TEST(SubscriptionCommandTest, EncodingsRoundTrip) {
  Subscription s = sub(kKeyA, "name", 4, 17);
  s.type = SubscriptionType::kTags;
  s.selector = R"({"any":["a"]})";
  s.options = SubscriptionOptions{DeliveryStrategy::kPinned, 5, 1234, 7, DeliveryOrdering::kNone};
  DecodedCommand c;
  ASSERT_TRUE(decode_command(encode_create_subscription_command(99, s), c).is_ok());
  EXPECT_EQ(c.type, CommandType::kCreateSubscription);
  s.created_us = 99;
  EXPECT_EQ(c.subscription, s);

  // Decoded views point into the command bytes: keep them alive.
  const std::string checkpoint = encode_checkpoint_command({{kKeyA, 5}, {kKeyB, 1ull << 40}});
  DecodedCommand d;
  ASSERT_TRUE(decode_command(checkpoint, d).is_ok());
  ASSERT_EQ(d.checkpoints.size(), 2u);
  EXPECT_EQ(d.checkpoints[1].first, kKeyB);
  EXPECT_EQ(d.checkpoints[1].second, 1ull << 40);

  const std::string park = encode_park_command(7, kKeyA, {parked(3, "boom", 2)});
  DecodedCommand p;
  ASSERT_TRUE(decode_command(park, p).is_ok());
  ASSERT_EQ(p.parked.size(), 1u);
  EXPECT_EQ(p.subscription_key, kKeyA);
  EXPECT_EQ(p.parked[0], (ParkedEvent{3, "boom", 2, 7}));

  DecodedCommand u;
  ASSERT_TRUE(decode_command(encode_unpark_command(kKeyA, {1, 9}), u).is_ok());
  EXPECT_EQ(u.positions, (std::vector<Position>{1, 9}));

  const std::string delete_command = encode_delete_subscription_command(kKeyB);
  DecodedCommand del;
  ASSERT_TRUE(decode_command(delete_command, del).is_ok());
  EXPECT_EQ(del.subscription_key, kKeyB);
}

TEST(SubscriptionCommandTest, TruncatedOrBadCommandsAreCorruption) {
  const std::string full = encode_create_subscription_command(1, sub(kKeyA));
  // Without its last byte (the ordering) it is a command written before the field existed.
  for (size_t n = 2; n + 1 < full.size(); ++n) {
    DecodedCommand c;
    EXPECT_EQ(decode_command(full.substr(0, n), c).code(), ErrorCode::kCorruption) << n;
  }
  DecodedCommand c;
  EXPECT_EQ(decode_command(full + "x", c).code(), ErrorCode::kCorruption);
  std::string bad_ordering = full;
  bad_ordering.back() = 2;
  EXPECT_EQ(decode_command(bad_ordering, c).code(), ErrorCode::kCorruption);
  std::string bad_type = full;
  // header(2) + svarint(1) + key(1 + 32) -> the type byte
  bad_type[2 + 1 + 33] = 9;
  EXPECT_EQ(decode_command(bad_type, c).code(), ErrorCode::kCorruption);
}

// A create command as written before `ordering` existed: the options end at max_in_flight.
TEST(SubscriptionCommandTest, CreateWithoutOrderingReadsAsPerStream) {
  Subscription s = sub(kKeyA);
  s.options.ordering = DeliveryOrdering::kNone;
  std::string old = encode_create_subscription_command(5, s);
  old.pop_back();
  DecodedCommand c;
  ASSERT_TRUE(decode_command(old, c).is_ok());
  EXPECT_EQ(c.subscription.options.ordering, DeliveryOrdering::kPerStream);
  EXPECT_EQ(c.subscription.options.max_in_flight, s.options.max_in_flight);
}

TEST(SubscriptionRecordTest, RoundTripsEveryOption) {
  for (auto ordering : {DeliveryOrdering::kPerStream, DeliveryOrdering::kNone}) {
    Subscription s = sub("", "name", 3, 11);  // the key is not in the value
    s.checkpoint = 1ull << 40;
    s.created_us = -7;
    s.options = SubscriptionOptions{DeliveryStrategy::kSingle, 4, 900, 12, ordering};
    std::string bytes;
    encode_subscription(bytes, s);
    Subscription back;
    ASSERT_TRUE(decode_subscription(bytes, back).is_ok());
    EXPECT_EQ(back, s);
    for (size_t n = 0; n + 1 < bytes.size(); ++n) {
      EXPECT_EQ(decode_subscription(bytes.substr(0, n), back).code(), ErrorCode::kCorruption) << n;
    }
    EXPECT_EQ(decode_subscription(bytes + "x", back).code(), ErrorCode::kCorruption);
  }
}

// A record stored before `ordering` existed, byte for byte as that version wrote it.
TEST(SubscriptionRecordTest, OldRecordsWithoutOrderingReadAsPerStream) {
  // format 1, type 2 (event_type), selector "T", name "old", pool_size 2, start_from 5,
  // checkpoint 9, created_us 100 (zigzag varint C8 01), strategy 2 (pinned), max_retries 3,
  // message_timeout_ms 1000 (varint E8 07), max_in_flight 50.
  const char kOld[] = "\x01\x02\x01T\x03old\x02\x05\x09\xC8\x01\x02\x03\xE8\x07\x32";
  const std::string old(kOld, sizeof(kOld) - 1);
  Subscription s;
  ASSERT_TRUE(decode_subscription(old, s).is_ok());
  EXPECT_EQ(s.name, "old");
  EXPECT_EQ(s.selector, "T");
  EXPECT_EQ(s.pool_size, 2u);
  EXPECT_EQ(s.checkpoint, 9u);
  EXPECT_EQ(s.created_us, 100);
  EXPECT_EQ(s.options, (SubscriptionOptions{DeliveryStrategy::kPinned, 3, 1000, 50, DeliveryOrdering::kPerStream}));
  // Re-encoded, it gains the field (and nothing else changes).
  std::string again;
  encode_subscription(again, s);
  EXPECT_EQ(again, old + std::string(1, '\0'));
}

TEST_F(SubscriptionStateMachineTest, CreateStoresTheRecordWithCheckpointAtStartFrom) {
  auto r = run(encode_create_subscription_command(555, sub(kKeyA, "orders", 3, 42)));
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  ASSERT_TRUE(r.subscription);
  EXPECT_TRUE(r.subscription_created);
  Subscription s = get(kKeyA);
  EXPECT_EQ(s, *r.subscription);
  EXPECT_EQ(s.name, "orders");
  EXPECT_EQ(s.pool_size, 3u);
  EXPECT_EQ(s.start_from, 42u);
  EXPECT_EQ(s.checkpoint, 42u);
  EXPECT_EQ(s.created_us, 555);
}

TEST_F(SubscriptionStateMachineTest, StartFromEndIsTheLastPositionAtApply) {
  ASSERT_TRUE(run(append_cmd(4)).status.is_ok());
  auto r = run(encode_create_subscription_command(1, sub(kKeyA, "n", 1, kEndPosition)));
  ASSERT_TRUE(r.status.is_ok());
  EXPECT_EQ(get(kKeyA).checkpoint, 4u);
  EXPECT_EQ(get(kKeyA).start_from, kEndPosition);
}

TEST_F(SubscriptionStateMachineTest, CreatingTwiceReattachesToTheSameRecord) {
  auto first = run(encode_create_subscription_command(100, sub(kKeyA)));
  ASSERT_TRUE(first.status.is_ok());
  ASSERT_TRUE(run(encode_checkpoint_command({{kKeyA, 9}})).status.is_ok());
  auto again = run(encode_create_subscription_command(200, sub(kKeyA)));
  ASSERT_TRUE(again.status.is_ok());
  EXPECT_FALSE(again.subscription_created);
  ASSERT_TRUE(again.subscription);
  EXPECT_EQ(again.subscription->created_us, 100);  // the original record
  EXPECT_EQ(again.subscription->checkpoint, 9u);
  EXPECT_EQ(*again.subscription, get(kKeyA));
}

TEST_F(SubscriptionStateMachineTest, ReattachUpdatesPoolSizeAndOptionsOnly) {
  ASSERT_TRUE(run(encode_create_subscription_command(100, sub(kKeyA, "n", 1, 5))).status.is_ok());
  Subscription changed = sub(kKeyA, "n", 8, 77);
  changed.options.strategy = DeliveryStrategy::kSingle;
  changed.options.max_in_flight = 3;
  auto r = run(encode_create_subscription_command(200, changed));
  ASSERT_TRUE(r.status.is_ok());
  Subscription s = get(kKeyA);
  EXPECT_EQ(s.pool_size, 8u);
  EXPECT_EQ(s.options, changed.options);
  EXPECT_EQ(s.start_from, 5u);
  EXPECT_EQ(s.checkpoint, 5u);
  EXPECT_EQ(s.created_us, 100);
}

TEST_F(SubscriptionStateMachineTest, AKeyTakenByADifferentSubscriptionIsRefused) {
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyA, "one"))).status.is_ok());
  auto r = run(encode_create_subscription_command(1, sub(kKeyA, "other")));
  EXPECT_EQ(r.status.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(get(kKeyA).name, "one");
}

TEST_F(SubscriptionStateMachineTest, CreateWithoutKeyOrPoolStagesNothing) {
  auto r = run(encode_create_subscription_command(1, sub("")));
  EXPECT_EQ(r.status.code(), ErrorCode::kInvalidArgument);
  r = run(encode_create_subscription_command(1, sub(kKeyA, "n", 0)));
  EXPECT_EQ(r.status.code(), ErrorCode::kInvalidArgument);
  auto list = reader_->list();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(sm_->committed().applied_index, 2u);  // failed commands still consume their index
}

TEST_F(SubscriptionStateMachineTest, CheckpointNeverGoesBackwards) {
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyA))).status.is_ok());
  ASSERT_TRUE(run(encode_checkpoint_command({{kKeyA, 10}})).status.is_ok());
  ASSERT_TRUE(run(encode_checkpoint_command({{kKeyA, 7}})).status.is_ok());
  EXPECT_EQ(get(kKeyA).checkpoint, 10u);
  ASSERT_TRUE(run(encode_checkpoint_command({{kKeyA, 10}})).status.is_ok());
  EXPECT_EQ(get(kKeyA).checkpoint, 10u);
  ASSERT_TRUE(run(encode_checkpoint_command({{kKeyA, 11}})).status.is_ok());
  EXPECT_EQ(get(kKeyA).checkpoint, 11u);
}

TEST_F(SubscriptionStateMachineTest, OneCommandCarriesCheckpointsOfManySubscriptions) {
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyA, "a"))).status.is_ok());
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyB, "b", 1, 50))).status.is_ok());
  const std::string unknown = "ffffffffffffffffffffffffffffffff";
  auto r = run(encode_checkpoint_command({{kKeyA, 3}, {unknown, 99}, {kKeyB, 20}, {kKeyA, 8}, {kKeyA, 5}}));
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(get(kKeyA).checkpoint, 8u);   // the highest of the entries
  EXPECT_EQ(get(kKeyB).checkpoint, 50u);  // below start_from: unchanged
  auto missing = reader_->get(unknown);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);  // unknown keys are ignored, not created
}

TEST_F(SubscriptionStateMachineTest, CommandsInOneBatchSeeEachOther) {
  ApplyBatch b = sm_->begin();
  std::string create = encode_create_subscription_command(1, sub(kKeyA));
  std::string cp1 = encode_checkpoint_command({{kKeyA, 4}});
  std::string cp2 = encode_checkpoint_command({{kKeyA, 2}});
  std::string park = encode_park_command(5, kKeyA, {parked(3)});
  std::string del = encode_delete_subscription_command(kKeyA);
  std::string park_after_delete = encode_park_command(6, kKeyA, {parked(4)});
  std::string recreate = encode_create_subscription_command(9, sub(kKeyA));
  EXPECT_TRUE(sm_->apply(create, 1, b).status.is_ok());
  EXPECT_TRUE(sm_->apply(cp1, 2, b).status.is_ok());
  EXPECT_TRUE(sm_->apply(cp2, 3, b).status.is_ok());
  EXPECT_TRUE(sm_->apply(park, 4, b).status.is_ok());
  EXPECT_TRUE(sm_->apply(del, 5, b).status.is_ok());
  EXPECT_EQ(sm_->apply(park_after_delete, 6, b).status.code(), ErrorCode::kNotFound);
  auto r = sm_->apply(recreate, 7, b);
  ASSERT_TRUE(r.status.is_ok());
  EXPECT_TRUE(r.subscription_created);
  ASSERT_TRUE(sm_->commit(b, false).is_ok());
  Subscription s = get(kKeyA);
  EXPECT_EQ(s.created_us, 9);
  EXPECT_EQ(s.checkpoint, 0u);
  EXPECT_TRUE(parked_of(kKeyA).empty());
}

TEST_F(SubscriptionStateMachineTest, DeleteRemovesTheRecordAndItsParkedEventsOnly) {
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyA, "a"))).status.is_ok());
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyB, "b"))).status.is_ok());
  ASSERT_TRUE(run(encode_park_command(1, kKeyA, {parked(1), parked(2)})).status.is_ok());
  ASSERT_TRUE(run(encode_park_command(1, kKeyB, {parked(3)})).status.is_ok());
  ASSERT_TRUE(run(encode_delete_subscription_command(kKeyA)).status.is_ok());
  auto a = reader_->get(kKeyA);
  ASSERT_TRUE(a);
  EXPECT_FALSE(*a);
  EXPECT_EQ(reader_->list_parked(kKeyA, {}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(parked_of(kKeyB).size(), 1u);
  // Re-creating does not bring the old parked events back.
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyA, "a"))).status.is_ok());
  EXPECT_TRUE(parked_of(kKeyA).empty());
  EXPECT_EQ(run(encode_delete_subscription_command(kKeyB)).status.code(), ErrorCode::kOk);
  EXPECT_EQ(run(encode_delete_subscription_command(kKeyB)).status.code(), ErrorCode::kNotFound);
}

TEST_F(SubscriptionStateMachineTest, ParkListAndUnpark) {
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyA))).status.is_ok());
  ASSERT_TRUE(run(encode_park_command(70, kKeyA, {parked(9, "timeout", 5), parked(2, "nack", 3)})).status.is_ok());
  auto all = parked_of(kKeyA);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (ParkedEvent{2, "nack", 3, 70}));  // position order
  EXPECT_EQ(all[1], (ParkedEvent{9, "timeout", 5, 70}));
  // Parking again overwrites.
  ASSERT_TRUE(run(encode_park_command(80, kKeyA, {parked(2, "again", 6)})).status.is_ok());
  EXPECT_EQ(parked_of(kKeyA)[0], (ParkedEvent{2, "again", 6, 80}));
  // Paging.
  auto page = reader_->list_parked(kKeyA, ListParkedOptions{2, 10});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].position, 9u);
  page = reader_->list_parked(kKeyA, ListParkedOptions{0, 1});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->size(), 1u);
  // Unparking removes; positions not parked are ignored.
  ASSERT_TRUE(run(encode_unpark_command(kKeyA, {2, 100})).status.is_ok());
  all = parked_of(kKeyA);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].position, 9u);
}

TEST_F(SubscriptionStateMachineTest, ParkNeedsAnExistingSubscriptionAndPositions) {
  EXPECT_EQ(run(encode_park_command(1, kKeyA, {parked(1)})).status.code(), ErrorCode::kNotFound);
  EXPECT_EQ(run(encode_unpark_command(kKeyA, {1})).status.code(), ErrorCode::kNotFound);
  ASSERT_TRUE(run(encode_create_subscription_command(1, sub(kKeyA))).status.is_ok());
  EXPECT_EQ(run(encode_park_command(1, kKeyA, {parked(4), parked(0)})).status.code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(parked_of(kKeyA).empty());  // nothing of the failed command is stored
}

TEST_F(SubscriptionStateMachineTest, SameCommandsOnTwoFreshStoresGiveIdenticalState) {
  std::vector<std::string> commands = {
      encode_create_subscription_command(10, sub(kKeyA, "a", 2, kEndPosition)),
      append_cmd(3),
      encode_create_subscription_command(20, sub(kKeyB, "b", 1, kEndPosition)),
      encode_checkpoint_command({{kKeyA, 2}, {kKeyB, 1}}),
      encode_park_command(30, kKeyA, {parked(1), parked(3)}),
      encode_unpark_command(kKeyA, {1}),
      encode_create_subscription_command(40, sub(kKeyA, "a", 5, 0)),
      encode_delete_subscription_command(kKeyB),
  };
  std::vector<std::string> digests;
  for (const char* name : {"x", "y"}) {
    open(name);
    ApplyBatch b = sm_->begin();
    uint64_t index = 0;
    for (size_t i = 0; i < commands.size(); ++i) {
      EXPECT_TRUE(sm_->apply(commands[i], ++index, b).status.is_ok()) << i;
      if (i % 3 == 2) {  // a different batching must not matter either
        ASSERT_TRUE(sm_->commit(b, false).is_ok());
        b = sm_->begin();
      }
    }
    ASSERT_TRUE(sm_->commit(b, false).is_ok());
    auto list = reader_->list();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].checkpoint, 2u);
    EXPECT_EQ((*list)[0].pool_size, 5u);
    digests.push_back(digest(*db_));
    db_.reset();
  }
  EXPECT_EQ(digests[0], digests[1]);
}

}  // namespace
}  // namespace reckon::storage
