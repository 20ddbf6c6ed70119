#include "agent/router/provider_state.h"

namespace keymux::router {

void ProviderState::refresh_hints_locked() {
  unavailable_until_us_.store(health_.unavailable_until().time_since_epoch().count(),
                              std::memory_order_relaxed);
  out_.store(health_.ejected_until() != Time{}, std::memory_order_relaxed);
}

ProviderState::Admission ProviderState::admit(Time now) {
  Admission a;
  if (!out_.load(std::memory_order_relaxed)) return a;
  std::lock_guard lock(mu_);
  a.kind = health_.kind_of_admission(now);
  a.change = health_.admit(now);
  refresh_hints_locked();
  return a;
}

void ProviderState::fold_successes_locked(std::int64_t slice) {
  // Every success since the last fold came within folded_slice_: one in
  // another slice would have folded first.
  const std::uint64_t total = successes_.load(std::memory_order_relaxed);
  health_.record_successes(total - folded_successes_,
                           folded_slice_.load(std::memory_order_relaxed));
  folded_successes_ = total;
  folded_slice_.store(slice, std::memory_order_relaxed);
}

HealthChange ProviderState::record(bool failure, AttemptKind kind, Time now,
                                   const OutlierPolicy& policy) {
  const std::int64_t slice = OutlierDetector::slice_of(now, policy.window);
  if (!failure && kind == AttemptKind::kNormal && !out_.load(std::memory_order_relaxed)) {
    if (slice != folded_slice_.load(std::memory_order_relaxed)) {
      std::lock_guard lock(mu_);
      if (slice != folded_slice_.load(std::memory_order_relaxed)) fold_successes_locked(slice);
    }
    successes_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  std::lock_guard lock(mu_);
  fold_successes_locked(slice);
  const HealthChange change = health_.record(failure, kind, now, policy);
  if (change) refresh_hints_locked();
  return change;
}

HealthChange ProviderState::hold(Time now, Time until) {
  std::lock_guard lock(mu_);
  const HealthChange change = health_.hold(now, until);
  refresh_hints_locked();
  return change;
}

ProviderView ProviderState::view(Time now) const {
  std::lock_guard lock(mu_);
  return {health_.state(now), health_.ejected_until(), health_.ejections_total()};
}

}  // namespace keymux::router
