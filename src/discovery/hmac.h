// HMAC-SHA256 and a constant-time comparison, over OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace reckon::discovery {

using Mac = std::array<uint8_t, 32>;

Mac hmac_sha256(std::string_view key, std::string_view data);

// Compares without an early exit, so the time taken does not reveal how many leading bytes of
// a forged MAC were right (CRYPTO_memcmp).
bool mac_equal(const Mac& a, std::string_view b);

// Cryptographically random bytes (RAND_bytes); used for announcement nonces.
void random_bytes(uint8_t* out, size_t n);

}  // namespace reckon::discovery
