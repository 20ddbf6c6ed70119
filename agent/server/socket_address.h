// Listen specs ("HOST:PORT", "[V6]:PORT", "unix:/path") and printable socket addresses.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace keymux::server {

struct ListenSpec {
  bool is_unix = false;
  std::string host;  // TCP: a name or a numeric address; "" or "*" for any
  std::uint16_t port = 0;
  std::string path;  // unix
};

// False with `error` set when `spec` is malformed (no port, port out of range,
// empty or too long a unix path).
bool parse_listen_spec(std::string_view spec, ListenSpec& out, std::string& error);

// True when only this host can connect: a unix socket, or a TCP host that is
// a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z) or "localhost".
// Any other host (a name, 0.0.0.0, "", "*", [::]) may be reachable from elsewhere.
bool is_local_only(const ListenSpec& spec);

// "192.0.2.1:5555", "[2001:db8::1]:5555"; "unix:/path" for a named unix
// address and "unix" for an unnamed one.
std::string format_address(const sockaddr* address, socklen_t length);

}  // namespace keymux::server
