// Includes libraft's C headers with C linkage: raft 0.15's headers have no `extern "C"` guards
// of their own. Include this, never <raft.h> / <raft/uv.h> directly, from C++.
#pragma once

#include <uv.h>  // has its own guards; included first so raft/uv.h finds it already included

extern "C" {
#include <raft.h>
#include <raft/uv.h>
}
