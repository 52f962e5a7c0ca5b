#include "subscriptions/subscription_key.h"

#include <openssl/sha.h>

#include <cstdint>

namespace reckon::subscriptions {
namespace {

void put_field(std::string& out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  out.append(s);
}

}  // namespace

std::string subscription_key(SubscriptionType type, std::string_view canonical_selector, std::string_view name) {
  // Length prefixes make the fields unambiguous: ("ab","c") and ("a","bc") hash differently.
  std::string input;
  const std::string_view type_name = subscription_type_name(type);
  input.reserve(12 + type_name.size() + canonical_selector.size() + name.size());
  put_field(input, type_name);
  put_field(input, canonical_selector);
  put_field(input, name);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  key.reserve(kSubscriptionKeyLength);
  for (size_t i = 0; i < kSubscriptionKeyLength / 2; ++i) {
    key.push_back(kHex[digest[i] >> 4]);
    key.push_back(kHex[digest[i] & 0xF]);
  }
  return key;
}

bool is_subscription_key(std::string_view key) {
  if (key.size() != kSubscriptionKeyLength) return false;
  for (char c : key)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace reckon::subscriptions
