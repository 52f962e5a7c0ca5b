// UuidV7Generator: UUIDv7 (RFC 9562) that never go backwards within one generator.
//
// Ids made in the same millisecond (or after the wall clock stepped back) keep the last
// timestamp and add a random increment to the 74 random bits (RFC 9562 §6.2, "monotonic
// random"), so one generator's ids sort in the order they were made. Event ids are keys of the
// event-id index: ids that follow each other land next to each other in RocksDB's memtable
// instead of at random places in it. Not thread-safe: Uuid::v7() keeps one per thread.
#pragma once

#include <cstdint>
#include <random>

#include "reckon/types.h"

namespace reckon {

class UuidV7Generator {
 public:
  explicit UuidV7Generator(uint64_t seed) : rng_(seed) {}

  Uuid next(uint64_t unix_ms);

 private:
  void fresh_random_bits();

  std::mt19937_64 rng_;
  uint64_t ms_ = 0;
  // The 74 random bits as one counter: rand_a (12 bits, high part) and rand_b (62 bits).
  uint64_t rand_a_ = 0;
  uint64_t rand_b_ = 0;
  bool started_ = false;
};

}  // namespace reckon
