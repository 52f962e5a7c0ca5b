// Many threads appending at once to a real store: the expected-version check and the write are
// one atomic step, versions stay gapless and positions dense whatever the interleaving.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "reckon/store.h"
#include "support/store_test_util.h"

namespace reckon {
namespace {

using testing::iota_positions;
using testing::iota_versions;
using testing::make_event;
using testing::make_event_with_id;
using testing::positions_of;
using testing::versions_of;

constexpr int kThreads = 16;

std::string payload(int thread, int seq) {
  return "{\"t\":" + std::to_string(thread) + ",\"n\":" + std::to_string(seq) + "}";
}

bool parse_payload(const std::string& data, int* thread, int* seq) {
  return std::sscanf(data.c_str(), "{\"t\":%d,\"n\":%d}", thread, seq) == 2;
}

class StoreConcurrencyTest : public testing::StoreTest {
 protected:
  // Every thread's events must appear in the order that thread appended them.
  static void ExpectPerThreadOrder(const std::vector<Event>& events, int threads, int per_thread,
                                   int events_per_append) {
    std::map<int, int> next;
    for (const auto& e : events) {
      int t = -1, n = -1;
      ASSERT_TRUE(parse_payload(e.data, &t, &n)) << e.data;
      EXPECT_EQ(n, next[t]) << "thread " << t << " out of order at version " << e.version;
      next[t] = n + 1;
    }
    ASSERT_EQ(next.size(), static_cast<size_t>(threads));
    for (const auto& [t, n] : next) EXPECT_EQ(n, per_thread * events_per_append) << "thread " << t;
  }
};

TEST_F(StoreConcurrencyTest, ExactExpectationRaceHasExactlyOneWinnerPerVersion) {
  constexpr int kWinsPerThread = 8;
  std::latch start(kThreads);
  std::mutex mu;
  std::vector<AppendResult> wins;
  std::atomic<int> conflicts{0};
  std::atomic<int> unexpected{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      int won = 0;
      auto v = store().get_version("contended");
      if (!v.is_ok()) {
        ++unexpected;
        return;
      }
      int64_t expected = *v;
      for (int attempt = 0; won < kWinsPerThread && attempt < 100000; ++attempt) {
        std::vector<NewEvent> evs;
        evs.push_back(make_event("Raced", payload(t, won)));
        auto r = store().append("contended", expected, std::move(evs));
        if (r.is_ok()) {
          EXPECT_EQ(r->first_version, expected + 1);
          {
            std::lock_guard<std::mutex> lock(mu);
            wins.push_back(r.value());
          }
          expected = r->last_version;
          ++won;
        } else if (r.code() == ErrorCode::kWrongExpectedVersion) {
          ++conflicts;
          const auto* info = r.status().wrong_expected_version_info();
          if (info == nullptr) {
            ++unexpected;
            return;
          }
          EXPECT_GT(info->current, expected);
          expected = info->current;
        } else {
          ADD_FAILURE() << r.status().to_string();
          ++unexpected;
          return;
        }
      }
      EXPECT_EQ(won, kWinsPerThread);
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(unexpected.load(), 0);

  const int total = kThreads * kWinsPerThread;
  ASSERT_EQ(wins.size(), static_cast<size_t>(total));
  std::set<int64_t> versions;
  std::set<Position> positions;
  for (const auto& w : wins) {
    EXPECT_EQ(w.first_version, w.last_version);
    EXPECT_TRUE(versions.insert(w.first_version).second)
        << "two appends won version " << w.first_version;
    EXPECT_TRUE(positions.insert(w.position).second) << "position reused " << w.position;
  }
  EXPECT_EQ(*versions.begin(), 0);
  EXPECT_EQ(*versions.rbegin(), total - 1);
  EXPECT_EQ(*store().get_version("contended"), total - 1);

  auto events = StreamEvents("contended");
  EXPECT_EQ(versions_of(events), iota_versions(0, total - 1));
  EXPECT_EQ(positions_of(events), iota_positions(1, total));
  ExpectPerThreadOrder(events, kThreads, kWinsPerThread, 1);
  // A failed expectation wrote nothing: $all holds exactly the winners.
  EXPECT_EQ(AllEvents().size(), static_cast<size_t>(total));
}

TEST_F(StoreConcurrencyTest, AnyAppendsToOneStreamAreGaplessAndDense) {
  constexpr int kAppendsPerThread = 15;
  constexpr int kEventsPerAppend = 2;
  std::latch start(kThreads);
  std::mutex mu;
  std::vector<AppendResult> results;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kAppendsPerThread; ++i) {
        std::vector<NewEvent> evs;
        for (int k = 0; k < kEventsPerAppend; ++k) {
          evs.push_back(make_event("Any", payload(t, i * kEventsPerAppend + k)));
        }
        auto r = store().append("shared", kExpectAny, std::move(evs));
        if (!r.is_ok()) {
          ADD_FAILURE() << r.status().to_string();
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        results.push_back(r.value());
      }
    });
  }
  for (auto& th : threads) th.join();

  const int appends = kThreads * kAppendsPerThread;
  const int total = appends * kEventsPerAppend;
  ASSERT_EQ(results.size(), static_cast<size_t>(appends));
  std::set<int64_t> first_versions;
  for (const auto& r : results) {
    // One append's events are contiguous in both the stream and $all.
    EXPECT_EQ(r.last_version - r.first_version, kEventsPerAppend - 1);
    EXPECT_EQ(r.position - r.first_position, static_cast<Position>(kEventsPerAppend - 1));
    EXPECT_EQ(static_cast<int64_t>(r.first_position) - 1, r.first_version)
        << "single stream: position = version + 1";
    EXPECT_TRUE(first_versions.insert(r.first_version).second);
  }
  EXPECT_EQ(*store().get_version("shared"), total - 1);
  auto events = StreamEvents("shared");
  EXPECT_EQ(versions_of(events), iota_versions(0, total - 1));
  EXPECT_EQ(positions_of(events), iota_positions(1, total));
  ExpectPerThreadOrder(events, kThreads, kAppendsPerThread, kEventsPerAppend);
  // Events of one append share created_us, and created_us never decreases.
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GE(events[i].created_us, events[i - 1].created_us);
  }
}

TEST_F(StoreConcurrencyTest, AnyAppendsToDistinctStreamsKeepEachStreamGaplessAndPositionsDense) {
  constexpr int kAppendsPerThread = 20;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      const std::string stream = "stream-" + std::to_string(t);
      for (int i = 0; i < kAppendsPerThread; ++i) {
        std::vector<NewEvent> evs;
        evs.push_back(make_event("Distinct", payload(t, i)));
        auto r = store().append(stream, kExpectAny, std::move(evs));
        if (!r.is_ok()) {
          ADD_FAILURE() << r.status().to_string();
          return;
        }
        EXPECT_EQ(r->first_version, i);
      }
    });
  }
  for (auto& th : threads) th.join();

  const int total = kThreads * kAppendsPerThread;
  auto all = AllEvents();
  EXPECT_EQ(positions_of(all), iota_positions(1, total));
  std::map<std::string, int64_t> next_version;
  for (const auto& e : all) {
    EXPECT_EQ(e.version, next_version[e.stream_id]) << e.stream_id;
    next_version[e.stream_id] = e.version + 1;
  }
  EXPECT_EQ(next_version.size(), static_cast<size_t>(kThreads));
  for (int t = 0; t < kThreads; ++t) {
    const std::string stream = "stream-" + std::to_string(t);
    EXPECT_EQ(*store().get_version(stream), kAppendsPerThread - 1);
    auto events = StreamEvents(stream);
    EXPECT_EQ(versions_of(events), iota_versions(0, kAppendsPerThread - 1));
    for (size_t i = 0; i < events.size(); ++i) {
      int th = -1, n = -1;
      ASSERT_TRUE(parse_payload(events[i].data, &th, &n));
      EXPECT_EQ(th, t);
      EXPECT_EQ(n, static_cast<int>(i));
    }
  }
}

TEST_F(StoreConcurrencyTest, ConcurrentReadAllNeverSeesAHoleInPositions) {
  constexpr int kWriters = 8;
  constexpr int kAppendsPerWriter = 15;
  std::latch start(kWriters + 1);
  std::atomic<int> writers_done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kAppendsPerWriter; ++i) {
        std::vector<NewEvent> evs;
        evs.push_back(make_event("W", payload(t, 2 * i)));
        evs.push_back(make_event("W", payload(t, 2 * i + 1)));
        auto r = store().append("w-" + std::to_string(t % 3), kExpectAny, std::move(evs));
        if (!r.is_ok()) ADD_FAILURE() << r.status().to_string();
      }
      ++writers_done;
    });
  }
  int reads = 0;
  threads.emplace_back([&] {
    start.arrive_and_wait();
    bool last_round = false;
    while (!last_round) {
      last_round = writers_done.load() == kWriters;
      ReadAllOptions o;
      o.max_count = 100000;
      auto r = store().read_all(o);
      if (!r.is_ok()) {
        ADD_FAILURE() << r.status().to_string();
        return;
      }
      ++reads;
      const auto& evs = r->events;
      for (size_t i = 0; i < evs.size(); ++i) {
        if (evs[i].position != i + 1) {
          ADD_FAILURE() << "read_all saw position " << evs[i].position << " at index " << i;
          return;
        }
      }
      // An append is all or nothing: both events of one append are visible together.
      std::map<std::pair<int, int>, int> seen;
      for (const auto& e : evs) {
        int t = -1, n = -1;
        ASSERT_TRUE(parse_payload(e.data, &t, &n));
        ++seen[{t, n / 2}];
      }
      for (const auto& [key, count] : seen) {
        EXPECT_EQ(count, 2) << "half of an append visible (thread " << key.first << ")";
      }
    }
  });
  for (auto& th : threads) th.join();
  EXPECT_GT(reads, 0);
  EXPECT_EQ(positions_of(AllEvents()), iota_positions(1, kWriters * kAppendsPerWriter * 2));
}

TEST_F(StoreConcurrencyTest, ConcurrentIdenticalRetriesWriteTheEventsOnce) {
  constexpr int kRetriers = 8;
  std::vector<NewEvent> evs;
  for (int i = 0; i < 3; ++i) evs.push_back(make_event_with_id(Uuid::v7(), "Once", payload(0, i)));

  std::latch start(kRetriers);
  std::mutex mu;
  std::vector<AppendResult> results;
  std::vector<std::thread> threads;
  for (int t = 0; t < kRetriers; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto r = store().append("once", kExpectNoStream, evs);
      if (!r.is_ok()) {
        ADD_FAILURE() << r.status().to_string();
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      results.push_back(r.value());
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(results.size(), static_cast<size_t>(kRetriers));
  for (const auto& r : results) {
    EXPECT_EQ(r.first_version, 0);
    EXPECT_EQ(r.last_version, 2);
    EXPECT_EQ(r.first_position, 1u);
    EXPECT_EQ(r.position, 3u);
    EXPECT_EQ(r.created_us, results[0].created_us);
  }
  EXPECT_EQ(AllEvents().size(), 3u);
  EXPECT_EQ(*store().get_version("once"), 2);
}

TEST_F(StoreConcurrencyTest, ConditionalAppendRaceHasExactlyOneWinner) {
  // Every thread tries to book the same seat with a DCB condition read at position 0.
  std::latch start(kThreads);
  std::atomic<int> winners{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      AppendCondition cond;
      cond.items.push_back(QueryItem{{"SeatBooked"}, {"seat:1"}});
      cond.after_position = 0;
      std::vector<NewEvent> evs;
      evs.push_back(
          make_event("SeatBooked", payload(t, 0), {"seat:1", "user:" + std::to_string(t)}));
      start.arrive_and_wait();
      auto r = store().append_if("booking-" + std::to_string(t), kExpectAny, std::move(evs), cond);
      if (r.is_ok()) {
        ++winners;
      } else if (r.code() == ErrorCode::kConditionFailed) {
        ++refused;
      } else {
        ADD_FAILURE() << r.status().to_string();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  auto all = AllEvents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].position, 1u);
}

TEST_F(StoreConcurrencyTest, MultiStreamAppendsFromManyThreadsKeepEveryStreamGapless) {
  constexpr int kAppendsPerThread = 10;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kAppendsPerThread; ++i) {
        // Opposite stream orders in alternate threads: no lock-order deadlock allowed.
        std::string first = t % 2 == 0 ? "left" : "right";
        std::string second = t % 2 == 0 ? "right" : "left";
        std::vector<StreamAppend> parts;
        parts.push_back({first, kExpectAny, {}});
        parts.back().events.push_back(make_event("M", payload(t, i)));
        parts.push_back({second, kExpectAny, {}});
        parts.back().events.push_back(make_event("M", payload(t, i)));
        auto r = store().append_multi(std::move(parts));
        if (!r.is_ok()) {
          ADD_FAILURE() << r.status().to_string();
          return;
        }
        // Parts get consecutive positions in part order.
        EXPECT_EQ((*r)[1].first_position, (*r)[0].position + 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  const int total = kThreads * kAppendsPerThread;
  for (const char* s : {"left", "right"}) {
    auto events = StreamEvents(s);
    EXPECT_EQ(versions_of(events), iota_versions(0, total - 1)) << s;
    ExpectPerThreadOrder(events, kThreads, kAppendsPerThread, 1);
  }
  EXPECT_EQ(positions_of(AllEvents()), iota_positions(1, 2 * total));
}

}  // namespace
}  // namespace reckon
