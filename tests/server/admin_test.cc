// reckond as an operator sees it: HTTP health/metrics/cluster, several stores, config files,
// structured logs, and a clean SIGTERM under load that loses no acknowledged append.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "reckon/client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace reckon {
namespace {

using testing::ServerProcess;
using testing::TempDir;

std::unique_ptr<Client> connect(const std::string& address, const std::string& store = "") {
  ClientOptions o;
  o.endpoints = {address};
  o.store = store;
  o.timeout_ms = 5000;
  auto c = Client::connect(o);
  EXPECT_TRUE(c) << c.status().to_string();
  return std::move(c).value();
}

NewEvent event(std::string type, std::string data = "{}") {
  NewEvent e;
  e.event_type = std::move(type);
  e.data = std::move(data);
  return e;
}

TEST(AdminHttpTest, HealthMetricsAndClusterAnswer) {
  TempDir dir;
  ServerProcess server(testing::reckond_bin(), dir.sub("data"));
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  auto client = connect(server.grpc_address());
  ASSERT_TRUE(client->append("metered", kExpectAny, {event("A"), event("B")}));
  ASSERT_EQ(client->append("metered", 7, {event("C")}).code(), ErrorCode::kWrongExpectedVersion);

  auto health = testing::http_get("127.0.0.1", server.http_port(), "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto metrics = testing::http_get("127.0.0.1", server.http_port(), "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  const std::string& m = metrics->body;
  EXPECT_NE(m.find("reckon_appends_total 1"), std::string::npos) << m.substr(0, 2000);
  EXPECT_NE(m.find("reckon_appended_events_total 2"), std::string::npos);
  EXPECT_NE(m.find("reckon_errors_total{code=\"WrongExpectedVersion\",method=\"Append\"} 1"),
            std::string::npos);
  EXPECT_NE(m.find("reckon_request_duration_seconds_bucket{method=\"Append\",le="), std::string::npos);
  EXPECT_NE(m.find("reckon_last_position{store=\"default\"} 2"), std::string::npos);
  EXPECT_NE(m.find("reckon_raft_is_leader{store=\"default\"} 1"), std::string::npos);
  EXPECT_NE(m.find("reckon_rocksdb_sst_bytes{store=\"default\"}"), std::string::npos);

  auto cluster = testing::http_get("127.0.0.1", server.http_port(), "/cluster");
  ASSERT_TRUE(cluster);
  auto j = nlohmann::json::parse(cluster->body);
  ASSERT_EQ(j["stores"].size(), 1u);
  EXPECT_EQ(j["stores"][0]["role"], "leader");
  EXPECT_EQ(j["stores"][0]["leader"], server.grpc_address());
  EXPECT_EQ(j["stores"][0]["last_position"], 2);

  auto missing = testing::http_get("127.0.0.1", server.http_port(), "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

// Sends `bytes` to 127.0.0.1:port on a raw TCP connection and closes it.
void send_raw(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may hang up on garbage: that is fine
    sent += static_cast<size_t>(n);
  }
  ::close(fd);
}

TEST(GarbageOnTheWireTest, ServerSurvivesRandomBytesOnBothPorts) {
  TempDir dir;
  ServerProcess server(testing::reckond_bin(), dir.sub("data"));
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    std::string junk(1 + rng() % 20000, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    // Half of the rounds look like HTTP/2 (valid preface, garbage frames).
    if (round % 2) junk = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + junk;
    send_raw(server.grpc_port(), junk);
    send_raw(server.http_port(), junk);
  }
  ASSERT_TRUE(server.running()) << server.log_tail();
  auto health = testing::http_get("127.0.0.1", server.http_port(), "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto client = connect(server.grpc_address());
  EXPECT_TRUE(client->append("after-garbage", kExpectNoStream, {event("Fine")}));
}

TEST(MultiStoreTest, StoresAreIndependentAndEachHasItsOwnDataDir) {
  TempDir dir;
  ServerProcess server(testing::reckond_bin(), dir.sub("main"),
                       {"--add-store", "audit=" + dir.sub("audit")});
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  auto main_store = connect(server.grpc_address());
  auto audit = connect(server.grpc_address(), "audit");
  ASSERT_TRUE(main_store->append("s", kExpectNoStream, {event("InMain")}));
  ASSERT_TRUE(audit->append("s", kExpectNoStream, {event("InAudit"), event("InAudit")}));
  EXPECT_EQ(*main_store->get_version("s"), 0);
  EXPECT_EQ(*audit->get_version("s"), 1);
  auto stores = main_store->list_stores();
  ASSERT_TRUE(stores);
  EXPECT_EQ(*stores, (std::vector<std::string>{"default", "audit"}));
  EXPECT_TRUE(std::filesystem::exists(dir.sub("audit") + "/CURRENT"));
  EXPECT_EQ(connect(server.grpc_address(), "nope")->get_version("s").code(), ErrorCode::kNotFound);
}

TEST(ConfigFileTest, ServerStartsFromAJsonConfigAndFlagsOverrideIt) {
  TempDir dir;
  const std::string config = dir.sub("reckond.json");
  {
    std::ofstream f(config);
    f << R"({"log_format":"json","stores":[{"store_id":"orders","data_dir":")" << dir.sub("orders")
      << R"(","reader_pool_size":2,"options":{"max_event_bytes":64}}]})";
  }
  // ServerProcess adds --data-dir: it overrides the first store's data_dir from the file.
  ServerProcess server(testing::reckond_bin(), dir.sub("data"), {"--config", config});
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  auto client = connect(server.grpc_address(), "orders");
  ASSERT_TRUE(client->append("o-1", kExpectAny, {event("Small")}));
  auto big = client->append("o-1", kExpectAny, {event("Big", R"({"payload":")" + std::string(100, 'x') + "\"}")});
  EXPECT_EQ(big.code(), ErrorCode::kLimitExceeded) << "limit from the config file";
  EXPECT_TRUE(std::filesystem::exists(dir.sub("data") + "/CURRENT"));
  // Structured logs: every line of the log is a JSON object.
  std::ifstream log(server.log_path());
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    if (line.rfind("----", 0) == 0) continue;  // ServerProcess's own marker lines
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("level") && j.contains("msg") && j.contains("ts_us")) << line;
    ++lines;
  }
  EXPECT_GT(lines, 0);
}

TEST(ConfigFileTest, InvalidConfigurationExitsWithUsageError) {
  TempDir dir;
  auto bad_mode = testing::run_program(testing::reckond_bin(), {"--data-dir", dir.sub("d"), "--mode", "triple"});
  EXPECT_EQ(bad_mode.exit_code, 2) << bad_mode.err;
  EXPECT_NE(bad_mode.err.find("mode"), std::string::npos);
  const std::string config = dir.sub("broken.json");
  std::ofstream(config) << "{not json";
  auto broken = testing::run_program(testing::reckond_bin(), {"--config", config});
  EXPECT_EQ(broken.exit_code, 2) << broken.err;
}

TEST(ConfigFileTest, UnknownKeyIsAStartupErrorNamingIt) {
  TempDir dir;
  const std::string config = dir.sub("typo.json");
  std::ofstream(config) << R"({"stores":[{"store_id":"s","data_dir":")" << dir.sub("s")
                        << R"(","reader_pool_sise":2}]})";
  testing::RunOptions o;
  o.timeout = std::chrono::seconds(20);  // a server that starts anyway would run until killed
  auto r = testing::run_program(testing::reckond_bin(), {"--config", config, "--listen", "127.0.0.1:0",
                                                         "--http", "127.0.0.1:0"}, o);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown key 'reader_pool_sise' in stores[0]"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("s"))) << "nothing is opened on a bad config";
}

TEST(ConfigFileTest, LimitsFromTheFileAndFromFlagsReachTheStore) {
  TempDir dir;
  const std::string config = dir.sub("limits.json");
  std::ofstream(config) << R"({"stores":[{"store_id":"s","options":{"max_event_type_bytes":8}}]})";
  ServerProcess server(testing::reckond_bin(), dir.sub("data"),
                       {"--config", config, "--max-tag-bytes", "4"});
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  auto client = connect(server.grpc_address(), "s");
  ASSERT_TRUE(client->append("l-1", kExpectAny, {event("Short")}));
  EXPECT_EQ(client->append("l-1", kExpectAny, {event("LongerThan8")}).code(), ErrorCode::kLimitExceeded)
      << "max_event_type_bytes from the config file";
  NewEvent tagged = event("Short");
  tagged.tags = {"five5"};
  EXPECT_EQ(client->append("l-1", kExpectAny, {tagged}).code(), ErrorCode::kLimitExceeded)
      << "--max-tag-bytes applies to the file's first store";
  tagged.tags = {"four"};
  EXPECT_TRUE(client->append("l-1", kExpectAny, {tagged}));
}

TEST(ShutdownTest, SigtermUnderLoadLosesNoAcknowledgedAppend) {
  TempDir dir;
  ServerProcess server(testing::reckond_bin(), dir.sub("data"));
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  std::mutex mu;
  std::vector<AppendResult> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      ClientOptions o;
      o.endpoints = {server.grpc_address()};
      o.max_attempts = 1;  // no retries: every ack we count came from the first server
      auto client = Client::connect(o);
      for (int i = 0; !stop; ++i) {
        auto r = (*client)->append("load-" + std::to_string(w), kExpectAny, {event("E")});
        if (!r) continue;  // refused or cut off by the shutdown: not acknowledged
        std::lock_guard lock(mu);
        acked.push_back(*r);
      }
    });
  }
  // Let appends flow, then SIGTERM while they are in flight.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    std::lock_guard lock(mu);
    if (acked.size() >= 300) break;
  }
  auto how = server.stop();
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_TRUE(how) << how.status().to_string();
  EXPECT_EQ(*how, "exited 0") << server.log_tail();
  ASSERT_GE(acked.size(), 300u);

  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  auto client = connect(server.grpc_address());
  for (const auto& a : acked) {
    ReadStreamOptions o;
    o.from_version = a.last_version;
    o.max_count = 1;
    auto page = client->read(a.stream_id, o);
    ASSERT_TRUE(page) << page.status().to_string();
    ASSERT_EQ(page->events.size(), 1u) << a.stream_id << "@" << a.last_version;
    EXPECT_EQ(page->events[0].position, a.position);
  }
}

}  // namespace
}  // namespace reckon
