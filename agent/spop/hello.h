// HAPROXY-HELLO / AGENT-HELLO and the negotiation between them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/spop/status.h"

namespace keymux::spop {

inline constexpr std::string_view kSpopVersion = "2.0";
inline constexpr std::string_view kAgentCapabilities = "pipelining";

struct HaproxyHello {
  std::string_view supported_versions;  // e.g. "2.0"
  std::uint32_t max_frame_size = 0;
  std::string_view capabilities;  // e.g. "pipelining,async" (2.6) or "pipelining" (3.1+)
  bool healthcheck = false;
  std::string_view engine_id;
};

// Decodes a HAPROXY-HELLO payload. Errors: kInvalidFrame (malformed KV list),
// kNoVersion, kNoMaxFrameSize, kNoCapabilities (item missing or of the wrong type).
Status decode_haproxy_hello(std::string_view payload, HaproxyHello& out);

// Applies the rules: "2.0" must be among the supported versions (else
// kUnsupportedVersion); HAProxy's max-frame-size must be >= kMinFrameSize (else
// kBadMaxFrameSize). On success `agreed_max_frame_size` = min(ours, HAProxy's).
Status negotiate_hello(const HaproxyHello& hello, std::uint32_t our_max_frame_size,
                       std::uint32_t& agreed_max_frame_size);

// Appends a whole AGENT-HELLO frame: version "2.0", max-frame-size, capabilities "pipelining".
void encode_agent_hello(std::string& out, std::uint32_t max_frame_size);

// HAProxy's side, for tests, fuzz seeds and the load generator.
void encode_haproxy_hello(std::string& out, const HaproxyHello& hello);

}  // namespace keymux::spop
