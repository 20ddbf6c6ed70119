// A key's shared budget on one gateway: slices first, the degraded local
// share only while Redis is unreachable; and the router picking another key
// when a key's slice is empty.
#include <gtest/gtest.h>

#include "agent/state/shared_key_budget.h"
#include "tests/unit/router_test_config.h"

namespace keymux::state {
namespace {

using std::chrono::milliseconds;
const Time kT0{std::chrono::seconds(1'000'000)};

TEST(SharedKeyBudgetTest, HealthySpendsOnlySlices) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 90});
  b.set_healthy(true, 3);
  EXPECT_FALSE(b.take(kT0, 0));
  ASSERT_TRUE(b.want(kT0));
  b.granted(kT0, 1, 2, 0);
  EXPECT_TRUE(b.take(kT0, 0));
  EXPECT_TRUE(b.take(kT0, 0));
  EXPECT_FALSE(b.take(kT0, 0));
  EXPECT_EQ(b.view(kT0).requests_granted, 2u);
  EXPECT_EQ(b.view(kT0).taken_total, 2u);
}

TEST(SharedKeyBudgetTest, DegradedSpendsHeldSlicesThenTheSplit) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 90});
  b.set_healthy(true, 3);
  b.want(kT0);
  b.granted(kT0, 1, 5, 0);
  b.set_healthy(false, 3);
  int taken = 0;
  while (b.take(kT0 + milliseconds(10), 0)) ++taken;
  // The slice, then 90 / 3 in any window, the slice's 5 included (a share on
  // top of what the node spent from slices would overshoot).
  EXPECT_EQ(taken, 30);
  EXPECT_EQ(b.view(kT0).taken_degraded_total, 25u);
}

// Back from a degraded spell, Redis may grant slices before every node
// recorded what it spent alone: for one window the node's slice spends stay
// within its share too (the shares of any window add up to the limit).
// Spending from the local share while healthy (an unanswered ask) does the
// same. A start-up is no recovery.
TEST(SharedKeyBudgetTest, AfterADegradedSpellSlicesStayWithinTheShareForAWindow) {
  const Duration window = std::chrono::seconds(2);
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 90, .span = window});
  b.set_healthy(true, 3);
  b.want(kT0);
  b.granted(kT0, 1, 40, 0);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(b.take(kT0, 0)) << i;  // no cap after a start
  b.set_healthy(false, 3);
  b.set_healthy(true, 3);
  const Time back = kT0 + std::chrono::seconds(3);  // the first window's spends have left
  b.want(back);
  b.granted(back, 2, 40, 0);
  int taken = 0;
  while (b.take(back + milliseconds(10), 0)) ++taken;
  EXPECT_EQ(taken, 30);  // 90 / 3 of any window
  EXPECT_EQ(b.view(back).requests_left, 10u);
  EXPECT_FALSE(b.refill_expected(back + milliseconds(10))) << "capped: a slice would not help";
  // A window later the node spends its slices alone again (the first slice
  // died meanwhile).
  const Time later = back + window + milliseconds(10);
  b.want(later);
  b.granted(later, 4, 40, 0);
  taken = 0;
  while (b.take(later, 0)) ++taken;
  EXPECT_EQ(taken, 40);
  // An unanswered ask: local spends cap the slices for a window after them.
  SharedKeyBudget u("k", {}, DegradedMode::kSplit);
  u.set_limits({.rpm = 90, .span = window});
  u.set_healthy(true, 3);
  u.want(kT0);
  u.ask_failed();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(u.take(kT0 + milliseconds(i), 0)) << i;
  u.want(kT0 + milliseconds(50));
  u.granted(kT0 + milliseconds(50), 3, 9, 0);
  EXPECT_FALSE(u.take(kT0 + milliseconds(60), 0));
  u.want(kT0 + window);
  u.granted(kT0 + window, 4, 9, 0);
  EXPECT_TRUE(u.take(kT0 + window, 0));   // the first local spend left the window
  EXPECT_FALSE(u.take(kT0 + window, 0));  // still capped: one room only
}

// A flushed function library is an answer, not a stuck Redis: the node asks
// again (after the reload) and spends no local share meanwhile.
TEST(SharedKeyBudgetTest, AnAskAnsweredWithAnErrorOpensNoLocalShare) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 90, .span = std::chrono::seconds(2)});
  b.set_healthy(true, 3);
  EXPECT_FALSE(b.take(kT0, 0));  // no slice yet: the demand is marked
  ASSERT_TRUE(b.want(kT0));
  b.ask_answered_with_error();
  EXPECT_FALSE(b.take(kT0, 0));
  EXPECT_TRUE(b.want(kT0 + milliseconds(10))) << "asks again";
  b.ask_failed();  // unanswered: Redis may be stuck
  EXPECT_TRUE(b.take(kT0 + milliseconds(10), 0));
}

// Recovery: what the node spent on its own is handed out once, in batches of
// 100 ms aged by their last spend, to record in Redis before new asks.
TEST(SharedKeyBudgetTest, DegradedSpendsAreHandedOutToRecord) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 90, .tpm = 9000});
  b.set_healthy(false, 3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.take(kT0 + milliseconds(10 * i), 100));
  ASSERT_TRUE(b.take(kT0 + milliseconds(150), 2500));
  const auto spent = b.take_unrecorded(kT0 + milliseconds(200));
  ASSERT_EQ(spent.size(), 2u);
  EXPECT_EQ(spent[0].age, milliseconds(180));
  EXPECT_EQ(spent[0].requests, 3u);
  EXPECT_EQ(spent[0].tokens, 300u);
  EXPECT_EQ(spent[1].age, milliseconds(50));
  EXPECT_EQ(spent[1].requests, 1u);
  EXPECT_EQ(spent[1].tokens, 2500u);
  EXPECT_TRUE(b.take_unrecorded(kT0 + milliseconds(300)).empty());
  // Slice spends are Redis's own grants: nothing to record.
  b.set_healthy(true, 3);
  b.want(kT0 + milliseconds(300));
  b.granted(kT0 + milliseconds(300), 1, 2, 200);
  EXPECT_TRUE(b.take(kT0 + milliseconds(300), 100));
  EXPECT_TRUE(b.take_unrecorded(kT0 + milliseconds(300)).empty());
}

// Start-up: a node that has not heard from Redis does not know how many
// share the limit, so it spends no local share (it waited for its first
// slice; a whole limit each was +13 of 40 with 3 gateways). Told the live
// nodes (first contact, or 1 after the start-up grace), it spends its split.
TEST(SharedKeyBudgetTest, NoLocalShareBeforeRedisFirstAnswers) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 90});
  EXPECT_FALSE(b.take(kT0, 0));
  ASSERT_TRUE(b.want(kT0));
  b.ask_failed();  // even with an ask unanswered
  EXPECT_FALSE(b.take(kT0, 0));
  b.set_healthy(false, 0);  // degraded, still never heard from Redis
  EXPECT_FALSE(b.take(kT0, 0));
  b.set_healthy(false, 3);
  int taken = 0;
  while (b.take(kT0, 0)) ++taken;
  EXPECT_EQ(taken, 30);
  SharedKeyBudget alone("k", {}, DegradedMode::kSplit);
  alone.set_limits({.rpm = 90});
  alone.set_healthy(false, 1);  // the grace passed: alone as far as it can tell
  taken = 0;
  while (alone.take(kT0, 0)) ++taken;
  EXPECT_EQ(taken, 90);
}

// A stuck Redis is noticed per key before the mode changes: an unanswered
// ask opens the local share until the next grant.
TEST(SharedKeyBudgetTest, AnUnansweredAskOpensTheLocalShare) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 90});
  b.set_healthy(true, 3);
  EXPECT_FALSE(b.take(kT0, 0));
  ASSERT_TRUE(b.want(kT0));
  b.ask_failed();
  EXPECT_TRUE(b.take(kT0, 0));
  ASSERT_TRUE(b.want(kT0));
  b.granted(kT0, 1, 0, 0);  // answered (nothing fits): only slices again
  EXPECT_FALSE(b.take(kT0, 0));
}

// Right after a node's first contact the live-node count may list only the
// nodes that beat already: an unanswered ask opens no share from it then
// (a degraded mode still spends its split).
TEST(SharedKeyBudgetTest, AnUnansweredAskWaitsForTheMembership) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 90});
  b.set_healthy(true, 1, false);
  ASSERT_FALSE(b.take(kT0, 0));
  ASSERT_TRUE(b.want(kT0));
  b.ask_failed();
  EXPECT_FALSE(b.take(kT0, 0));
  b.set_healthy(true, 3, true);  // a member TTL later
  EXPECT_TRUE(b.take(kT0, 0));
  b.set_healthy(false, 3, false);
  EXPECT_TRUE(b.take(kT0, 0));
}

TEST(SharedKeyBudgetTest, ClosedRefusesOnceTheSlicesAreSpent) {
  SharedKeyBudget b("k", {}, DegradedMode::kClosed);
  b.set_limits({.rpm = 90});
  b.want(kT0);
  b.granted(kT0, 1, 1, 0);
  EXPECT_TRUE(b.take(kT0, 0));
  EXPECT_FALSE(b.take(kT0, 0));
}

// The router skips a key whose shared slice is empty and uses another.
TEST(SharedKeyBudgetTest, RouterPicksAnotherKeyWhenASliceIsEmpty) {
  router::test::RouterRig rig(router::test::OneRoute({{.id = "a", .rpm = 100}, {.id = "b"}}));
  SharedKeyBudget shared("a", {}, DegradedMode::kSplit);
  shared.set_limits({.rpm = 100});
  shared.set_healthy(true, 2);
  rig.registry.get("a").set_shared_budget(&shared);
  for (int i = 0; i < 4; ++i) {
    const router::Decision d = rig.Decide();
    ASSERT_TRUE(d.routed());
    EXPECT_EQ(d.key->id, "b");
    rig.Settle(d, 200);
  }
  shared.want(rig.clock.now());
  shared.granted(rig.clock.now(), 1, 1, 0);
  int on_a = 0;
  for (int i = 0; i < 4; ++i) {
    const router::Decision d = rig.Decide();
    on_a += d.key->id == "a";
    rig.Settle(d, 200);
  }
  EXPECT_EQ(on_a, 1);
  rig.registry.get("a").set_shared_budget(nullptr);
}

TEST(SharedKeyBudgetTest, RefillIsExpectedOnlyWhileRedisAnswersWithGrants) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  b.set_limits({.rpm = 100});
  EXPECT_FALSE(b.take(kT0, 0));
  EXPECT_FALSE(b.refill_expected(kT0));  // Redis never answered: nobody knows when it will
  b.set_healthy(true, 2);
  EXPECT_FALSE(b.take(kT0, 0));
  EXPECT_TRUE(b.refill_expected(kT0));  // a cold key: its first slice is a tick away
  ASSERT_TRUE(b.want(kT0));
  b.granted(kT0, 1, 0, 0);  // the log is full: refused
  EXPECT_FALSE(b.take(kT0, 0));
  EXPECT_FALSE(b.refill_expected(kT0));
  ASSERT_TRUE(b.want(kT0));
  b.granted(kT0, 2, 1, 0);
  EXPECT_TRUE(b.take(kT0, 0));
  EXPECT_FALSE(b.take(kT0, 0));
  EXPECT_TRUE(b.refill_expected(kT0));  // ran dry after a grant: the next is asked
  ASSERT_TRUE(b.want(kT0));
  b.ask_failed();  // unanswered: Redis may be stuck
  EXPECT_FALSE(b.refill_expected(kT0));
  ASSERT_TRUE(b.want(kT0));
  b.granted(kT0, 3, 1, 0);
  EXPECT_TRUE(b.refill_expected(kT0));
  b.set_healthy(false, 2);
  EXPECT_FALSE(b.refill_expected(kT0));
}

}  // namespace
}  // namespace keymux::state
