// The lease arithmetic of shared budgets (agent/state): slices, returns,
// charges, replay, and N nodes against a model of Redis's grant log that
// never exceed a limit in any window. Fake time only.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "agent/state/degraded.h"
#include "agent/state/lease_ledger.h"

namespace keymux::state {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Time kT0{seconds(1'000'000)};

TEST(LeaseLedgerTest, SpendsOnlyWhatWasGrantedWithinTheLifetime) {
  LeaseLedger l(100, 0);
  EXPECT_FALSE(l.spend(kT0, 10));  // nothing granted yet
  const auto ask = l.want(kT0);
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->requests, 1u);  // no recent rate: the smallest slice
  EXPECT_FALSE(l.want(kT0));     // one ask at a time
  l.granted(kT0, 7, 3, 0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.spend(kT0 + milliseconds(100), 10));
  EXPECT_FALSE(l.spend(kT0 + milliseconds(100), 10));
  EXPECT_EQ(l.requests_granted(kT0 + milliseconds(100)), 3u);
  // A second slice, unused, dies at asked + lifetime and goes back.
  l.granted(kT0 + milliseconds(200), 8, 2, 0);
  EXPECT_TRUE(l.spend(kT0 + milliseconds(1199), 0));
  EXPECT_FALSE(l.spend(kT0 + milliseconds(1200), 0));
  const auto returns = l.take_returns(kT0 + milliseconds(1200));
  ASSERT_EQ(returns.size(), 1u);
  EXPECT_EQ(returns[0].id, 8u);
  EXPECT_EQ(returns[0].requests, 1u);
  EXPECT_TRUE(l.take_returns(kT0 + seconds(5)).empty());  // handed out once
}

TEST(LeaseLedgerTest, SliceSizeFollowsTheRecentRateWithinTheCap) {
  LeaseLedger l(1000, 0);  // cap: 10% = 100
  Time now = kT0;
  std::uint64_t id = 0;
  // 30 requests a second: the next ask is for about two lifetimes' worth.
  for (int i = 0; i < 60; ++i) {
    if (auto ask = l.want(now)) l.granted(now, ++id, ask->requests, 0);
    if (!l.spend(now, 0)) {  // the first: an idle key holds nothing yet
      const auto ask = l.want(now);
      ASSERT_TRUE(ask) << i;
      l.granted(now, ++id, ask->requests, 0);
      ASSERT_TRUE(l.spend(now, 0)) << i;
    }
    now += milliseconds(33);
  }
  l.take_returns(now);
  // An idle key asks nothing until a request finds no slice; then the smallest.
  LeaseLedger idle(1000, 0);
  EXPECT_FALSE(idle.want(now));
  EXPECT_FALSE(idle.spend(now, 0));
  EXPECT_EQ(idle.want(now)->requests, 1u);
  // A node at 500 requests a second is capped at 100 a slice.
  LeaseLedger busy(1000, 0);
  for (int i = 0; i < 600; ++i) {
    if (auto ask = busy.want(now)) busy.granted(now, ++id, ask->requests, 0);
    busy.spend(now, 0);
    now += milliseconds(2);
  }
  busy.granted(now, ++id, 0, 0);  // let the ask in flight finish
  const auto ask = busy.want(now + seconds(1));
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->requests, 100u);
}

// A tpm-only key whose requests cost more than the smallest slice (tpm/40):
// the ask covers the request that found no slice, and grows with the spends.
TEST(LeaseLedgerTest, TokenSliceCoversTheWaitingRequestAndGrows) {
  LeaseLedger l(0, 1200);  // cap 120, smallest ask 30
  Time now = kT0;
  std::uint64_t id = 0;
  EXPECT_FALSE(l.spend(now, 37));
  auto ask = l.want(now);
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->tokens, 37u);
  EXPECT_EQ(ask->min_tokens, 37u);
  l.granted(now, ++id, 0, ask->tokens);
  ASSERT_TRUE(l.spend(now, 37));
  // 37 tokens every 50 ms: slices grow to the cap, and every spend is served
  // once the first ask of a period is answered.
  int served = 0;
  std::uint64_t largest_ask = 0;
  auto take = [&](const std::optional<LeaseAsk>& a) {
    largest_ask = std::max(largest_ask, a->tokens);
    l.granted(now, ++id, 0, a->tokens);
  };
  for (int i = 0; i < 40; ++i) {
    now += milliseconds(50);
    if (auto a = l.want(now)) take(a);
    if (!l.spend(now, 37)) {
      auto a = l.want(now);
      ASSERT_TRUE(a) << i;
      EXPECT_GE(a->tokens, 37u);
      take(a);
      ASSERT_TRUE(l.spend(now, 37)) << i;
    }
    ++served;
  }
  EXPECT_EQ(served, 40);
  EXPECT_EQ(largest_ask, 120u);  // the recent rate (740 a second) reaches the cap
  // A request above the cap (up to the whole limit) gets a slice of its size;
  // bigger than the limit, it is charged as the limit.
  LeaseLedger big(0, 1200);
  EXPECT_FALSE(big.spend(now, 5000));
  ask = big.want(now);
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->tokens, 1200u);
  EXPECT_EQ(ask->min_tokens, 1200u);
  big.granted(now, ++id, 0, 1200);
  EXPECT_TRUE(big.spend(now, 5000));
  // Units left that are too few for the waiting request still lead to an ask.
  LeaseLedger part(0, 1200);
  EXPECT_FALSE(part.spend(now, 10));
  part.granted(now, ++id, 0, part.want(now)->tokens);  // 30
  ASSERT_TRUE(part.spend(now, 10));
  EXPECT_FALSE(part.spend(now, 500));
  ask = part.want(now);
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->min_tokens, 500u);
  EXPECT_EQ(ask->tokens, 500u);
}

TEST(LeaseLedgerTest, TokensSurplusGoesBackAndExcessIsCharged) {
  LeaseLedger l(0, 10'000);
  EXPECT_FALSE(l.spend(kT0, 600));  // nothing held: a slice is wanted
  const auto ask = l.want(kT0);
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->requests, 0u);  // no rpm: requests are not shared
  EXPECT_EQ(ask->tokens, 600u);  // the waiting request (above a quarter of the 10% cap)
  l.granted(kT0, 1, 0, 1000);
  const auto r = l.spend(kT0, 600);
  ASSERT_TRUE(r);
  EXPECT_EQ(l.tokens_left(kT0), 400u);
  l.settle(kT0 + milliseconds(10), *r, 100);  // the answer used 100: 500 back to the slice
  EXPECT_EQ(l.tokens_left(kT0 + milliseconds(10)), 900u);
  const auto r2 = l.spend(kT0 + milliseconds(20), 500);
  ASSERT_TRUE(r2);
  l.settle(kT0 + milliseconds(30), *r2, 1200);  // 700 more: 400 from the slice, 300 charged
  EXPECT_EQ(l.tokens_left(kT0 + milliseconds(30)), 0u);
  auto returns = l.take_returns(kT0 + milliseconds(30));
  ASSERT_EQ(returns.size(), 1u);
  EXPECT_EQ(returns[0].id, 0u);
  EXPECT_EQ(returns[0].tokens, 300u);
  // A surplus after the slice died goes to Redis against that grant.
  const auto r3 = l.spend(kT0 + milliseconds(30), 1);
  EXPECT_FALSE(r3);  // nothing left
  l.granted(kT0 + milliseconds(40), 2, 0, 500);
  const auto r4 = l.spend(kT0 + milliseconds(50), 500);
  ASSERT_TRUE(r4);
  l.settle(kT0 + seconds(3), *r4, 200);
  returns = l.take_returns(kT0 + seconds(3));
  ASSERT_EQ(returns.size(), 1u);
  EXPECT_EQ(returns[0].id, 2u);
  EXPECT_EQ(returns[0].tokens, 300u);
}

TEST(LeaseLedgerTest, ReplayListsTheLiveGrantsWithTheirAge) {
  LeaseLedger l(100, 1000);
  l.granted(kT0, 1, 5, 100);
  l.granted(kT0 + milliseconds(600), 2, 3, 50);
  l.spend(kT0 + milliseconds(700), 10);
  const auto replay = l.replay(kT0 + milliseconds(1100));
  ASSERT_EQ(replay.size(), 1u);  // the first has died
  EXPECT_EQ(replay[0].id, 2u);
  EXPECT_EQ(replay[0].age, milliseconds(500));
  EXPECT_EQ(replay[0].requests, 3u);  // the whole grant: spent units count too
  EXPECT_EQ(replay[0].tokens, 50u);
}

// A model of the Redis function's grant: a log of (redis time, requests)
// counted for window + lifetime; a grant takes what still fits.
class ModelRedis {
 public:
  ModelRedis(std::uint32_t rpm, Duration window, Duration lifetime)
      : rpm_(rpm), window_(window), lifetime_(lifetime) {}
  std::uint32_t grant(Time now, std::uint32_t ask, std::uint64_t& id) {
    while (!log_.empty() && log_.front().at <= now - window_ - lifetime_) log_.pop_front();
    std::uint32_t used = 0;
    for (const Entry& e : log_) used += e.requests;
    const std::uint32_t n = std::min(ask, rpm_ - std::min(rpm_, used));
    id = ++next_id_;
    if (n != 0) log_.push_back({id, now, n});
    return n;
  }
  void give_back(std::uint64_t id, std::uint32_t requests) {
    for (Entry& e : log_) {
      if (e.id == id) e.requests -= std::min(e.requests, requests);
    }
  }

 private:
  struct Entry {
    std::uint64_t id;
    Time at;
    std::uint32_t requests;
  };
  std::uint32_t rpm_;
  Duration window_, lifetime_;
  std::deque<Entry> log_;
  std::uint64_t next_id_ = 0;
};

// 3 nodes, skewed traffic, asks answered after a random delay: spends in any
// window never exceed the rpm, and the busy node gets most of the budget.
TEST(LeaseLedgerTest, ThreeNodesNeverExceedTheLimitInAnyWindow) {
  constexpr std::uint32_t kRpm = 120;
  const Duration window = seconds(10);
  ModelRedis redis(kRpm, window, seconds(1));
  std::vector<LeaseLedger> nodes(3, LeaseLedger(kRpm, 0));
  struct Pending {
    std::size_t node;
    Time asked_at, answer_at;
    std::uint32_t requests;
  };
  std::vector<Pending> pending;
  std::vector<Time> spends;
  std::mt19937 rng(13);
  Time now = kT0;
  for (int step = 0; step < 60'000; ++step) {
    now += milliseconds(1);
    // Redis answers (it records at the answer time, which is after the ask).
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->answer_at > now) {
        ++it;
        continue;
      }
      std::uint64_t id = 0;
      const std::uint32_t n = redis.grant(it->answer_at, it->requests, id);
      nodes[it->node].granted(it->asked_at, id, n, 0);
      it = pending.erase(it);
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (auto ask = nodes[i].want(now)) {
        pending.push_back({i, now, now + milliseconds(1 + rng() % 20), ask->requests});
      }
      for (const LeaseReturn& r : nodes[i].take_returns(now)) redis.give_back(r.id, r.requests);
    }
    // 90% of the traffic on node 0, 10% spread on the others.
    if (rng() % 4 == 0) {
      const std::size_t node = rng() % 10 < 9 ? 0 : 1 + rng() % 2;
      if (nodes[node].spend(now, 0)) spends.push_back(now);
    }
  }
  std::size_t first = 0;
  for (std::size_t last = 0; last < spends.size(); ++last) {
    while (spends[first] <= spends[last] - window) ++first;
    ASSERT_LE(last - first + 1, kRpm) << "over the limit at spend " << last;
  }
  // 60 s of offered load well above 120 per 10 s: most of the budget is used
  // (each node's idle slice and the lifetime's margin cost a little).
  EXPECT_GE(spends.size(), 6u * kRpm * 80 / 100);
}

TEST(DegradedTest, SplitOpenClosed) {
  EXPECT_EQ(degraded_limit(90, 3, DegradedMode::kSplit), 30u);
  EXPECT_EQ(degraded_limit(2, 3, DegradedMode::kSplit), 1u);  // never 0
  EXPECT_EQ(degraded_limit(90, 0, DegradedMode::kSplit), 90u);
  EXPECT_EQ(degraded_limit(90, 3, DegradedMode::kOpen), 90u);
  EXPECT_EQ(degraded_limit(90, 3, DegradedMode::kClosed), std::nullopt);
  EXPECT_EQ(degraded_limit(0, 3, DegradedMode::kClosed), 0u);  // no limit stays none
}

TEST(DegradedTest, InFlightSharesAddUpToTheLimit) {
  const std::vector<std::string> nodes = {"gw-c", "gw-a", "gw-b"};
  EXPECT_EQ(in_flight_share(10, nodes, "gw-a"), 4u);
  EXPECT_EQ(in_flight_share(10, nodes, "gw-b"), 3u);
  EXPECT_EQ(in_flight_share(10, nodes, "gw-c"), 3u);
  EXPECT_EQ(in_flight_share(2, nodes, "gw-c"), 0u);
  EXPECT_EQ(in_flight_share(10, {}, "gw-a"), 10u);  // alone
  EXPECT_EQ(in_flight_share(0, nodes, "gw-a"), 0u);
}

}  // namespace
}  // namespace keymux::state
