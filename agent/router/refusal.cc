#include "agent/router/refusal.h"

#include <algorithm>
#include <string>

namespace keymux::router {

void fail(Decision& d, Outcome outcome, int status, std::string_view type, std::string_view code,
          std::string message) {
  d.outcome = outcome;
  d.http_status = status;
  d.error_type = type;
  d.error_code = code;
  d.message = std::move(message);
}

void refuse_for_keys(const RouteEntry& route, const SelectionInput& in, Decision& d) {
  const Time now = in.now;
  Time soonest = Time::max();
  bool untried = false;
  for (const KeyEntry* key : route.keys) {
    if (!key->allows_model(in.model)) continue;
    soonest = std::min(soonest, key->state->next_chance(now, in.tokens));
    untried = untried || std::find(in.tried.begin(), in.tried.end(), key->state) == in.tried.end();
  }
  // Every key already failed this request, and not for want of budget: the
  // upstream is down, not busy. (Causes are read only then: a 429 storm on an
  // exhausted pool never gets here.)
  const auto for_want_of_budget = [&] {
    return std::any_of(route.keys.begin(), route.keys.end(), [&](const KeyEntry* key) {
      const CooldownCause cause = key->state->view(now).cooldown_cause;
      return key->allows_model(in.model) &&
             (cause == CooldownCause::kRateLimited || cause == CooldownCause::kExhausted);
    });
  };
  if (!untried && !in.tried.empty() && !for_want_of_budget()) {
    fail(d, Outcome::kUpstreamUnavailable, 503, "service_unavailable", "upstream_unavailable",
         "Every upstream key of this route was tried for this request and none answered it.");
    if (soonest != Time::max()) d.retry_after = std::max(Duration::zero(), soonest - now);
    return;
  }
  if (soonest == Time::max()) {
    fail(d, Outcome::kKeysUnavailable, 503, "service_unavailable", "keys_unavailable",
         "No upstream key of this route is in service.");
    return;
  }
  // Whose limit holds the keys back: the provider's (it answered 429, or
  // reported none left) or the one configured here (rpm, tpm, max_in_flight).
  bool provider_limited = false;
  bool gateway_limited = false;
  for (const KeyEntry* key : route.keys) {
    if (!key->allows_model(in.model) || key->state->next_chance(now, in.tokens) == Time::max()) {
      continue;
    }
    const CooldownCause cause = key->state->view(now).cooldown_cause;
    const bool provider =
        cause == CooldownCause::kRateLimited || cause == CooldownCause::kExhausted;
    provider_limited = provider_limited || provider;
    gateway_limited = gateway_limited || !provider;
  }
  const char* whose = provider_limited && gateway_limited
                          ? "the provider's rate limits and the limits set in this gateway"
                      : provider_limited ? "the provider's rate limit (it answered 429 or reported "
                                           "none left)"
                                         : "the limits set in this gateway (rpm, tpm, in flight)";
  fail(
      d, Outcome::kKeysExhausted, 429, "rate_limit_error", "keys_exhausted",
      std::string("Every upstream key of this route is at its limit: ") + whose + "; retry later.");
  d.retry_after = std::max(Duration::zero(), soonest - now);
}

}  // namespace keymux::router
