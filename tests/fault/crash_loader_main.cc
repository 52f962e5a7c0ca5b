// reckon-crash-loader DATA_DIR: opens the store in DATA_DIR (creating it if needed) and appends
// forever from 4 threads to 50 streams, until it is killed (the crash test sends SIGKILL).
//
// After every acknowledged append it prints exactly one line to stdout and flushes it:
//   ack <stream> <first_version> <last_version> <position> <event_id_of_last_event>
// <position> is the global position of the append's last event; <event_id_of_last_event> is the
// client-supplied id, or "-" when the store generated it (AppendResult does not return ids).
// For an append_multi, one line per part. A line is printed only after the store returned
// success, so every line names an append that must survive any crash.
//
// Mix of commands: single appends of 1-5 events without ids, single appends with client ids
// (one in five of them re-sent right away: the idempotent retry must return the original
// result), and append_multi over 2-3 distinct streams. Events carry one of three types and the
// tags "loader" and "thread-<t>", so the type and tag indexes are written under the crash too.
//
// Exit codes: 2 usage error, 1 the store failed (open or an append), 3 an idempotent retry
// returned a different result. It never exits on its own otherwise.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "reckon/options.h"
#include "reckon/status.h"
#include "reckon/store.h"
#include "reckon/types.h"

namespace {

constexpr int kThreads = 4;
constexpr int kStreams = 50;

std::mutex g_print_mu;

void print_ack(const reckon::AppendResult& r, const std::string& last_id) {
  std::lock_guard<std::mutex> lock(g_print_mu);
  std::fprintf(stdout, "ack %s %" PRId64 " %" PRId64 " %" PRIu64 " %s\n", r.stream_id.c_str(),
               r.first_version, r.last_version, static_cast<uint64_t>(r.position), last_id.c_str());
  std::fflush(stdout);
}

[[noreturn]] void die(int code, const std::string& what) {
  {
    std::lock_guard<std::mutex> lock(g_print_mu);
    std::fprintf(stderr, "reckon-crash-loader: %s\n", what.c_str());
    std::fflush(stderr);
  }
  std::_Exit(code);  // no destructors: other threads are still appending
}

struct Batch {
  std::vector<reckon::NewEvent> events;
  std::string last_id = "-";
};

Batch make_events(std::mt19937_64& rng, int thread, uint64_t& seq, int count, bool client_ids) {
  Batch b;
  for (int i = 0; i < count; ++i) {
    reckon::NewEvent e;
    if (client_ids) e.event_id = reckon::Uuid::v7();
    uint64_t n = seq++;
    e.event_type = "Crash" + std::to_string(n % 3);
    e.data = "{\"thread\":" + std::to_string(thread) + ",\"seq\":" + std::to_string(n) +
             ",\"pad\":\"" + std::string(static_cast<size_t>(rng() % 64), 'x') + "\"}";
    e.tags = {"loader", "thread-" + std::to_string(thread)};
    b.events.push_back(std::move(e));
  }
  if (client_ids) b.last_id = b.events.back().event_id->to_string();
  return b;
}

std::string stream_name(uint64_t i) { return "crash-" + std::to_string(i % kStreams); }

bool same_result(const reckon::AppendResult& a, const reckon::AppendResult& b) {
  return a.stream_id == b.stream_id && a.first_version == b.first_version &&
         a.last_version == b.last_version && a.first_position == b.first_position &&
         a.position == b.position && a.created_us == b.created_us;
}

std::string describe(const reckon::AppendResult& r) {
  return r.stream_id + " v" + std::to_string(r.first_version) + ".." +
         std::to_string(r.last_version) + " p" + std::to_string(r.first_position) + ".." +
         std::to_string(r.position) + " t" + std::to_string(r.created_us);
}

void run(reckon::Store& store, int thread) {
  std::mt19937_64 rng(std::random_device{}() ^ (static_cast<uint64_t>(thread) << 32));
  uint64_t seq = 0;
  for (;;) {
    uint64_t kind = rng() % 100;
    if (kind < 85) {
      const bool client_ids = kind >= 60;
      const std::string stream = stream_name(rng());
      const int count = 1 + static_cast<int>(rng() % 5);
      Batch b = make_events(rng, thread, seq, count, client_ids);
      std::vector<reckon::NewEvent> retry_copy;
      const bool retry = client_ids && rng() % 5 == 0;
      if (retry) retry_copy = b.events;
      auto r = store.append(stream, reckon::kExpectAny, std::move(b.events));
      if (!r.is_ok()) die(1, "append to " + stream + " failed: " + r.status().to_string());
      print_ack(*r, b.last_id);
      if (retry) {
        auto again = store.append(stream, reckon::kExpectAny, std::move(retry_copy));
        if (!again.is_ok()) {
          die(3, "idempotent retry to " + stream + " failed: " + again.status().to_string());
        }
        if (!same_result(*r, *again)) {
          die(3, "idempotent retry returned " + describe(*again) + ", original " + describe(*r));
        }
      }
    } else {
      const int parts = 2 + static_cast<int>(rng() % 2);
      const uint64_t base = rng();
      std::vector<reckon::StreamAppend> appends;
      std::vector<std::string> last_ids;
      for (int p = 0; p < parts; ++p) {
        reckon::StreamAppend a;
        a.stream_id = stream_name(base + static_cast<uint64_t>(p) * 7);  // distinct: 7p < 50
        a.expected = reckon::kExpectAny;
        Batch b = make_events(rng, thread, seq, 1 + static_cast<int>(rng() % 3), rng() % 2 == 0);
        a.events = std::move(b.events);
        last_ids.push_back(b.last_id);
        appends.push_back(std::move(a));
      }
      auto r = store.append_multi(std::move(appends));
      if (!r.is_ok()) die(1, "append_multi failed: " + r.status().to_string());
      if (r->size() != last_ids.size()) die(1, "append_multi returned a wrong result count");
      for (size_t i = 0; i < r->size(); ++i) print_ack((*r)[i], last_ids[i]);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || argv[1][0] == '\0') {
    std::fprintf(stderr, "usage: reckon-crash-loader DATA_DIR\n");
    return 2;
  }
  reckon::StoreOptions options;
  options.data_dir = argv[1];
  options.create_if_missing = true;
  options.sync_writes = true;
  auto opened = reckon::Store::open(options);
  if (!opened.is_ok()) die(1, "open " + options.data_dir + ": " + opened.status().to_string());
  std::unique_ptr<reckon::Store> store = std::move(opened).value();

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&store, t] { run(*store, t); });
  for (auto& t : threads) t.join();  // never: the threads append until the process is killed
  return 0;
}
