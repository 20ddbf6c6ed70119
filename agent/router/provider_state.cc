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

HealthChange ProviderState::record(bool failure, AttemptKind kind, Time now,
                                   const OutlierPolicy& policy) {
  std::lock_guard lock(mu_);
  const HealthChange change = health_.record(failure, kind, now, policy);
  if (change) refresh_hints_locked();
  return change;
}

ProviderView ProviderState::view(Time now) const {
  std::lock_guard lock(mu_);
  return {health_.state(now), health_.ejected_until(), health_.ejections_total()};
}

}  // namespace keymux::router
