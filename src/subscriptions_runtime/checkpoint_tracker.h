// ContiguousAckTracker: the checkpoint of one emitter. The emitter examines $all in position
// order; each matching event it hands out is outstanding until it is handled (acked, skipped
// or durably parked). The checkpoint is the highest position p such that every event at or
// below p was examined and none is outstanding: the highest *contiguously* handled position.
// It never goes backwards (positions are begun in increasing order, above every position
// examined before).
// Thread-safety: none; the emitter pool guards it with its mutex.
#pragma once

#include <set>

#include "reckon/types.h"

namespace reckon::subscriptions_runtime {

class ContiguousAckTracker {
 public:
  explicit ContiguousAckTracker(Position checkpoint) : scanned_(checkpoint), last_(checkpoint) {}

  // Every event up to `position` was examined (the matching ones were begun).
  void scanned_to(Position position);
  // A matching event at `position` (> every position examined so far) is handed out.
  void begin(Position position);
  // The event at `position` is handled; unknown positions are ignored.
  void finish(Position position) { outstanding_.erase(position); }

  Position checkpoint();
  size_t outstanding() const { return outstanding_.size(); }
  bool is_outstanding(Position position) const { return outstanding_.count(position) > 0; }

 private:
  Position scanned_;
  Position last_;  // the last checkpoint reported: the value never decreases
  std::set<Position> outstanding_;
};

}  // namespace reckon::subscriptions_runtime
