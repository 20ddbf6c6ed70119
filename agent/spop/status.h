// SPOP status codes (doc/SPOE.txt, "Errors & timeouts") and their texts.
#pragma once

#include <cstdint>
#include <string_view>

namespace keymux::spop {

enum class Status : std::uint32_t {
  kNormal = 0,
  kIoError = 1,
  kTimeout = 2,
  kTooBig = 3,
  kInvalidFrame = 4,
  kNoVersion = 5,
  kNoMaxFrameSize = 6,
  kNoCapabilities = 7,
  kUnsupportedVersion = 8,
  kBadMaxFrameSize = 9,
  kFragmentationNotSupported = 10,
  kInvalidInterlacedFrames = 11,
  kFrameIdNotFound = 12,
  kResourceAllocation = 13,
  kUnknown = 99,
};

// A short human-readable reason, sent as the AGENT-DISCONNECT "message".
std::string_view status_text(Status status);

}  // namespace keymux::spop
