// Bulk state transfer (storage/state_transfer.h): a replica behind copies a sender's state
// chunk by chunk and ends with exactly the sender's bytes; corrupted, interrupted and refused
// transfers leave it marked as needing another catch-up, never running on a half state.
#include "storage/state_transfer.h"

#include <gtest/gtest.h>
#include <rocksdb/iterator.h>

#include <memory>

#include "storage/command.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/state_machine.h"
#include "support/temp_dir.h"

namespace reckon::storage {
namespace {

struct Replica {
  std::unique_ptr<Database> db;
  std::unique_ptr<StateMachine> sm;

  void open(const std::string& dir) {
    sm.reset();
    db.reset();
    StoreOptions o;
    o.data_dir = dir;
    auto d = Database::open(o);
    ASSERT_TRUE(d) << d.status().to_string();
    db = std::move(d).value();
    sm = std::make_unique<StateMachine>(*db, 100);
    ASSERT_TRUE(sm->load().is_ok());
  }
  CommandResult run(const std::string& command, uint64_t index) {
    ApplyBatch b = sm->begin();
    CommandResult r = sm->apply(command, index, b);
    EXPECT_TRUE(sm->commit(b, false).is_ok());
    return r;
  }
};

// Every key/value of every column family: equal strings = equal stores.
std::string dump(Database& db) {
  std::string out;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(
        db.db()->NewIterator(rocksdb::ReadOptions(), db.cf(Cf(i))));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out += std::to_string(i) + ":" + it->key().ToString() + "=" + it->value().ToString() + ";";
    }
  }
  return out;
}

std::string append_cmd(const std::string& stream, int n, int salt) {
  std::vector<StreamAppend> parts(1);
  parts[0].stream_id = stream;
  parts[0].expected = kExpectAny;
  for (int i = 0; i < n; ++i) {
    NewEvent e;
    e.event_type = "Type" + std::to_string((salt + i) % 3);
    e.data =
        "{\"i\":" + std::to_string(salt * 100 + i) + ",\"pad\":\"" + std::string(200, 'x') + "\"}";
    e.tags = {"tag-" + std::to_string(salt % 4)};
    parts[0].events.push_back(std::move(e));
  }
  return encode_append_command(1000 + salt, parts, std::nullopt);
}

Subscription subscription(const std::string& key) {
  Subscription s;
  s.key = key;
  s.type = SubscriptionType::kStream;
  s.selector = "orders-1";
  s.name = "group-" + key;
  return s;
}

// A history touching every column family, including state that is later removed.
std::vector<std::string> history(int appends) {
  std::vector<std::string> h;
  h.push_back(encode_set_member_address_command(1, "127.0.0.1:1"));
  h.push_back(encode_create_subscription_command(5, subscription(std::string(32, 'a'))));
  h.push_back(encode_create_subscription_command(5, subscription(std::string(32, 'b'))));
  for (int i = 0; i < appends; ++i) {
    h.push_back(append_cmd("orders-" + std::to_string(i % 7), 1 + i % 3, i));
    if (i == appends / 4) {
      h.push_back(encode_save_snapshot_command(7, Snapshot{"orders-1", 3, "snap", "", 0}));
      h.push_back(encode_save_snapshot_command(7, Snapshot{"orders-2", 2, "snap2", "", 0}));
      h.push_back(encode_park_command(8, std::string(32, 'a'),
                                      {ParkedEvent{2, "bad", 3, 0}, ParkedEvent{3, "bad", 3, 0}}));
    }
    if (i == appends * 3 / 4) {
      StreamMetadata m;
      m.max_count = 10;
      h.push_back(encode_set_metadata_command("orders-3", m));
      h.push_back(encode_truncate_command("orders-4", 2));
      h.push_back(encode_delete_command(CommandType::kDeleteStream, "orders-5", kExpectAny));
      h.push_back(encode_delete_snapshot_at_command("orders-1", 3));
      h.push_back(encode_delete_subscription_command(std::string(32, 'b')));
      h.push_back(encode_unpark_command(std::string(32, 'a'), {2}));
      h.push_back(encode_checkpoint_command({{std::string(32, 'a'), 17}}));
      h.push_back(encode_set_member_address_command(2, "127.0.0.1:2"));
      h.push_back(encode_set_member_address_command(1, ""));
    }
  }
  return h;
}

// Sends the chunks of one transfer from `sender` (`chunk_bytes` each, at most `max_chunks`) into
// `im`; returns the first error.
Status send_chunks(Database& sender, StateImporter& im, size_t chunk_bytes, size_t max_chunks) {
  StateExporter ex(sender, im.resume_after(), chunk_bytes);
  for (size_t n = 0; n < max_chunks; ++n) {
    auto chunk = ex.next();
    if (!chunk) return chunk.status();
    if (!*chunk) return Status::ok();
    RECKON_RETURN_IF_ERROR(im.accept(**chunk));
  }
  return Status::ok();
}

class StateTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    commands_ = history(400);
    sender_.open(dir_.sub("sender"));
    receiver_.open(dir_.sub("receiver"));
    behind_ = commands_.size() / 5;
    for (size_t i = 0; i < commands_.size(); ++i) {
      sender_.run(commands_[i], i + 1);
      if (i < behind_) receiver_.run(commands_[i], i + 1);
    }
  }

  Status transfer(StateImporter& im, size_t chunk_bytes, size_t max_chunks = SIZE_MAX) {
    return send_chunks(*sender_.db, im, chunk_bytes, max_chunks);
  }

  testing::TempDir dir_;
  std::vector<std::string> commands_;
  size_t behind_ = 0;
  Replica sender_, receiver_;
};

TEST_F(StateTransferTest, AReplicaBehindEndsWithTheSendersExactStateAndAppliesOnTop) {
  ASSERT_NE(dump(*sender_.db), dump(*receiver_.db));
  auto im = StateImporter::start(*receiver_.db, commands_.size());
  ASSERT_TRUE(im.is_ok());
  EXPECT_EQ(im->resume_after(), receiver_.sm->committed().last_position);
  ASSERT_TRUE(transfer(*im, 4096).is_ok());
  ASSERT_TRUE(im->finished());
  EXPECT_EQ(im->events_received(),
            sender_.sm->committed().last_position - receiver_.sm->committed().last_position);
  EXPECT_EQ(dump(*sender_.db), dump(*receiver_.db));

  ASSERT_TRUE(receiver_.sm->load().is_ok());
  EXPECT_FALSE(receiver_.sm->catch_up_pending());
  EXPECT_EQ(receiver_.sm->committed().applied_index, sender_.sm->committed().applied_index);
  EXPECT_EQ(receiver_.sm->committed().digest, sender_.sm->committed().digest);
  EXPECT_EQ(receiver_.sm->members(), sender_.sm->members());

  // Later commands apply on top identically: exact expected versions prove the receiver's
  // cached heads from before the transfer were dropped.
  const uint64_t next = commands_.size() + 1;
  std::string on_top = append_cmd("orders-6", 2, 9999);
  auto a = sender_.run(on_top, next);
  auto b = receiver_.run(on_top, next);
  ASSERT_TRUE(a.status.is_ok());
  ASSERT_TRUE(b.status.is_ok()) << b.status.to_string();
  EXPECT_EQ(a.appends[0].first_version, b.appends[0].first_version);
  std::vector<StreamAppend> exact(1);
  exact[0].stream_id = "orders-6";
  exact[0].expected = a.appends[0].last_version;
  exact[0].events.resize(1);
  exact[0].events[0].event_type = "T";
  exact[0].events[0].data = "{}";
  std::string exact_cmd = encode_append_command(5, exact, std::nullopt);
  EXPECT_TRUE(sender_.run(exact_cmd, next + 1).status.is_ok());
  EXPECT_TRUE(receiver_.run(exact_cmd, next + 1).status.is_ok());
  EXPECT_EQ(dump(*sender_.db), dump(*receiver_.db));
}

TEST_F(StateTransferTest, ACorruptedChunkIsRefusedAndLeavesTheStoreMarkedForAnotherCatchUp) {
  const SystemState before = receiver_.sm->committed();
  auto im = StateImporter::start(*receiver_.db, commands_.size());
  ASSERT_TRUE(im.is_ok());
  StateExporter ex(*sender_.db, im->resume_after(), 4096);
  Status failure;
  for (int n = 0;; ++n) {
    auto chunk = ex.next();
    ASSERT_TRUE(chunk.is_ok());
    ASSERT_TRUE(chunk->has_value());
    std::string bytes = **chunk;
    if (n == 3) bytes[bytes.size() / 2] ^= 0x20;
    failure = im->accept(bytes);
    if (!failure.is_ok()) break;
  }
  EXPECT_EQ(failure.code(), ErrorCode::kCorruption) << failure.to_string();
  EXPECT_FALSE(im->finished());
  EXPECT_FALSE(im->accept("anything").is_ok());  // the transfer is over

  // Reopened (as after a crash): the old state is still what is committed, and marked.
  receiver_.open(dir_.sub("receiver"));
  EXPECT_EQ(receiver_.sm->committed().applied_index, before.applied_index);
  EXPECT_TRUE(receiver_.sm->catch_up_pending());
  // The exporter refuses to serve a half state.
  StateExporter from_half(*receiver_.db, 0);
  EXPECT_EQ(from_half.next().code(), ErrorCode::kUnavailable);

  // A new transfer resumes and completes.
  auto again = StateImporter::start(*receiver_.db, commands_.size());
  ASSERT_TRUE(again.is_ok());
  EXPECT_GT(again->resume_after(), before.last_position);
  ASSERT_TRUE(transfer(*again, 4096).is_ok());
  ASSERT_TRUE(again->finished());
  ASSERT_TRUE(receiver_.sm->load().is_ok());
  EXPECT_FALSE(receiver_.sm->catch_up_pending());
  EXPECT_EQ(dump(*sender_.db), dump(*receiver_.db));
}

TEST_F(StateTransferTest, AnInterruptedTransferResumesAfterTheLastEventReceived) {
  const Position start = receiver_.sm->committed().last_position;
  auto first = StateImporter::start(*receiver_.db, commands_.size());
  ASSERT_TRUE(first.is_ok());
  ASSERT_TRUE(transfer(*first, 4096, /*max_chunks=*/4).is_ok());  // header + 3 event chunks
  ASSERT_FALSE(first->finished());
  const uint64_t got = first->events_received();
  ASSERT_GT(got, 0u);

  auto second = StateImporter::start(*receiver_.db, commands_.size());
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second->resume_after(), start + got);
  ASSERT_TRUE(transfer(*second, 4096).is_ok());
  ASSERT_TRUE(second->finished());
  EXPECT_EQ(got + second->events_received(), sender_.sm->committed().last_position - start);
  EXPECT_EQ(dump(*sender_.db), dump(*receiver_.db));
}

TEST_F(StateTransferTest, ASenderBehindTheNeededIndexIsRefusedBeforeAnythingIsWritten) {
  const std::string before = dump(*receiver_.db);
  auto im = StateImporter::start(*receiver_.db, commands_.size() + 1);
  ASSERT_TRUE(im.is_ok());
  EXPECT_EQ(transfer(*im, 4096).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(dump(*receiver_.db), before);
}

TEST_F(StateTransferTest, AChunkOutOfOrderOrMissingIsRefused) {
  auto im = StateImporter::start(*receiver_.db, commands_.size());
  ASSERT_TRUE(im.is_ok());
  StateExporter ex(*sender_.db, im->resume_after(), 4096);
  ASSERT_TRUE(im->accept(**ex.next()).is_ok());  // header
  (void)ex.next();                               // an event chunk lost on the way
  EXPECT_EQ(im->accept(**ex.next()).code(), ErrorCode::kCorruption);
}

// Appends whose parts hold many events, with runs of types and tags inside them, in a
// single-stream and a multi-stream command: the index entries cover runs that end with each
// part (storage/index_runs.h), which a receiver must rebuild when a part reaches it in pieces.
class StateTransferPartsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sender_.open(dir_.sub("sender"));
    std::vector<StreamAppend> one(1);
    one[0].stream_id = "s-1";
    one[0].expected = kExpectAny;
    for (int i = 0; i < 12; ++i) one[0].events.push_back(event(i < 5 || i == 8 ? "A" : "B", i));
    std::vector<StreamAppend> multi(2);
    for (int p = 0; p < 2; ++p) {
      multi[p].stream_id = "s-" + std::to_string(2 + p);
      multi[p].expected = kExpectAny;
      for (int i = 0; i < 5; ++i) multi[p].events.push_back(event("A", 20 + i));
    }
    std::vector<StreamAppend> more(1);
    more[0].stream_id = "s-1";
    more[0].expected = kExpectAny;
    for (int i = 0; i < 7; ++i) more[0].events.push_back(event(i % 3 == 0 ? "B" : "A", 40 + i));
    std::vector<StreamAppend> single(1);
    single[0].stream_id = "s-2";
    single[0].expected = kExpectAny;
    single[0].events.push_back(event("A", 60));
    const std::vector<std::string> commands = {
        encode_append_command(10, one, std::nullopt), encode_append_command(11, multi, std::nullopt),
        encode_append_command(12, single, std::nullopt), encode_append_command(13, more, std::nullopt)};
    for (size_t i = 0; i < commands.size(); ++i)
      ASSERT_TRUE(sender_.run(commands[i], i + 1).status.is_ok());
    applied_ = commands.size();
    last_ = sender_.sm->committed().last_position;
    ASSERT_EQ(last_, 12u + 10u + 1u + 7u);
  }

  static NewEvent event(const std::string& type, int i) {
    NewEvent e;
    e.event_type = type;
    e.data = "{\"i\":" + std::to_string(i) + "}";
    e.tags = {"all", i % 4 == 3 ? "fourth" : "other"};
    if (i % 5 == 0) e.tags.push_back("fifth");
    return e;
  }

  // Whether the sender's event at `p` continues the append part of the event before it.
  bool continues_part(Position p) {
    std::string record;
    EXPECT_TRUE(sender_.db->db()
                    ->Get(rocksdb::ReadOptions(), sender_.db->cf(Cf::kEvents), position_key(p), &record)
                    .ok());
    EventView v;
    EXPECT_TRUE(decode_event(record, v).is_ok());
    return v.continues_part;
  }

  Status transfer(StateImporter& im, size_t chunk_bytes, size_t max_chunks = SIZE_MAX) {
    return send_chunks(*sender_.db, im, chunk_bytes, max_chunks);
  }

  testing::TempDir dir_;
  Replica sender_;
  uint64_t applied_ = 0;
  Position last_ = 0;
};

TEST_F(StateTransferPartsTest, ApplySetsTheContinuationFlagOnEventsTwoToNOfEachPart) {
  for (Position p = 1; p <= last_; ++p) {
    // Parts start at positions 1 (s-1), 13 (s-2), 18 (s-3), 23 (s-2 again), 24 (s-1 again).
    const bool starts = p == 1 || p == 13 || p == 18 || p == 23 || p == 24;
    EXPECT_EQ(continues_part(p), !starts) << "position " << p;
  }
}

TEST_F(StateTransferPartsTest, AnAppendPartSplitAcrossChunksEndsWithTheSendersExactIndex) {
  // 1 byte: one event per chunk, every part cut at every event; larger: cut in other places.
  for (size_t chunk_bytes : {size_t(1), size_t(90), size_t(250), size_t(600), size_t(1 << 20)}) {
    SCOPED_TRACE("chunk_bytes " + std::to_string(chunk_bytes));
    Replica receiver;
    receiver.open(dir_.sub("receiver-" + std::to_string(chunk_bytes)));
    auto im = StateImporter::start(*receiver.db, applied_);
    ASSERT_TRUE(im.is_ok());
    ASSERT_TRUE(transfer(*im, chunk_bytes).is_ok());
    ASSERT_TRUE(im->finished());
    EXPECT_EQ(im->events_received(), last_);
    EXPECT_EQ(dump(*sender_.db), dump(*receiver.db));
  }
}

TEST_F(StateTransferPartsTest, ATransferInterruptedInsideAnAppendPartResumesWithTheSendersExactIndex) {
  // One event per chunk: interrupted after every event in turn (the header is chunk 1).
  for (size_t events_first = 1; events_first < last_; ++events_first) {
    SCOPED_TRACE("interrupted after " + std::to_string(events_first) + " events");
    Replica receiver;
    receiver.open(dir_.sub("receiver-" + std::to_string(events_first)));
    auto first = StateImporter::start(*receiver.db, applied_);
    ASSERT_TRUE(first.is_ok());
    ASSERT_TRUE(transfer(*first, 1, 1 + events_first).is_ok());
    ASSERT_FALSE(first->finished());

    // Reopened, as after a crash, and resumed by a new importer.
    receiver.open(dir_.sub("receiver-" + std::to_string(events_first)));
    auto second = StateImporter::start(*receiver.db, applied_);
    ASSERT_TRUE(second.is_ok());
    ASSERT_EQ(second->resume_after(), events_first);
    ASSERT_TRUE(transfer(*second, 1).is_ok());
    ASSERT_TRUE(second->finished());
    EXPECT_EQ(dump(*sender_.db), dump(*receiver.db));
  }
  // At least one of those cuts was inside a part (s-1's first part holds positions 1..12).
  EXPECT_TRUE(continues_part(6));
}

TEST_F(StateTransferPartsTest, AResumedTransferInsideAPartWithLargerChunksEndsEqual) {
  // A cut inside the first part (chunks of a few events), resumed with other chunk sizes.
  Replica receiver;
  receiver.open(dir_.sub("receiver"));
  auto first = StateImporter::start(*receiver.db, applied_);
  ASSERT_TRUE(first.is_ok());
  ASSERT_TRUE(transfer(*first, 90, 2).is_ok());  // header + one events chunk
  const Position cut = first->events_received();
  ASSERT_GT(cut, 0u);
  ASSERT_LT(cut, 12u);
  ASSERT_TRUE(continues_part(cut + 1));  // the cut is inside s-1's first part
  auto second = StateImporter::start(*receiver.db, applied_);
  ASSERT_TRUE(second.is_ok());
  ASSERT_TRUE(transfer(*second, 250).is_ok());
  ASSERT_TRUE(second->finished());
  EXPECT_EQ(dump(*sender_.db), dump(*receiver.db));
}

}  // namespace
}  // namespace reckon::storage
