// Health apart from budget: whether a key (or a provider) answers, judged
// from its recent attempts, as Envoy's outlier detection and mcrouter's
// TkoTracker do. A plain value: no lock, no clock of its own (every call takes
// `now`); the owner (KeyState, ProviderState) guards it and mirrors
// unavailable_until() into a lock-free hint for the selection scan.
//
// Serving -> ejected: after `consecutive_failures` provider faults in a row,
// or when at least `minimum_requests` attempts in the last `window` failed
// `failure_percent` or more. One failure among successes never ejects.
// Ejected -> half-open: when the ejection ends; the next admission takes the
// one probe (another may go if it has no answer after one ejection length).
// Half-open -> serving on a probe's success; -> ejected again, longer, on its
// failure. The n-th ejection in a row lasts base * multiplier^(n-1), capped;
// the count is forgotten after `max_ejection` back in service.
//
// Ejection never refuses a request by itself: when every key is ejected the
// router still routes (panic) and tags the attempt, whose answer counts too.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "agent/router/clock.h"

namespace keymux::router {

struct OutlierPolicy {
  std::uint32_t consecutive_failures = 5;  // 0: no ejection by streak
  std::uint32_t failure_percent = 50;      // 0: no ejection by ratio
  std::uint32_t minimum_requests = 20;     // attempts in the window before the ratio counts
  Duration window = std::chrono::seconds(10);
  Duration base_ejection = std::chrono::seconds(1);
  Duration max_ejection = std::chrono::seconds(60);
  std::uint32_t multiplier = 2;
};

// How an attempt was let through, remembered with its ticket: its answer
// means something different in each case.
enum class AttemptKind : std::uint8_t {
  kNormal,  // the target was in service
  kProbe,   // the one half-open probe
  kPanic,   // the target was ejected and went anyway (panic routing)
};

// The detector's change of state, reported once.
struct HealthChange {
  enum class Kind : std::uint8_t { kNone, kEjected, kProbing, kRecovered };
  Kind kind = Kind::kNone;
  Time until{};                            // kEjected: back to half-open then
  std::uint32_t ejections_in_row = 0;      // kEjected: 1 for the first
  bool probe_failed = false;               // kEjected from half-open
  std::uint32_t consecutive_failures = 0;  // kEjected by streak
  std::uint32_t window_failures = 0;       // kEjected by ratio
  std::uint32_t window_attempts = 0;

  explicit operator bool() const { return kind != Kind::kNone; }
};

enum class HealthState : std::uint8_t { kServing, kEjected, kProbing };
std::string_view health_state_name(HealthState state);  // "serving", "ejected", "probing"

class OutlierDetector {
 public:
  // In service, or half-open with the probe free: a request may go.
  bool available(Time now) const { return now >= unavailable_until(); }
  // The moment available() turns true; Time{} when it is now. (A half-open
  // detector with the probe free is available: the admission takes the probe.)
  Time unavailable_until() const;

  // A request was admitted. When that took the half-open probe, returns
  // kProbing (tag the attempt kProbe); else nothing changes.
  HealthChange admit(Time now);
  // How to tag an admission made now, before admit() (kPanic when the
  // detector was not available).
  AttemptKind kind_of_admission(Time now) const;

  // An attempt's answer: `failure` for a provider fault, else a success.
  HealthChange record(bool failure, AttemptKind kind, Time now, const OutlierPolicy& policy);
  // `n` successes of attempts sent while in service, all within the window
  // slice `slice` (see slice_of): an owner may gather them lock-free and
  // hand them over at once.
  void record_successes(std::uint64_t n, std::int64_t slice);
  // Which slice of the window `now` falls in: successes gathered within one
  // slice may be handed over together without changing a ratio.
  static std::int64_t slice_of(Time now, Duration window);

  // An ejection another gateway saw (state:): out of service until `until`
  // (never shortened), whatever the answers of attempts sent meanwhile say;
  // after it, the usual half-open probe decides. Reports kEjected when the
  // detector was not ejected already.
  HealthChange hold(Time now, Time until);

  // Back in service at once (an operator's enable).
  void reset();

  HealthState state(Time now) const;
  Time ejected_until() const { return out_ ? ejected_until_ : Time{}; }
  Time last_failure() const { return last_failure_; }
  std::uint32_t consecutive_failures() const { return consecutive_; }
  std::uint64_t ejections_total() const { return ejections_total_; }

 private:
  // Attempts and failures of one slice (window / kBuckets) of the window.
  struct Bucket {
    std::int64_t slice = -1;
    std::uint32_t attempts = 0;
    std::uint32_t failures = 0;
  };
  static constexpr std::size_t kBuckets = 10;

  void count(std::uint32_t attempts, std::uint32_t failures, std::int64_t slice);
  void sum(Time now, Duration window, std::uint32_t& attempts, std::uint32_t& failures) const;
  HealthChange eject(Time now, const OutlierPolicy& policy);
  HealthChange recover(Time now);

  bool out_ = false;        // ejected or half-open
  Time ejected_until_{};    // when out_: the end of the ejection
  Time held_until_{};       // a remote ejection (hold()): answers change nothing before it
  Time probe_until_{};      // half-open: the probe out counts as lost after this
  Duration last_length_{};  // of the current (or last) ejection
  std::uint32_t ejections_in_row_ = 0;
  Time back_since_{};  // the last recovery
  std::uint32_t consecutive_ = 0;
  Time last_failure_{};
  std::uint64_t ejections_total_ = 0;
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace keymux::router
