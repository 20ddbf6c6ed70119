// The budget promises, checked over long randomized runs: weights are
// followed, and no key ever exceeds its rpm or tpm in any 60 s window.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::KeySpec;
using test::OneRoute;
using test::RouterRig;

TEST(RouterBudgetTest, WeightsAreRespectedWithinTwoPercent) {
  RouterRig rig(OneRoute({{.id = "w1", .weight = 1},
                          {.id = "w2", .weight = 2},
                          {.id = "w3", .weight = 3},
                          {.id = "w4", .weight = 4}}));
  std::map<std::string, int> count;
  constexpr int kDecisions = 100'000;
  for (int i = 0; i < kDecisions; ++i) {
    const Decision d = rig.Decide();
    ASSERT_TRUE(d.routed());
    ++count[d.key->id];
    rig.Settle(d, 200);
    rig.clock.advance(milliseconds(1));
  }
  for (int w = 1; w <= 4; ++w) {
    const double expected = kDecisions * w / 10.0;
    const double got = count["w" + std::to_string(w)];
    EXPECT_NEAR(got, expected, expected * 0.02) << "weight " << w;
  }
}

TEST(RouterBudgetTest, AKeyBackFromACooldownRejoinsTheRotationWithoutABurst) {
  RouterRig rig(OneRoute({{.id = "a"}, {.id = "b"}}));
  // "a" cools for a while; "b" serves everything meanwhile.
  const Decision first = rig.Decide();
  ASSERT_EQ(first.key->id, "a");
  UpstreamReport report;
  report.retry_at = rig.clock.now() + seconds(30);
  rig.Settle(first, 429, report);
  for (int i = 0; i < 1000; ++i) {
    const Decision d = rig.Decide();
    ASSERT_EQ(d.key->id, "b");
    rig.Settle(d, 200);
  }
  rig.clock.advance(seconds(31));
  // Back in service, "a" alternates with "b" instead of taking 1000 in a row.
  std::map<std::string, int> count;
  for (int i = 0; i < 20; ++i) {
    const Decision d = rig.Decide();
    ++count[d.key->id];
    rig.Settle(d, 200);
  }
  EXPECT_LE(count["a"], 11);
  EXPECT_GE(count["b"], 9);
}

TEST(RouterBudgetTest, TargetWeightsMultiplyKeyWeights) {
  config::Config c;
  test::AddProvider(c, "a", {{.id = "a1"}, {.id = "a2", .weight = 3}});
  test::AddProvider(c, "b", {{.id = "b1"}});
  test::AddRoute(c, {"*"}, {{"a", 0, 1}, {"b", 0, 4}});
  test::SetTestDefaults(c);
  RouterRig rig(c);
  std::map<std::string, int> count;
  for (int i = 0; i < 8000; ++i) {
    const Decision d = rig.Decide();
    ++count[d.key->id];
    rig.Settle(d, 200);
  }
  EXPECT_NEAR(count["a1"], 1000, 20);
  EXPECT_NEAR(count["a2"], 3000, 60);
  EXPECT_NEAR(count["b1"], 4000, 80);
}

struct Admission {
  Time at;
  std::uint64_t tokens;
};

// Every window (t - 60 s, t] that ends at an admission holds the most, so
// checking those is checking all windows.
void ExpectWithinLimits(const std::string& id, const std::vector<Admission>& admissions,
                        std::uint32_t rpm, std::uint64_t tpm) {
  std::size_t first = 0;
  std::uint64_t tokens = 0;
  for (std::size_t last = 0; last < admissions.size(); ++last) {
    tokens += admissions[last].tokens;
    while (admissions[first].at <= admissions[last].at - seconds(60)) {
      tokens -= admissions[first++].tokens;
    }
    const std::size_t requests = last - first + 1;
    if (rpm != 0) {
      ASSERT_LE(requests, rpm) << id << " over rpm at admission " << last;
    }
    if (tpm != 0) {
      ASSERT_LE(tokens, tpm) << id << " over tpm at admission " << last;
    }
  }
}

TEST(RouterBudgetTest, NoKeyEverExceedsItsRpmOrTpmUnderARandomWorkload) {
  const std::vector<KeySpec> keys = {
      {.id = "r10", .rpm = 10},
      {.id = "r25t20k", .weight = 2, .rpm = 25, .tpm = 20'000},
      {.id = "t8k", .tpm = 8'000},
      {.id = "r5f2", .rpm = 5, .max_in_flight = 2},
      {.id = "r40t50k", .weight = 3, .rpm = 40, .tpm = 50'000, .max_in_flight = 8},
  };
  config::Config c = OneRoute(keys);
  c.mutable_policy()->mutable_in_flight_timeout()->set_seconds(20);
  RouterRig rig(c);
  std::mt19937_64 rng(20261126);
  std::map<std::string, std::vector<Admission>> admitted;
  std::vector<Decision> open;
  int routed = 0, refused = 0;

  for (int i = 0; i < 60'000; ++i) {
    // Bursts (no advance) and gaps (up to 3 s).
    if (rng() % 3 == 0) rig.clock.advance(milliseconds(rng() % 3000));
    const std::uint64_t body = 100 + rng() % 40'000;  // up to ~10k prompt tokens
    const std::string max_tokens = R"({"max_tokens":)" + std::to_string(rng() % 4000) + "}";
    const std::string request_id = "req-" + std::to_string(rng() % 5000);
    Decision d = rig.Decide("gpt-4o", request_id, body, rng() % 2 ? max_tokens : "{}");
    if (d.routed()) {
      ++routed;
      const std::uint64_t tpm = d.key->limits.tpm;
      admitted[d.key->id].push_back(
          {rig.clock.now(), tpm != 0 ? std::min(d.reserved_tokens, tpm) : d.reserved_tokens});
      open.push_back(std::move(d));
    } else {
      ++refused;
    }
    // Settle a random open attempt (some never are: the timeout reclaims them).
    while (!open.empty() && rng() % 4 != 0) {
      const std::size_t pick = rng() % open.size();
      std::swap(open[pick], open.back());
      const Decision done = std::move(open.back());
      open.pop_back();
      if (rng() % 50 == 0) continue;  // lost settle
      UpstreamReport report;
      int status = 200;
      switch (rng() % 20) {
        case 0:
          status = 429;
          if (rng() % 2) report.retry_at = rig.clock.now() + milliseconds(rng() % 5000);
          break;
        case 1:
          status = 500;
          break;
        case 2:
          status = 0;
          break;
        case 3:
          status = 400;
          break;
        default:
          break;
      }
      rig.Settle(done, status, report);
    }
  }
  EXPECT_GT(routed, 10'000);
  EXPECT_GT(refused, 1'000);
  for (const KeySpec& k : keys) {
    ASSERT_FALSE(admitted[k.id].empty()) << k.id;
    ExpectWithinLimits(k.id, admitted[k.id], k.rpm, k.tpm);
    // Counted by the key itself too.
    EXPECT_LE(rig.Key(k.id).view(rig.clock.now()).requests_in_window, k.rpm == 0 ? ~0u : k.rpm);
  }
}

}  // namespace
}  // namespace keymux::router

namespace keymux::router {
namespace {

// policy.limit_window sets the window of keys' rpm and tpm: with 2 s, a key
// of rpm 2 takes two requests, then takes more once 2 s have passed.
TEST(RouterBudgetTest, KeysCountTheirLimitsInTheConfiguredWindow) {
  config::Config c = test::OneRoute({{.id = "k", .rpm = 2}});
  c.mutable_policy()->mutable_limit_window()->set_seconds(2);
  test::RouterRig rig(c);
  for (int i = 0; i < 2; ++i) {
    const Decision d = rig.Decide();
    ASSERT_TRUE(d.routed());
    rig.Settle(d, 200);
  }
  EXPECT_FALSE(rig.Decide().routed());
  rig.clock.advance(std::chrono::milliseconds(1999));
  EXPECT_FALSE(rig.Decide().routed());
  rig.clock.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(rig.Decide().routed());
}

}  // namespace
}  // namespace keymux::router
