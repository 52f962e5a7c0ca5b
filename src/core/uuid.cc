#include <random>

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
std::mt19937_64& thread_rng() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  return rng;
}

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
  Uuid u;
  uint64_t ms = static_cast<uint64_t>(system_clock()->now_us() / 1000);
  for (int i = 0; i < 6; ++i) u.bytes[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  uint64_t r1 = thread_rng()(), r2 = thread_rng()();
  for (int i = 0; i < 2; ++i) u.bytes[6 + i] = static_cast<uint8_t>(r1 >> (8 * i));
  for (int i = 0; i < 8; ++i) u.bytes[8 + i] = static_cast<uint8_t>(r2 >> (8 * i));
  u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0F) | 0x70);  // version 7
  u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
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
