#include "agent/config/validate_state.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/config/redis_address.h"

namespace keymux::config {
namespace {

constexpr std::size_t kMaxName = 64;
constexpr std::int64_t kMinLeaseMicros = 1'000'000;
constexpr std::int64_t kMaxLeaseMicros = 2'000'000;
constexpr std::int64_t kMinCommandTimeoutMicros = 1'000;
constexpr std::int64_t kMaxCommandTimeoutMicros = 1'000'000;
// A held request must still be answered well within the SPOE `timeout
// processing` (500ms in haproxy/keymux.spoe.conf), else HAProxy gives up on it.
constexpr std::int64_t kMaxWaitDeadlineMicros = 200'000;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
bool prefix_char(char c) { return name_char(c) || c == ':'; }

bool only(std::string_view text, bool (*allowed)(char)) {
  for (const char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

std::int64_t micros(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000 + d.nanos() / 1000;
}

}  // namespace

void validate_state(const State& state, Diagnostics& d) {
  std::string error;
  if (!parse_redis_address(state.redis(), error)) {
    d.error(field_path("state", "redis"), "state: redis: " + error);
  }
  const std::string& prefix = state.key_prefix();
  if (prefix.empty() || prefix.size() > kMaxName || !only(prefix, prefix_char)) {
    d.error(field_path("state", "key_prefix"),
            "state: key_prefix must be 1 to 64 characters of A-Z, a-z, 0-9, ':', '.', '_' and '-'");
  }
  const std::string& node = state.node();
  if (d.given(field_path("state", "node")) &&
      (node.empty() || node.size() > kMaxName || !only(node, name_char))) {
    d.error(field_path("state", "node"),
            "state: node must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
  }
  if (const std::int64_t lease = micros(state.lease_lifetime());
      lease < kMinLeaseMicros || lease > kMaxLeaseMicros) {
    d.error(field_path("state", "lease_lifetime"),
            "state: lease_lifetime must be between 1s and 2s");
  }
  if (const std::int64_t timeout = micros(state.command_timeout());
      timeout < kMinCommandTimeoutMicros || timeout > kMaxCommandTimeoutMicros) {
    d.error(field_path("state", "command_timeout"),
            "state: command_timeout must be between 1ms and 1s");
  }
  if (const std::int64_t wait = micros(state.wait_deadline());
      wait < 0 || wait > kMaxWaitDeadlineMicros) {
    d.error(field_path("state", "wait_deadline"),
            "state: wait_deadline must be between 0s (never wait) and 200ms (well under the SPOE "
            "timeout processing)");
  }
}

}  // namespace keymux::config
