// RecentIds: proves, without reading RocksDB, that most new event ids are not stored yet.
//
// Every event id a client supplies must be looked up in the event-id index (idempotency), and
// that lookup is a miss almost always: a RocksDB Get through the memtable and every level's
// bloom filter, ~13% of the server's CPU in batched appends. Client ids are usually UUIDv7,
// which grow with time, so a new id is nearly always above every id stored long ago.
//
// The invariant: every id in the event-id index is either <= floor() or among the last
// `capacity` ids added. An id above the floor and not among those is therefore not stored:
// may_contain() is false. When an id leaves the window, the floor rises to cover it.
// A "true" answer only means "look it up"; it is never a verdict, so a replica's results do not
// depend on this cache (replicas stay deterministic), only the cost of computing them does.
//
// Adding ids that are never written (a batch that fails) keeps the invariant: the window then
// covers more than is stored, which only costs lookups.
//
// Not thread-safe: owned by the state machine's apply thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>
#include "reckon/types.h"

namespace reckon::storage {

class RecentIds {
 public:
  // `capacity` ids are remembered exactly (rounded up to a power of two).
  explicit RecentIds(size_t capacity = kDefaultCapacity);

  // Forgets the window; every stored id must be <= `floor` (nullopt: nothing is stored).
  void reset(std::optional<Uuid> floor);
  // Records an id about to be stored.
  void add(const Uuid& id);
  // False only when `id` is certainly not stored.
  bool may_contain(const Uuid& id) const;

  const std::optional<Uuid>& floor() const { return floor_; }
  size_t size() const { return count_; }

  // 64k ids: ~0.3 s of appends at 200k events/s, far more than clients' ids arrive out of
  // order; 3 MiB.
  static constexpr size_t kDefaultCapacity = size_t{1} << 16;

 private:
  size_t slot_of(const Uuid& id) const;
  void insert(const Uuid& id);
  void erase(const Uuid& id);
  bool above_floor(const Uuid& id) const { return !floor_ || *floor_ < id; }

  std::optional<Uuid> floor_;
  // The window in arrival order (a ring) and the same ids in an open-addressing set with
  // linear probing, twice as many slots as ids (load <= 0.5).
  std::vector<Uuid> ring_;
  size_t head_ = 0;  // oldest id in the ring once it is full
  size_t count_ = 0;
  std::vector<Uuid> slots_;
  std::vector<uint8_t> used_;
};

}  // namespace reckon::storage
