// EntryFrame: how a command's bytes are laid out in a Raft log entry.
//
// libraft 0.15's libuv backend needs every entry's length to be a multiple of 8: it pads
// entries on disk but not on the wire, so a follower (or a restarted node) decodes any other
// length at the wrong offsets (canonical/raft issues #189, #304). A frame is the command
// followed by 1..8 padding bytes, the last of which holds the padding length:
//
//   [command bytes][0x00 ...][pad]      total = round_up(len + 1, 8), pad = total - len
//
// Format written down in docs/CONSENSUS.md ("Entry format").
#pragma once

#include <cstddef>
#include <string_view>

#include "reckon/status.h"

namespace reckon::consensus {

// Size of the frame for a command of `command_size` bytes.
size_t entry_frame_size(size_t command_size);

// Writes the frame of `command` into `out`, which has entry_frame_size(command.size()) bytes.
void encode_entry_frame(std::string_view command, char* out);

// The command inside a frame, or Corruption.
Result<std::string_view> decode_entry_frame(std::string_view frame);

}  // namespace reckon::consensus
