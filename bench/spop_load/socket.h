// Connecting to the agent: "HOST:PORT" (TCP, Nagle off) or "unix:/path".
#pragma once

#include <string>

namespace keymux::bench {

// A connected, non-blocking socket, or -1 with `error` set.
int connect_to(const std::string& target, std::string& error);

}  // namespace keymux::bench
