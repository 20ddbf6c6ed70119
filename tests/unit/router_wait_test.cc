// The wait outcome: a request no key can take now waits (Decision::wait_for)
// only for a shared key whose slice is on its way, and only when its caller
// can hold it (RouteRequest::may_wait). Fake shared budgets, fake clock.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/fake_shared_budget.h"
#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using test::FakeSharedBudget;
using test::OneRoute;
using test::RouterRig;

class RouterWaitTest : public ::testing::Test {
 protected:
  explicit RouterWaitTest(config::Config c = OneRoute({{.id = "a", .rpm = 100}})) : rig(c) {
    rig.Key("a").set_shared_budget(&shared);
  }
  ~RouterWaitTest() override { rig.Key("a").set_shared_budget(nullptr); }

  // Each call a new request, unless `request_id` says which.
  Decision Decide(bool may_wait, std::string request_id = {}) {
    if (request_id.empty()) request_id = "req-" + std::to_string(++requests_);
    RouteRequest r;
    r.method = "POST";
    r.path = "/v1/chat/completions";
    r.model = "gpt-4o";
    r.request_id = request_id;
    r.body_size = 400;
    r.may_wait = may_wait;
    return rig.router.decide(r);
  }

  RouterRig rig;
  FakeSharedBudget shared;
  int requests_ = 0;
};

TEST_F(RouterWaitTest, AColdSharedKeyMakesTheRequestWaitAndReservesNothing) {
  const Decision d = Decide(true, "cold");
  ASSERT_TRUE(d.waiting());
  EXPECT_FALSE(d.routed());
  ASSERT_EQ(d.wait_for.size(), 1u);
  EXPECT_EQ(d.wait_for[0]->id, "a");
  EXPECT_EQ(d.key, nullptr);
  EXPECT_TRUE(d.message.empty());  // no refusal was written
  const KeyView view = rig.Key("a").view(rig.clock.now());
  EXPECT_EQ(view.in_flight, 0u);
  EXPECT_EQ(view.requests_in_window, 0u);
  EXPECT_EQ(view.admitted_total, 0u);
  // The client's budget and counters saw nothing yet: the request is decided once.
  const ClientView client = rig.router.snapshot()->anonymous_client()->state->view(rig.clock.now());
  EXPECT_EQ(client.in_flight, 0u);
  EXPECT_EQ(client.requests_in_window, 0u);
  EXPECT_EQ(client.requests_by_outcome[static_cast<std::size_t>(Outcome::kKeysExhausted)], 0u);

  // The slice lands: the same request is decided again and takes the key.
  shared.units = 1;
  rig.clock.advance(std::chrono::milliseconds(12));
  const Decision again = Decide(true, "cold");
  ASSERT_TRUE(again.routed());
  EXPECT_EQ(again.key->id, "a");
  EXPECT_EQ(again.attempt, 1u);  // the wait was no attempt
  const ClientView after = rig.router.snapshot()->anonymous_client()->state->view(rig.clock.now());
  EXPECT_EQ(after.requests_in_window, 1u);
  EXPECT_EQ(after.requests_by_outcome[static_cast<std::size_t>(Outcome::kRouted)], 1u);
}

TEST_F(RouterWaitTest, WithoutMayWaitTheRefusalIsAsToday) {
  const Decision d = Decide(false);
  EXPECT_FALSE(d.waiting());
  EXPECT_EQ(d.outcome, Outcome::kKeysExhausted);
  EXPECT_EQ(d.http_status, 429);
  EXPECT_TRUE(d.retry_after.has_value());
}

TEST_F(RouterWaitTest, NoWaitWhenNoRefillIsExpected) {
  shared.refill = false;  // Redis refused the last ask, or is stuck
  const Decision d = Decide(true);
  EXPECT_FALSE(d.waiting());
  EXPECT_EQ(d.outcome, Outcome::kKeysExhausted);
}

TEST_F(RouterWaitTest, NoWaitForAKeyItsOwnWindowRefuses) {
  rig.Key("a").configure({.rpm = 1});
  shared.units = 1;
  ASSERT_TRUE(Decide(true).routed());
  // The local window is full: the shared budget is not even asked.
  const int takes = shared.takes;
  const Decision d = Decide(true);
  EXPECT_FALSE(d.waiting());
  EXPECT_EQ(d.outcome, Outcome::kKeysExhausted);
  EXPECT_EQ(shared.takes, takes);
}

class RouterWaitTwoKeysTest : public RouterWaitTest {
 protected:
  RouterWaitTwoKeysTest() : RouterWaitTest(OneRoute({{.id = "a", .rpm = 100}, {.id = "b"}})) {}
};

TEST_F(RouterWaitTwoKeysTest, AnotherKeyThatCanTakeItNowIsTakenInstead) {
  for (int i = 0; i < 3; ++i) {
    const Decision d = Decide(true);
    ASSERT_TRUE(d.routed());
    EXPECT_EQ(d.key->id, "b");
    rig.Settle(d, 200);
  }
}

TEST_F(RouterWaitTwoKeysTest, WaitsOnlyWhenTheOtherKeyIsOutToo) {
  rig.Key("b").quarantine("upstream 401");
  const Decision d = Decide(true, "held");
  ASSERT_TRUE(d.waiting());
  ASSERT_EQ(d.wait_for.size(), 1u);
  EXPECT_EQ(d.wait_for[0]->id, "a");
  // At the deadline the caller decides without waiting: the usual refusal.
  const Decision last = Decide(false, "held");
  EXPECT_FALSE(last.waiting());
  EXPECT_EQ(last.outcome, Outcome::kKeysExhausted);
}

}  // namespace
}  // namespace keymux::router
