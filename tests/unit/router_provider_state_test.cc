// A provider's health: a failure ratio over all its keys' attempts (the
// successes counted lock-free), a probe to come back, kept across reloads.
#include <gtest/gtest.h>

#include "agent/router/provider_state.h"
#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Time kT0 = Time(seconds(1'700'000'000));
const OutlierPolicy kProvider{.consecutive_failures = 0};

TEST(ProviderStateTest, EjectsOnItsFailureRatioCountingEverySuccess) {
  ProviderState p("openai");
  Time now = kT0;
  // 30 successes, then failures: 29 of 59 is under half, the 30th is half.
  for (int i = 0; i < 30; ++i) {
    now += milliseconds(10);
    EXPECT_FALSE(p.record(false, AttemptKind::kNormal, now, kProvider));
  }
  for (int i = 0; i < 29; ++i) {
    now += milliseconds(10);
    EXPECT_FALSE(p.record(true, AttemptKind::kNormal, now, kProvider)) << i;
  }
  EXPECT_TRUE(p.healthy(now));
  now += milliseconds(10);
  const HealthChange c = p.record(true, AttemptKind::kNormal, now, kProvider);
  ASSERT_EQ(c.kind, HealthChange::Kind::kEjected);
  EXPECT_EQ(c.window_failures, 30u);
  EXPECT_EQ(c.window_attempts, 60u);
  EXPECT_FALSE(p.healthy(now));
  EXPECT_EQ(p.view(now).health, HealthState::kEjected);
  EXPECT_EQ(p.view(now).ejections_total, 1u);
  // In service again through a probe.
  now += seconds(1);
  EXPECT_TRUE(p.healthy(now));
  const ProviderState::Admission probe = p.admit(now);
  EXPECT_EQ(probe.kind, AttemptKind::kProbe);
  EXPECT_EQ(probe.change.kind, HealthChange::Kind::kProbing);
  EXPECT_FALSE(p.healthy(now));
  EXPECT_EQ(p.admit(now).kind, AttemptKind::kPanic);  // another attempt while the probe runs
  EXPECT_EQ(p.record(false, AttemptKind::kProbe, now, kProvider).kind,
            HealthChange::Kind::kRecovered);
  EXPECT_TRUE(p.healthy(now));
  EXPECT_EQ(p.admit(now).kind, AttemptKind::kNormal);
}

TEST(ProviderStateTest, OldSuccessesLeaveTheWindow) {
  ProviderState p("openai");
  for (int i = 0; i < 1000; ++i) p.record(false, AttemptKind::kNormal, kT0, kProvider);
  // 11 s later: 20 failures alone are 100%.
  HealthChange c;
  for (int i = 0; i < 20; ++i)
    c = p.record(true, AttemptKind::kNormal, kT0 + seconds(11), kProvider);
  EXPECT_EQ(c.kind, HealthChange::Kind::kEjected);
}

TEST(ProviderStateTest, KeptAcrossReloadsByName) {
  test::RouterRig rig(test::OneRoute({{.id = "a"}}));
  ProviderState* before = rig.router.snapshot()->providers()[0].state;
  ASSERT_NE(before, nullptr);
  for (int i = 0; i < 20; ++i)
    before->record(true, AttemptKind::kNormal, rig.clock.now(), kProvider);
  ASSERT_FALSE(before->healthy(rig.clock.now()));
  rig.router.apply(
      Snapshot::build(test::OneRoute({{.id = "a"}, {.id = "b"}}), rig.registry, rig.clients));
  const ProviderState* after = rig.router.snapshot()->providers()[0].state;
  EXPECT_EQ(after, before);
  EXPECT_FALSE(after->healthy(rig.clock.now()));
  EXPECT_EQ(&rig.registry.providers().get("p"), before);
}

}  // namespace
}  // namespace keymux::router
