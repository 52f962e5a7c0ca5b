// Multiplexed appends (reckon.v1.AppendSessions) through the client's append_multi_async with
// ClientOptions::multiplex_appends: results, errors with details, many in flight, and recovery
// after the server restarts.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>

#include "reckon/client.h"
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

}  // namespace
}  // namespace reckon
