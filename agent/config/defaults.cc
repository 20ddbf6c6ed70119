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
constexpr const char* kStateRedis = "127.0.0.1:6379";
constexpr const char* kStateKeyPrefix = "keymux:";
constexpr std::int32_t kStateCommandTimeoutMillis = 50;
constexpr std::int32_t kStateWaitDeadlineMillis = 50;
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
  if (config.has_state()) {
    State& state = *config.mutable_state();
    if (state.redis().empty()) state.set_redis(kStateRedis);
    if (state.key_prefix().empty()) state.set_key_prefix(kStateKeyPrefix);
    if (state.degraded() == DEGRADED_UNSPECIFIED) state.set_degraded(SPLIT);
    if (!state.has_lease_lifetime()) state.mutable_lease_lifetime()->set_seconds(1);
    if (!state.has_command_timeout()) {
      state.mutable_command_timeout()->set_nanos(kStateCommandTimeoutMillis * 1'000'000);
    }
    if (!state.has_wait_deadline()) {
      state.mutable_wait_deadline()->set_nanos(kStateWaitDeadlineMillis * 1'000'000);
    }
    // node: the host's name, filled in by the agent at start (defaults stay pure).
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
