#include "discovery/hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <random>

namespace reckon::discovery {

Mac hmac_sha256(std::string_view key, std::string_view data) {
  Mac out{};
  unsigned int len = 0;
  // The one-shot HMAC() is not deprecated in OpenSSL 3 (only the HMAC_CTX API is).
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

bool mac_equal(const Mac& a, std::string_view b) {
  if (b.size() != a.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void random_bytes(uint8_t* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) == 1) return;
  // RAND_bytes fails only without an entropy source; a nonce must still differ per message.
  static thread_local std::mt19937_64 fallback{std::random_device{}()};
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(fallback());
}

}  // namespace reckon::discovery
