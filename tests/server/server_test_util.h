// Shared helpers of the end-to-end tests (tests/server/): a suite-wide reckond process, clients
// connected to it, unique names so tests sharing one server never see each other's streams,
// and JSON-lines parsing of CLI output. Header-only; test code only.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "reckon/client.h"
#include "support/server_process.h"
#include "support/store_test_util.h"
#include "support/temp_dir.h"

namespace reckon::testing {

// "base-<random>-<n>": unique within the test binary and across runs against one server.
inline std::string unique_name(const std::string& base) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  std::ostringstream os;
  os << base << "-" << std::hex << (salt & 0xffffff) << std::dec << "-" << counter.fetch_add(1);
  return os.str();
}

inline Result<std::unique_ptr<Client>> connect_client(const std::string& endpoint,
                                                      int64_t timeout_ms = 10'000,
                                                      int max_attempts = 6) {
  ClientOptions o;
  o.endpoints = {endpoint};
  o.timeout_ms = timeout_ms;
  o.max_attempts = max_attempts;
  return Client::connect(o);
}

// One reckond for a whole test suite (started once: each start costs a process and a RocksDB
// open). Tests use unique stream names and compare positions relative to their own appends.
class SharedServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(reckond_bin(), dir_->sub("node"));
    Status st = server_->start();
    startup_error_ = st.is_ok() ? "" : st.to_string();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(startup_error_.empty()) << "reckond did not start: " << startup_error_;
    auto c = connect_client(server_->grpc_address());
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    client_ = std::move(c).value();
  }
  void TearDown() override {
    if (HasFailure() && server_ != nullptr) {
      std::cerr << "---- reckond log tail:\n" << server_->log_tail(3000) << "\n";
    }
  }

  Client& client() { return *client_; }
  static ServerProcess& server() { return *server_; }

  AppendResult MustAppend(const std::string& stream, ExpectedVersion expected,
                          std::vector<NewEvent> events) {
    auto r = client_->append(stream, expected, std::move(events));
    EXPECT_TRUE(r.is_ok()) << "append to " << stream << ": " << r.status().to_string();
    return r.is_ok() ? r.value() : AppendResult{};
  }

  // Every readable event of a stream, through read_streaming.
  std::vector<Event> StreamEvents(const std::string& stream) {
    std::vector<Event> out;
    ReadStreamOptions o;
    o.max_count = 0;
    Status st = client_->read_streaming(stream, o, [&](const Event& e) {
      out.push_back(e);
      return true;
    });
    EXPECT_TRUE(st.is_ok()) << "read " << stream << ": " << st.to_string();
    return out;
  }

  // Every event of $all whose stream starts with `prefix`.
  std::vector<Event> PrefixEvents(const std::string& prefix) {
    std::vector<Event> out;
    ReadAllOptions o;
    o.max_count = 0;
    o.filter.stream_prefixes = {prefix};
    Status st = client_->read_all_streaming(o, [&](const Event& e) {
      out.push_back(e);
      return true;
    });
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return out;
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
  static inline std::string startup_error_;
  std::unique_ptr<Client> client_;
};

// Each non-empty line of `text` parsed as JSON; a line that does not parse fails the test.
inline std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// Polls `condition` until it holds or `deadline` passes; returns whether it held.
template <typename F>
bool eventually(F condition, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  return condition();
}

}  // namespace reckon::testing
