// Splits a byte string made of whole SPOP frames into decoded frames (tests only).
#pragma once

#include <string_view>
#include <vector>

#include "agent/spop/frame.h"

namespace keymux::testing {

// Every frame in `bytes`; fails the current test if the bytes do not split
// exactly into well-formed frames of at most `max_frame_size`.
std::vector<spop::Frame> split_frames(std::string_view bytes,
                                      std::uint32_t max_frame_size = 16 * 1024 * 1024);

}  // namespace keymux::testing
