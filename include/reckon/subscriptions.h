// Persistent subscriptions as the store keeps them (docs/DATA_MODEL.md, "Persistent
// subscriptions"): the stored record, what a caller gives to create one, checkpoints and
// parked events. The records are part of the replicated state: every change is a command.
// Delivery (emitter pools, consumers, acks) is built on top of these records, not here.
// Plain value types; thread-safety as for any value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/status.h"
#include "reckon/types.h"

namespace reckon {

// What a subscription selects. The numeric values are stored (records and commands): never
// renumber. The `by_*` names of reckon-db are aliases of the plain names.
enum class SubscriptionType : uint8_t {
  kStream = 1,        // one stream by exact id, or "$all" for every event
  kEventType = 2,     // one event type, or a JSON list of types
  kEventPattern = 3,  // stream-id wildcard: `*` any run, `?` one character
  kEventPayload = 4,  // the event's JSON data contains a JSON object (with operators)
  kTags = 5,          // tags, any or all
};

// "stream", "event_type", "event_pattern", "event_payload", "tags".
std::string_view subscription_type_name(SubscriptionType type);
// Accepts the plain names and the `by_*` aliases; InvalidArgument otherwise.
Result<SubscriptionType> parse_subscription_type(std::string_view name);

// How an emitter pool hands events to the connected consumers. Stored: never renumber.
enum class DeliveryStrategy : uint8_t {
  kRoundRobin = 0,  // each event to the next consumer in turn
  kSingle = 1,      // every event to one consumer while it stays connected
  kPinned = 2,      // all events of one stream to the same consumer (by stream-id hash)
};

// "round_robin", "single", "pinned".
std::string_view delivery_strategy_name(DeliveryStrategy strategy);
Result<DeliveryStrategy> parse_delivery_strategy(std::string_view name);

// Which order an emitter pool keeps within a stream (docs/SUBSCRIPTIONS.md, "Delivery").
// Stored: never renumber; records and commands written before the field existed read as
// kPerStream.
enum class DeliveryOrdering : uint8_t {
  // While an event of a stream is outstanding (in flight, waiting for a retry, being parked),
  // no later event of that stream is handed out: each stream's events, retries included, reach
  // the consumers one at a time and in order. The spec's "in order per stream".
  kPerStream = 0,
  // Throughput first: a stream's events are handed out in order the first time only; a retried
  // event goes out after later events of its stream, and round_robin may hand one stream's
  // events to several consumers at once.
  kNone = 1,
};

// "per_stream", "none".
std::string_view delivery_ordering_name(DeliveryOrdering ordering);
Result<DeliveryOrdering> parse_delivery_ordering(std::string_view name);

struct SubscriptionOptions {
  DeliveryStrategy strategy = DeliveryStrategy::kRoundRobin;
  uint32_t max_retries = 10;             // deliveries of one event before it is parked
  uint32_t message_timeout_ms = 30'000;  // an unacknowledged delivery is retried after this
  uint32_t max_in_flight = 100;          // unacknowledged events per consumer
  DeliveryOrdering ordering = DeliveryOrdering::kPerStream;
  friend bool operator==(const SubscriptionOptions&, const SubscriptionOptions&) = default;
};

// What a caller gives to create (or re-attach to) a subscription.
struct NewSubscription {
  SubscriptionType type = SubscriptionType::kStream;
  std::string selector;  // text format per type: docs/DATA_MODEL.md
  std::string name;
  uint32_t pool_size = 1;  // emitter workers, 1..kMaxSubscriptionPoolSize
  // Events at positions strictly greater than this are delivered: 0 = from the first event,
  // kEndPosition = only events appended after the subscription is created.
  Position start_from = kStartPosition;
  SubscriptionOptions options;
};

inline constexpr uint32_t kMaxSubscriptionPoolSize = 1024;

// A stored subscription.
struct Subscription {
  std::string key;  // deterministic: subscription_key(type, canonical selector, name)
  SubscriptionType type = SubscriptionType::kStream;
  std::string selector;  // canonical form
  std::string name;
  uint32_t pool_size = 1;
  Position start_from = kStartPosition;  // as given at creation
  // Every event at a position <= checkpoint has been handled. Starts at start_from (the last
  // position at creation for kEndPosition) and never goes backwards.
  Position checkpoint = kStartPosition;
  int64_t created_us = 0;
  SubscriptionOptions options;
  friend bool operator==(const Subscription&, const Subscription&) = default;
};

// One entry of a coalesced checkpoint update.
struct SubscriptionCheckpoint {
  std::string key;
  Position position = 0;
};

// An event that could not be delivered within max_retries; kept until replayed (unparked).
struct ParkedEvent {
  Position position = 0;
  std::string reason;
  uint32_t attempts = 0;
  int64_t parked_us = 0;  // set by the store when parked; ignored on input
  friend bool operator==(const ParkedEvent&, const ParkedEvent&) = default;
};

struct ListParkedOptions {
  Position after_position = 0;  // exclusive
  uint64_t limit = 1000;
};

}  // namespace reckon
