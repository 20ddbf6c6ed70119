#include "agent/config/redis_address.h"

#include <charconv>

namespace keymux::config {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";
constexpr std::size_t kMaxUnixPath = 107;  // sun_path holds 108 bytes with the NUL

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == ':';
}

}  // namespace

std::optional<RedisAddress> parse_redis_address(std::string_view text, std::string& error) {
  RedisAddress out;
  if (text.starts_with(kUnixPrefix)) {
    const std::string_view path = text.substr(kUnixPrefix.size());
    if (path.empty() || path.front() != '/') {
      error = "a unix socket is written unix:/absolute/path";
      return std::nullopt;
    }
    if (path.size() > kMaxUnixPath) {
      error = "the unix socket path is longer than 107 characters";
      return std::nullopt;
    }
    out.unix_path = std::string(path);
    return out;
  }
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {  // [v6]:port
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "an IPv6 address is written [address]:port";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      error = "expected host:port, [v6]:port or unix:/path";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      error = "an IPv6 address is written [address]:port";
      return std::nullopt;
    }
  }
  if (host.empty()) {
    error = "the host is empty";
    return std::nullopt;
  }
  for (const char c : host) {
    if (!host_char(c)) {
      error = "the host may only hold letters, digits, '.', '-', '_' and (IPv6) ':'";
      return std::nullopt;
    }
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    error = "the port must be a number from 1 to 65535";
    return std::nullopt;
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace keymux::config
