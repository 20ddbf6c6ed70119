#include "agent/router/outcome.h"

namespace keymux::router {

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kRouted:
      return "routed";
    case Outcome::kUnknownModel:
      return "unknown_model";
    case Outcome::kNoModel:
      return "no_model";
    case Outcome::kKeysExhausted:
      return "keys_exhausted";
    case Outcome::kKeysUnavailable:
      return "keys_unavailable";
    case Outcome::kAttemptsExhausted:
      return "attempts_exhausted";
    case Outcome::kUpstreamUnavailable:
      return "upstream_unavailable";
    case Outcome::kMissingClientToken:
      return "missing_client_token";
    case Outcome::kInvalidClientToken:
      return "invalid_client_token";
    case Outcome::kModelNotAllowed:
      return "model_not_allowed";
    case Outcome::kClientRateLimited:
      return "client_rate_limited";
    case Outcome::kClientDailyBudgetExhausted:
      return "client_daily_budget_exhausted";
    case Outcome::kInvalidJson:
      return "invalid_json";
  }
  return "unknown";
}

}  // namespace keymux::router
