#include "agent/router/key_state.h"

#include <algorithm>
#include <utility>

namespace keymux::router {
namespace {

std::int64_t micros(Time t) { return t.time_since_epoch().count(); }

}  // namespace

std::string_view cooldown_cause_name(CooldownCause cause) {
  switch (cause) {
    case CooldownCause::kNone:
      return "none";
    case CooldownCause::kRateLimited:
      return "rate_limited";
    case CooldownCause::kExhausted:
      return "exhausted";
  }
  return "unknown";
}

std::size_t response_class(int status) {
  return status >= 100 && status < 600 ? static_cast<std::size_t>(status / 100) : 0;
}

std::string_view response_class_name(std::size_t index) {
  static constexpr std::string_view kNames[kResponseClassCount] = {"no_response", "1xx", "2xx",
                                                                   "3xx",         "4xx", "5xx"};
  return index < kResponseClassCount ? kNames[index] : "no_response";
}

KeyState::KeyState(std::string id) : id_(std::move(id)), requests_(0), tokens_(0) {}

void KeyState::configure(const KeyLimits& limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
  configure_windows(limits, requests_, tokens_);
  max_in_flight_hint_.store(limits.max_in_flight, std::memory_order_relaxed);
  // Window hints are recomputed by the next try_admit; only the cooldown is sure.
  blocked_until_us_.store(micros(cooldown_until_), std::memory_order_relaxed);
}

std::optional<std::uint64_t> KeyState::reported_requests_left_locked(Time now) const {
  if (!reported_requests_ || now >= reported_requests_reset_) return std::nullopt;
  return *reported_requests_ - std::min(*reported_requests_, requests_since_report_);
}

std::optional<std::uint64_t> KeyState::reported_tokens_left_locked(Time now) const {
  if (!reported_tokens_ || now >= reported_tokens_reset_) return std::nullopt;
  return *reported_tokens_ - std::min(*reported_tokens_, tokens_since_report_);
}

Time KeyState::exhausted_until_locked(Time now) const {
  Time until{};
  if (reported_requests_left_locked(now) == 0u) until = reported_requests_reset_;
  if (reported_tokens_left_locked(now) == 0u) until = std::max(until, reported_tokens_reset_);
  return until;
}

Time KeyState::blocked_until_locked(Time now, std::uint64_t tokens) {
  if (!quarantine_reason_.empty()) return Time::max();
  Time until = next_room(now, requests_, tokens_, tokens, in_flight_, limits_.max_in_flight);
  if (now < cooldown_until_) until = std::max(until, cooldown_until_);
  return std::max(until, exhausted_until_locked(now));
}

void KeyState::refresh_hints_locked(Time now) {
  Time blocked = cooldown_until_;
  if (!requests_.has_room(now)) blocked = std::max(blocked, requests_.next_room(now));
  if (tokens_.limit() != 0 && !tokens_.has_room(now, 1)) {
    blocked = std::max(blocked, tokens_.next_room(now, 1));
  }
  blocked = std::max(blocked, exhausted_until_locked(now));
  blocked_until_us_.store(micros(blocked), std::memory_order_relaxed);
  quarantined_.store(!quarantine_reason_.empty(), std::memory_order_relaxed);
  in_flight_hint_.store(in_flight_, std::memory_order_relaxed);
}

KeyState::Admission KeyState::try_admit(Time now, std::uint64_t tokens, bool panic) {
  std::lock_guard lock(mu_);
  if (!panic && !health_.available(now)) {
    unavailable_until_us_.store(micros(health_.unavailable_until()), std::memory_order_relaxed);
    return {false, true, AttemptKind::kNormal, now, false, {}};
  }
  const Time until = blocked_until_locked(now, tokens);
  if (until != now) {
    refresh_hints_locked(now);
    return {false, false, AttemptKind::kNormal, until, false, {}};
  }
  std::optional<SharedSpend> spend;
  if (SharedBudget* shared = shared_.load(std::memory_order_acquire); shared != nullptr) {
    spend = shared->take(now, tokens);
    if (!spend) {
      return {false,
              false,
              AttemptKind::kNormal,
              now + kSharedBudgetRetry,
              shared->refill_expected(now),
              {}};
    }
  }
  const AttemptKind kind = health_.kind_of_admission(now);
  if (health_.admit(now)) {
    unavailable_until_us_.store(micros(health_.unavailable_until()), std::memory_order_relaxed);
  }
  requests_.admit(now);
  tokens_.admit(now, tokens);
  ++in_flight_;
  ++requests_since_report_;
  tokens_since_report_ += tokens;
  served_.fetch_add(1, std::memory_order_relaxed);
  admitted_total_.fetch_add(1, std::memory_order_relaxed);
  tokens_reserved_total_.fetch_add(tokens, std::memory_order_relaxed);
  refresh_hints_locked(now);
  return {true, false, kind, now, false, spend.value_or(SharedSpend{})};
}

Time KeyState::next_chance(Time now, std::uint64_t tokens) {
  std::lock_guard lock(mu_);
  return blocked_until_locked(now, tokens);
}

void KeyState::release() {
  std::lock_guard lock(mu_);
  if (in_flight_ > 0) --in_flight_;
  in_flight_hint_.store(in_flight_, std::memory_order_relaxed);
}

void KeyState::settle_tokens(Time now, Time at, std::uint64_t estimated, std::uint64_t actual,
                             const SharedSpend& shared) {
  if (actual == estimated) return;
  std::lock_guard lock(mu_);
  tokens_.settle(at, estimated, actual);
  // The provider's own count since its report: by the real cost too.
  tokens_since_report_ = actual > estimated ? tokens_since_report_ + (actual - estimated)
                                            : tokens_since_report_ - std::min(tokens_since_report_,
                                                                              estimated - actual);
  // The shared budget's lock is taken under the key's, as in try_admit. A
  // spend of no tokens (no shared budget then, or no tpm) has nothing to settle.
  if (SharedBudget* budget = shared_.load(std::memory_order_acquire);
      budget != nullptr && shared.tokens != 0) {
    budget->settle(now, at, shared, actual);
  }
  refresh_hints_locked(now);
}

void KeyState::store_report_locked(Time now, const UpstreamReport& report) {
  // A count without its reset is not trusted to block the key: we would not
  // know when to try it again.
  if (report.remaining_requests) {
    reported_requests_ = report.remaining_requests;
    reported_requests_reset_ = report.requests_reset.value_or(now);
    requests_since_report_ = 0;
  }
  if (report.remaining_tokens) {
    reported_tokens_ = report.remaining_tokens;
    reported_tokens_reset_ = report.tokens_reset.value_or(now);
    tokens_since_report_ = 0;
  }
}

void KeyState::record_response(int status) {
  responses_by_class_[response_class(status)].fetch_add(1, std::memory_order_relaxed);
}

KeyChange KeyState::start_cooldown_locked(Time now, Time until, CooldownCause cause) {
  KeyChange change;
  if (until <= now) return change;  // a retry-after already past: nothing to wait for
  const bool was_cooling = now < cooldown_until_;
  const CooldownCause was_cause = cooldown_cause_;
  if (until > cooldown_until_) {
    cooldown_until_ = until;
    cooldown_cause_ = cause;
  }
  if (was_cooling && was_cause == cooldown_cause_) return change;  // already cooling for it
  ++cooldowns_by_cause_[static_cast<std::size_t>(cooldown_cause_)];
  change.kind = KeyChange::Kind::kCooling;
  change.cause = cooldown_cause_;
  change.until = cooldown_until_;
  return change;
}

KeyChange KeyState::health_change_locked(const HealthChange& health) {
  KeyChange change;
  unavailable_until_us_.store(micros(health_.unavailable_until()), std::memory_order_relaxed);
  last_failure_us_.store(micros(health_.last_failure()), std::memory_order_relaxed);
  switch (health.kind) {
    case HealthChange::Kind::kEjected:
      change.kind = KeyChange::Kind::kEjected;
      change.until = health.until;
      change.health = health;
      break;
    case HealthChange::Kind::kProbing:
      change.kind = KeyChange::Kind::kProbing;
      break;
    case HealthChange::Kind::kRecovered:
      change.kind = KeyChange::Kind::kRecovered;
      break;
    case HealthChange::Kind::kNone:
      break;
  }
  return change;
}

KeyChange KeyState::on_success(Time now, const UpstreamReport& report, AttemptKind kind,
                               const OutlierPolicy& policy) {
  std::lock_guard lock(mu_);
  KeyChange change = health_change_locked(health_.record(false, kind, now, policy));
  // A 429 cooldown is the provider's word and runs to its end (this response
  // may predate it); one that ran out is over now.
  if (cooldown_cause_ != CooldownCause::kNone && now >= cooldown_until_) {
    cooldown_cause_ = CooldownCause::kNone;
    if (!change && quarantine_reason_.empty() && health_.state(now) == HealthState::kServing) {
      change.kind = KeyChange::Kind::kRecovered;
    }
  }
  const bool was_exhausted = exhausted_until_locked(now) > now;
  store_report_locked(now, report);
  // The provider says nothing is left until its reset: a cooldown of its own.
  if (!was_exhausted) {
    const Time exhausted_until = exhausted_until_locked(now);
    if (exhausted_until > now) {
      ++cooldowns_by_cause_[static_cast<std::size_t>(CooldownCause::kExhausted)];
      change = {};
      change.kind = KeyChange::Kind::kCooling;
      change.cause = CooldownCause::kExhausted;
      change.until = exhausted_until;
    }
  }
  refresh_hints_locked(now);
  return change;
}

KeyChange KeyState::on_rate_limited(Time now, const UpstreamReport& report,
                                    const CooldownPolicy& policy) {
  std::lock_guard lock(mu_);
  store_report_locked(now, report);
  Time until = now + policy.rate_limit;
  if (report.retry_at) {
    until = *report.retry_at;
  } else {
    // Prefer the reset of the dimension that ran out; else any reset given.
    std::optional<Time> exhausted_reset;
    std::optional<Time> any_reset;
    auto consider = [&](const std::optional<std::uint64_t>& remaining,
                        const std::optional<Time>& reset) {
      if (!reset) return;
      any_reset = std::max(any_reset.value_or(*reset), *reset);
      if (remaining == 0u) exhausted_reset = std::max(exhausted_reset.value_or(*reset), *reset);
    };
    consider(report.remaining_requests, report.requests_reset);
    consider(report.remaining_tokens, report.tokens_reset);
    if (exhausted_reset) {
      until = *exhausted_reset;
    } else if (any_reset) {
      until = *any_reset;
    }
  }
  KeyChange change = start_cooldown_locked(now, until, CooldownCause::kRateLimited);
  refresh_hints_locked(now);
  return change;
}

KeyChange KeyState::quarantine(std::string reason) {
  std::lock_guard lock(mu_);
  KeyChange change;
  if (!quarantine_reason_.empty()) return change;  // the first reason stands
  quarantine_reason_ = reason.empty() ? std::string("quarantined") : std::move(reason);
  quarantined_.store(true, std::memory_order_relaxed);
  ++quarantines_total_;
  change.kind = KeyChange::Kind::kQuarantined;
  change.reason = quarantine_reason_;
  return change;
}

KeyChange KeyState::on_provider_fault(Time now, AttemptKind kind, const OutlierPolicy& policy) {
  std::lock_guard lock(mu_);
  return health_change_locked(health_.record(true, kind, now, policy));
}

KeyChange KeyState::apply_cooldown(Time now, Time until, CooldownCause cause) {
  std::lock_guard lock(mu_);
  const KeyChange change = start_cooldown_locked(now, until, cause);
  refresh_hints_locked(now);
  return change;
}

KeyChange KeyState::apply_ejection(Time now, Time until) {
  std::lock_guard lock(mu_);
  return health_change_locked(health_.hold(now, until));
}

KeyChange KeyState::enable(Time now) {
  std::lock_guard lock(mu_);
  KeyChange change;
  if (!quarantine_reason_.empty() || now < cooldown_until_ ||
      health_.state(now) != HealthState::kServing || health_.consecutive_failures() > 0) {
    change.kind = KeyChange::Kind::kRecovered;
  }
  quarantine_reason_.clear();
  cooldown_until_ = Time{};
  cooldown_cause_ = CooldownCause::kNone;
  health_.reset();
  // Window hints come back with the next try_admit.
  blocked_until_us_.store(0, std::memory_order_relaxed);
  unavailable_until_us_.store(0, std::memory_order_relaxed);
  quarantined_.store(false, std::memory_order_relaxed);
  return change;
}

KeyView KeyState::view(Time now) {
  std::lock_guard lock(mu_);
  KeyView v;
  v.in_flight = in_flight_;
  v.requests_in_window = requests_.used(now);
  v.tokens_in_window = tokens_.used(now);
  v.reported_remaining_requests = reported_requests_left_locked(now);
  v.reported_remaining_tokens = reported_tokens_left_locked(now);
  v.consecutive_failures = health_.consecutive_failures();
  v.health = health_.state(now);
  v.ejected_until = health_.ejected_until();
  v.ejections_total = health_.ejections_total();
  v.admitted_total = admitted_total_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kResponseClassCount; ++i) {
    v.responses_by_class[i] = responses_by_class_[i].load(std::memory_order_relaxed);
  }
  v.cooldowns_by_cause = cooldowns_by_cause_;
  v.quarantines_total = quarantines_total_;
  v.tokens_reserved_total = tokens_reserved_total_.load(std::memory_order_relaxed);
  if (!quarantine_reason_.empty()) {
    v.condition = KeyCondition::kQuarantined;
    v.quarantine_reason = quarantine_reason_;
  }
  if (now < cooldown_until_) {
    v.cooldown_until = cooldown_until_;
    v.cooldown_cause = cooldown_cause_;
  } else {
    // The provider said "none left until the reset": as good as a cooldown.
    const Time exhausted_until = exhausted_until_locked(now);
    if (exhausted_until > now) {
      v.cooldown_until = exhausted_until;
      v.cooldown_cause = CooldownCause::kExhausted;
    }
  }
  if (v.condition == KeyCondition::kOk && v.cooldown_until > now) {
    v.condition = KeyCondition::kCooling;
  }
  if (v.condition == KeyCondition::kOk && v.health != HealthState::kServing) {
    v.condition = KeyCondition::kEjected;
  }
  return v;
}

void KeyState::lift_served(std::uint64_t floor) {
  std::uint64_t current = served_.load(std::memory_order_relaxed);
  while (current < floor &&
         !served_.compare_exchange_weak(current, floor, std::memory_order_relaxed)) {
  }
}

}  // namespace keymux::router
