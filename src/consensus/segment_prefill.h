// Zero-filled Raft log segments.
//
// libraft 0.15 prepares each log segment ("open-N") with posix_fallocate(), which leaves the
// space as *unwritten* extents. Its writer then rewrites the log's partly filled tail block
// and spills into the next one with O_DIRECT + RWF_NOWAIT; on ext4 a write spanning a written
// and an unwritten block cannot be done without waiting, so the kernel refuses it (EAGAIN) and
// libraft retries it on libuv's thread pool — most batched log writes took that detour, and
// each one also converted extents, a journal commit inside every O_DSYNC write.
//
// This module defines posix_fallocate() for the process (the dynamic linker binds libraft's
// call to it): for a new, empty "open-N" file in a directory registered here it writes zeros
// instead, so the segment's blocks are ordinary written blocks; every other call goes to libc
// unchanged (RocksDB's files, anything outside our Raft directories, non-empty files).
// Measured: one voter, 32 writers +35% appends/s (docs/PERFORMANCE.md). RECKON_RAFT_PREFILL=0
// in the environment turns it off.
#pragma once

#include <cstdint>
#include <string>

namespace reckon::consensus {

// Marks `dir` as a libraft data directory whose open segments are zero-filled. RaftNode calls
// it before raft_uv_init(); idempotent; thread-safe.
void register_segment_dir(const std::string& dir);

// Segments zero-filled so far in this process (all registered directories).
uint64_t segments_prefilled();

}  // namespace reckon::consensus
