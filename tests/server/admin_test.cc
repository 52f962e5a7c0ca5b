// reckond as an operator sees it: HTTP health/metrics/cluster, per-store metrics, several
// stores, config files, structured logs, and clean SIGTERM/SIGINT shutdowns that lose no
// acknowledged append and answer /health with 503 while they drain.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <random>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "reckon/client.h"
#include "reckon/v1/reckon.grpc.pb.h"
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

std::string scrape(const ServerProcess& server) {
  auto r = testing::http_get("127.0.0.1", server.http_port(), "/metrics");
  EXPECT_TRUE(r && r->status == 200);
  return r ? r->body : std::string();
}

// The value of one series of a scrape, `series` written as rendered (`name{labels}`); nullopt
// when the scrape has no such series.
std::optional<double> metric(const std::string& scrape, const std::string& series) {
  std::istringstream in(scrape);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

// A JSON string of `n` random hex digits: event data that compresses poorly.
std::string hex_json(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s = "\"";
  for (size_t i = 0; i < n; ++i) s += "0123456789abcdef"[rng() % 16];
  return s + "\"";
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
  EXPECT_NE(m.find("reckon_appends_total{store=\"default\"} 1"), std::string::npos)
      << m.substr(0, 2000);
  EXPECT_NE(m.find("reckon_appended_events_total{store=\"default\"} 2"), std::string::npos);
  EXPECT_NE(m.find("reckon_errors_total{code=\"WrongExpectedVersion\",method=\"Append\","
                   "store=\"default\"} 1"),
            std::string::npos);
  EXPECT_NE(
      m.find("reckon_request_duration_seconds_bucket{method=\"Append\",store=\"default\",le="),
      std::string::npos);
  EXPECT_NE(m.find("reckon_last_position{store=\"default\"} 2"), std::string::npos);
  EXPECT_NE(m.find("reckon_raft_is_leader{store=\"default\"} 1"), std::string::npos);
  EXPECT_NE(m.find("reckon_raft_log_write_failures{store=\"default\"} 0"), std::string::npos);
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

// `reckon --store NAME` talks to that store of a server with several; without it, to the
// default store; an unknown store is NotFound (exit 4).
TEST(CliStoreTest, StoreFlagSelectsTheStore) {
  TempDir dir;
  ServerProcess server(testing::reckond_bin(), dir.sub("main"), {"--add-store", "audit=" + dir.sub("audit")});
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", server.grpc_address(), "--json"});
    return testing::run_cli(args);
  };
  auto r = cli({"--store", "audit", "append", "ledger", "--type", "Entry", "--data", R"({"n":1})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cli({"--store", "audit", "version", "ledger"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("version"), 0);
  r = cli({"--store", "audit", "status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("store"), "audit");

  r = cli({"read", "ledger"});  // the default store has no such stream
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("error: StreamNotFound", 0), 0u) << r.err;
  r = cli({"version", "ledger"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("version"), -1);

  r = cli({"--store", "nope", "version", "ledger"});
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("error: NotFound", 0), 0u) << r.err;
}

// Two stores with different traffic: each per-store family has a series per store, with that
// store's own figures — nothing is summed across stores.
TEST(MetricsTest, EveryStoreHasItsOwnSeriesOfEachFamily) {
  TempDir dir;
  ServerProcess server(testing::reckond_bin(), dir.sub("main"),
                       {"--add-store", "audit=" + dir.sub("audit")});
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  auto main_store = connect(server.grpc_address());
  auto audit = connect(server.grpc_address(), "audit");

  // default: two appends of 3 small events; audit: one append of 5 events of 8 KB, one refused.
  std::vector<NewEvent> orders{event("A", R"({"n":1})"), event("B", R"({"n":22})"), event("C")};
  std::vector<NewEvent> ledger;
  for (uint32_t i = 0; i < 5; ++i) ledger.push_back(event("Entry", hex_json(8000, i)));
  uint64_t main_bytes = 0, audit_bytes = 0;
  for (const auto& e : orders) main_bytes += e.data.size() + e.metadata.size();
  for (const auto& e : ledger) audit_bytes += e.data.size() + e.metadata.size();
  ASSERT_TRUE(main_store->append("orders", kExpectNoStream, {orders[0], orders[1]}));
  ASSERT_TRUE(main_store->append("orders", 1, {orders[2]}));
  ASSERT_TRUE(audit->append("ledger", kExpectNoStream, ledger));
  ASSERT_EQ(audit->append("ledger", 0, {event("Late")}).code(), ErrorCode::kWrongExpectedVersion);
  // Reads: the 3 events of default, 2 of the 5 of audit.
  auto read_orders = main_store->read("orders", {});
  ASSERT_TRUE(read_orders);
  ASSERT_EQ(read_orders->events.size(), 3u);
  ReadStreamOptions two;
  two.max_count = 2;
  auto read_ledger = audit->read("ledger", two);
  ASSERT_TRUE(read_ledger);
  ASSERT_EQ(read_ledger->events.size(), 2u);
  // A call to a store that does not exist is counted without a store label.
  EXPECT_EQ(connect(server.grpc_address(), "nope")->get_version("orders").code(),
            ErrorCode::kNotFound);

  // Scrapes into `m` until neither store has a commit lag, or `timeout` passed; says which.
  std::string m;
  auto scrape_until_no_commit_lag = [&](std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (true) {
      m = scrape(server);
      if (metric(m, R"(reckon_raft_commit_lag{store="default"})") == 0.0 &&
          metric(m, R"(reckon_raft_commit_lag{store="audit"})") == 0.0) {
        return true;
      }
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  // Everything committed gets applied (asserted with the other families below).
  scrape_until_no_commit_lag(std::chrono::seconds(10));
  auto at = [&m](const std::string& series) {
    auto v = metric(m, series);
    EXPECT_TRUE(v) << "no series " << series;
    return v.value_or(-1);
  };

  EXPECT_EQ(at(R"(reckon_appends_total{store="default"})"), 2);
  EXPECT_EQ(at(R"(reckon_appends_total{store="audit"})"), 1);
  EXPECT_EQ(at(R"(reckon_appended_events_total{store="default"})"), 3);
  EXPECT_EQ(at(R"(reckon_appended_events_total{store="audit"})"), 5);
  EXPECT_EQ(at(R"(reckon_appended_bytes_total{store="default"})"), double(main_bytes));
  EXPECT_EQ(at(R"(reckon_appended_bytes_total{store="audit"})"), double(audit_bytes));
  EXPECT_EQ(at(R"(reckon_read_events_total{store="default"})"), 3);
  EXPECT_EQ(at(R"(reckon_read_events_total{store="audit"})"), 2);

  EXPECT_EQ(at(R"(reckon_requests_total{method="Append",store="default"})"), 2);
  EXPECT_EQ(at(R"(reckon_requests_total{method="Append",store="audit"})"), 2);
  EXPECT_EQ(at(R"(reckon_requests_total{method="Read",store="audit"})"), 1);
  EXPECT_EQ(at(R"(reckon_request_duration_seconds_count{method="Append",store="default"})"), 2);
  EXPECT_EQ(
      at(R"(reckon_request_duration_seconds_bucket{method="Append",store="audit",le="+Inf"})"), 2);
  const std::string wev = R"(reckon_errors_total{code="WrongExpectedVersion",method="Append",)";
  EXPECT_EQ(at(wev + R"(store="audit"})"), 1);
  EXPECT_EQ(at(wev + R"(store="default"})"), 0);
  EXPECT_EQ(at(R"(reckon_requests_total{method="GetVersion"})"), 1);
  EXPECT_EQ(at(R"(reckon_errors_total{code="NotFound",method="GetVersion"})"), 1);

  EXPECT_EQ(at(R"(reckon_last_position{store="default"})"), 3);
  EXPECT_EQ(at(R"(reckon_last_position{store="audit"})"), 5);
  for (const std::string store : {"default", "audit"}) {
    SCOPED_TRACE(store);
    const std::string label = "store=\"" + store + "\"";
    EXPECT_EQ(at("reckon_raft_is_leader{" + label + "}"), 1);
    EXPECT_EQ(at("reckon_raft_role{role=\"leader\"," + label + "}"), 1);
    EXPECT_EQ(at("reckon_raft_role{role=\"follower\"," + label + "}"), 0);
    EXPECT_EQ(at("reckon_raft_role{role=\"candidate\"," + label + "}"), 0);
    EXPECT_EQ(at("reckon_raft_role{role=\"unavailable\"," + label + "}"), 0);
    EXPECT_GE(at("reckon_raft_term{" + label + "}"), 1);
    EXPECT_EQ(at("reckon_raft_commit_lag{" + label + "}"), 0);
    // Fresh stores: everything is still in the memtables, no SST file yet.
    const double memtable = at("reckon_rocksdb_memtable_bytes{" + label + "}");
    EXPECT_GT(memtable, 0);
    EXPECT_LT(memtable, 1 << 30);
    EXPECT_GE(at("reckon_rocksdb_live_data_bytes{" + label + "}"), 0);
    EXPECT_GE(at("reckon_rocksdb_sst_bytes{" + label + "}"), 0);
    const double cache = at("reckon_rocksdb_block_cache_bytes{" + label + "}");
    EXPECT_GE(cache, 0);
    EXPECT_LE(cache, 256 << 20) << "the default block cache capacity";
  }

  // Reopening replays the RocksDB WAL into SST files: now the SST and live-data gauges count
  // each store's own data (audit's 40 KB of random hex against default's few bytes).
  ASSERT_TRUE(server.restart().is_ok()) << server.log_tail();
  m = scrape(server);
  const double main_sst = at(R"(reckon_rocksdb_sst_bytes{store="default"})");
  const double audit_sst = at(R"(reckon_rocksdb_sst_bytes{store="audit"})");
  EXPECT_GT(main_sst, 0);
  EXPECT_GT(audit_sst - main_sst, 15'000);
  for (const std::string store : {"default", "audit"}) {
    SCOPED_TRACE(store);
    const std::string label = "{store=\"" + store + "\"}";
    const double live = at("reckon_rocksdb_live_data_bytes" + label);
    EXPECT_GT(live, 0);
    EXPECT_LE(live, at("reckon_rocksdb_sst_bytes" + label));
    EXPECT_GT(at("reckon_rocksdb_memtable_bytes" + label), 0);
    const double cache = at("reckon_rocksdb_block_cache_bytes" + label);
    EXPECT_GT(cache, 0) << "opening the SST files reads their index blocks";
    EXPECT_LE(cache, 256 << 20);
  }
  EXPECT_EQ(at(R"(reckon_last_position{store="default"})"), 3);
  EXPECT_EQ(at(R"(reckon_last_position{store="audit"})"), 5);

  // An idle restarted store has no commit lag: the entries Raft commits without a state
  // machine command (barriers, configuration) count as applied. (It read 2 until the next
  // write.)
  EXPECT_TRUE(scrape_until_no_commit_lag(std::chrono::seconds(5)))
      << m.substr(m.find("reckon_raft_commit_lag"), 200);
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

TEST(ShutdownTest, SigintStopsCleanlyAndKeepsTheData) {
  TempDir dir;
  ServerProcess server(testing::reckond_bin(), dir.sub("data"));
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  std::vector<AppendResult> acked;
  {
    auto client = connect(server.grpc_address());
    for (int i = 0; i < 10; ++i) {
      auto r = client->append("kept-" + std::to_string(i % 3), kExpectAny,
                              {event("E", R"({"i":)" + std::to_string(i) + "}")});
      ASSERT_TRUE(r) << r.status().to_string();
      acked.push_back(*r);
    }
  }
  auto how = server.stop(std::chrono::seconds(10), SIGINT);
  ASSERT_TRUE(how) << how.status().to_string();
  EXPECT_EQ(*how, "exited 0") << server.log_tail();
  std::ifstream log(server.log_path());
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("received SIGINT, shutting down"), std::string::npos);

  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  auto client = connect(server.grpc_address());
  for (size_t i = 0; i < acked.size(); ++i) {
    ReadStreamOptions o;
    o.from_version = acked[i].last_version;
    o.max_count = 1;
    auto page = client->read(acked[i].stream_id, o);
    ASSERT_TRUE(page) << page.status().to_string();
    ASSERT_EQ(page->events.size(), 1u) << acked[i].stream_id << "@" << acked[i].last_version;
    EXPECT_EQ(page->events[0].position, acked[i].position);
    EXPECT_EQ(page->events[0].data, R"({"i":)" + std::to_string(i) + "}");
  }
}

// A client that stops reading keeps its ReadAll call in flight (flow control stalls the
// server's writes), so after SIGTERM reckond waits out its 5 s grace for in-flight calls with
// the HTTP endpoints still up: /health must say 503 meanwhile, and the exit is still clean.
TEST(ShutdownTest, HealthAnswers503WhileCallsDrain) {
  TempDir dir;
  ServerProcess server(testing::reckond_bin(), dir.sub("data"));
  ASSERT_TRUE(server.start().is_ok()) << server.log_tail();
  {
    // 4 MB of events: far more than a stream's flow-control window.
    auto client = connect(server.grpc_address());
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(client->append("bulk", kExpectAny, {event("Big", hex_json(500'000, i))}));
    }
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // no window growth: the window stays 64 KB
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel =
      grpc::CreateCustomChannel(server.grpc_address(), grpc::InsecureChannelCredentials(), args);
  auto stub = v1::Streams::NewStub(channel);
  grpc::ClientContext ctx;
  v1::ReadAllRequest request;
  auto reader = stub->ReadAll(&ctx, request);
  reader->WaitForInitialMetadata();  // sent with the server's first write: the call is running

  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (std::chrono::steady_clock::now() < until) {
    auto health = testing::http_get("127.0.0.1", server.http_port(), "/health");
    ASSERT_TRUE(health) << "the HTTP server went away before the grace period ended: "
                        << health.status().to_string();
    status = health->status;
    if (status != 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, 503);
  auto how = server.stop(std::chrono::seconds(20));  // already signalled: waits for the exit
  ASSERT_TRUE(how) << how.status().to_string();
  EXPECT_EQ(*how, "exited 0") << server.log_tail();
  ctx.TryCancel();
}

}  // namespace
}  // namespace reckon
