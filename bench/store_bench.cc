// In-process benchmarks of reckon::Store against a real RocksDB store in a temp dir.
//
// Durability is never weakened: every store here is opened with sync_writes = true, so each
// measured append has been fsynced before it is acknowledged (group commit folds concurrent
// appends into one synced write).
//
// Append benchmarks open a fresh store per benchmark run (Setup/Teardown, once per run whatever
// the thread count). Read benchmarks share one 1,000,000-event dataset, built once per process
// the first time a read benchmark needs it.
//
// Targets and results: docs/PERFORMANCE.md. Run:
//   ./build/bench/reckon_bench
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "reckon/options.h"
#include "reckon/status.h"
#include "reckon/store.h"
#include "reckon/types.h"

namespace {

using reckon::AppendResult;
using reckon::NewEvent;
using reckon::Store;
using reckon::StoreOptions;

// ---- temp dirs and stores ----

std::string make_temp_dir(const char* tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/reckon-bench-" + tag + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

// A store in its own temp dir; closing it removes the dir.
struct BenchStore {
  std::string dir;
  std::unique_ptr<Store> store;

  explicit BenchStore(const char* tag) : dir(make_temp_dir(tag)) {
    StoreOptions options;
    options.data_dir = dir + "/data";
    options.create_if_missing = true;
    options.sync_writes = true;  // never weakened: acknowledged = fsynced
    auto opened = Store::open(options);
    if (!opened.is_ok()) {
      std::fprintf(stderr, "Store::open(%s) failed: %s\n", options.data_dir.c_str(),
                   opened.status().to_string().c_str());
      std::abort();
    }
    store = std::move(opened).value();
  }
  ~BenchStore() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  BenchStore(const BenchStore&) = delete;
  BenchStore& operator=(const BenchStore&) = delete;
};

// ~200 bytes of JSON, varied a little per event.
std::string order_json(uint64_t n) {
  char buf[320];
  int len = std::snprintf(
      buf, sizeof buf,
      "{\"order_id\":\"order-%010llu\",\"customer_id\":\"customer-%06llu\","
      "\"amount_cents\":%llu,\"currency\":\"EUR\",\"items\":[{\"sku\":\"SKU-%05llu\","
      "\"qty\":%llu},{\"sku\":\"SKU-%05llu\",\"qty\":1}],\"channel\":\"web\"}",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(n % 100000),
      static_cast<unsigned long long>(1000 + n % 99000), static_cast<unsigned long long>(n % 50000),
      static_cast<unsigned long long>(1 + n % 5), static_cast<unsigned long long>((n * 7) % 50000));
  return std::string(buf, static_cast<size_t>(len));
}

NewEvent order_event(uint64_t n, bool with_client_id) {
  NewEvent e;
  if (with_client_id) e.event_id = reckon::Uuid::v7();
  e.event_type = "OrderPlaced";
  e.data = order_json(n);
  return e;
}

// Commits/commands counters around a run, to show how far group commit folds appends.
struct CommitCounters {
  uint64_t commits = 0;
  uint64_t commands = 0;
};

// ---- append benchmarks: one fresh store per run ----

BenchStore* g_append_store = nullptr;
CommitCounters g_append_before;

void SetupAppendStore(const benchmark::State&) {
  g_append_store = new BenchStore("append");
  auto s = g_append_store->store->stats();
  g_append_before = {s.commits, s.commands};
}

void TeardownAppendStore(const benchmark::State&) {
  delete g_append_store;
  g_append_store = nullptr;
}

// Called by thread 0 only, after its loop: per-run group-commit factor. Threads of a run do not
// stop at exactly the same instant, so this is approximate (a few appends of other threads may
// be missing), which is fine for the ratio.
void report_commit_counters(benchmark::State& state) {
  if (state.thread_index() != 0) return;
  auto s = g_append_store->store->stats();
  double commits = static_cast<double>(s.commits - g_append_before.commits);
  double commands = static_cast<double>(s.commands - g_append_before.commands);
  state.counters["commands_per_commit"] = commits > 0 ? commands / commits : 0.0;
}

void append_single(benchmark::State& state, bool with_client_ids) {
  Store& store = *g_append_store->store;
  const std::string stream = "order-t" + std::to_string(state.thread_index());
  uint64_t n = static_cast<uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    std::vector<NewEvent> events;
    events.push_back(order_event(n++, with_client_ids));
    auto r = store.append(stream, reckon::kExpectAny, std::move(events));
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  report_commit_counters(state);
}

void BM_AppendSingleEvent(benchmark::State& state) { append_single(state, false); }
BENCHMARK(BM_AppendSingleEvent)
    ->Setup(SetupAppendStore)
    ->Teardown(TeardownAppendStore)
    ->Threads(1)
    ->Threads(8)
    ->Threads(32)
    ->MinTime(2.0)
    ->UseRealTime();

void BM_AppendSingleEventWithClientIds(benchmark::State& state) { append_single(state, true); }
BENCHMARK(BM_AppendSingleEventWithClientIds)
    ->Setup(SetupAppendStore)
    ->Teardown(TeardownAppendStore)
    ->Threads(32)
    ->MinTime(2.0)
    ->UseRealTime();

void BM_AppendBatch100(benchmark::State& state) {
  Store& store = *g_append_store->store;
  const std::string stream = "batch-t" + std::to_string(state.thread_index());
  uint64_t n = static_cast<uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    std::vector<NewEvent> events;  // building 100 events: ~10 us, negligible next to fsync
    events.reserve(100);
    for (int i = 0; i < 100; ++i) events.push_back(order_event(n++, false));
    auto r = store.append(stream, reckon::kExpectAny, std::move(events));
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
  report_commit_counters(state);
}
BENCHMARK(BM_AppendBatch100)
    ->Setup(SetupAppendStore)
    ->Teardown(TeardownAppendStore)
    ->Threads(1)
    ->Threads(4)
    ->MinTime(2.0)
    ->UseRealTime();

// ---- the shared 1,000,000-event dataset ----

constexpr uint64_t kDatasetStreams = 1000;
constexpr uint64_t kEventsPerStream = 1000;
constexpr uint64_t kDatasetEvents = kDatasetStreams * kEventsPerStream;
constexpr int kDistinctTypes = 10;

std::string dataset_type(uint64_t g) { return "Type" + std::to_string(g % kDistinctTypes); }

struct Dataset {
  std::unique_ptr<BenchStore> bs;
  double prepare_seconds = 0;
  double settle_seconds = 0;  // warm-up scan + waiting for background compactions
  reckon::StoreStats stats_after_prepare;
};

Dataset* g_dataset = nullptr;

// Closes the dataset store at exit. Registered with atexit right after the store was opened, so
// it runs before the destructors of RocksDB's function-local statics (Env, loggers) that the
// open created: closing a DB from a plain static destructor crashes in DBImpl::Close.
void close_dataset() {
  delete g_dataset;
  g_dataset = nullptr;
}

// Built once per process (call_once: any benchmark thread may get here first; others wait).
// Event g (0-based, global) of stream "ds-<g / 1000>": type "Type<g % 10>", tags
// "tenant-<g % 10>" and "region-<g % 4>". One append of 1000 events per stream.
Dataset& dataset() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_dataset = new Dataset();
    Dataset& ds = *g_dataset;
    ds.bs = std::make_unique<BenchStore>("dataset");
    std::atexit(close_dataset);
    Store& store = *ds.bs->store;
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t s = 0; s < kDatasetStreams; ++s) {
      std::vector<NewEvent> events;
      events.reserve(kEventsPerStream);
      for (uint64_t k = 0; k < kEventsPerStream; ++k) {
        uint64_t g = s * kEventsPerStream + k;
        NewEvent e;
        e.event_type = dataset_type(g);
        e.data = order_json(g);
        e.tags = {"tenant-" + std::to_string(g % 10), "region-" + std::to_string(g % 4)};
        events.push_back(std::move(e));
      }
      auto r = store.append("ds-" + std::to_string(s), reckon::kExpectNoStream, std::move(events));
      if (!r.is_ok()) {
        std::fprintf(stderr, "dataset append failed: %s\n", r.status().to_string().c_str());
        std::abort();
      }
    }
    ds.prepare_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ds.stats_after_prepare = store.stats();
    // Warm-up: one untimed scan of $all. The first full read makes RocksDB compact the freshly
    // loaded files (read-triggered), which would otherwise run during the first measured read
    // on the same 2 cores. Then wait until the SST size is stable for 2 s (at most 60 s).
    auto t1 = std::chrono::steady_clock::now();
    uint64_t warm = 0;
    reckon::Status warm_st = store.scan_all(reckon::kStartPosition, [&](const reckon::Event&) {
      ++warm;
      return true;
    });
    if (!warm_st.is_ok() || warm != kDatasetEvents) {
      std::fprintf(stderr, "warm-up scan_all: %s, %llu events\n", warm_st.to_string().c_str(),
                   static_cast<unsigned long long>(warm));
      std::abort();
    }
    uint64_t last_sst = store.stats().sst_bytes;
    int stable = 0;
    while (stable < 4 && std::chrono::steady_clock::now() - t1 < std::chrono::seconds(60)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      uint64_t sst = store.stats().sst_bytes;
      stable = sst == last_sst ? stable + 1 : 0;
      last_sst = sst;
    }
    ds.settle_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    std::fprintf(stderr,
                 "dataset: %llu events in %.2f s (%.0f events/s, 1000-event appends, 1 thread); "
                 "warm-up scan + compactions settled in %.1f s more; after the load: "
                 "memtable %llu B, block cache %llu B, sst %llu B, live data %llu B\n",
                 static_cast<unsigned long long>(kDatasetEvents), ds.prepare_seconds,
                 kDatasetEvents / ds.prepare_seconds, ds.settle_seconds,
                 static_cast<unsigned long long>(ds.stats_after_prepare.memtable_bytes),
                 static_cast<unsigned long long>(ds.stats_after_prepare.block_cache_bytes),
                 static_cast<unsigned long long>(ds.stats_after_prepare.sst_bytes),
                 static_cast<unsigned long long>(ds.stats_after_prepare.live_data_bytes));
  });
  return *g_dataset;
}

void add_memory_counters(benchmark::State& state, Store& store) {
  const Dataset& ds = dataset();
  auto s = store.stats();
  state.counters["prep_events_per_s"] = kDatasetEvents / ds.prepare_seconds;
  state.counters["prep_memtable_B"] = static_cast<double>(ds.stats_after_prepare.memtable_bytes);
  state.counters["prep_block_cache_B"] =
      static_cast<double>(ds.stats_after_prepare.block_cache_bytes);
  state.counters["prep_sst_B"] = static_cast<double>(ds.stats_after_prepare.sst_bytes);
  state.counters["memtable_B"] = static_cast<double>(s.memtable_bytes);
  state.counters["block_cache_B"] = static_cast<double>(s.block_cache_bytes);
  state.counters["sst_B"] = static_cast<double>(s.sst_bytes);
  state.counters["live_data_B"] = static_cast<double>(s.live_data_bytes);
}

// Pages of `page` events through a read_all-like call from position 0 to the end; returns the
// event count, or -1 after SkipWithError.
template <typename ReadPage>
int64_t page_through(benchmark::State& state, ReadPage&& read_page) {
  reckon::Position pos = reckon::kStartPosition;
  int64_t n = 0;
  for (;;) {
    reckon::Result<reckon::ReadAllResult> r = read_page(pos);
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      return -1;
    }
    n += static_cast<int64_t>(r->events.size());
    benchmark::DoNotOptimize(r->events.data());
    if (r->end) break;
    if (r->next_position <= pos) {
      state.SkipWithError("read does not advance: next_position <= from_position");
      return -1;
    }
    pos = r->next_position;
  }
  return n;
}

void BM_ReadAll(benchmark::State& state) {
  Store& store = *dataset().bs->store;
  int64_t total = 0;
  for (auto _ : state) {
    int64_t n = page_through(state, [&](reckon::Position pos) {
      reckon::ReadAllOptions o;
      o.from_position = pos;
      o.max_count = 4096;
      return store.read_all(o);
    });
    if (n < 0) return;
    if (n != static_cast<int64_t>(kDatasetEvents)) {
      state.SkipWithError(("read_all returned " + std::to_string(n) + " events").c_str());
      return;
    }
    total += n;
  }
  state.SetItemsProcessed(total);
  add_memory_counters(state, store);
}
BENCHMARK(BM_ReadAll)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ScanAll(benchmark::State& state) {
  Store& store = *dataset().bs->store;
  int64_t total = 0;
  for (auto _ : state) {
    int64_t n = 0;
    reckon::Status st = store.scan_all(reckon::kStartPosition, [&](const reckon::Event& e) {
      benchmark::DoNotOptimize(e.position);
      ++n;
      return true;
    });
    if (!st.is_ok()) {
      state.SkipWithError(st.to_string().c_str());
      return;
    }
    if (n != static_cast<int64_t>(kDatasetEvents)) {
      state.SkipWithError(("scan_all visited " + std::to_string(n) + " events").c_str());
      return;
    }
    total += n;
  }
  state.SetItemsProcessed(total);
  add_memory_counters(state, store);
}
BENCHMARK(BM_ScanAll)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// One whole event type (100,000 events) per iteration, cycling through the 10 types.
void BM_ReadByEventType(benchmark::State& state) {
  Store& store = *dataset().bs->store;
  int64_t total = 0;
  uint64_t which = 0;
  for (auto _ : state) {
    std::vector<std::string> types{dataset_type(which++)};
    int64_t n = page_through(state, [&](reckon::Position pos) {
      reckon::IndexReadOptions o;
      o.from_position = pos;
      o.max_count = 4096;
      return store.read_by_event_types(types, o);
    });
    if (n < 0) return;
    if (n != static_cast<int64_t>(kDatasetEvents / kDistinctTypes)) {
      state.SkipWithError(("read_by_event_types returned " + std::to_string(n)).c_str());
      return;
    }
    total += n;
  }
  state.SetItemsProcessed(total);
}
BENCHMARK(BM_ReadByEventType)->Iterations(10)->Unit(benchmark::kMillisecond)->UseRealTime();

// One tag (tenant-N, 100,000 events) per iteration, match ANY.
void BM_ReadByTags(benchmark::State& state) {
  Store& store = *dataset().bs->store;
  int64_t total = 0;
  uint64_t which = 0;
  for (auto _ : state) {
    std::vector<std::string> tags{"tenant-" + std::to_string(which++ % 10)};
    int64_t n = page_through(state, [&](reckon::Position pos) {
      reckon::IndexReadOptions o;
      o.from_position = pos;
      o.max_count = 4096;
      return store.read_by_tags(tags, reckon::TagMatch::kAny, o);
    });
    if (n < 0) return;
    if (n != static_cast<int64_t>(kDatasetEvents / 10)) {
      state.SkipWithError(("read_by_tags returned " + std::to_string(n)).c_str());
      return;
    }
    total += n;
  }
  state.SetItemsProcessed(total);
}
BENCHMARK(BM_ReadByTags)->Iterations(10)->Unit(benchmark::kMillisecond)->UseRealTime();

// Two tags, match ALL: tenant-<odd t> AND region-<r> for r with the same parity, 50,000 events.
void BM_ReadByTagsAll(benchmark::State& state) {
  Store& store = *dataset().bs->store;
  int64_t total = 0;
  uint64_t which = 0;
  for (auto _ : state) {
    // g % 10 == t and g % 4 == r is satisfiable iff t and r have the same parity (half of the
    // tenant's events then have region r).
    uint64_t t = which % 10;
    uint64_t r = (t % 2) + 2 * ((which / 10) % 2);
    ++which;
    std::vector<std::string> tags{"tenant-" + std::to_string(t), "region-" + std::to_string(r)};
    int64_t n = page_through(state, [&](reckon::Position pos) {
      reckon::IndexReadOptions o;
      o.from_position = pos;
      o.max_count = 4096;
      return store.read_by_tags(tags, reckon::TagMatch::kAll, o);
    });
    if (n < 0) return;
    if (n != static_cast<int64_t>(kDatasetEvents / 20)) {
      state.SkipWithError(("read_by_tags(all) returned " + std::to_string(n)).c_str());
      return;
    }
    total += n;
  }
  state.SetItemsProcessed(total);
}
BENCHMARK(BM_ReadByTagsAll)->Iterations(10)->Unit(benchmark::kMillisecond)->UseRealTime();

// A 1,000-event stream read forward in one call; cycles through the dataset's 1000 streams.
void BM_ReadStream1000(benchmark::State& state) {
  Store& store = *dataset().bs->store;
  uint64_t which = 0;
  int64_t total = 0;
  for (auto _ : state) {
    reckon::ReadStreamOptions o;
    o.from_version = 0;
    o.max_count = kEventsPerStream;
    auto r = store.read("ds-" + std::to_string(which++ % kDatasetStreams), o);
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      return;
    }
    if (r->events.size() != kEventsPerStream) {
      state.SkipWithError(("read returned " + std::to_string(r->events.size())).c_str());
      return;
    }
    total += static_cast<int64_t>(r->events.size());
    benchmark::DoNotOptimize(r->events.data());
  }
  state.SetItemsProcessed(total);
}
BENCHMARK(BM_ReadStream1000)->MinTime(2.0)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
