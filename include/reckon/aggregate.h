// Aggregation helpers: rebuild an aggregate's state by folding its events' JSON data, starting
// from a snapshot when one exists (reckon-db's aggregator, with JSON field semantics):
//   {"$sum": n}        adds n to the field (treated as 0 when absent)
//   {"$overwrite": v}  replaces the field with v
//   any other value    replaces the field
// Events whose data is not a JSON object are refused with InvalidArgument.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reckon/store.h"

namespace reckon {

// Folds `events` in order over `initial_state_json` (a JSON object; empty = {}).
Result<std::string> fold_events(std::string_view initial_state_json, const std::vector<Event>& events);

struct AggregateState {
  std::string state_json;
  int64_t version = kNoVersion;         // last version folded in
  int64_t snapshot_version = kNoVersion;  // the snapshot it started from, -1 if none
};

// Loads the latest snapshot of `stream_id` (when `use_snapshot` and one exists) and folds every
// readable event after it.
Result<AggregateState> aggregate_stream(Store& store, const std::string& stream_id,
                                        bool use_snapshot = true);

}  // namespace reckon
