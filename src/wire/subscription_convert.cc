#include "wire/subscription_convert.h"

namespace reckon::wire {
namespace {

void to_proto(const SubscriptionOptions& in, v1::PersistentSubscriptionSettings* out) {
  out->set_strategy(std::string(delivery_strategy_name(in.strategy)));
  out->set_max_retries(in.max_retries);
  out->set_message_timeout_ms(in.message_timeout_ms);
  out->set_max_in_flight(in.max_in_flight);
  out->set_ordering(std::string(delivery_ordering_name(in.ordering)));
}

Result<SubscriptionOptions> from_proto(const v1::PersistentSubscriptionSettings& in) {
  SubscriptionOptions o;
  if (!in.strategy().empty()) {
    RECKON_ASSIGN_OR_RETURN(o.strategy, parse_delivery_strategy(in.strategy()));
  }
  if (in.max_retries() > 0) o.max_retries = in.max_retries();
  if (in.message_timeout_ms() > 0) o.message_timeout_ms = in.message_timeout_ms();
  if (in.max_in_flight() > 0) o.max_in_flight = in.max_in_flight();
  if (!in.ordering().empty()) {
    RECKON_ASSIGN_OR_RETURN(o.ordering, parse_delivery_ordering(in.ordering()));
  }
  return o;
}

}  // namespace

void to_proto(const Subscription& in, v1::PersistentSubscription* out) {
  out->set_key(in.key);
  out->set_type(std::string(subscription_type_name(in.type)));
  out->set_selector(in.selector);
  out->set_name(in.name);
  out->set_pool_size(in.pool_size);
  out->set_start_from(in.start_from);
  out->set_checkpoint(in.checkpoint);
  out->set_created_us(in.created_us);
  to_proto(in.options, out->mutable_settings());
}

Result<Subscription> from_proto(const v1::PersistentSubscription& in) {
  Subscription s;
  s.key = in.key();
  RECKON_ASSIGN_OR_RETURN(s.type, parse_subscription_type(in.type()));
  s.selector = in.selector();
  s.name = in.name();
  s.pool_size = in.pool_size();
  s.start_from = in.start_from();
  s.checkpoint = in.checkpoint();
  s.created_us = in.created_us();
  RECKON_ASSIGN_OR_RETURN(s.options, from_proto(in.settings()));
  return s;
}

Result<NewSubscription> from_proto(const v1::CreatePersistentSubscriptionRequest& in) {
  NewSubscription n;
  RECKON_ASSIGN_OR_RETURN(n.type, parse_subscription_type(in.type()));
  n.selector = in.selector();
  n.name = in.name();
  n.pool_size = in.pool_size() == 0 ? 1 : in.pool_size();
  n.start_from = in.from_end() ? kEndPosition : in.start_from();
  RECKON_ASSIGN_OR_RETURN(n.options, from_proto(in.settings()));
  return n;
}

void to_proto(const NewSubscription& in, v1::CreatePersistentSubscriptionRequest* out) {
  out->set_type(std::string(subscription_type_name(in.type)));
  out->set_selector(in.selector);
  out->set_name(in.name);
  out->set_pool_size(in.pool_size);
  if (in.start_from == kEndPosition) {
    out->set_from_end(true);
  } else {
    out->set_start_from(in.start_from);
  }
  to_proto(in.options, out->mutable_settings());
}

void to_proto(const ParkedEvent& in, v1::ParkedEventInfo* out) {
  out->set_position(in.position);
  out->set_reason(in.reason);
  out->set_attempts(in.attempts);
  out->set_parked_us(in.parked_us);
}

ParkedEvent from_proto(const v1::ParkedEventInfo& in) {
  return ParkedEvent{in.position(), in.reason(), in.attempts(), in.parked_us()};
}

}  // namespace reckon::wire
