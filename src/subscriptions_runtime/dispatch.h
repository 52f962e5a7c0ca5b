// Dispatch strategies of an emitter pool: which attached consumer gets the next event.
//   round_robin  the next consumer in turn that has room (in-flight below its limit)
//   single       the first attached consumer while it stays attached; the others stand by
//   pinned       the consumer chosen by the stream id's hash, so one stream's events go to one
//                consumer in order (re-pinned when consumers come or go)
// "No consumer" means wait: single and pinned never hand an event to another consumer just
// because the chosen one is full, which would reorder a stream.
// Pure functions; thread-safety as for any value.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "reckon/subscriptions.h"

namespace reckon::subscriptions_runtime {

struct ConsumerLoad {
  uint32_t in_flight = 0;
  uint32_t max_in_flight = 1;
  bool has_room() const { return in_flight < max_in_flight; }
};

// Index into `consumers` (attach order), or nullopt when the event must wait. `cursor` is the
// pool's round-robin position; it is advanced past the chosen consumer.
std::optional<size_t> pick_consumer(DeliveryStrategy strategy, const std::vector<ConsumerLoad>& consumers,
                                    std::string_view stream_id, uint64_t& cursor);

// The emitter (0..pool_size-1) that owns a stream: every event of a stream goes through one
// emitter, which keeps them in order.
size_t emitter_for_stream(std::string_view stream_id, size_t pool_size);

}  // namespace reckon::subscriptions_runtime
