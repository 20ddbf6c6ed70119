// Gateways sharing key budgets through a real redis-server (free loopback
// port): together they stay within a key's rpm in every window; with Redis
// gone they keep serving (degraded split); after Redis lost its data they
// replay their grants and go on.
#include "agent/state/redis/shared_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/support/redis_server.h"
#include "tests/support/redis_state.h"
#include "tests/unit/router_test_config.h"

namespace keymux::state {
namespace {

using namespace std::chrono_literals;
using test::WaitFor;
using Rig = router::test::BasicRouterRig<router::SystemClock>;

constexpr std::uint32_t kRpm = 40;
constexpr auto kWindow = 2s;

config::Config OneLimitedKey() {
  config::Config c = router::test::OneRoute({{.id = "a", .rpm = kRpm, .max_in_flight = 5}});
  c.mutable_policy()->mutable_limit_window()->set_seconds(2);
  return c;
}

config::State StateAt(const std::string& address) { return test::RedisState(address, "t:"); }

struct Gateway {
  Gateway(const std::string& address, const std::string& node,
          const config::Config& config = OneLimitedKey())
      : rig(config), shared(StateAt(address), node, rig.router) {
    rig.router.set_event_sink(&shared);
    std::string error;
    EXPECT_TRUE(shared.start(error)) << error;
  }
  // One decision; its time when key "a" was admitted.
  bool Try(std::vector<router::Time>& admitted, std::mutex& mu) {
    const router::Decision d = rig.Decide();
    if (!d.routed()) return false;
    {
      std::lock_guard lock(mu);
      admitted.push_back(rig.clock.now());
    }
    rig.Settle(d, 200);
    return true;
  }
  Rig rig;
  SharedState shared;
};

// A routed decision in `d`, waiting up to 2 s for a slice.
bool DecideRouted(Gateway& g, router::Decision& d) {
  return WaitFor(
      [&] {
        d = g.rig.Decide();
        return d.routed();
      },
      2s);
}

std::size_t MostInAnyWindow(std::vector<router::Time> times) {
  std::sort(times.begin(), times.end());
  std::size_t most = 0, first = 0;
  for (std::size_t last = 0; last < times.size(); ++last) {
    while (times[first] <= times[last] - kWindow) ++first;
    most = std::max(most, last - first + 1);
  }
  return most;
}

// Both gateways ask as fast as they can for 5 s (2.5 windows).
std::vector<router::Time> Saturate(Gateway& g1, Gateway& g2, std::chrono::milliseconds length) {
  std::vector<router::Time> admitted;
  std::mutex mu;
  const auto until = std::chrono::steady_clock::now() + length;
  auto drive = [&](Gateway& g) {
    while (std::chrono::steady_clock::now() < until) {
      g.Try(admitted, mu);
      std::this_thread::sleep_for(1ms);
    }
  };
  std::thread t1(drive, std::ref(g1));
  std::thread t2(drive, std::ref(g2));
  t1.join();
  t2.join();
  return admitted;
}

TEST(SharedStateTest, TwoGatewaysStayWithinTheLimitAndUseMostOfIt) {
  test::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << "redis-server did not start";
  Gateway g1(redis.address(), "gw-1"), g2(redis.address(), "gw-2");
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy() && g2.shared.healthy(); }, 3s));
  const std::vector<router::Time> admitted = Saturate(g1, g2, 5s);
  EXPECT_LE(MostInAnyWindow(admitted), kRpm);
  // 2.5 windows: at least two full windows' worth, less the slices' margins.
  EXPECT_GE(admitted.size(), 2 * kRpm * 80 / 100) << admitted.size();
  EXPECT_EQ(g1.shared.live_nodes(), 2u);
  std::printf("admitted %zu in 5 s, at most %zu in any 2 s window (rpm %u)\n", admitted.size(),
              MostInAnyWindow(admitted), kRpm);
}

TEST(SharedStateTest, RedisDownDegradesToTheSplitAndComesBackWithAReplay) {
  test::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << "redis-server did not start";
  Gateway g1(redis.address(), "gw-1"), g2(redis.address(), "gw-2");
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy() && g2.shared.healthy(); }, 3s));
  ASSERT_TRUE(WaitFor([&] { return g1.shared.live_nodes() == 2; }, 2s));
  Saturate(g1, g2, 300ms);  // both hold slices
  redis.stop();
  ASSERT_TRUE(WaitFor([&] { return !g1.shared.healthy() && !g2.shared.healthy(); }, 3s));
  std::this_thread::sleep_for(2100ms);  // the windows empty
  // Degraded: each gateway takes rpm / 2 per window on its own, and no request fails for Redis.
  const std::vector<router::Time> degraded = Saturate(g1, g2, 1500ms);
  EXPECT_LE(MostInAnyWindow(degraded), kRpm);
  EXPECT_GE(degraded.size(), kRpm * 90 / 100);
  ASSERT_TRUE(redis.restart());  // empty: it lost its data
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy() && g2.shared.healthy(); }, 8s));
  Saturate(g1, g2, 500ms);
  EXPECT_GE(g1.shared.mode_changes(), 2u);
  EXPECT_EQ(g1.shared.replays(), 1u);  // the new epoch was noticed once
  EXPECT_EQ(g2.shared.replays(), 1u);
}

// A Redis that stops answering (DEBUG SLEEP) is a degraded mode, not an
// outage: requests keep being served from the local share, and the gateway
// is healthy again once Redis answers.
TEST(SharedStateTest, ASlowRedisDegradesWithoutFailingRequests) {
  test::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << "redis-server did not start";
  Gateway g1(redis.address(), "gw-1");
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy(); }, 3s));
  std::this_thread::sleep_for(2100ms);  // the first windows' grants leave the log
  std::thread sleeper([&] {
    const std::string cmd =
        "redis-cli -p " + std::to_string(redis.port()) + " DEBUG SLEEP 5 > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  });
  const auto paused = std::chrono::steady_clock::now();
  // Traffic meanwhile (a request every 10 ms): the refusals before the
  // gateway knows it is degraded are what the fault costs.
  std::vector<router::Time> admitted;
  std::mutex mu;
  int refused = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        refused += !g1.Try(admitted, mu);
        return !g1.shared.healthy();
      },
      2s));
  std::printf(
      "degraded %.0f ms after DEBUG SLEEP, %d requests refused meanwhile\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - paused).count(),
      refused);
  // Degraded alone (1 live node): the whole rpm, locally, once the window
  // has emptied (Redis still asleep).
  std::this_thread::sleep_for(2050ms);
  admitted.clear();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(g1.Try(admitted, mu)) << i;
  sleeper.join();
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy(); }, 5s));
}

void RedisCli(const test::RedisServer& redis, const std::string& args) {
  const std::string cmd =
      "redis-cli -p " + std::to_string(redis.port()) + " " + args + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// FUNCTION FLUSH: the library is loaded again and grants go on. A killed
// pub/sub connection: reconnected, and changes reach the gateway again.
TEST(SharedStateTest, RecoversFromFunctionFlushAndAKilledSubscriber) {
  test::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << "redis-server did not start";
  Gateway g1(redis.address(), "gw-1"), g2(redis.address(), "gw-2");
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy() && g2.shared.healthy(); }, 3s));
  std::vector<router::Time> admitted;
  std::mutex mu;
  RedisCli(redis, "FUNCTION FLUSH");
  std::this_thread::sleep_for(2100ms);  // earlier grants leave the log
  ASSERT_TRUE(WaitFor([&] { return g1.Try(admitted, mu); }, 2s));
  const auto taken = [](Gateway& g) {
    return g.shared.report(g.rig.clock.now()).keys.at(0).view.taken_total;
  };
  ASSERT_TRUE(WaitFor([&] { return g1.Try(admitted, mu) && taken(g1) > 0; }, 2s));
  const std::uint64_t before = taken(g1);
  ASSERT_TRUE(WaitFor([&] { return g1.Try(admitted, mu) && taken(g1) > before; }, 2s))
      << "no slice granted after FUNCTION FLUSH";

  RedisCli(redis, "CLIENT KILL TYPE pubsub");
  std::this_thread::sleep_for(500ms);  // the events link reconnects (backoff 100 ms)
  router::Decision d;
  ASSERT_TRUE(DecideRouted(g1, d));
  g1.rig.Settle(d, 401);
  ASSERT_TRUE(WaitFor(
      [&] {
        return g2.rig.Key("a").view(g2.rig.clock.now()).condition ==
               router::KeyCondition::kQuarantined;
      },
      2s));
}

// FLUSHALL (as a failover to an empty replica): the next ask learns the new
// epoch and the gateway records its live slices again before asking.
TEST(SharedStateTest, LiveGrantsAreReplayedAfterAFlush) {
  test::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << "redis-server did not start";
  Gateway g1(redis.address(), "gw-1");
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy(); }, 3s));
  std::vector<router::Time> admitted;
  std::mutex mu;
  for (int i = 0; i < 20; ++i) {  // a busy gateway holds a slice
    g1.Try(admitted, mu);
    std::this_thread::sleep_for(5ms);
  }
  RedisCli(redis, "FLUSHALL");
  ASSERT_TRUE(WaitFor(
      [&] {
        g1.Try(admitted, mu);
        return g1.shared.replays() == 1;
      },
      2s));
  // The replayed grants are in the log again (within their lifetime).
  const std::string cmd = "redis-cli -p " + std::to_string(redis.port()) + " HGET 't:{a}:a' sr";
  std::FILE* out = ::popen(cmd.c_str(), "r");
  ASSERT_NE(out, nullptr);
  char line[64] = {};
  ASSERT_NE(std::fgets(line, sizeof line, out), nullptr);
  ::pclose(out);
  EXPECT_GT(std::atoi(line), 0) << "nothing replayed: " << line;
}

// max_in_flight 5 between two live gateways: 3 for "gw-1", 2 for "gw-2".
TEST(SharedStateTest, InFlightIsSplitAmongTheLiveGateways) {
  test::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << "redis-server did not start";
  Gateway g1(redis.address(), "gw-1"), g2(redis.address(), "gw-2");
  ASSERT_TRUE(
      WaitFor([&] { return g1.shared.live_nodes() == 2 && g2.shared.live_nodes() == 2; }, 3s));
  std::this_thread::sleep_for(400ms);  // both have seen the other in a heartbeat
  // Admissions held in flight (never settled), until a second passes without
  // one (slices refill meanwhile, so a refusal then is the in-flight share).
  auto hold = [](Gateway& g) {
    int held = 0;
    auto until = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < until) {
      if (g.rig.Decide().routed()) {
        ++held;
        until = std::chrono::steady_clock::now() + 1s;
      }
      std::this_thread::sleep_for(5ms);
    }
    return held;
  };
  EXPECT_EQ(hold(g1), 3);
  EXPECT_EQ(hold(g2), 2);
}

// A 429 on one gateway cools the key on the other within 100 ms; a 401's
// quarantine and an operator's enable reach it too.
TEST(SharedStateTest, CooldownsAndQuarantinesReachEveryGateway) {
  test::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << "redis-server did not start";
  Gateway g1(redis.address(), "gw-1"), g2(redis.address(), "gw-2");
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy() && g2.shared.healthy(); }, 3s));
  auto condition = [](Gateway& g) { return g.rig.Key("a").view(g.rig.clock.now()).condition; };
  router::Decision d;
  ASSERT_TRUE(DecideRouted(g1, d));
  router::UpstreamReport report;
  report.retry_at = g1.rig.clock.now() + 30s;
  const auto sent = std::chrono::steady_clock::now();
  g1.rig.Settle(d, 429, report);
  EXPECT_EQ(condition(g1), router::KeyCondition::kCooling);  // at once, here
  ASSERT_TRUE(WaitFor([&] { return condition(g2) == router::KeyCondition::kCooling; }, 1s));
  const auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_LT(took, 100ms);
  std::printf("429 on gw-1 cooled gw-2 after %.1f ms\n",
              std::chrono::duration<double, std::milli>(took).count());
  // The deadline is the same on both (to the millisecond it travels in).
  EXPECT_NEAR(g2.rig.Key("a").view(g2.rig.clock.now()).cooldown_until.time_since_epoch().count(),
              report.retry_at->time_since_epoch().count(), 1000);

  // An operator's enable on gw-2 ends it everywhere; a 401 on gw-2 quarantines it everywhere.
  ASSERT_TRUE(g2.rig.router.set_key_enabled("a", true));
  ASSERT_TRUE(WaitFor([&] { return condition(g1) == router::KeyCondition::kOk; }, 1s));
  ASSERT_TRUE(DecideRouted(g2, d));
  g2.rig.Settle(d, 401);
  ASSERT_TRUE(WaitFor([&] { return condition(g1) == router::KeyCondition::kQuarantined; }, 1s));
  // A gateway that starts later learns the standing from the resync.
  Gateway g3(redis.address(), "gw-3");
  ASSERT_TRUE(WaitFor([&] { return condition(g3) == router::KeyCondition::kQuarantined; }, 3s));
}

TEST(SharedStateTest, EjectionsReachEveryGateway) {
  test::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << "redis-server did not start";
  config::Config config = OneLimitedKey();
  config.mutable_policy()->mutable_server_error_cooldown()->set_seconds(3);
  config.mutable_policy()->set_ejection_minimum_requests(5);  // the provider's ratio counts at 5
  Gateway g1(redis.address(), "gw-1", config), g2(redis.address(), "gw-2", config);
  ASSERT_TRUE(WaitFor([&] { return g1.shared.healthy() && g2.shared.healthy(); }, 3s));
  auto view = [](Gateway& g) { return g.rig.Key("a").view(g.rig.clock.now()); };
  // Five provider faults in a row on gw-1 eject the key there (for 3 s).
  auto sent = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    router::Decision d;
    ASSERT_TRUE(DecideRouted(g1, d));
    sent = std::chrono::steady_clock::now();
    g1.rig.Settle(d, 502);
  }
  const router::KeyView here = view(g1);
  ASSERT_EQ(here.condition, router::KeyCondition::kEjected);  // at once, here
  ASSERT_TRUE(WaitFor([&] { return view(g2).condition == router::KeyCondition::kEjected; }, 1s));
  const auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_LT(took, 100ms);
  std::printf("ejection on gw-1 reached gw-2 after %.1f ms\n",
              std::chrono::duration<double, std::milli>(took).count());
  // The same deadline (to the millisecond it travels in).
  const router::KeyView there = view(g2);
  EXPECT_NEAR(there.ejected_until.time_since_epoch().count(),
              here.ejected_until.time_since_epoch().count(), 1000);
  EXPECT_FALSE(g2.rig.Key("a").healthy(g2.rig.clock.now()));
  // The same five faults in a row ejected the provider too: shared the same way.
  auto provider = [](Gateway& g) {
    return g.rig.registry.providers().get("p").view(g.rig.clock.now());
  };
  ASSERT_EQ(provider(g1).health, router::HealthState::kEjected);
  ASSERT_TRUE(WaitFor([&] { return provider(g2).health == router::HealthState::kEjected; }, 1s));
  EXPECT_NEAR(provider(g2).ejected_until.time_since_epoch().count(),
              provider(g1).ejected_until.time_since_epoch().count(), 1000);
  // A gateway that starts later learns it from the resync.
  Gateway g3(redis.address(), "gw-3", config);
  EXPECT_TRUE(WaitFor([&] { return view(g3).condition == router::KeyCondition::kEjected; }, 2s));
  // gw-2 holds the key until the deadline; then its own probing takes over.
  ASSERT_TRUE(WaitFor([&] { return g2.rig.Key("a").healthy(g2.rig.clock.now()); }, 5s));
  EXPECT_GE(g2.rig.clock.now(), here.ejected_until - std::chrono::milliseconds(1));
  // An operator's enable on gw-2 clears it everywhere.
  ASSERT_TRUE(g2.rig.router.set_key_enabled("a", true));
  EXPECT_TRUE(WaitFor([&] { return view(g1).condition == router::KeyCondition::kOk; }, 1s));
}

}  // namespace
}  // namespace keymux::state
