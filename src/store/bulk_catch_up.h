// BulkCatchUp: the receiving side of a bulk catch-up (docs/CONSENSUS.md "Bulk catch-up"). A
// replica behind a logical Raft snapshot fetches a peer's state through the FetchState
// transport and writes it with a storage::StateImporter; transfers that fail are resumed
// (events after the highest position held) from the next peer, until one completes or the
// time is up. Runs on the caller's thread (the Raft loop, inside restore_state).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "reckon/replication.h"
#include "storage/database.h"

namespace reckon::store {

struct BulkCatchUpRequest {
  uint64_t min_applied_index = 0;         // the sender must have applied at least this
  uint64_t self_id = 0;                   // never asked
  std::map<uint64_t, std::string> peers;  // node id -> client address
  FetchState fetch;
  std::chrono::milliseconds timeout{300000};
  std::chrono::milliseconds retry_delay{500};
  // Polled between chunks and while waiting to retry: true ends the catch-up (Cancelled), so
  // closing the store never waits for the timeout.
  std::function<bool()> cancelled;
};

struct BulkCatchUpResult {
  uint64_t peer_id = 0;  // the peer whose transfer completed
  uint64_t events = 0;   // events received over all attempts
  uint64_t attempts = 0;
};

// On success the database holds the state of a peer at an applied index >= the minimum;
// the caller reloads its state machine. On failure the store keeps its catch-up marker.
Result<BulkCatchUpResult> bulk_catch_up(storage::Database& db, const BulkCatchUpRequest& request);

}  // namespace reckon::store
