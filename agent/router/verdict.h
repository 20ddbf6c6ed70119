// Whose fault a failed attempt is: the one place that reads an upstream
// status for what it says about the key, the provider or the request. Key
// health, provider health and the retry rules all consume the verdict.
#pragma once

#include <cstdint>
#include <string_view>

namespace keymux::router {

enum class Verdict : std::uint8_t {
  kSuccess,         // 2xx: the key and its provider work
  kKeyOutOfBudget,  // 429: the key is rate limited; cool it as the provider says
  kKeyRevoked,      // 401, 403: the key is refused; quarantine it
  kProviderFault,   // 5xx (529 included), or no response at all (0: refused,
                    // reset, timed out): the provider's first; feeds the
                    // outlier detectors, never a cooldown by itself
  kRequestFault,    // other statuses (400, 404, 408, 413, ...): about the request
};

// `status` is the HTTP status of the upstream's answer, 0 when none came.
// Only the status decides: the rate-limit headers say how long, not whose
// fault, and the key state reads them on its own.
Verdict classify(int status);

std::string_view verdict_name(Verdict verdict);

}  // namespace keymux::router
