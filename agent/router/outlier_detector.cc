#include "agent/router/outlier_detector.h"

#include <algorithm>

namespace keymux::router {
namespace {

// base * multiplier^(n-1), capped, without overflowing.
Duration ejection_length(std::uint32_t n, const OutlierPolicy& policy) {
  Duration d = policy.base_ejection;
  for (std::uint32_t i = 1; i < n && d < policy.max_ejection; ++i) d *= policy.multiplier;
  return std::min(d, policy.max_ejection);
}

}  // namespace

std::string_view health_state_name(HealthState state) {
  switch (state) {
    case HealthState::kServing:
      return "serving";
    case HealthState::kEjected:
      return "ejected";
    case HealthState::kProbing:
      return "probing";
  }
  return "serving";
}

std::int64_t OutlierDetector::slice_of(Time now, Duration window) {
  const std::int64_t width = std::max<std::int64_t>(1, window.count() / std::int64_t(kBuckets));
  return now.time_since_epoch().count() / width;
}

Time OutlierDetector::unavailable_until() const {
  if (!out_) return Time{};
  return std::max(ejected_until_, probe_until_);
}

AttemptKind OutlierDetector::kind_of_admission(Time now) const {
  if (!out_) return AttemptKind::kNormal;
  return available(now) ? AttemptKind::kProbe : AttemptKind::kPanic;
}

HealthChange OutlierDetector::admit(Time now) {
  HealthChange change;
  if (!out_ || !available(now)) return change;
  // Half-open with the probe free: this admission is the probe. One more may
  // follow if this one has no answer within an ejection length.
  probe_until_ = now + std::max(last_length_, Duration(1));
  change.kind = HealthChange::Kind::kProbing;
  return change;
}

void OutlierDetector::count(std::uint32_t attempts, std::uint32_t failures, std::int64_t slice) {
  if (slice < 0) return;
  Bucket& b = buckets_[static_cast<std::size_t>(slice) % kBuckets];
  if (b.slice != slice) b = {slice, 0, 0};
  b.attempts += attempts;
  b.failures += failures;
}

void OutlierDetector::record_successes(std::uint64_t n, std::int64_t slice) {
  if (n == 0 || out_) return;
  count(static_cast<std::uint32_t>(std::min<std::uint64_t>(n, UINT32_MAX / 2)), 0, slice);
  consecutive_ = 0;
}

void OutlierDetector::sum(Time now, Duration window, std::uint32_t& attempts,
                          std::uint32_t& failures) const {
  const std::int64_t slice = slice_of(now, window);
  attempts = 0;
  failures = 0;
  for (const Bucket& b : buckets_) {
    if (b.slice > slice - std::int64_t(kBuckets) && b.slice <= slice) {
      attempts += b.attempts;
      failures += b.failures;
    }
  }
}

HealthChange OutlierDetector::record(bool failure, AttemptKind kind, Time now,
                                     const OutlierPolicy& policy) {
  if (failure) last_failure_ = std::max(last_failure_, now);
  if (out_) {
    if (now < held_until_) return {};  // another gateway's ejection runs to its end
    // Only answers of requests sent while out of service say anything about
    // it: the probe, or a panic-routed attempt. Late answers of attempts sent
    // before the ejection are ignored (they would undo it).
    if (kind == AttemptKind::kNormal) return {};
    if (!failure) return recover(now);
    // A failure while the ejection runs changes nothing; in half-open it
    // sends the key back out, for longer.
    if (now < ejected_until_) return {};
    HealthChange change = eject(now, policy);
    change.probe_failed = true;
    return change;
  }
  count(1, failure ? 1 : 0, slice_of(now, policy.window));
  if (!failure) {
    consecutive_ = 0;
    return {};
  }
  ++consecutive_;
  if (policy.consecutive_failures != 0 && consecutive_ >= policy.consecutive_failures) {
    const std::uint32_t streak = consecutive_;
    HealthChange change = eject(now, policy);
    change.consecutive_failures = streak;
    return change;
  }
  if (policy.failure_percent != 0) {
    std::uint32_t attempts = 0;
    std::uint32_t failures = 0;
    sum(now, policy.window, attempts, failures);
    if (attempts >= policy.minimum_requests &&
        std::uint64_t{failures} * 100 >= std::uint64_t{policy.failure_percent} * attempts) {
      HealthChange change = eject(now, policy);
      change.window_failures = failures;
      change.window_attempts = attempts;
      return change;
    }
  }
  return {};
}

HealthChange OutlierDetector::eject(Time now, const OutlierPolicy& policy) {
  // Back in service long enough: this is a new episode, not a repeat.
  if (!out_ && ejections_in_row_ > 0 && now - back_since_ >= policy.max_ejection) {
    ejections_in_row_ = 0;
  }
  ++ejections_in_row_;
  ++ejections_total_;
  last_length_ = ejection_length(ejections_in_row_, policy);
  out_ = true;
  ejected_until_ = now + last_length_;
  probe_until_ = Time{};
  consecutive_ = 0;
  buckets_ = {};
  HealthChange change;
  change.kind = HealthChange::Kind::kEjected;
  change.until = ejected_until_;
  change.ejections_in_row = ejections_in_row_;
  return change;
}

HealthChange OutlierDetector::hold(Time now, Time until) {
  if (until <= now || (out_ && ejected_until_ >= until)) return {};
  const bool was_ejected = state(now) == HealthState::kEjected;
  if (!was_ejected) ++ejections_total_;
  out_ = true;
  ejected_until_ = until;
  held_until_ = until;
  probe_until_ = Time{};
  // A probe's own timeout after the hold: as long as the hold was (the
  // local streak of ejections is not advanced: it is not this gateway's).
  last_length_ = std::max(last_length_, until - now);
  consecutive_ = 0;
  buckets_ = {};
  if (was_ejected) return {};
  HealthChange change;
  change.kind = HealthChange::Kind::kEjected;
  change.until = until;
  return change;
}

HealthChange OutlierDetector::recover(Time now) {
  out_ = false;
  back_since_ = now;
  ejected_until_ = Time{};
  probe_until_ = Time{};
  consecutive_ = 0;
  buckets_ = {};
  HealthChange change;
  change.kind = HealthChange::Kind::kRecovered;
  return change;
}

void OutlierDetector::reset() {
  const std::uint64_t total = ejections_total_;
  const Time last_failure = last_failure_;
  *this = OutlierDetector();
  ejections_total_ = total;
  last_failure_ = last_failure;
}

HealthState OutlierDetector::state(Time now) const {
  if (!out_) return HealthState::kServing;
  return now < ejected_until_ ? HealthState::kEjected : HealthState::kProbing;
}

}  // namespace keymux::router
