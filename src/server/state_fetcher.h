// The gRPC transport of bulk catch-up: a FetchState (reckon/replication.h) that streams
// reckon.v1.Replication/FetchState from a peer's client address for one store.
#pragma once

#include <chrono>
#include <string>

#include "reckon/replication.h"

namespace reckon::server {

// `timeout` bounds one transfer (the catch-up as a whole has its own limit).
FetchState grpc_state_fetcher(std::string store_id, std::chrono::milliseconds timeout);

}  // namespace reckon::server
