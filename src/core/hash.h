// A stable 64-bit hash for digests that replicas compare (the state digest chained over every
// applied command). Stability matters more than speed: the value is persisted and compared
// across nodes, so this function must never change (a new one would get a new name).
// Not cryptographic; it detects divergence, it does not resist an adversary.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace reckon {

// 64-bit multiply-xorshift finaliser (the SplitMix64 constants): every input bit affects every
// output bit.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// "reckon hash 1": 8 bytes at a time (little-endian), each word mixed into the running state;
// the tail is zero-padded and the length folded in last.
inline uint64_t hash64(std::string_view bytes, uint64_t seed = 0) {
  uint64_t h = mix64(seed ^ 0x9e3779b97f4a7c15ull);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = mix64(h ^ w) + 0x9e3779b97f4a7c15ull;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < bytes.size(); ++k) {
    tail |= uint64_t(static_cast<unsigned char>(bytes[i + k])) << (8 * k);
  }
  return mix64(h ^ tail ^ (uint64_t(bytes.size()) << 1));
}

// The state digest after applying `command` at `index` to a state with digest `previous`.
inline uint64_t chain_digest(uint64_t previous, uint64_t index, std::string_view command) {
  return mix64(previous ^ mix64(index)) ^ hash64(command, index);
}

}  // namespace reckon
