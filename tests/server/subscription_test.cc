// Catch-up subscriptions end to end: a real reckond, the C++ client's subscribe().
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "reckon/client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace reckon {
namespace {

using testing::ServerProcess;
using testing::TempDir;

NewEvent event(std::string type) {
  NewEvent e;
  e.event_type = std::move(type);
  e.data = "{}";
  return e;
}

// Runs a subscription on its own thread and records what it receives.
class Subscriber {
 public:
  Subscriber(const std::string& address, SubscribeOptions options) {
    ClientOptions co;
    co.endpoints = {address};
    client_ = std::move(Client::connect(co)).value();
    thread_ = std::thread([this, options] {
      Status s = client_->subscribe(options, [this](const SubscriptionMessage& m) {
        std::lock_guard lock(mu_);
        switch (m.kind) {
          case SubscriptionMessage::Kind::kConfirmed: confirmed_ = true; break;
          case SubscriptionMessage::Kind::kCaughtUp: caught_up_ = true; break;
          case SubscriptionMessage::Kind::kCheckpoint: ++checkpoints_; break;
          case SubscriptionMessage::Kind::kEvent: events_.push_back(m.event); break;
        }
        cv_.notify_all();
        return !stop_;
      });
      std::lock_guard lock(mu_);
      result_ = s;
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~Subscriber() {
    stop();
    thread_.join();
  }
  void stop() {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  // Waits until `pred()` holds (under the lock) or 15 s pass.
  template <typename Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(15), [&] { return pred(); });
  }
  bool caught_up() const { return caught_up_; }
  bool confirmed() const { return confirmed_; }
  int checkpoints() const { return checkpoints_; }
  bool ended() const { return ended_; }
  const Status& result() const { return result_; }
  const std::vector<Event>& events() const { return events_; }
  std::mutex& mutex() { return mu_; }

 private:
  std::unique_ptr<Client> client_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, confirmed_ = false, caught_up_ = false, ended_ = false;
  int checkpoints_ = 0;
  std::vector<Event> events_;
  Status result_;
};

class SubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(testing::reckond_bin(), dir_.sub("data"));
    ASSERT_TRUE(server_->start().is_ok()) << server_->log_tail();
    ClientOptions o;
    o.endpoints = {server_->grpc_address()};
    client_ = std::move(Client::connect(o)).value();
  }
  void append(const std::string& stream, int n, const std::string& type = "E") {
    std::vector<NewEvent> events;
    for (int i = 0; i < n; ++i) events.push_back(event(type));
    ASSERT_TRUE(client_->append(stream, kExpectAny, events));
  }
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(SubscriptionTest, AllFromStartDeliversHistoryThenCaughtUpThenLive) {
  for (int i = 0; i < 10; ++i) append("hist-" + std::to_string(i), 10);
  Subscriber sub(server_->grpc_address(), {});
  ASSERT_TRUE(sub.wait([&] { return sub.caught_up(); }));
  {
    std::lock_guard lock(sub.mutex());
    EXPECT_TRUE(sub.confirmed());
    EXPECT_EQ(sub.events().size(), 100u) << "history is complete before caught-up";
  }
  append("live-1", 5);
  ASSERT_TRUE(sub.wait([&] { return sub.events().size() == 105; }));
  std::lock_guard lock(sub.mutex());
  for (size_t i = 0; i < sub.events().size(); ++i) EXPECT_EQ(sub.events()[i].position, i + 1);
  EXPECT_EQ(sub.events().back().stream_id, "live-1");
}

TEST_F(SubscriptionTest, SwitchToLiveUnderConcurrentAppendsHasNoGapAndNoDuplicate) {
  append("warm", 50);
  std::atomic<bool> writing{true};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      ClientOptions o;
      o.endpoints = {server_->grpc_address()};
      auto c = std::move(Client::connect(o)).value();
      for (int i = 0; i < 150; ++i) {
        std::vector<NewEvent> events{event("A"), event("B")};
        ASSERT_TRUE(c->append("w-" + std::to_string(w), kExpectAny, events));
      }
    });
  }
  // Subscribe while the writers are running: history and live overlap.
  Subscriber sub(server_->grpc_address(), {});
  for (auto& t : writers) t.join();
  writing = false;
  const Position last = client_->stats().last_position;
  ASSERT_EQ(last, 50u + 4 * 150 * 2);
  ASSERT_TRUE(sub.wait([&] { return !sub.events().empty() && sub.events().back().position == last; }));
  std::lock_guard lock(sub.mutex());
  ASSERT_EQ(sub.events().size(), last);
  for (size_t i = 0; i < sub.events().size(); ++i) ASSERT_EQ(sub.events()[i].position, i + 1);
  EXPECT_TRUE(sub.caught_up());
}

TEST_F(SubscriptionTest, StreamSubscriptionWaitsForTheStreamAndIgnoresOthers) {
  SubscribeOptions o;
  o.stream_id = "later-1";
  Subscriber sub(server_->grpc_address(), o);
  ASSERT_TRUE(sub.wait([&] { return sub.caught_up(); }));
  append("other", 3);
  append("later-1", 2);
  append("later-1", 1);
  ASSERT_TRUE(sub.wait([&] { return sub.events().size() == 3; }));
  std::lock_guard lock(sub.mutex());
  for (int v = 0; v < 3; ++v) {
    EXPECT_EQ(sub.events()[v].stream_id, "later-1");
    EXPECT_EQ(sub.events()[v].version, v);
  }
}

TEST_F(SubscriptionTest, StartsAreExclusive) {
  append("s", 5);  // positions 1..5, versions 0..4
  SubscribeOptions after_pos;
  after_pos.start = SubscribeOptions::Start::kAfter;
  after_pos.after_position = 3;
  Subscriber all(server_->grpc_address(), after_pos);
  SubscribeOptions after_ver;
  after_ver.stream_id = "s";
  after_ver.start = SubscribeOptions::Start::kAfter;
  after_ver.after_version = 1;
  Subscriber stream(server_->grpc_address(), after_ver);
  ASSERT_TRUE(all.wait([&] { return all.caught_up(); }));
  ASSERT_TRUE(stream.wait([&] { return stream.caught_up(); }));
  std::lock_guard l1(all.mutex());
  ASSERT_EQ(all.events().size(), 2u);
  EXPECT_EQ(all.events()[0].position, 4u);
  std::lock_guard l2(stream.mutex());
  ASSERT_EQ(stream.events().size(), 3u);
  EXPECT_EQ(stream.events()[0].version, 2);
}

TEST_F(SubscriptionTest, FromEndDeliversOnlyNewEvents) {
  append("old", 10);
  SubscribeOptions o;
  o.start = SubscribeOptions::Start::kEnd;
  Subscriber sub(server_->grpc_address(), o);
  ASSERT_TRUE(sub.wait([&] { return sub.caught_up(); }));
  append("new", 2);
  ASSERT_TRUE(sub.wait([&] { return sub.events().size() == 2; }));
  std::lock_guard lock(sub.mutex());
  EXPECT_EQ(sub.events()[0].stream_id, "new");
  EXPECT_EQ(sub.events()[0].position, 11u);
}

TEST_F(SubscriptionTest, FilteredAllDeliversMatchesOnlyAndSendsCheckpoints) {
  SubscribeOptions o;
  o.filter.event_types = {"Wanted"};
  Subscriber sub(server_->grpc_address(), o);
  ASSERT_TRUE(sub.wait([&] { return sub.caught_up(); }));
  append("mixed", 20, "Noise");
  append("mixed", 2, "Wanted");
  append("mixed", 20, "Noise");
  ASSERT_TRUE(sub.wait([&] { return sub.events().size() == 2; }));
  // Idle: a heartbeat checkpoint arrives about every second.
  ASSERT_TRUE(sub.wait([&] { return sub.checkpoints() >= 1; }));
  std::lock_guard lock(sub.mutex());
  for (const auto& e : sub.events()) EXPECT_EQ(e.event_type, "Wanted");
  EXPECT_EQ(sub.events()[0].position, 21u);
}

TEST_F(SubscriptionTest, FilterOnAStreamSubscriptionIsRefused) {
  SubscribeOptions o;
  o.stream_id = "s";
  o.filter.event_types = {"X"};
  Subscriber sub(server_->grpc_address(), o);
  ASSERT_TRUE(sub.wait([&] { return sub.ended(); }));
  std::lock_guard lock(sub.mutex());
  EXPECT_EQ(sub.result().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SubscriptionTest, ServerShutdownEndsSubscriptionsPromptly) {
  Subscriber sub(server_->grpc_address(), {});
  ASSERT_TRUE(sub.wait([&] { return sub.caught_up(); }));
  auto started = std::chrono::steady_clock::now();
  auto how = server_->stop();
  ASSERT_TRUE(how);
  EXPECT_EQ(*how, "exited 0");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  ASSERT_TRUE(sub.wait([&] { return sub.ended(); }));
  std::lock_guard lock(sub.mutex());
  EXPECT_FALSE(sub.result().is_ok());
}

TEST_F(SubscriptionTest, CliSubscribePrintsEventsAsTheyCome) {
  append("cli-a", 2, "Placed");
  append("cli-b", 1, "Other");
  const std::vector<std::pair<std::string, std::string>> env{{"RECKON_SERVER", server_->grpc_address()}};
  auto r = testing::run_cli({"subscribe", "--all", "--type", "Placed", "--count", "2", "--json"}, env,
                            std::chrono::seconds(20));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    EXPECT_NE(line.find("\"stream_id\":\"cli-a\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"version\":" + std::to_string(n)), std::string::npos) << line;
    ++n;
  }
  EXPECT_EQ(n, 2);
  auto stream = testing::run_cli({"subscribe", "--stream", "cli-b", "--count", "1", "--json"}, env,
                                 std::chrono::seconds(20));
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  EXPECT_NE(stream.out.find("\"event_type\":\"Other\""), std::string::npos);
  EXPECT_EQ(testing::run_cli({"subscribe", "--all", "--stream", "x"}, env).exit_code, 2);
}

TEST_F(SubscriptionTest, BenchSubscribeMeasuresDeliveryOfEveryAcknowledgedEvent) {
  const std::vector<std::pair<std::string, std::string>> env{{"RECKON_SERVER", server_->grpc_address()}};
  auto r = testing::run_cli({"bench", "subscribe", "--rate", "200", "--duration", "1", "--json"}, env,
                            std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"missing\":0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"p99_ms\""), std::string::npos);
}

}  // namespace
}  // namespace reckon
