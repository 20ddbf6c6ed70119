// One key's admission, cooldowns and what the provider reports.
#include <gtest/gtest.h>

#include "agent/router/key_state.h"

namespace keymux::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Time kT0 = Time(seconds(1'700'000'000));
const CooldownPolicy kPolicy{seconds(10)};
const OutlierPolicy kOutliers{};

Time CooldownUntil(KeyState& key, Time now) { return key.view(now).cooldown_until; }

TEST(KeyStateTest, AdmitsAndCountsServed) {
  KeyState key("k1");
  EXPECT_TRUE(key.may_admit(kT0));
  EXPECT_TRUE(key.try_admit(kT0, 10).admitted);
  EXPECT_EQ(key.served(), 1u);
  const KeyView v = key.view(kT0);
  EXPECT_EQ(v.in_flight, 1u);
  EXPECT_EQ(v.condition, KeyCondition::kOk);
  key.release();
  EXPECT_EQ(key.view(kT0).in_flight, 0u);
}

TEST(KeyStateTest, RefusesAtRpmUntilTheOldestLeaves) {
  KeyState key("k1");
  key.configure({.rpm = 2});
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
  EXPECT_TRUE(key.try_admit(kT0 + seconds(5), 1).admitted);
  EXPECT_FALSE(key.may_admit(kT0 + seconds(6)));
  const auto refused = key.try_admit(kT0 + seconds(6), 1);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.next_chance, kT0 + seconds(60));
  EXPECT_TRUE(key.may_admit(kT0 + seconds(60)));
  EXPECT_TRUE(key.try_admit(kT0 + seconds(60), 1).admitted);
}

TEST(KeyStateTest, RefusesAtTpm) {
  KeyState key("k1");
  key.configure({.tpm = 100});
  EXPECT_TRUE(key.try_admit(kT0, 80).admitted);
  const auto refused = key.try_admit(kT0 + seconds(1), 30);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.next_chance, kT0 + seconds(60));
  EXPECT_TRUE(key.try_admit(kT0 + seconds(1), 20).admitted);
  EXPECT_FALSE(key.may_admit(kT0 + seconds(2)));  // window full
}

TEST(KeyStateTest, InFlightLimitFreesOnRelease) {
  KeyState key("k1");
  key.configure({.max_in_flight = 1});
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
  EXPECT_FALSE(key.may_admit(kT0));
  const auto refused = key.try_admit(kT0, 1);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.next_chance, kT0 + seconds(1));
  key.release();
  EXPECT_TRUE(key.may_admit(kT0));
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
}

TEST(KeyStateTest, RetryAtWinsOverResetsButAnExhaustedCountStillHolds) {
  KeyState key("k1");
  UpstreamReport r;
  r.retry_at = kT0 + milliseconds(1500);
  r.remaining_requests = 0;
  r.requests_reset = kT0 + seconds(30);
  key.on_rate_limited(kT0, r, kPolicy);
  EXPECT_EQ(CooldownUntil(key, kT0), kT0 + milliseconds(1500));
  EXPECT_EQ(key.view(kT0).cooldown_cause, CooldownCause::kRateLimited);
  // The provider also said "no requests left until +30 s".
  EXPECT_FALSE(key.may_admit(kT0 + seconds(2)));
  EXPECT_EQ(key.view(kT0 + seconds(2)).cooldown_cause, CooldownCause::kExhausted);
  EXPECT_TRUE(key.try_admit(kT0 + seconds(30), 1).admitted);
}

TEST(KeyStateTest, RateLimitedRetryAtExact) {
  KeyState key("k1");
  UpstreamReport r;
  r.retry_at = kT0 + milliseconds(1500);
  key.on_rate_limited(kT0, r, kPolicy);
  EXPECT_EQ(CooldownUntil(key, kT0), kT0 + milliseconds(1500));
  EXPECT_FALSE(key.may_admit(kT0 + milliseconds(1499)));
  EXPECT_FALSE(key.try_admit(kT0 + milliseconds(1499), 1).admitted);
  EXPECT_EQ(key.try_admit(kT0 + milliseconds(1499), 1).next_chance, kT0 + milliseconds(1500));
  EXPECT_TRUE(key.may_admit(kT0 + milliseconds(1500)));
  EXPECT_TRUE(key.try_admit(kT0 + milliseconds(1500), 1).admitted);
}

TEST(KeyStateTest, RateLimitedUsesTheResetOfTheExhaustedDimension) {
  KeyState key("k1");
  UpstreamReport r;
  r.remaining_requests = 5;
  r.requests_reset = kT0 + seconds(40);
  r.remaining_tokens = 0;
  r.tokens_reset = kT0 + seconds(7);
  key.on_rate_limited(kT0, r, kPolicy);
  EXPECT_EQ(CooldownUntil(key, kT0), kT0 + seconds(7));
}

TEST(KeyStateTest, RateLimitedUsesAnyResetWhenNoneIsZero) {
  KeyState key("k1");
  UpstreamReport r;
  r.remaining_requests = 5;
  r.requests_reset = kT0 + seconds(3);
  r.remaining_tokens = 10;
  r.tokens_reset = kT0 + seconds(4);
  key.on_rate_limited(kT0, r, kPolicy);
  EXPECT_EQ(CooldownUntil(key, kT0), kT0 + seconds(4));
}

TEST(KeyStateTest, RateLimitedWithoutHintsUsesThePolicy) {
  KeyState key("k1");
  key.on_rate_limited(kT0, {}, kPolicy);
  EXPECT_EQ(CooldownUntil(key, kT0), kT0 + seconds(10));
}

TEST(KeyStateTest, CooldownIsNeverShortened) {
  KeyState key("k1");
  UpstreamReport longer;
  longer.retry_at = kT0 + seconds(30);
  key.on_rate_limited(kT0, longer, kPolicy);
  UpstreamReport shorter;
  shorter.retry_at = kT0 + seconds(2);
  key.on_rate_limited(kT0 + seconds(1), shorter, kPolicy);
  EXPECT_EQ(CooldownUntil(key, kT0 + seconds(1)), kT0 + seconds(30));
  key.on_provider_fault(kT0 + seconds(1), AttemptKind::kNormal, kOutliers);
  EXPECT_EQ(CooldownUntil(key, kT0 + seconds(1)), kT0 + seconds(30));
  // A success does not end a 429 cooldown.
  key.on_success(kT0 + seconds(2), {}, AttemptKind::kNormal, kOutliers);
  EXPECT_EQ(CooldownUntil(key, kT0 + seconds(2)), kT0 + seconds(30));
  EXPECT_FALSE(key.may_admit(kT0 + seconds(29)));
}

TEST(KeyStateTest, ProviderFaultsNeverCoolAKey) {
  KeyState key("k1");
  for (int i = 0; i < 4; ++i) key.on_provider_fault(kT0, AttemptKind::kNormal, kOutliers);
  const KeyView v = key.view(kT0);
  EXPECT_EQ(v.condition, KeyCondition::kOk);
  EXPECT_EQ(v.consecutive_failures, 4u);
  EXPECT_EQ(v.cooldown_until, Time{});
  EXPECT_TRUE(key.healthy(kT0));
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
  // A success ends the streak.
  key.on_success(kT0, {}, AttemptKind::kNormal, kOutliers);
  EXPECT_EQ(key.view(kT0).consecutive_failures, 0u);
}

TEST(KeyStateTest, EjectionIsApartFromBudget) {
  KeyState key("k1");
  KeyChange change;
  for (int i = 0; i < 5; ++i) change = key.on_provider_fault(kT0, AttemptKind::kNormal, kOutliers);
  EXPECT_EQ(change.kind, KeyChange::Kind::kEjected);
  EXPECT_EQ(change.until, kT0 + seconds(1));
  EXPECT_EQ(change.health.consecutive_failures, 5u);
  // Budget says yes, health says no: refused unless in panic.
  EXPECT_TRUE(key.may_admit(kT0));
  EXPECT_FALSE(key.healthy(kT0));
  const KeyState::Admission refused = key.try_admit(kT0, 1);
  EXPECT_FALSE(refused.admitted);
  EXPECT_TRUE(refused.unhealthy);
  const KeyState::Admission panic = key.try_admit(kT0, 1, /*panic=*/true);
  EXPECT_TRUE(panic.admitted);
  EXPECT_EQ(panic.kind, AttemptKind::kPanic);
  KeyView v = key.view(kT0);
  EXPECT_EQ(v.condition, KeyCondition::kEjected);
  EXPECT_EQ(v.health, HealthState::kEjected);
  EXPECT_EQ(v.ejected_until, kT0 + seconds(1));
  EXPECT_EQ(v.ejections_total, 1u);
  EXPECT_EQ(key.last_failure_us(), kT0.time_since_epoch().count());
  // Half-open: the first admission is the probe, the next is refused.
  const KeyState::Admission probe = key.try_admit(kT0 + seconds(1), 1);
  EXPECT_TRUE(probe.admitted);
  EXPECT_EQ(probe.kind, AttemptKind::kProbe);
  EXPECT_FALSE(key.healthy(kT0 + seconds(1)));
  EXPECT_TRUE(key.try_admit(kT0 + seconds(1), 1).unhealthy);
  EXPECT_EQ(key.on_success(kT0 + seconds(1), {}, AttemptKind::kProbe, kOutliers).kind,
            KeyChange::Kind::kRecovered);
  EXPECT_TRUE(key.healthy(kT0 + seconds(1)));
  EXPECT_EQ(key.view(kT0 + seconds(1)).condition, KeyCondition::kOk);
}

TEST(KeyStateTest, EnableEndsAnEjection) {
  KeyState key("k1");
  for (int i = 0; i < 5; ++i) key.on_provider_fault(kT0, AttemptKind::kNormal, kOutliers);
  EXPECT_EQ(key.enable(kT0).kind, KeyChange::Kind::kRecovered);
  EXPECT_TRUE(key.healthy(kT0));
  EXPECT_EQ(key.view(kT0).condition, KeyCondition::kOk);
  EXPECT_EQ(key.view(kT0).ejections_total, 1u);
}

TEST(KeyStateTest, QuarantineUntilEnabled) {
  KeyState key("k1");
  key.quarantine("upstream 401");
  EXPECT_FALSE(key.may_admit(kT0));
  const auto refused = key.try_admit(kT0 + seconds(3600), 1);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.next_chance, Time::max());
  const KeyView v = key.view(kT0);
  EXPECT_EQ(v.condition, KeyCondition::kQuarantined);
  EXPECT_EQ(v.quarantine_reason, "upstream 401");
  key.enable(kT0);
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
  EXPECT_EQ(key.view(kT0).condition, KeyCondition::kOk);
}

TEST(KeyStateTest, ReportedRemainingBlocksUntilItsReset) {
  KeyState key("k1");
  UpstreamReport r;
  r.remaining_requests = 2;
  r.requests_reset = kT0 + seconds(20);
  key.on_success(kT0, r, AttemptKind::kNormal, kOutliers);
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
  const auto refused = key.try_admit(kT0 + seconds(1), 1);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.next_chance, kT0 + seconds(20));
  EXPECT_FALSE(key.may_admit(kT0 + seconds(1)));
  const KeyView v = key.view(kT0 + seconds(1));
  EXPECT_EQ(v.condition, KeyCondition::kCooling);
  EXPECT_EQ(v.cooldown_cause, CooldownCause::kExhausted);
  EXPECT_EQ(v.reported_remaining_requests, 0u);
  EXPECT_TRUE(key.try_admit(kT0 + seconds(20), 1).admitted);
}

TEST(KeyStateTest, ReportedTokensExhaustedBlocks) {
  KeyState key("k1");
  UpstreamReport r;
  r.remaining_tokens = 0;
  r.tokens_reset = kT0 + milliseconds(500);
  key.on_success(kT0, r, AttemptKind::kNormal, kOutliers);
  EXPECT_FALSE(key.try_admit(kT0, 1).admitted);
  EXPECT_TRUE(key.try_admit(kT0 + milliseconds(500), 1).admitted);
}

TEST(KeyStateTest, NewReportReplacesTheOld) {
  KeyState key("k1");
  UpstreamReport r;
  r.remaining_requests = 0;
  r.requests_reset = kT0 + seconds(20);
  key.on_success(kT0, r, AttemptKind::kNormal, kOutliers);
  EXPECT_FALSE(key.try_admit(kT0, 1).admitted);
  r.remaining_requests = 10;
  key.on_success(kT0 + seconds(1), r, AttemptKind::kNormal, kOutliers);
  EXPECT_TRUE(key.try_admit(kT0 + seconds(1), 1).admitted);
}

TEST(KeyStateTest, RemainingWithoutResetDoesNotBlock) {
  KeyState key("k1");
  UpstreamReport r;
  r.remaining_requests = 0;
  key.on_success(kT0, r, AttemptKind::kNormal, kOutliers);
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
}

TEST(KeyStateTest, NextChanceIsTheLatestBlocker) {
  KeyState key("k1");
  key.configure({.rpm = 1});
  EXPECT_TRUE(key.try_admit(kT0, 1).admitted);
  EXPECT_EQ(key.next_chance(kT0 + seconds(1), 1), kT0 + seconds(60));
  UpstreamReport r;
  r.retry_at = kT0 + seconds(90);
  key.on_rate_limited(kT0 + seconds(1), r, kPolicy);
  EXPECT_EQ(key.next_chance(kT0 + seconds(1), 1), kT0 + seconds(90));
  EXPECT_EQ(key.next_chance(kT0 + seconds(90), 1), kT0 + seconds(90));
}

TEST(KeyStateTest, ReconfigureKeepsHistory) {
  KeyState key("k1");
  key.configure({.rpm = 10});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(key.try_admit(kT0, 1).admitted);
  key.configure({.rpm = 5});
  EXPECT_FALSE(key.try_admit(kT0 + seconds(1), 1).admitted);
  EXPECT_EQ(key.served(), 5u);
}

TEST(KeyStateTest, CauseNames) {
  EXPECT_EQ(cooldown_cause_name(CooldownCause::kRateLimited), "rate_limited");
  EXPECT_EQ(cooldown_cause_name(CooldownCause::kExhausted), "exhausted");
}

}  // namespace
}  // namespace keymux::router
