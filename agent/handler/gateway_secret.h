// The gateway secret: what HAProxy presents in every SPOE message (argument
// `gateway_secret`, haproxy/keymux.spoe.conf) so that the agent answers only
// its own gateway. Set by the config's spop.secret; without one, every message
// is accepted (the listener is then on loopback or a unix socket: main
// refuses anything else).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/spop/notify.h"

namespace keymux::handler {

inline constexpr std::string_view kGatewaySecretArg = "gateway_secret";

// Why a message was refused; the index of its metric series.
enum class GatewayRefusal : std::uint8_t { kMissing, kWrong };
inline constexpr std::size_t kGatewayRefusalCount = 2;
// "missing", "wrong": the metric's `reason` label.
std::string_view gateway_refusal_name(GatewayRefusal refusal);

class GatewaySecret {
 public:
  GatewaySecret() = default;  // none required
  explicit GatewaySecret(std::string secret) : secret_(std::move(secret)) {}

  bool required() const { return !secret_.empty(); }
  // Whether `message` carries the secret; on a refusal, `why` says which kind.
  // The time taken depends on the lengths only, never on how many bytes match.
  bool accepts(const spop::Message& message, GatewayRefusal& why) const;

 private:
  std::string secret_;
};

}  // namespace keymux::handler
