// The live health of one provider: an outlier detector over the attempts of
// all its keys (provider faults against successes). Lives in the KeyRegistry
// beside the keys and survives config reloads by provider name. A provider
// out of service gets no new requests while its route has another tier that
// can serve; it comes back through a half-open probe, as a key does.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "agent/router/clock.h"
#include "agent/router/outlier_detector.h"

namespace keymux::router {

struct ProviderView {
  HealthState health = HealthState::kServing;
  Time ejected_until{};
  std::uint64_t ejections_total = 0;
};

class ProviderState {
 public:
  explicit ProviderState(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }

  // Lock-free: in service, or half-open with the probe free.
  bool healthy(Time now) const {
    return now.time_since_epoch().count() >= unavailable_until_us_.load(std::memory_order_relaxed);
  }

  // One of its keys took a request: tags the attempt, and takes the
  // half-open probe when it is free (then `change` is kProbing). Lock-free
  // while the provider is in service.
  struct Admission {
    AttemptKind kind = AttemptKind::kNormal;
    HealthChange change;
  };
  Admission admit(Time now);

  // An attempt's answer: `failure` for a provider fault, else a success. A
  // success while in service is counted lock-free (every settle of every key
  // of the provider comes here) and handed to the detector once per slice
  // of its window, or with the next failure.
  HealthChange record(bool failure, AttemptKind kind, Time now, const OutlierPolicy& policy);

  // An ejection another gateway saw (state:), see OutlierDetector::hold.
  HealthChange hold(Time now, Time until);

  ProviderView view(Time now) const;

 private:
  void refresh_hints_locked();
  // Hands the successes gathered in the slice folded_slice_ to the detector;
  // gathering goes on in `slice`.
  void fold_successes_locked(std::int64_t slice);

  std::atomic<std::int64_t> unavailable_until_us_{0};
  std::atomic<bool> out_{false};                // ejected or half-open: admissions take the lock
  std::atomic<std::uint64_t> successes_{0};     // since the agent started
  std::atomic<std::int64_t> folded_slice_{-1};  // the slice successes_ gathers for
  std::uint64_t folded_successes_ = 0;          // under mu_
  const std::string name_;
  mutable std::mutex mu_;
  OutlierDetector health_;
};

}  // namespace keymux::router
