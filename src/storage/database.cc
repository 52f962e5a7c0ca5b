#include "storage/database.h"

#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace reckon::storage {

const char* cf_name(Cf cf) {
  switch (cf) {
    case Cf::kDefault: return "default";
    case Cf::kEvents: return "events";
    case Cf::kStreams: return "streams";
    case Cf::kStreamIndex: return "stream_index";
    case Cf::kTypeIndex: return "type_index";
    case Cf::kTagIndex: return "tag_index";
    case Cf::kEventIds: return "event_ids";
    case Cf::kSnapshots: return "snapshots";
    case Cf::kSubscriptions: return "subscriptions";
    case Cf::kParked: return "parked";
    case Cf::kCount: break;
  }
  return "?";
}

Status from_rocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::ok();
  std::string msg = std::string(context) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::corruption(msg);
  if (s.IsIOError() || s.IsNoSpace()) return Status::io_error(msg);
  if (s.IsInvalidArgument()) return Status::invalid_argument(msg);
  if (s.IsBusy() || s.IsTryAgain()) return Status::unavailable(msg);
  return Status::internal(msg);
}

namespace {

// Memtable insert hints: a key is inserted next to the last key with the same prefix instead
// of searching the skiplist from the top. Our keys arrive in order within a prefix: positions
// in `events`, (type, position) in the type index, time-ordered UUIDv7s in `event_ids`.
class FixedPrefix final : public rocksdb::SliceTransform {
 public:
  explicit FixedPrefix(size_t n) : n_(n), name_("reckon.FixedPrefix." + std::to_string(n)) {}
  const char* Name() const override { return name_.c_str(); }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), std::min(n_, key.size()));
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }

 private:
  size_t n_;
  std::string name_;
};

// `name \0 ...` -> `name`: one hint per event type (a small set).
class NamePrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "reckon.NamePrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* nul = std::memchr(key.data(), '\0', key.size());
    size_t n = nul ? static_cast<size_t>(static_cast<const char*>(nul) - key.data()) : key.size();
    return rocksdb::Slice(key.data(), n);
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

// RocksDB's own diagnostics go to stderr (warnings and errors only), not to a LOG file in the
// data dir: RocksDB's file logger aborts the process when its file hits a full disk, and a full
// disk must end in refused writes, not a crash.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof buf, format, ap);
    if (n <= 0) return;
    size_t len = std::min(static_cast<size_t>(n), sizeof buf - 1);
    while (len > 0 && buf[len - 1] == '\n') --len;
    std::fprintf(stderr, "rocksdb: %.*s\n", static_cast<int>(len), buf);
  }
};

rocksdb::ColumnFamilyOptions cf_options(Cf cf, const std::shared_ptr<rocksdb::Cache>& cache,
                                        const StoreOptions& o) {
  rocksdb::ColumnFamilyOptions opts;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Index and filter blocks live in the (bounded) block cache, not in unbounded heap.
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  table.block_size = cf == Cf::kEvents ? 32 * 1024 : 8 * 1024;
  if (cf == Cf::kEventIds || cf == Cf::kStreams || cf == Cf::kStreamIndex) {
    // Point lookups: idempotency checks, stream heads, version -> position.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  }
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  opts.compression = rocksdb::kLZ4Compression;
  opts.bottommost_compression = rocksdb::kZSTD;
  opts.level_compaction_dynamic_level_bytes = true;
  opts.write_buffer_size = cf == Cf::kEvents ? 64ull << 20 : 32ull << 20;
  opts.max_write_buffer_number = 3;
  // Hints cost ~250 bytes per distinct prefix in a memtable: only for few, ordered prefixes.
  if (cf == Cf::kEvents) opts.memtable_insert_with_hint_prefix_extractor = std::make_shared<FixedPrefix>(0);
  if (cf == Cf::kTypeIndex) opts.memtable_insert_with_hint_prefix_extractor = std::make_shared<NamePrefix>();
  if (cf == Cf::kEventIds) opts.memtable_insert_with_hint_prefix_extractor = std::make_shared<FixedPrefix>(4);
  if (cf == Cf::kEventIds || cf == Cf::kStreams) {
    // The apply path looks up every client-chosen event id (idempotency) and the head of every
    // stream it has not cached; nearly all of those ids and many of those streams are new.
    // A memtable bloom filter answers "not here" without searching the skiplist.
    opts.memtable_whole_key_filtering = true;
    opts.memtable_prefix_bloom_size_ratio = 0.05;
  }
  (void)o;
  return opts;
}

}  // namespace

Result<std::unique_ptr<Database>> Database::open(const StoreOptions& o) {
  std::unique_ptr<Database> d(new Database());
  d->path_ = o.data_dir;
  std::error_code ec;
  if (o.create_if_missing) std::filesystem::create_directories(o.data_dir, ec);
  if (ec) return Status::io_error("cannot create data dir '" + o.data_dir + "': " + ec.message());

  d->cache_ = rocksdb::NewLRUCache(o.block_cache_bytes, /*num_shard_bits=*/6,
                                   /*strict_capacity_limit=*/false,
                                   /*high_pri_pool_ratio=*/0.2);
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = o.create_if_missing;
  db_opts.create_missing_column_families = true;
  db_opts.paranoid_checks = true;
  db_opts.info_log = std::make_shared<StderrLogger>();
  db_opts.max_background_jobs = 2;
  // One writer (the committer) at a time: concurrent memtable writes buy nothing, and insert
  // hints require them off.
  db_opts.allow_concurrent_memtable_write = false;
  db_opts.bytes_per_sync = 1 << 20;
  db_opts.wal_bytes_per_sync = 0;
  db_opts.max_total_wal_size = 512ull << 20;
  db_opts.keep_log_file_num = 5;
  db_opts.max_open_files = 1024;
  // All memtables of all column families together stay within the budget.
  db_opts.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(o.memtable_budget_bytes);
  // Tolerate a torn last WAL record (kill -9 mid-write); acknowledged writes were fsynced
  // completely before the ack, so they are never in the torn tail.
  db_opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    auto cf = static_cast<Cf>(i);
    descriptors.emplace_back(cf_name(cf), cf_options(cf, d->cache_, o));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_opts, o.data_dir, descriptors, &handles, &raw);
  if (!s.ok()) return from_rocks(s, "opening store at '" + o.data_dir + "'");
  d->db_.reset(raw);
  for (size_t i = 0; i < handles.size(); ++i) d->handles_[i] = handles[i];
  return d;
}

Database::~Database() {
  if (!db_) return;
  for (auto* h : handles_)
    if (h) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

uint64_t Database::block_cache_usage() const { return cache_ ? cache_->GetUsage() : 0; }

}  // namespace reckon::storage
