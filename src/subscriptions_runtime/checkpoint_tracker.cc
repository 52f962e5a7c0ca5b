#include "subscriptions_runtime/checkpoint_tracker.h"

#include <algorithm>

namespace reckon::subscriptions_runtime {

void ContiguousAckTracker::scanned_to(Position position) { scanned_ = std::max(scanned_, position); }

void ContiguousAckTracker::begin(Position position) {
  // Begun positions are above everything examined before; a lower one would let the
  // checkpoint go back, so it is never tracked.
  if (position <= scanned_) return;
  outstanding_.insert(position);
  scanned_ = position;
}

Position ContiguousAckTracker::checkpoint() {
  Position cp = outstanding_.empty() ? scanned_ : *outstanding_.begin() - 1;
  last_ = std::max(last_, cp);
  return last_;
}

}  // namespace reckon::subscriptions_runtime
