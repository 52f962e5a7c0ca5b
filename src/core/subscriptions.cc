#include "reckon/subscriptions.h"

#include <string>

namespace reckon {

std::string_view subscription_type_name(SubscriptionType type) {
  switch (type) {
    case SubscriptionType::kStream: return "stream";
    case SubscriptionType::kEventType: return "event_type";
    case SubscriptionType::kEventPattern: return "event_pattern";
    case SubscriptionType::kEventPayload: return "event_payload";
    case SubscriptionType::kTags: return "tags";
  }
  return "unknown";
}

Result<SubscriptionType> parse_subscription_type(std::string_view name) {
  // reckon-db's `by_*` names are aliases: they give the same type, hence the same key.
  std::string_view plain = name.starts_with("by_") ? name.substr(3) : name;
  for (auto t : {SubscriptionType::kStream, SubscriptionType::kEventType, SubscriptionType::kEventPattern,
                 SubscriptionType::kEventPayload, SubscriptionType::kTags}) {
    if (plain == subscription_type_name(t)) return t;
  }
  return Status::invalid_argument("unknown subscription type '" + std::string(name) +
                                  "' (stream, event_type, event_pattern, event_payload, tags, or "
                                  "their by_* aliases)");
}

std::string_view delivery_strategy_name(DeliveryStrategy strategy) {
  switch (strategy) {
    case DeliveryStrategy::kRoundRobin: return "round_robin";
    case DeliveryStrategy::kSingle: return "single";
    case DeliveryStrategy::kPinned: return "pinned";
  }
  return "unknown";
}

Result<DeliveryStrategy> parse_delivery_strategy(std::string_view name) {
  for (auto s : {DeliveryStrategy::kRoundRobin, DeliveryStrategy::kSingle, DeliveryStrategy::kPinned}) {
    if (name == delivery_strategy_name(s)) return s;
  }
  return Status::invalid_argument("unknown delivery strategy '" + std::string(name) +
                                  "' (round_robin, single, pinned)");
}

std::string_view delivery_ordering_name(DeliveryOrdering ordering) {
  switch (ordering) {
    case DeliveryOrdering::kPerStream: return "per_stream";
    case DeliveryOrdering::kNone: return "none";
  }
  return "unknown";
}

Result<DeliveryOrdering> parse_delivery_ordering(std::string_view name) {
  for (auto o : {DeliveryOrdering::kPerStream, DeliveryOrdering::kNone}) {
    if (name == delivery_ordering_name(o)) return o;
  }
  return Status::invalid_argument("unknown delivery ordering '" + std::string(name) + "' (per_stream, none)");
}

}  // namespace reckon
