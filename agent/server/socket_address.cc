#include "agent/server/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstddef>
#include <cstring>

namespace keymux::server {

bool parse_listen_spec(std::string_view spec, ListenSpec& out, std::string& error) {
  out = ListenSpec{};
  constexpr std::string_view kUnixPrefix = "unix:";
  if (spec.starts_with(kUnixPrefix)) {
    out.is_unix = true;
    out.path = std::string(spec.substr(kUnixPrefix.size()));
    if (out.path.empty()) {
      error = "empty unix socket path in \"" + std::string(spec) + "\"";
      return false;
    }
    if (out.path.size() >= sizeof(sockaddr_un::sun_path)) {
      error = "unix socket path too long (max " +
              std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes): " + out.path;
      return false;
    }
    return true;
  }

  std::string_view host;
  std::string_view port;
  if (spec.starts_with('[')) {
    const std::size_t close = spec.find(']');
    if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      error = "bad listen address \"" + std::string(spec) + "\" (expected [IPV6]:PORT)";
      return false;
    }
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else {
    const std::size_t colon = spec.rfind(':');
    if (colon == std::string_view::npos) {
      error = "bad listen address \"" + std::string(spec) +
              "\" (expected HOST:PORT, [IPV6]:PORT or unix:/path)";
      return false;
    }
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      error = "bad listen address \"" + std::string(spec) + "\" (write IPv6 as [ADDR]:PORT)";
      return false;
    }
  }

  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    error = "bad port in listen address \"" + std::string(spec) + "\"";
    return false;
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return true;
}

bool is_local_only(const ListenSpec& spec) {
  if (spec.is_unix) return true;
  if (spec.host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, spec.host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, spec.host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::string format_address(const sockaddr* address, socklen_t length) {
  char text[INET6_ADDRSTRLEN] = {};
  switch (address->sa_family) {
    case AF_INET: {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
      inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
      return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
    }
    case AF_INET6: {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
      // Built in steps: GCC 12 at -O3 warns falsely (-Wrestrict) on "[" + std::string(...).
      std::string out = "[";
      out += text;
      out += "]:";
      out += std::to_string(ntohs(v6->sin6_port));
      return out;
    }
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(address);
      const std::size_t header = offsetof(sockaddr_un, sun_path);
      if (static_cast<std::size_t>(length) <= header || un->sun_path[0] == '\0') return "unix";
      const std::size_t max = static_cast<std::size_t>(length) - header;
      std::string path(un->sun_path, strnlen(un->sun_path, max));
      return "unix:" + path;
    }
    default:
      return "family " + std::to_string(address->sa_family);
  }
}

}  // namespace keymux::server
