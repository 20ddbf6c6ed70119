// The outlier detector alone, on a fake timeline: what ejects, how long,
// the half-open probe and what brings a key back.
#include <gtest/gtest.h>

#include "agent/router/outlier_detector.h"

namespace keymux::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Time kT0 = Time(seconds(1'700'000'000));
constexpr AttemptKind kNormal = AttemptKind::kNormal;

HealthChange Fail(OutlierDetector& d, Time now, const OutlierPolicy& p = {},
                  AttemptKind kind = kNormal) {
  return d.record(true, kind, now, p);
}
HealthChange Succeed(OutlierDetector& d, Time now, const OutlierPolicy& p = {},
                     AttemptKind kind = kNormal) {
  return d.record(false, kind, now, p);
}

TEST(OutlierDetectorTest, OneFailureAmongSuccessesNeverEjects) {
  OutlierDetector d;
  Time now = kT0;
  for (int i = 0; i < 10000; ++i) {
    now += milliseconds(1);
    // 10% failures (and 4 in a row now and then): never an outlier.
    const bool failure = i % 10 == 0 || (i % 1000 >= 500 && i % 1000 < 504);
    EXPECT_FALSE(d.record(failure, kNormal, now, {})) << i;
  }
  EXPECT_EQ(d.state(now), HealthState::kServing);
  EXPECT_TRUE(d.available(now));
  EXPECT_EQ(d.ejections_total(), 0u);
}

TEST(OutlierDetectorTest, ConsecutiveFailuresEject) {
  OutlierDetector d;
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(Fail(d, kT0));
  EXPECT_EQ(d.consecutive_failures(), 4u);
  Succeed(d, kT0);  // a success ends the streak
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(Fail(d, kT0));
  const HealthChange c = Fail(d, kT0 + milliseconds(5));
  EXPECT_EQ(c.kind, HealthChange::Kind::kEjected);
  EXPECT_EQ(c.consecutive_failures, 5u);
  EXPECT_EQ(c.ejections_in_row, 1u);
  EXPECT_EQ(c.until, kT0 + milliseconds(5) + seconds(1));
  EXPECT_EQ(d.state(kT0 + milliseconds(5)), HealthState::kEjected);
  EXPECT_FALSE(d.available(kT0 + milliseconds(5)));
  EXPECT_EQ(d.unavailable_until(), c.until);
  EXPECT_EQ(d.last_failure(), kT0 + milliseconds(5));
}

TEST(OutlierDetectorTest, FailureRatioNeedsItsMinimumVolume) {
  const OutlierPolicy p{.consecutive_failures = 0};
  OutlierDetector d;
  // 19 failures of 19: under the minimum of 20 attempts.
  for (int i = 0; i < 19; ++i) EXPECT_FALSE(Fail(d, kT0, p));
  const HealthChange c = Fail(d, kT0, p);
  EXPECT_EQ(c.kind, HealthChange::Kind::kEjected);
  EXPECT_EQ(c.window_failures, 20u);
  EXPECT_EQ(c.window_attempts, 20u);
}

TEST(OutlierDetectorTest, FailureRatioAtTheThreshold) {
  OutlierDetector d;
  Time now = kT0;
  // Alternating: never two in a row, 50% once 20 attempts are in.
  HealthChange c;
  int attempts = 0;
  while (!c) {
    now += milliseconds(10);
    c = d.record(attempts % 2 == 1, kNormal, now, {});
    ++attempts;
  }
  EXPECT_EQ(attempts, 20);
  EXPECT_EQ(c.window_failures, 10u);
  EXPECT_EQ(c.window_attempts, 20u);
  // Under the threshold stays in: 51 successes, then 49 failures.
  const OutlierPolicy p{.consecutive_failures = 0};
  OutlierDetector e;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(e.record(i >= 51, kNormal, kT0, p)) << i;
  EXPECT_EQ(e.state(kT0), HealthState::kServing);
}

TEST(OutlierDetectorTest, TheWindowSlides) {
  const OutlierPolicy p{.consecutive_failures = 0};
  OutlierDetector d;
  for (int i = 0; i < 15; ++i) Fail(d, kT0, p);
  // Eleven seconds later those 15 failures are out of the 10 s window: 10
  // successes then 9 failures is 9 of 19.
  const Time later = kT0 + seconds(11);
  for (int i = 0; i < 10; ++i) Succeed(d, later, p);
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(Fail(d, later, p)) << i;
  EXPECT_EQ(d.state(later), HealthState::kServing);
  // One more makes it 10 of 20.
  EXPECT_EQ(Fail(d, later, p).kind, HealthChange::Kind::kEjected);
}

TEST(OutlierDetectorTest, HalfOpenLetsOneProbeThrough) {
  OutlierDetector d;
  for (int i = 0; i < 5; ++i) Fail(d, kT0);
  const Time open = kT0 + seconds(1);
  EXPECT_FALSE(d.available(open - milliseconds(1)));
  EXPECT_EQ(d.kind_of_admission(open - milliseconds(1)), AttemptKind::kPanic);
  ASSERT_TRUE(d.available(open));
  EXPECT_EQ(d.state(open), HealthState::kProbing);
  EXPECT_EQ(d.kind_of_admission(open), AttemptKind::kProbe);
  EXPECT_EQ(d.admit(open).kind, HealthChange::Kind::kProbing);
  // The probe is out: nothing else goes, unless it is lost for an ejection length.
  EXPECT_FALSE(d.available(open));
  EXPECT_FALSE(d.admit(open));
  EXPECT_TRUE(d.available(open + seconds(1)));
  // A late answer of an attempt sent before the ejection says nothing.
  EXPECT_FALSE(Succeed(d, open));
  EXPECT_EQ(d.state(open), HealthState::kProbing);
  EXPECT_EQ(Succeed(d, open, {}, AttemptKind::kProbe).kind, HealthChange::Kind::kRecovered);
  EXPECT_EQ(d.state(open), HealthState::kServing);
  EXPECT_TRUE(d.available(open));
  EXPECT_EQ(d.consecutive_failures(), 0u);
}

TEST(OutlierDetectorTest, AFailedProbeEjectsLongerUpToTheCap) {
  const OutlierPolicy p{.base_ejection = seconds(1), .max_ejection = seconds(10), .multiplier = 3};
  OutlierDetector d;
  for (int i = 0; i < 5; ++i) Fail(d, kT0, p);
  Time now = kT0 + seconds(1);
  for (Duration expected :
       {Duration(seconds(3)), Duration(seconds(9)), Duration(seconds(10)), Duration(seconds(10))}) {
    ASSERT_TRUE(d.admit(now));
    const HealthChange c = Fail(d, now, p, AttemptKind::kProbe);
    ASSERT_EQ(c.kind, HealthChange::Kind::kEjected);
    EXPECT_TRUE(c.probe_failed);
    EXPECT_EQ(c.until, now + expected);
    now = c.until;
  }
  EXPECT_EQ(d.ejections_total(), 5u);
}

TEST(OutlierDetectorTest, RepeatsAreForgottenAfterTheMaximumBackInService) {
  OutlierDetector d;
  for (int i = 0; i < 5; ++i) Fail(d, kT0);
  d.admit(kT0 + seconds(1));
  Succeed(d, kT0 + seconds(1), {}, AttemptKind::kProbe);
  // Again soon after: the second ejection in a row, twice as long.
  HealthChange c;
  for (int i = 0; i < 5; ++i) c = Fail(d, kT0 + seconds(2));
  EXPECT_EQ(c.ejections_in_row, 2u);
  EXPECT_EQ(c.until, kT0 + seconds(4));
  d.admit(kT0 + seconds(4));
  Succeed(d, kT0 + seconds(4), {}, AttemptKind::kProbe);
  // A minute in service later: a first ejection again.
  for (int i = 0; i < 5; ++i) c = Fail(d, kT0 + seconds(65));
  EXPECT_EQ(c.ejections_in_row, 1u);
  EXPECT_EQ(c.until, kT0 + seconds(66));
}

TEST(OutlierDetectorTest, PanicAnswersCount) {
  OutlierDetector d;
  for (int i = 0; i < 5; ++i) Fail(d, kT0);
  // A panic-routed failure while ejected changes nothing but the last failure.
  EXPECT_FALSE(Fail(d, kT0 + milliseconds(500), {}, AttemptKind::kPanic));
  EXPECT_EQ(d.unavailable_until(), kT0 + seconds(1));
  EXPECT_EQ(d.last_failure(), kT0 + milliseconds(500));
  // A panic-routed success proves the key works.
  EXPECT_EQ(Succeed(d, kT0 + milliseconds(600), {}, AttemptKind::kPanic).kind,
            HealthChange::Kind::kRecovered);
  EXPECT_TRUE(d.available(kT0 + milliseconds(600)));
}

TEST(OutlierDetectorTest, NoOverflowAfterManyEjections) {
  OutlierDetector d;
  Time now = kT0;
  for (int i = 0; i < 5; ++i) Fail(d, now);
  for (int i = 0; i < 200; ++i) {
    now = d.ejected_until();
    d.admit(now);
    Fail(d, now, {}, AttemptKind::kProbe);
  }
  EXPECT_EQ(d.ejected_until(), now + seconds(60));
}

TEST(OutlierDetectorTest, Off) {
  const OutlierPolicy p{.consecutive_failures = 0, .failure_percent = 0};
  OutlierDetector d;
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(Fail(d, kT0, p));
  EXPECT_TRUE(d.available(kT0));
}

TEST(OutlierDetectorTest, ResetPutsItBackAndKeepsTheTotal) {
  OutlierDetector d;
  for (int i = 0; i < 5; ++i) Fail(d, kT0);
  d.reset();
  EXPECT_TRUE(d.available(kT0));
  EXPECT_EQ(d.state(kT0), HealthState::kServing);
  EXPECT_EQ(d.ejections_total(), 1u);
  EXPECT_EQ(health_state_name(HealthState::kProbing), "probing");
}

TEST(OutlierDetectorTest, AHoldEjectsUntilItsDeadlineThenProbesAsUsual) {
  OutlierDetector d;
  const Time until = kT0 + seconds(3);
  const HealthChange c = d.hold(kT0, until);
  EXPECT_EQ(c.kind, HealthChange::Kind::kEjected);
  EXPECT_EQ(c.until, until);
  EXPECT_EQ(d.state(kT0), HealthState::kEjected);
  EXPECT_EQ(d.unavailable_until(), until);
  EXPECT_EQ(d.ejections_total(), 1u);
  // Answers of attempts sent meanwhile (panic, or a probe already out) do not end it.
  EXPECT_FALSE(Succeed(d, kT0 + seconds(1), {}, AttemptKind::kPanic));
  EXPECT_FALSE(Succeed(d, kT0 + seconds(1), {}, AttemptKind::kProbe));
  EXPECT_EQ(d.state(kT0 + seconds(1)), HealthState::kEjected);
  // At the deadline, half-open: the probe decides.
  EXPECT_EQ(d.kind_of_admission(until), AttemptKind::kProbe);
  ASSERT_EQ(d.admit(until).kind, HealthChange::Kind::kProbing);
  EXPECT_EQ(Succeed(d, until, {}, AttemptKind::kProbe).kind, HealthChange::Kind::kRecovered);
  EXPECT_EQ(d.state(until), HealthState::kServing);
}

TEST(OutlierDetectorTest, AHoldIsNeverShortenedAndLengthensSilently) {
  OutlierDetector d;
  for (int i = 0; i < 5; ++i) Fail(d, kT0);  // ejected here until kT0 + 1 s
  // A shorter (or equal) deadline from elsewhere changes nothing.
  EXPECT_FALSE(d.hold(kT0, kT0 + milliseconds(500)));
  EXPECT_FALSE(d.hold(kT0, kT0 + seconds(1)));
  EXPECT_EQ(d.unavailable_until(), kT0 + seconds(1));
  // A longer one lengthens it; already ejected, so no second report.
  EXPECT_FALSE(d.hold(kT0, kT0 + seconds(5)));
  EXPECT_EQ(d.unavailable_until(), kT0 + seconds(5));
  EXPECT_EQ(d.ejections_total(), 1u);
  // A past deadline is nothing.
  EXPECT_FALSE(d.hold(kT0 + seconds(6), kT0 + seconds(5)));
  // A failed probe after the hold ejects again (the local streak goes on).
  ASSERT_TRUE(d.admit(kT0 + seconds(5)));
  const HealthChange c = Fail(d, kT0 + seconds(5), {}, AttemptKind::kProbe);
  EXPECT_EQ(c.kind, HealthChange::Kind::kEjected);
  EXPECT_EQ(c.until, kT0 + seconds(7));
}

TEST(OutlierDetectorTest, AHoldDuringHalfOpenEjectsAgainAndResetEndsIt) {
  OutlierDetector d;
  for (int i = 0; i < 5; ++i) Fail(d, kT0);
  ASSERT_TRUE(d.admit(kT0 + seconds(1)));  // the probe is out
  EXPECT_EQ(d.hold(kT0 + seconds(1), kT0 + seconds(4)).kind, HealthChange::Kind::kEjected);
  EXPECT_FALSE(Succeed(d, kT0 + seconds(2), {}, AttemptKind::kProbe));  // held
  EXPECT_EQ(d.state(kT0 + seconds(2)), HealthState::kEjected);
  d.reset();  // an operator's enable ends a hold too
  EXPECT_TRUE(d.available(kT0 + seconds(2)));
  EXPECT_EQ(d.state(kT0 + seconds(2)), HealthState::kServing);
}

}  // namespace
}  // namespace keymux::router
