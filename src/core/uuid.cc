#include <random>

#include "core/uuid_v7.h"
#include "reckon/clock.h"
#include "reckon/types.h"

namespace reckon {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Per-thread generator: UUID generation must not contend between writer threads.
UuidV7Generator& thread_generator() {
  thread_local UuidV7Generator generator([] {
    std::random_device rd;
    return uint64_t{rd()} << 32 | rd();
  }());
  return generator;
}

constexpr uint64_t kRandBMask = (uint64_t{1} << 62) - 1;
constexpr uint64_t kRandAMask = (uint64_t{1} << 12) - 1;

}  // namespace

Result<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return Status::invalid_argument("malformed UUID '" + std::string(text.substr(0, 64)) +
                                    "' (expected 8-4-4-4-12 hex digits)");
  }
  Uuid u;
  size_t j = 0;
  for (size_t i = 0; i < 36;) {
    if (text[i] == '-') {
      ++i;
      continue;
    }
    int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::invalid_argument("malformed UUID '" + std::string(text) +
                                      "' (non-hex character)");
    }
    u.bytes[j++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return u;
}

Uuid Uuid::v7() {
  return thread_generator().next(static_cast<uint64_t>(system_clock()->now_us() / 1000));
}

void UuidV7Generator::fresh_random_bits() {
  // The counter's top bit starts at zero (RFC 9562 §6.2), leaving 2^73 of headroom for the
  // increments within one millisecond.
  rand_a_ = rng_() & (kRandAMask >> 1);
  rand_b_ = rng_() & kRandBMask;
}

Uuid UuidV7Generator::next(uint64_t unix_ms) {
  unix_ms &= (uint64_t{1} << 48) - 1;
  if (!started_ || unix_ms > ms_) {
    started_ = true;
    ms_ = unix_ms;
    fresh_random_bits();
  } else {
    // Same millisecond, or the clock went back: keep ms_ and step the counter by a random
    // amount (ids stay hard to guess). A carry out of 74 bits moves to the next millisecond.
    rand_b_ += 1 + (rng_() & 0x7FFFFFFF);
    if (rand_b_ > kRandBMask) {
      rand_b_ &= kRandBMask;
      if (++rand_a_ > kRandAMask) {
        ++ms_;
        fresh_random_bits();
      }
    }
  }
  Uuid u;
  for (int i = 0; i < 6; ++i) u.bytes[i] = static_cast<uint8_t>(ms_ >> (40 - 8 * i));
  u.bytes[6] = static_cast<uint8_t>(0x70 | rand_a_ >> 8);  // version 7
  u.bytes[7] = static_cast<uint8_t>(rand_a_);
  u.bytes[8] = static_cast<uint8_t>(0x80 | rand_b_ >> 56);  // RFC 4122 variant
  for (int i = 9; i < 16; ++i) u.bytes[i] = static_cast<uint8_t>(rand_b_ >> (8 * (15 - i)));
  return u;
}

std::string Uuid::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
  return out;
}

bool Uuid::is_nil() const {
  for (uint8_t b : bytes)
    if (b != 0) return false;
  return true;
}

}  // namespace reckon
