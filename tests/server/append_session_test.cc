// Multiplexed appends (reckon.v1.AppendSessions) through the client's append_multi_async with
// ClientOptions::multiplex_appends: results, errors with details, many in flight, and recovery
// after the server restarts.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <map>
#include <set>

#include "reckon/client.h"
#include "reckon/v1/reckon.grpc.pb.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace reckon {
namespace {

using testing::ServerProcess;
using testing::TempDir;

std::vector<StreamAppend> one(const std::string& stream, ExpectedVersion expected, int events) {
  std::vector<StreamAppend> parts(1);
  parts[0].stream_id = stream;
  parts[0].expected = expected;
  for (int i = 0; i < events; ++i) {
    NewEvent e;
    e.event_type = "E";
    e.data = "{}";
    parts[0].events.push_back(std::move(e));
  }
  return parts;
}

Result<std::vector<AppendResult>> append_sync(Client& c, std::vector<StreamAppend> parts) {
  std::promise<Result<std::vector<AppendResult>>> p;
  auto f = p.get_future();
  c.append_multi_async(std::move(parts), std::nullopt,
                       [&p](Result<std::vector<AppendResult>> r) { p.set_value(std::move(r)); });
  return f.get();
}

class AppendSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(testing::reckond_bin(), dir_.sub("data"));
    ASSERT_TRUE(server_->start().is_ok()) << server_->log_tail();
    ClientOptions o;
    o.endpoints = {server_->grpc_address()};
    o.multiplex_appends = true;
    client_ = std::move(Client::connect(o)).value();
  }
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(AppendSessionTest, AppendsAndErrorsComeBackWithTheirDetails) {
  auto r = append_sync(*client_, one("s", kExpectNoStream, 3));
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].first_version, 0);
  EXPECT_EQ((*r)[0].last_version, 2);
  EXPECT_EQ((*r)[0].position, 3u);

  auto wrong = append_sync(*client_, one("s", 7, 1));
  ASSERT_EQ(wrong.code(), ErrorCode::kWrongExpectedVersion);
  ASSERT_NE(wrong.status().wrong_expected_version_info(), nullptr);
  EXPECT_EQ(wrong.status().wrong_expected_version_info()->expected, 7);
  EXPECT_EQ(wrong.status().wrong_expected_version_info()->current, 2);

  auto bad = one("s", kExpectAny, 1);
  bad[0].events[0].data = "{not json";
  EXPECT_EQ(append_sync(*client_, bad).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(*client_->get_version("s"), 2) << "failed appends wrote nothing";
}

TEST_F(AppendSessionTest, ManyAppendsInFlightAllAnsweredExactlyOnce) {
  constexpr int kAppends = 2000;
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  std::set<Position> positions;
  std::vector<Status> failures;
  for (int i = 0; i < kAppends; ++i) {
    client_->append_multi_async(one("m-" + std::to_string(i % 50), kExpectAny, 1), std::nullopt,
                                [&](Result<std::vector<AppendResult>> r) {
                                  std::lock_guard lock(mu);
                                  if (r) {
                                    positions.insert((*r)[0].position);
                                  } else {
                                    failures.push_back(r.status());
                                  }
                                  ++answered;
                                  cv.notify_all();
                                });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kAppends; }));
  EXPECT_TRUE(failures.empty()) << failures.front().to_string();
  ASSERT_EQ(positions.size(), static_cast<size_t>(kAppends));
  EXPECT_EQ(*positions.begin(), 1u);
  EXPECT_EQ(*positions.rbegin(), static_cast<Position>(kAppends));
}

TEST_F(AppendSessionTest, ASessionBrokenByARestartIsReplacedOnTheNextAppend) {
  ASSERT_TRUE(append_sync(*client_, one("r", kExpectAny, 1)));
  ASSERT_TRUE(server_->restart().is_ok()) << server_->log_tail();
  // The first append after the restart may land on the dead session; within a few tries a
  // fresh session carries it.
  Result<std::vector<AppendResult>> r = Status::unavailable("not tried");
  for (int attempt = 0; attempt < 20 && !r; ++attempt) {
    r = append_sync(*client_, one("r", kExpectAny, 1));
    if (!r) {
      ASSERT_EQ(r.code(), ErrorCode::kUnavailable) << r.status().to_string();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ((*r)[0].last_version, 1);
}

// The wire format directly: one request packing several appends, answered per correlation id.
class PackedAppendSessionTest : public AppendSessionTest {
 protected:
  using Session = grpc::ClientReaderWriter<v1::AppendSessionRequest, v1::AppendSessionResponse>;

  void SetUp() override {
    AppendSessionTest::SetUp();
    channel_ = grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials());
    stub_ = v1::AppendSessions::NewStub(channel_);
  }

  static v1::AppendSessionRequest append(uint64_t id, const std::string& stream, int64_t expected) {
    v1::AppendSessionRequest r;
    r.set_correlation_id(id);
    auto* part = r.mutable_append()->add_appends();
    part->set_stream_id(stream);
    part->set_expected_version(expected);
    auto* e = part->add_events();
    e->set_event_type("E");
    e->set_data("{}");
    return r;
  }

  // Reads until `count` answers arrived; returns them by correlation id and counts messages.
  static std::map<uint64_t, v1::AppendSessionResponse> read_answers(Session& session, size_t count,
                                                                     int* messages) {
    std::map<uint64_t, v1::AppendSessionResponse> answers;
    v1::AppendSessionResponse msg;
    while (answers.size() < count && session.Read(&msg)) {
      ++*messages;
      for (const auto& packed : msg.packed()) answers[packed.correlation_id()] = packed;
      msg.clear_packed();
      answers[msg.correlation_id()] = msg;
    }
    return answers;
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AppendSessions::Stub> stub_;
};

TEST_F(PackedAppendSessionTest, PackedAppendsAreSubmittedInOrderAndEachIsAnswered) {
  grpc::ClientContext ctx;
  auto session = stub_->AppendSession(&ctx);
  // Expected versions that only hold if the packed appends reach the log in the client's order.
  v1::AppendSessionRequest request = append(1, "p", kExpectNoStream);
  for (uint64_t id = 2; id <= 40; ++id) *request.add_packed() = append(id, "p", static_cast<int64_t>(id) - 2);
  auto nested = append(41, "p", kExpectAny);
  *nested.add_packed() = append(42, "p", kExpectAny);
  *request.add_packed() = nested;
  request.set_accepts_packed_answers(true);
  ASSERT_TRUE(session->Write(request));
  int messages = 0;
  auto answers = read_answers(*session, 41, &messages);
  ASSERT_EQ(answers.size(), 41u);
  for (uint64_t id = 1; id <= 40; ++id) {
    ASSERT_FALSE(answers[id].has_error()) << id << ": " << answers[id].error().message();
    EXPECT_EQ(answers[id].result().results(0).last_version(), static_cast<int64_t>(id) - 1);
  }
  EXPECT_EQ(answers[41].error().code(), "InvalidArgument") << "packing is one level deep";
  EXPECT_EQ(answers.count(42), 0u);
  session->WritesDone();
  EXPECT_TRUE(session->Finish().ok());
  EXPECT_EQ(*client_->get_version("p"), 39) << "the nested append wrote nothing";
}

TEST_F(PackedAppendSessionTest, AClientThatDoesNotAcceptPackedAnswersGetsOneAnswerPerMessage) {
  grpc::ClientContext ctx;
  auto session = stub_->AppendSession(&ctx);
  v1::AppendSessionRequest request = append(1, "u", kExpectAny);
  for (uint64_t id = 2; id <= 30; ++id) *request.add_packed() = append(id, "u", kExpectAny);
  ASSERT_TRUE(session->Write(request));
  int messages = 0;
  auto answers = read_answers(*session, 30, &messages);
  ASSERT_EQ(answers.size(), 30u);
  EXPECT_EQ(messages, 30);
  session->WritesDone();
  EXPECT_TRUE(session->Finish().ok());
}

}  // namespace
}  // namespace reckon
