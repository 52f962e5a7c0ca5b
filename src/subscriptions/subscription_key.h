// The deterministic key of a persistent subscription (docs/DATA_MODEL.md, "Subscription key"):
//
//   key = lowercase hex of the first 16 bytes of
//         SHA-256( u32be(len(T)) T  u32be(len(S)) S  u32be(len(N)) N )
//
// where T is the plain type name ("stream", never "by_stream"), S the canonical selector and
// N the name. 32 characters. This is part of the stored format: it must never change (golden
// values in tests/unit/subscriptions/subscription_key_test.cc).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "reckon/subscriptions.h"

namespace reckon::subscriptions {

inline constexpr size_t kSubscriptionKeyLength = 32;

std::string subscription_key(SubscriptionType type, std::string_view canonical_selector, std::string_view name);

// True for strings of the form subscription_key produces (32 lowercase hex characters).
bool is_subscription_key(std::string_view key);

}  // namespace reckon::subscriptions
