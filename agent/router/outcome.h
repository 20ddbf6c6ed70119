// What became of one "route" message; a name for logs and metrics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keymux::router {

enum class Outcome : std::uint8_t {
  kRouted,
  kUnknownModel,                // 404 model_not_found
  kNoModel,                     // 400 model_required (no model, no default route)
  kKeysExhausted,               // 429 with retry-after: every eligible key is busy or cooling
  kKeysUnavailable,             // 503: every key of the route is quarantined
  kAttemptsExhausted,           // 503: this request already used its attempts
  kUpstreamUnavailable,         // 503: every key of the route already failed this request
  kMissingClientToken,          // 401: no token and anonymous access is off
  kInvalidClientToken,          // 401: a token no client has
  kModelNotAllowed,             // 403: the client may not use this model
  kClientRateLimited,           // 429: the client is at its rpm, tpm or in-flight limit
  kClientDailyBudgetExhausted,  // 429: the client spent its tokens_per_day
  kInvalidJson,                 // 400: a body sent as JSON that cannot be JSON
};
inline constexpr std::size_t kOutcomeCount = static_cast<std::size_t>(Outcome::kInvalidJson) + 1;

std::string_view outcome_name(Outcome outcome);

}  // namespace keymux::router
