// UuidHash: a hash of both halves of a UUID, well mixed in every bit (usable with a power-of-two
// mask as well as in std::unordered_map). Both halves: a v7 id's first half is mostly its
// timestamp, and clients may choose ids whose second half repeats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "reckon/types.h"

namespace reckon::storage {

struct UuidHash {
  size_t operator()(const Uuid& u) const {
    uint64_t a, b;
    std::memcpy(&a, u.bytes.data(), 8);
    std::memcpy(&b, u.bytes.data() + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    return static_cast<size_t>(h);
  }
};

}  // namespace reckon::storage
