// AckWriter over a fake stream: answers given while a write is blocked go out packed, one
// request per run of equal actions, in order; a failed write stops it and drops later answers.
#include "client/ack_writer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace reckon::client {
namespace {

class FakeStream final : public AckWriter::Stream {
 public:
  bool Write(const v1::ConsumeRequest& msg, grpc::WriteOptions) override {
    std::unique_lock<std::mutex> lock(mu_);
    writes_.push_back(msg);
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_ >= writes_.size(); });
    return !fail_;
  }
  // Lets the first n writes complete.
  void release(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = n;
    cv_.notify_all();
  }
  void wait_for_writes(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return writes_.size() >= n; });
  }
  std::vector<v1::ConsumeRequest> writes() {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  bool fail_ = false;

  bool Read(v1::ConsumeResponse*) override { return false; }
  bool NextMessageSize(uint32_t*) override { return false; }
  void WaitForInitialMetadata() override {}
  bool WritesDone() override { return true; }
  grpc::Status Finish() override { return grpc::Status::OK; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::ConsumeRequest> writes_;
  size_t released_ = 0;
};

std::vector<uint64_t> positions(const google::protobuf::RepeatedField<uint64_t>& p) {
  return {p.begin(), p.end()};
}

TEST(AckWriter, AnswersGivenDuringAWriteArePackedByActionInOrder) {
  FakeStream stream;
  AckWriter writer(&stream);
  writer.answer({AckWriter::kAck, 1});
  stream.wait_for_writes(1);  // the first write is in flight (blocked)
  writer.answer({AckWriter::kAck, 2});
  writer.answer({AckWriter::kAck, 3});
  writer.answer({v1::NACK_RETRY, 4});
  writer.answer({v1::NACK_PARK, 5});
  writer.answer({AckWriter::kAck, 6});
  stream.release(100);
  ASSERT_TRUE(writer.flush_and_stop());

  auto w = stream.writes();
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(positions(w[0].ack().positions()), (std::vector<uint64_t>{1}));
  EXPECT_EQ(positions(w[1].ack().positions()), (std::vector<uint64_t>{2, 3}));
  ASSERT_TRUE(w[2].has_nack());
  EXPECT_EQ(w[2].nack().action(), v1::NACK_RETRY);
  EXPECT_EQ(positions(w[2].nack().positions()), (std::vector<uint64_t>{4}));
  EXPECT_EQ(w[3].nack().action(), v1::NACK_PARK);
  EXPECT_EQ(positions(w[4].ack().positions()), (std::vector<uint64_t>{6}));
}

TEST(AckWriter, FlushWritesEverythingGivenBeforeIt) {
  FakeStream stream;
  stream.release(1000);
  AckWriter writer(&stream);
  for (uint64_t p = 1; p <= 500; ++p) writer.answer({AckWriter::kAck, p});
  ASSERT_TRUE(writer.flush_and_stop());
  std::vector<uint64_t> all;
  for (const auto& w : stream.writes()) {
    auto ps = positions(w.ack().positions());
    all.insert(all.end(), ps.begin(), ps.end());
  }
  ASSERT_EQ(all.size(), 500u);
  for (uint64_t p = 1; p <= 500; ++p) EXPECT_EQ(all[p - 1], p);
}

TEST(AckWriter, AFailedWriteStopsItAndReportsTheBrokenStream) {
  FakeStream stream;
  stream.fail_ = true;
  stream.release(1000);
  AckWriter writer(&stream);
  writer.answer({AckWriter::kAck, 1});
  stream.wait_for_writes(1);
  EXPECT_FALSE(writer.flush_and_stop());
  writer.answer({AckWriter::kAck, 2});  // dropped, nothing written
  EXPECT_EQ(stream.writes().size(), 1u);
}

}  // namespace
}  // namespace reckon::client
