#include "consensus/entry_frame.h"

#include <cstring>
#include <string>

namespace reckon::consensus {

size_t entry_frame_size(size_t command_size) { return (command_size + 1 + 7) / 8 * 8; }

void encode_entry_frame(std::string_view command, char* out) {
  const size_t total = entry_frame_size(command.size());
  const size_t pad = total - command.size();  // 1..8
  std::memcpy(out, command.data(), command.size());
  std::memset(out + command.size(), 0, pad - 1);
  out[total - 1] = static_cast<char>(pad);
}

Result<std::string_view> decode_entry_frame(std::string_view frame) {
  if (frame.empty() || frame.size() % 8 != 0) {
    return Status::corruption("raft entry of " + std::to_string(frame.size()) +
                              " bytes is not a command frame");
  }
  const auto pad = static_cast<unsigned char>(frame.back());
  if (pad < 1 || pad > 8 || pad > frame.size()) {
    return Status::corruption("raft entry frame has invalid padding " + std::to_string(pad));
  }
  return frame.substr(0, frame.size() - pad);
}

}  // namespace reckon::consensus
