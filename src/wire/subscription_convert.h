// Conversions between the persistent-subscription records (reckon/subscriptions.h) and the
// reckon.v1 PersistentSubscriptions messages. Shared by server and client.
#pragma once

#include "reckon/subscriptions.h"
#include "reckon/v1/reckon.pb.h"

namespace reckon::wire {

void to_proto(const Subscription& in, v1::PersistentSubscription* out);
Result<Subscription> from_proto(const v1::PersistentSubscription& in);
// The request's fields; empty strategy = round_robin, empty ordering = per_stream, zero limits
// = the defaults.
Result<NewSubscription> from_proto(const v1::CreatePersistentSubscriptionRequest& in);
void to_proto(const NewSubscription& in, v1::CreatePersistentSubscriptionRequest* out);
void to_proto(const ParkedEvent& in, v1::ParkedEventInfo* out);
ParkedEvent from_proto(const v1::ParkedEventInfo& in);

}  // namespace reckon::wire
