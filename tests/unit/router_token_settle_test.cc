// Tokens: the estimate is reserved at the decision; the answer's real count
// (its usage) settles it: the surplus goes back, an excess is charged, both
// where the estimate sits in the key's window (and in its shared budget).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "agent/router/rate_window.h"
#include "agent/state/shared_key_budget.h"
#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::OneRoute;
using test::RouterRig;

const Time kT0{seconds(1'000'000)};

TEST(TokenWindowSettleTest, SurplusLeavesAndExcessJoinsAtTheAdmission) {
  TokenWindow w(1000);
  w.admit(kT0, 300);
  w.admit(kT0 + seconds(10), 300);
  w.settle(kT0, 300, 100);  // surplus 200
  EXPECT_EQ(w.used(kT0 + seconds(10)), 400u);
  w.settle(kT0 + seconds(10), 300, 500);  // excess 200
  EXPECT_EQ(w.used(kT0 + seconds(10)), 600u);
  // Each part leaves with its own admission: the first at 60 s, the second at 70 s.
  EXPECT_EQ(w.used(kT0 + seconds(60)), 500u);
  EXPECT_EQ(w.used(kT0 + seconds(70)), 0u);
}

TEST(TokenWindowSettleTest, AnExcessBetweenEntriesKeepsTheirOrder) {
  TokenWindow w(1000);
  w.admit(kT0, 100);
  w.admit(kT0 + seconds(20), 100);
  // An excess at a time with no entry of its own goes in its place by time.
  w.cancel(kT0 + seconds(20), 100);
  w.settle(kT0 + seconds(10), 0, 50);
  EXPECT_EQ(w.used(kT0 + seconds(20)), 150u);
  EXPECT_EQ(w.used(kT0 + seconds(60)), 50u);  // the first left, the excess at 10 s stays
  EXPECT_EQ(w.used(kT0 + seconds(70)), 0u);
}

TEST(TokenWindowSettleTest, CountsAreCappedAtTheLimitAsAdmissionsAre) {
  TokenWindow w(1000);
  w.admit(kT0, 5000);         // charged 1000
  w.settle(kT0, 5000, 3000);  // both over the limit: nothing changes
  EXPECT_EQ(w.used(kT0), 1000u);
  w.settle(kT0, 5000, 10);
  EXPECT_EQ(w.used(kT0), 10u);
}

TEST(TokenWindowSettleTest, AnExpiredAdmissionChangesNothing) {
  TokenWindow w(1000);
  w.admit(kT0, 300);
  EXPECT_EQ(w.used(kT0 + seconds(61)), 0u);
  w.settle(kT0, 300, 900);
  EXPECT_EQ(w.used(kT0 + seconds(61)), 0u);
}

TEST(TokenWindowSettleTest, AWindowWithoutALimitShowsRealCounts) {
  TokenWindow w(0);
  w.admit(kT0, 300);
  w.settle(kT0, 300, 120);
  EXPECT_EQ(w.used(kT0 + seconds(1)), 120u);
  w.settle(kT0, 120, 400);
  EXPECT_EQ(w.used(kT0 + seconds(1)), 400u);
}

// Body 400 bytes = 100 prompt tokens, + default_max_tokens 256: 356 a request.
constexpr std::uint64_t kEstimate = 356;

TEST(RouterTokenSettleTest, ASurplusGoesBackToTheKeysWindow) {
  RouterRig rig(OneRoute({{.id = "a", .tpm = 1000}}));
  const Decision first = rig.Decide();
  ASSERT_TRUE(first.routed());
  EXPECT_EQ(first.reserved_tokens, kEstimate);
  rig.Decide();  // 712 of 1000 reserved
  EXPECT_FALSE(rig.Decide().routed()) << "a third estimate does not fit";
  rig.Settle(first, 200, {}, 56);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).tokens_in_window, 56u + kEstimate);
  EXPECT_TRUE(rig.Decide().routed()) << "the surplus made room";
}

TEST(RouterTokenSettleTest, AnExcessIsChargedAndHoldsTheNextRequests) {
  RouterRig rig(OneRoute({{.id = "a", .tpm = 1000}}));
  const Decision first = rig.Decide();
  rig.Settle(first, 200, {}, 900);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).tokens_in_window, 900u);
  const Decision refused = rig.Decide();
  ASSERT_FALSE(refused.routed());
  // Until the real count leaves the window, a minute after the first request.
  ASSERT_TRUE(refused.retry_after);
  EXPECT_EQ(*refused.retry_after, seconds(60));
  rig.clock.advance(seconds(60));
  EXPECT_TRUE(rig.Decide().routed());
}

TEST(RouterTokenSettleTest, WithoutARealCountTheEstimateStays) {
  RouterRig rig(OneRoute({{.id = "a", .tpm = 1000}}));
  const Decision d = rig.Decide();
  TokenSettle settled;
  SettleRequest s;
  s.ticket = d.ticket;
  s.status = 200;
  ASSERT_TRUE(rig.router.settle(s, &settled));
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).tokens_in_window, kEstimate);
  EXPECT_TRUE(settled.closed);
  EXPECT_TRUE(settled.counted);
  EXPECT_FALSE(settled.real);
  EXPECT_EQ(settled.estimated, kEstimate);
  EXPECT_EQ(settled.settled, kEstimate);
}

TEST(RouterTokenSettleTest, OnlyTheFirstSettleOfATicketCounts) {
  RouterRig rig(OneRoute({{.id = "a", .tpm = 1000}}));
  const Decision d = rig.Decide();
  rig.clock.advance(milliseconds(5));
  rig.Settle(d, 200, {}, 100);
  rig.Settle(d, 200, {}, 10);  // the outcome line after the settle message
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).tokens_in_window, 100u);
}

TEST(RouterTokenSettleTest, SettleSaysWhatItDidForMetrics) {
  RouterRig rig(OneRoute({{.id = "free"}}));
  const Decision d = rig.Decide();
  TokenSettle settled;
  SettleRequest s;
  s.ticket = d.ticket;
  s.status = 200;
  s.tokens = 40;
  ASSERT_TRUE(rig.router.settle(s, &settled));
  EXPECT_FALSE(settled.counted) << "no tpm limit";
  EXPECT_TRUE(settled.real);
  EXPECT_EQ(settled.settled, 40u);
  // A key without a limit still shows the real count.
  EXPECT_EQ(rig.Key("free").view(rig.clock.now()).tokens_in_window, 40u);
}

// With real counts at or below the estimate (the usual case: a request states
// its output cap), no key ever takes more real tokens than its tpm in any
// window, and the surpluses let it serve more than the estimates would.
TEST(RouterTokenSettleTest, RealCountsNeverExceedTpmAndServeMore) {
  const auto run = [](bool settle_real) {
    RouterRig rig(OneRoute({{.id = "t", .tpm = 20'000}}));
    std::mt19937_64 rng(20261202);
    struct Spent {
      Time at;
      std::uint64_t tokens;
    };
    std::vector<Spent> spent;
    struct Open {
      Decision d;
      std::size_t index;
    };
    std::vector<Open> open;
    int routed = 0;
    for (int i = 0; i < 20'000; ++i) {
      if (rng() % 3 == 0) rig.clock.advance(milliseconds(rng() % 2000));
      const std::uint64_t body = 100 + rng() % 8'000;
      const std::string cap = R"({"max_tokens":)" + std::to_string(rng() % 2000) + "}";
      Decision d = rig.Decide("gpt-4o", {}, body, cap);
      if (d.routed()) {
        ++routed;
        spent.push_back({rig.clock.now(), d.reserved_tokens});
        open.push_back({std::move(d), spent.size() - 1});
      }
      while (!open.empty() && rng() % 3 != 0) {
        const std::size_t pick = rng() % open.size();
        std::swap(open[pick], open.back());
        const Open done = std::move(open.back());
        open.pop_back();
        const std::uint64_t real = rng() % (done.d.reserved_tokens + 1);
        if (settle_real) spent[done.index].tokens = real;
        rig.Settle(done.d, 200, {},
                   settle_real ? std::optional<std::uint64_t>(real) : std::nullopt);
      }
    }
    // Every window (t - 60 s, t] ending at an admission holds the most.
    std::size_t first = 0;
    std::uint64_t tokens = 0;
    for (std::size_t last = 0; last < spent.size(); ++last) {
      tokens += spent[last].tokens;
      while (spent[first].at <= spent[last].at - seconds(60)) tokens -= spent[first++].tokens;
      EXPECT_LE(tokens, 20'000u) << "over tpm at admission " << last;
      if (tokens > 20'000u) break;
    }
    return routed;
  };
  const int with_estimates = run(false);
  const int with_real_counts = run(true);
  EXPECT_GT(with_real_counts, with_estimates * 3 / 2);
}

}  // namespace
}  // namespace keymux::router

namespace keymux::state {
namespace {

using std::chrono::milliseconds;
const Time kT0{std::chrono::seconds(1'000'000)};

// A healthy budget of tpm 10,000 holding slice 7 of `tokens`, granted at kT0.
void grant_slice(SharedKeyBudget& b, std::uint64_t tokens) {
  b.set_limits({.tpm = 10'000});
  b.set_healthy(true, 2);
  b.want(kT0);
  b.granted(kT0, 7, 0, tokens);
}

TEST(SharedKeyBudgetSettleTest, ASurplusGoesBackToItsSliceAndAnExcessIsTakenOrCharged) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  grant_slice(b, 1000);
  const std::optional<router::SharedSpend> spend = b.take(kT0, 400);
  ASSERT_TRUE(spend);
  EXPECT_EQ(spend->slice, 7u);
  EXPECT_EQ(spend->tokens, 400u);
  EXPECT_EQ(b.view(kT0).tokens_left, 600u);
  b.settle(kT0 + milliseconds(10), kT0, *spend, 100);
  EXPECT_EQ(b.view(kT0).tokens_left, 900u) << "the surplus is back in the live slice";
  const std::optional<router::SharedSpend> second = b.take(kT0, 400);
  ASSERT_TRUE(second);
  b.settle(kT0 + milliseconds(20), kT0, *second, 1400);
  EXPECT_EQ(b.view(kT0).tokens_left, 0u) << "the excess took what the slice had";
  const std::vector<LeaseReturn> returns = b.take_returns(kT0 + milliseconds(20));
  // The slice, spent out, closes (nothing goes back); the rest is a charge.
  ASSERT_EQ(returns.size(), 2u);
  EXPECT_EQ(returns[0].id, 7u) << "the close";
  EXPECT_EQ(returns[0].tokens, 0u);
  EXPECT_TRUE(returns[0].spent);
  EXPECT_EQ(returns[1].id, 0u) << "a charge";
  EXPECT_EQ(returns[1].tokens, 500u);
}

TEST(SharedKeyBudgetSettleTest, ASurplusAfterTheSliceDiedGoesBackToRedis) {
  SharedKeyBudget b("k", {}, DegradedMode::kSplit);
  grant_slice(b, 400);
  const std::optional<router::SharedSpend> spend = b.take(kT0, 400);
  ASSERT_TRUE(spend);
  const Time late = kT0 + std::chrono::seconds(2);  // past the slice's lifetime
  b.settle(late, kT0, *spend, 150);
  const std::vector<LeaseReturn> returns = b.take_returns(late);
  // Spent out at the take, the slice closed then; the surplus goes back to
  // its grant later, without a spend duration (it never lengthens the count).
  ASSERT_EQ(returns.size(), 2u);
  EXPECT_EQ(returns[0].id, 7u);
  EXPECT_EQ(returns[0].tokens, 0u);
  EXPECT_TRUE(returns[0].spent);
  EXPECT_EQ(returns[1].id, 7u);
  EXPECT_EQ(returns[1].tokens, 250u);
  EXPECT_FALSE(returns[1].spent);
}

TEST(SharedKeyBudgetSettleTest, TheRouterSettlesTheSpendOfItsTicket) {
  router::test::RouterRig rig(router::test::OneRoute({{.id = "a", .tpm = 10'000}}));
  SharedKeyBudget shared("a", {}, DegradedMode::kSplit);
  shared.set_limits({.tpm = 10'000});
  shared.set_healthy(true, 2);
  rig.registry.get("a").set_shared_budget(&shared);
  shared.want(rig.clock.now());
  shared.granted(rig.clock.now(), 3, 0, 1000);
  const router::Decision d = rig.Decide();
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(shared.view(rig.clock.now()).tokens_left, 1000u - 356u);
  rig.clock.advance(milliseconds(50));
  rig.Settle(d, 200, {}, 56);
  EXPECT_EQ(shared.view(rig.clock.now()).tokens_left, 1000u - 56u);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).tokens_in_window, 56u);
  rig.registry.get("a").set_shared_budget(nullptr);
}

}  // namespace
}  // namespace keymux::state
