// `state.redis`: where Redis listens, as the config writes it. One parser for
// the validator (clear errors) and the client (what to connect to).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keymux::config {

struct RedisAddress {
  std::string host;        // a name or an address (IPv6 without brackets); empty for unix
  std::uint16_t port = 0;  // 1-65535 for TCP
  std::string unix_path;   // set for `unix:/path`
  bool is_unix() const { return !unix_path.empty(); }
};

// `host:port`, `[v6]:port` or `unix:/absolute/path`; nullopt with `error`
// set (never quoting more than the value) when it is none of them.
std::optional<RedisAddress> parse_redis_address(std::string_view text, std::string& error);

}  // namespace keymux::config
