// The storage dependency alone: what one key costs in RocksDB as Debian packages it, with no
// reckondb code around it. Every appended event writes several keys (docs/STORAGE.md), so this
// floor bounds appends/s per core whatever reckondb does above it (docs/PERFORMANCE.md,
// "Answering before the RocksDB write").
//
// Sequential 8-byte big-endian keys with 200-byte values (an event record's size in the append
// benchmarks) in one column family, `keys` per WriteBatch, WAL on and unsynced (as a replica's
// writes are: the Raft log is its durable record), default options otherwise.
//
//   build/bench/reckon_bench --benchmark_filter=RocksDb
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace {

void BM_RocksDbPutBatch(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base && *base ? base : "/tmp") + "/reckon-bench-rocksdb-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return state.SkipWithError("mkdtemp failed");
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, dir, &raw).ok()) return state.SkipWithError("open failed");
  std::unique_ptr<rocksdb::DB> db(raw);
  const std::string value(200, 'x');
  uint64_t next = 0;
  for (auto _ : state) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < keys; ++i) {
      char key[8];
      const uint64_t k = next++;
      for (int b = 0; b < 8; ++b) key[b] = static_cast<char>(k >> (56 - 8 * b));
      batch.Put(rocksdb::Slice(key, 8), value);
    }
    if (!db->Write(rocksdb::WriteOptions(), &batch).ok()) return state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(next));  // keys/s
  db.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_RocksDbPutBatch)->Arg(15)->Arg(100)->MinTime(2.0);

}  // namespace
