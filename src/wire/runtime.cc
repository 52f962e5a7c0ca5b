#include "wire/runtime.h"

#include <absl/synchronization/mutex.h>

namespace reckon::wire {

void tune_grpc_runtime() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

}  // namespace reckon::wire
