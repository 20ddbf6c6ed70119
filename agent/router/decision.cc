#include "agent/router/decision.h"

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
  }
  return "unknown";
}

}  // namespace keymux::router
