// Helpers for tests that open a real reckon::Store: event builders, status assertions, a
// fixture owning a TempDir and an open store, and brute-force readers used as oracles.
// Header-only; test code only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "reckon/clock.h"
#include "reckon/options.h"
#include "reckon/status.h"
#include "reckon/store.h"
#include "reckon/types.h"
#include "support/temp_dir.h"

namespace reckon::testing {

inline const Status& status_of(const Status& s) { return s; }
template <typename T>
const Status& status_of(const Result<T>& r) {
  return r.status();
}

// Builds a JSON event.
inline NewEvent make_event(std::string type, std::string json = "{}",
                           std::vector<std::string> tags = {}) {
  NewEvent e;
  e.event_type = std::move(type);
  e.data = std::move(json);
  e.tags = std::move(tags);
  return e;
}

inline NewEvent make_event_with_id(const Uuid& id, std::string type, std::string json = "{}",
                                   std::vector<std::string> tags = {}) {
  NewEvent e = make_event(std::move(type), std::move(json), std::move(tags));
  e.event_id = id;
  return e;
}

// n JSON events of one type, data {"i": k}.
inline std::vector<NewEvent> make_events(int n, const std::string& type = "Tested") {
  std::vector<NewEvent> out;
  for (int k = 0; k < n; ++k) out.push_back(make_event(type, "{\"i\":" + std::to_string(k) + "}"));
  return out;
}

// n JSON events with fresh client-supplied ids.
inline std::vector<NewEvent> make_events_with_ids(int n, const std::string& type = "Tested") {
  std::vector<NewEvent> out;
  for (int k = 0; k < n; ++k) {
    out.push_back(make_event_with_id(Uuid::v7(), type, "{\"i\":" + std::to_string(k) + "}"));
  }
  return out;
}

inline std::vector<NewEvent> one(NewEvent e) {
  std::vector<NewEvent> out;
  out.push_back(std::move(e));
  return out;
}

}  // namespace reckon::testing

// Assertions that print the status on failure. They evaluate `expr` once.
#define RECKON_EXPECT_OK(expr)                                           \
  do {                                                                   \
    const auto& _rk_r = (expr);                                          \
    const ::reckon::Status& _rk_s = ::reckon::testing::status_of(_rk_r); \
    EXPECT_TRUE(_rk_s.is_ok()) << #expr << " -> " << _rk_s.to_string();  \
  } while (0)
#define RECKON_ASSERT_OK(expr)                                           \
  do {                                                                   \
    const auto& _rk_r = (expr);                                          \
    const ::reckon::Status& _rk_s = ::reckon::testing::status_of(_rk_r); \
    ASSERT_TRUE(_rk_s.is_ok()) << #expr << " -> " << _rk_s.to_string();  \
  } while (0)
#define RECKON_EXPECT_CODE(expr, expected_code)                                                  \
  do {                                                                                           \
    const auto& _rk_r = (expr);                                                                  \
    const ::reckon::Status& _rk_s = ::reckon::testing::status_of(_rk_r);                         \
    EXPECT_EQ(::reckon::error_code_name(_rk_s.code()), ::reckon::error_code_name(expected_code)) \
        << #expr << " -> " << _rk_s.to_string();                                                 \
  } while (0)
#define RECKON_ASSERT_CODE(expr, expected_code)                                                  \
  do {                                                                                           \
    const auto& _rk_r = (expr);                                                                  \
    const ::reckon::Status& _rk_s = ::reckon::testing::status_of(_rk_r);                         \
    ASSERT_EQ(::reckon::error_code_name(_rk_s.code()), ::reckon::error_code_name(expected_code)) \
        << #expr << " -> " << _rk_s.to_string();                                                 \
  } while (0)

namespace reckon::testing {

// A test that owns a temporary data directory and a store opened in it.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenStore(); }

  // Options used by OpenStore; tests may change them before calling Reopen().
  StoreOptions& options() { return options_; }

  void OpenStore() {
    options_.data_dir = dir_.sub("store");
    auto opened = Store::open(options_);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    store_ = std::move(opened).value();
  }

  // Destroys the store (closing it) and opens it again on the same directory.
  void Reopen() {
    store_.reset();
    OpenStore();
  }

  Store& store() { return *store_; }

  AppendResult MustAppend(const std::string& stream, ExpectedVersion expected,
                          std::vector<NewEvent> events) {
    auto r = store_->append(stream, expected, std::move(events));
    EXPECT_TRUE(r.is_ok()) << "append to " << stream << ": " << r.status().to_string();
    return r.is_ok() ? r.value() : AppendResult{};
  }

  // Every event of $all in position order, by paging read_all forward.
  std::vector<Event> AllEvents() {
    std::vector<Event> out;
    ReadAllOptions o;
    o.from_position = kStartPosition;
    o.max_count = 1000;
    for (int guard = 0; guard < 100000; ++guard) {
      auto r = store_->read_all(o);
      EXPECT_TRUE(r.is_ok()) << r.status().to_string();
      if (!r.is_ok()) break;
      out.insert(out.end(), r->events.begin(), r->events.end());
      if (r->end) break;
      EXPECT_GT(r->next_position, o.from_position);
      if (r->next_position <= o.from_position) break;
      o.from_position = r->next_position;
    }
    return out;
  }

  // Every readable event of a stream in version order (empty on error).
  std::vector<Event> StreamEvents(const std::string& stream) {
    std::vector<Event> out;
    ReadStreamOptions o;
    o.from_version = 0;
    o.max_count = 1000;
    for (int guard = 0; guard < 100000; ++guard) {
      auto r = store_->read(stream, o);
      EXPECT_TRUE(r.is_ok()) << "read " << stream << ": " << r.status().to_string();
      if (!r.is_ok()) break;
      out.insert(out.end(), r->events.begin(), r->events.end());
      if (r->end_of_stream) break;
      EXPECT_GT(r->next_version, o.from_version);
      if (r->next_version <= o.from_version) break;
      o.from_version = r->next_version;
    }
    return out;
  }

  TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

inline std::vector<Position> positions_of(const std::vector<Event>& events) {
  std::vector<Position> out;
  for (const auto& e : events) out.push_back(e.position);
  return out;
}

inline std::vector<int64_t> versions_of(const std::vector<Event>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) out.push_back(e.version);
  return out;
}

inline std::vector<int64_t> iota_versions(int64_t from, int64_t to_inclusive) {
  std::vector<int64_t> out;
  for (int64_t v = from; v <= to_inclusive; ++v) out.push_back(v);
  return out;
}

inline std::vector<Position> iota_positions(Position from, Position to_inclusive) {
  std::vector<Position> out;
  for (Position p = from; p <= to_inclusive; ++p) out.push_back(p);
  return out;
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace reckon::testing
