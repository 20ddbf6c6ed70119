#include "agent/config/defaults.h"

#include <cstdint>

namespace keymux::config {
namespace {

constexpr std::uint32_t kWeight = 1;
constexpr std::uint32_t kAttempts = 3;
constexpr std::int64_t kRateLimitCooldownSeconds = 10;
constexpr std::int64_t kServerErrorCooldownSeconds = 1;
constexpr std::int64_t kServerErrorCooldownMaxSeconds = 60;
constexpr std::uint32_t kDefaultMaxTokens = 256;
constexpr std::int64_t kInFlightTimeoutSeconds = 330;
constexpr std::int64_t kRequestMemorySeconds = 120;
constexpr std::uint32_t kRequestMemoryEntries = 100'000;
constexpr std::uint32_t kEjectionConsecutiveFailures = 5;
constexpr std::uint32_t kEjectionFailurePercent = 50;
constexpr std::uint32_t kEjectionMinimumRequests = 20;
constexpr std::int64_t kEjectionWindowSeconds = 10;
constexpr std::int64_t kLimitWindowSeconds = 60;
constexpr std::uint32_t kEjectionMultiplier = 2;
constexpr std::uint32_t kProviderEjectionFailurePercent = 50;

}  // namespace

void fill_defaults(Config& config) {
  for (Provider& provider : *config.mutable_providers()) {
    for (Key& key : *provider.mutable_keys()) {
      if (!key.has_weight()) key.set_weight(kWeight);
    }
  }
  for (Route& route : *config.mutable_routes()) {
    if (route.name().empty()) route.set_name(route.models().empty() ? "default" : route.models(0));
    for (Target& target : *route.mutable_targets()) {
      if (!target.has_weight()) target.set_weight(kWeight);
    }
  }
  Policy& policy = *config.mutable_policy();
  if (!policy.has_attempts()) policy.set_attempts(kAttempts);
  if (!policy.has_rate_limit_cooldown())
    policy.mutable_rate_limit_cooldown()->set_seconds(kRateLimitCooldownSeconds);
  if (!policy.has_server_error_cooldown())
    policy.mutable_server_error_cooldown()->set_seconds(kServerErrorCooldownSeconds);
  if (!policy.has_server_error_cooldown_max())
    policy.mutable_server_error_cooldown_max()->set_seconds(kServerErrorCooldownMaxSeconds);
  if (!policy.has_default_max_tokens()) policy.set_default_max_tokens(kDefaultMaxTokens);
  if (!policy.has_in_flight_timeout())
    policy.mutable_in_flight_timeout()->set_seconds(kInFlightTimeoutSeconds);
  if (!policy.has_request_memory())
    policy.mutable_request_memory()->set_seconds(kRequestMemorySeconds);
  if (!policy.has_request_memory_entries())
    policy.set_request_memory_entries(kRequestMemoryEntries);
  if (!policy.has_ejection_consecutive_failures())
    policy.set_ejection_consecutive_failures(kEjectionConsecutiveFailures);
  if (!policy.has_ejection_failure_percent())
    policy.set_ejection_failure_percent(kEjectionFailurePercent);
  if (!policy.has_ejection_minimum_requests())
    policy.set_ejection_minimum_requests(kEjectionMinimumRequests);
  if (!policy.has_ejection_window())
    policy.mutable_ejection_window()->set_seconds(kEjectionWindowSeconds);
  if (!policy.has_ejection_multiplier()) policy.set_ejection_multiplier(kEjectionMultiplier);
  if (!policy.has_provider_ejection_failure_percent())
    policy.set_provider_ejection_failure_percent(kProviderEjectionFailurePercent);
  if (!policy.has_limit_window()) policy.mutable_limit_window()->set_seconds(kLimitWindowSeconds);
}

}  // namespace keymux::config
