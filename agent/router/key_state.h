// The live state of one upstream key: its budget (windows, in-flight count,
// what the provider last reported, the cooldown after a 429), its standing
// (quarantine after a 401/403 or an operator) and its health (an outlier
// detector fed by provider faults, see outlier_detector.h). Lives in the
// KeyRegistry and survives config reloads (by key id). Exact state is guarded
// by a mutex; a few atomics mirror it so the selection scan can skip hopeless
// keys without locking.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "agent/router/clock.h"
#include "agent/router/outlier_detector.h"
#include "agent/router/rate_window.h"
#include "agent/router/shared_budget.h"
#include "agent/router/upstream_report.h"

namespace keymux::router {

using KeyLimits = WindowLimits;

// As exported to metrics: 0 ok, 1 cooling, 2 quarantined, 3 ejected (out of
// rotation as an outlier, or half-open; still served in panic).
enum class KeyCondition : std::uint8_t { kOk = 0, kCooling = 1, kQuarantined = 2, kEjected = 3 };

// Why a key waits for budget. Provider faults (5xx, no response) never cool a
// key: they feed its outlier detector.
enum class CooldownCause : std::uint8_t {
  kNone,
  kRateLimited,  // upstream 429
  kExhausted,    // upstream reported 0 remaining until its reset
};
inline constexpr std::size_t kCooldownCauseCount = 3;
std::string_view cooldown_cause_name(CooldownCause cause);

// Settled attempts by what the provider answered: index 0 no response at all,
// 1..5 the status classes 1xx..5xx.
inline constexpr std::size_t kResponseClassCount = 6;
std::size_t response_class(int status);
std::string_view response_class_name(std::size_t index);  // "no_response", "1xx".."5xx"

// What a response or an operator did to a key's condition, reported only when
// the condition changed (so each is worth one log line).
struct KeyChange {
  // kEjected: out of rotation as an outlier (again, if health.probe_failed);
  // kProbing: the half-open probe went out; kRecovered: back in service
  // (after an ejection, a cooldown or an operator's enable).
  enum class Kind : std::uint8_t { kNone, kCooling, kQuarantined, kRecovered, kEjected, kProbing };
  Kind kind = Kind::kNone;
  CooldownCause cause = CooldownCause::kNone;  // kCooling
  Time until{};                                // kCooling, kEjected
  HealthChange health;                         // kEjected: why and how long
  std::string reason;                          // kQuarantined

  explicit operator bool() const { return kind != Kind::kNone; }
};

struct CooldownPolicy {
  Duration rate_limit = std::chrono::seconds(10);
};

// A consistent copy for the admin API and metrics (never the secret).
struct KeyView {
  KeyCondition condition = KeyCondition::kOk;
  std::uint32_t in_flight = 0;
  std::uint32_t requests_in_window = 0;
  std::uint64_t tokens_in_window = 0;
  std::optional<std::uint64_t> reported_remaining_requests;
  std::optional<std::uint64_t> reported_remaining_tokens;
  Time cooldown_until{};
  CooldownCause cooldown_cause = CooldownCause::kNone;
  HealthState health = HealthState::kServing;
  Time ejected_until{};  // while ejected
  std::uint32_t consecutive_failures = 0;
  std::string quarantine_reason;  // empty unless quarantined
  std::uint64_t admitted_total = 0;
  // Totals for metrics, since the agent started.
  std::array<std::uint64_t, kResponseClassCount> responses_by_class{};
  std::array<std::uint64_t, kCooldownCauseCount> cooldowns_by_cause{};
  std::uint64_t quarantines_total = 0;
  std::uint64_t ejections_total = 0;
  std::uint64_t tokens_reserved_total = 0;
};

class KeyState {
 public:
  explicit KeyState(std::string id);
  const std::string& id() const { return id_; }

  // Applies (new) limits; the admission history is kept.
  void configure(const KeyLimits& limits);
  // The budget shared with other gateways (state:), consulted by try_admit
  // after the local windows; nullptr (the default): none. Owned elsewhere,
  // alive as long as this key.
  void set_shared_budget(SharedBudget* shared) { shared_.store(shared, std::memory_order_release); }

  // Lock-free pre-check for the selection scan: false means "certainly not
  // now" (quarantined, cooling, window known full, in-flight at its limit).
  bool may_admit(Time now) const {  // inline: called for every key of a tier
    if (quarantined_.load(std::memory_order_relaxed)) return false;
    if (now.time_since_epoch().count() < blocked_until_us_.load(std::memory_order_relaxed)) {
      return false;
    }
    const std::uint32_t max = max_in_flight_hint_.load(std::memory_order_relaxed);
    return max == 0 || in_flight_hint_.load(std::memory_order_relaxed) < max;
  }
  // Lock-free: in service, or half-open with the probe free (ejection is
  // apart from budget: may_admit() says nothing of it).
  bool healthy(Time now) const {
    return now.time_since_epoch().count() >= unavailable_until_us_.load(std::memory_order_relaxed);
  }
  // The last provider fault, for panic routing (least recently failed first).
  std::int64_t last_failure_us() const { return last_failure_us_.load(std::memory_order_relaxed); }
  // Admissions so far, for weighted fair sharing (served / weight); lifted
  // when the key falls far behind its tier (see Router), so not a total.
  std::uint64_t served() const { return served_.load(std::memory_order_relaxed); }
  // Raises served() to at least `floor`: a key back from a long cooldown
  // rejoins the rotation instead of taking every request until it catches up.
  void lift_served(std::uint64_t floor);

  // Exact check and reservation of one request of `tokens` (under the lock).
  // On refusal, returns the soonest moment this key could take it.
  // Unless `panic`, a key out of service as an outlier is refused (`unhealthy`);
  // with it, health is ignored (every key of the route is ejected).
  struct Admission {
    bool admitted = false;
    bool unhealthy = false;                   // refused for health alone
    AttemptKind kind = AttemptKind::kNormal;  // admitted: tag the attempt with it
    Time next_chance{};  // on refusal; Time::max() when only an operator can help
    // On refusal: refused only for want of a shared slice, and one is on its
    // way (SharedBudget::refill_expected): the request may wait for it.
    bool refill_expected = false;
    SharedSpend shared;  // admitted with a shared budget: what it took (settle_tokens)
  };
  Admission try_admit(Time now, std::uint64_t tokens, bool panic = false);
  // The soonest moment this key could take a request of `tokens` (now when it
  // could at once; Time::max() when quarantined), reserving nothing: the
  // retry-after of a refusal.
  Time next_chance(Time now, std::uint64_t tokens);

  // Frees the in-flight slot of an admitted request (settle, timeout or retry).
  void release();

  // The request admitted at `at` for `estimated` tokens (try_admit) really
  // cost `actual`: the surplus goes back to the token window, an excess is
  // charged to it, both at `at`; the shared budget settles `shared` likewise.
  void settle_tokens(Time now, Time at, std::uint64_t estimated, std::uint64_t actual,
                     const SharedSpend& shared);

  // Counts a settled attempt by its status (0: no response), for metrics.
  void record_response(int status);

  // What the response said. Each releases nothing: call release() as well.
  // Each returns the change of condition it caused, if any.
  // 2xx: the key works (health, see outlier_detector.h); the provider's
  // remaining counts are kept.
  KeyChange on_success(Time now, const UpstreamReport& report, AttemptKind kind,
                       const OutlierPolicy& policy);
  // 429: cool until retry-after-ms, retry-after, the reported reset, else the
  // policy default; never shortens a longer cooldown already running.
  KeyChange on_rate_limited(Time now, const UpstreamReport& report, const CooldownPolicy& policy);
  // 401/403 or an operator: out of service until an operator re-enables the key.
  KeyChange quarantine(std::string reason);
  // 5xx or no response: counts against the key's health; it leaves rotation
  // only as an outlier.
  KeyChange on_provider_fault(Time now, AttemptKind kind, const OutlierPolicy& policy);
  // Operator action (admin API): back in service, cooldown and ejection forgotten.
  KeyChange enable(Time now);
  // A cooldown another gateway saw (state:): cools until `until` unless a
  // longer one runs; counted as a cooldown of `cause` like a local one.
  KeyChange apply_cooldown(Time now, Time until, CooldownCause cause);
  // An ejection another gateway saw (state:): out of rotation until `until`
  // (never shortened), then half-open as usual (OutlierDetector::hold).
  KeyChange apply_ejection(Time now, Time until);

  KeyView view(Time now);

 private:
  void refresh_hints_locked(Time now);
  // Now when a request of `tokens` may be admitted, else the soonest moment.
  Time blocked_until_locked(Time now, std::uint64_t tokens);
  // The provider's remaining count, less our admissions since; nullopt when
  // unknown or past its reset.
  std::optional<std::uint64_t> reported_requests_left_locked(Time now) const;
  std::optional<std::uint64_t> reported_tokens_left_locked(Time now) const;
  // When the provider's own count, at 0, allows requests again: the latest
  // reset among the dimensions reported exhausted; Time{} when none is.
  Time exhausted_until_locked(Time now) const;
  void store_report_locked(Time now, const UpstreamReport& report);
  // Counts a cooldown that starts now and describes it; kNone when the key
  // was cooling already for the same cause.
  KeyChange start_cooldown_locked(Time now, Time until, CooldownCause cause);
  // The health detector's change as a key change; refreshes the health hints.
  KeyChange health_change_locked(const HealthChange& health);

  // Hints for may_admit() and served(), written under mu_. First and on one
  // cache line: the selection scan reads only these for most keys.
  alignas(64) std::atomic<std::int64_t> blocked_until_us_{0};
  std::atomic<std::int64_t> unavailable_until_us_{0};  // health_.unavailable_until()
  std::atomic<bool> quarantined_{false};
  std::atomic<std::uint32_t> in_flight_hint_{0};
  std::atomic<std::uint32_t> max_in_flight_hint_{0};
  std::atomic<std::uint64_t> served_{0};
  std::atomic<std::int64_t> last_failure_us_{0};
  std::atomic<std::uint64_t> admitted_total_{0};
  std::array<std::atomic<std::uint64_t>, kResponseClassCount> responses_by_class_{};
  std::atomic<std::uint64_t> tokens_reserved_total_{0};

  std::atomic<SharedBudget*> shared_{nullptr};
  const std::string id_;
  mutable std::mutex mu_;
  KeyLimits limits_;
  RequestWindow requests_;
  TokenWindow tokens_;
  std::uint32_t in_flight_ = 0;
  Time cooldown_until_{};
  CooldownCause cooldown_cause_ = CooldownCause::kNone;
  OutlierDetector health_;
  std::string quarantine_reason_;
  std::array<std::uint64_t, kCooldownCauseCount> cooldowns_by_cause_{};
  std::uint64_t quarantines_total_ = 0;
  // The provider's own count, valid until its reset; admissions since the
  // report are subtracted from it.
  std::optional<std::uint64_t> reported_requests_;
  Time reported_requests_reset_{};
  std::uint64_t requests_since_report_ = 0;
  std::optional<std::uint64_t> reported_tokens_;
  Time reported_tokens_reset_{};
  std::uint64_t tokens_since_report_ = 0;
};

}  // namespace keymux::router
