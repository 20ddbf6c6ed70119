// A randomized simulation of the pure router against a provider that fails
// at random: thousands of requests on a fake clock, each with up to
// `attempts` attempts as HAProxy makes them (settle with 502, or no settle at
// all for a dropped connection, then a new decide for the same request id).
// What clients see must stay within what independent attempts allow, and a
// key that always fails must be ejected while the others serve.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>

#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using test::KeySpec;
using test::OneRoute;
using test::RouterRig;

struct Tally {
  int requests = 0;
  int failed = 0;   // no attempt succeeded, or refused
  int refused = 0;  // of those, refused by the router (429/503)
  int attempts = 0;
  int panic_attempts = 0;
  std::map<std::string, int> attempts_by_key;

  double failure_rate() const { return static_cast<double>(failed) / requests; }
};

// `fails(key id, rng)`: whether an attempt on that key fails. A failure is a
// 502 half of the time, else a dropped connection (no settle at all).
Tally Simulate(RouterRig& rig, int requests, Duration gap,
               const std::function<bool(const std::string&, std::mt19937_64&)>& fails,
               std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(0.5);
  Tally t;
  const std::uint32_t attempts = rig.router.snapshot()->policy().attempts;
  for (int r = 0; r < requests; ++r) {
    rig.clock.advance(gap);
    const std::string id = "req-" + std::to_string(seed) + "-" + std::to_string(r);
    ++t.requests;
    bool ok = false;
    for (std::uint32_t a = 0; a < attempts && !ok; ++a) {
      const Decision d = rig.Decide("gpt-4o", id);
      if (!d.routed()) {
        ++t.refused;
        break;
      }
      ++t.attempts;
      ++t.attempts_by_key[d.key->id];
      if (d.panic) ++t.panic_attempts;
      if (!fails(d.key->id, rng)) {
        rig.Settle(d, 200);
        ok = true;
      } else if (coin(rng)) {
        rig.Settle(d, 502);
      }  // else: the connection dropped, HAProxy retries without a settle
    }
    if (!ok) ++t.failed;
  }
  return t;
}

std::function<bool(const std::string&, std::mt19937_64&)> RandomFaults(double p) {
  return
      [p](const std::string&, std::mt19937_64& rng) { return std::bernoulli_distribution(p)(rng); };
}

config::Config Keys(int n) {
  std::vector<KeySpec> keys;
  for (int i = 0; i < n; ++i) keys.push_back({.id = "k" + std::to_string(i)});
  return OneRoute(keys);
}

// With 3 attempts and independent faults at p, a request fails with p^3
// (1e-6 at 1%, 1e-3 at 10%); the bounds leave room for chance.
TEST(RouterFaultSimulationTest, OnePercentFaultsAreAbsorbed) {
  RouterRig rig(Keys(3));
  const Tally t = Simulate(rig, 40000, microseconds(250), RandomFaults(0.01), 1);
  EXPECT_LT(t.failure_rate(), 0.0005) << t.failed << " of " << t.requests;
  EXPECT_EQ(t.refused, 0);
  EXPECT_LT(t.attempts, t.requests * 1.02);
}

TEST(RouterFaultSimulationTest, TenPercentFaultsAreAbsorbed) {
  RouterRig rig(Keys(3));
  const Tally t = Simulate(rig, 40000, microseconds(250), RandomFaults(0.10), 2);
  EXPECT_LT(t.failure_rate(), 0.005) << t.failed << " of " << t.requests;
  EXPECT_EQ(t.refused, 0);
}

TEST(RouterFaultSimulationTest, ASingleKeyPoolAbsorbsFaultsToo) {
  RouterRig rig(Keys(1));
  const Tally t = Simulate(rig, 40000, microseconds(250), RandomFaults(0.10), 3);
  EXPECT_LT(t.failure_rate(), 0.005) << t.failed << " of " << t.requests;
  EXPECT_EQ(t.refused, 0);  // ejection never refuses by itself
}

TEST(RouterFaultSimulationTest, ManyKeysAtHighRate) {
  RouterRig rig(Keys(20));
  for (double p : {0.01, 0.10}) {
    const Tally t = Simulate(rig, 40000, microseconds(50), RandomFaults(p), p < 0.05 ? 41 : 42);
    EXPECT_LT(t.failure_rate(), p * p * p * 5 + 0.0002) << p << ": " << t.failed;
    EXPECT_EQ(t.refused, 0) << p;
  }
}

TEST(RouterFaultSimulationTest, AKeyThatAlwaysFailsIsEjectedWhileTheOthersServe) {
  RouterRig rig(Keys(4));
  const auto faults = [](const std::string& key, std::mt19937_64& rng) {
    return key == "k0" || std::bernoulli_distribution(0.01)(rng);
  };
  // 30 s of traffic at 1,000 requests a second.
  Tally t = Simulate(rig, 30000, milliseconds(1), faults, 5);
  EXPECT_LT(t.failure_rate(), 0.0005) << t.failed << " of " << t.requests;
  EXPECT_EQ(t.refused, 0);
  EXPECT_EQ(t.panic_attempts, 0);
  const KeyView bad = rig.Key("k0").view(rig.clock.now());
  EXPECT_GE(bad.ejections_total, 1u);
  EXPECT_EQ(bad.condition, KeyCondition::kEjected);
  // Only its first streak and a probe now and then: 1, 2, 4, 8, 16 s ejections.
  EXPECT_LT(t.attempts_by_key["k0"], 20) << t.attempts_by_key["k0"];
  for (const char* good : {"k1", "k2", "k3"}) {
    EXPECT_EQ(rig.Key(good).view(rig.clock.now()).condition, KeyCondition::kOk) << good;
    EXPECT_GT(t.attempts_by_key[good], 9000) << good;
  }
}

TEST(RouterFaultSimulationTest, AProviderFullyDownFailsFastWithoutRefusing) {
  RouterRig rig(Keys(3));
  const Tally t = Simulate(rig, 2000, milliseconds(1), RandomFaults(1.0), 6);
  EXPECT_EQ(t.failed, t.requests);
  EXPECT_EQ(t.refused, 0);  // every request used its attempts; none was refused for ejection
  EXPECT_GT(t.panic_attempts, 0);
  // And when it comes back, probes and panic successes bring the keys back.
  const Tally back = Simulate(rig, 2000, milliseconds(1), RandomFaults(0.0), 7);
  EXPECT_EQ(back.failed, 0);
  for (const char* id : {"k0", "k1", "k2"}) {
    EXPECT_EQ(rig.Key(id).view(rig.clock.now()).condition, KeyCondition::kOk) << id;
  }
}

}  // namespace
}  // namespace keymux::router
