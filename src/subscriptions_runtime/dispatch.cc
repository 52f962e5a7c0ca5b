#include "subscriptions_runtime/dispatch.h"

#include "core/hash.h"

namespace reckon::subscriptions_runtime {

std::optional<size_t> pick_consumer(DeliveryStrategy strategy, const std::vector<ConsumerLoad>& consumers,
                                    std::string_view stream_id, uint64_t& cursor) {
  const size_t n = consumers.size();
  if (n == 0) return std::nullopt;
  switch (strategy) {
    case DeliveryStrategy::kSingle:
      if (consumers[0].has_room()) return 0;
      return std::nullopt;
    case DeliveryStrategy::kPinned: {
      size_t i = hash64(stream_id, 0x70696e6e6564ull) % n;
      if (consumers[i].has_room()) return i;
      return std::nullopt;
    }
    case DeliveryStrategy::kRoundRobin:
      break;
  }
  for (size_t k = 0; k < n; ++k) {
    size_t i = (cursor + k) % n;
    if (consumers[i].has_room()) {
      cursor = i + 1;
      return i;
    }
  }
  return std::nullopt;
}

size_t emitter_for_stream(std::string_view stream_id, size_t pool_size) {
  if (pool_size <= 1) return 0;
  return hash64(stream_id, 0x656d6974746572ull) % pool_size;
}

}  // namespace reckon::subscriptions_runtime
