// HAPROXY-DISCONNECT / AGENT-DISCONNECT: KV list with "status-code" (uint32) and "message"
// (string).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/spop/frame.h"
#include "agent/spop/status.h"

namespace keymux::spop {

struct Disconnect {
  std::uint32_t status_code = 0;
  std::string_view message;
};

// kInvalidFrame when malformed; a missing item leaves its default.
Status decode_disconnect(std::string_view payload, Disconnect& out);

// Appends a whole disconnect frame (AGENT-DISCONNECT unless told otherwise).
void encode_disconnect(std::string& out, Status status, std::string_view message,
                       FrameType type = FrameType::kAgentDisconnect);

}  // namespace keymux::spop
