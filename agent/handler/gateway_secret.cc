#include "agent/handler/gateway_secret.h"

#include <openssl/crypto.h>

#include <optional>

namespace keymux::handler {

std::string_view gateway_refusal_name(GatewayRefusal refusal) {
  return refusal == GatewayRefusal::kMissing ? "missing" : "wrong";
}

bool GatewaySecret::accepts(const spop::Message& message, GatewayRefusal& why) const {
  if (secret_.empty()) return true;
  const spop::TypedValue* value = message.arg(kGatewaySecretArg);
  const std::optional<std::string_view> given = value == nullptr ? std::nullopt : value->as_text();
  if (!given || given->empty()) {
    why = GatewayRefusal::kMissing;
    return false;
  }
  // The length is no secret (it is at least 16 random characters); the bytes
  // are compared without an early exit.
  if (given->size() != secret_.size() ||
      CRYPTO_memcmp(given->data(), secret_.data(), secret_.size()) != 0) {
    why = GatewayRefusal::kWrong;
    return false;
  }
  return true;
}

}  // namespace keymux::handler
