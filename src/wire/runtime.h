// Process-wide settings of the gRPC runtime, applied once at the start of main() by reckond and
// the reckon CLI.
#pragma once

namespace reckon::wire {

// Debian's abseil leaves Mutex deadlock detection on, which builds a lock graph on every
// lock operation inside gRPC (measured: ~5% of server CPU). reckondb has its own lock
// discipline and tests; the detector is turned off.
void tune_grpc_runtime();

}  // namespace reckon::wire
