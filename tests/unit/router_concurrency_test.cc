// Several worker threads deciding and settling on one Router: no key is ever
// admitted over its rpm, however the threads interleave.
#include <gtest/gtest.h>

#include <barrier>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::KeySpec;
using test::OneRoute;
using test::RouterRig;

TEST(RouterConcurrencyTest, FourThreadsNeverOverAdmit) {
  const std::vector<KeySpec> keys = {{.id = "a", .rpm = 20},
                                     {.id = "b", .weight = 2, .rpm = 50},
                                     {.id = "c", .rpm = 7},
                                     {.id = "d", .rpm = 33, .max_in_flight = 3}};
  RouterRig rig(OneRoute(keys));
  constexpr int kThreads = 4;
  constexpr int kRounds = 400;
  constexpr int kPerRound = 40;

  // The clock moves only between rounds, so each admission's time is known.
  std::mt19937_64 clock_rng(7);
  std::barrier sync(kThreads,
                    [&]() noexcept { rig.clock.advance(milliseconds(clock_rng() % 2000)); });
  struct Record {
    std::string key;
    Time at;
  };
  std::vector<std::vector<Record>> records(kThreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t]() {
      std::mt19937_64 rng(100 + t);
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kPerRound; ++i) {
          const std::string id = "t" + std::to_string(t) + "-" + std::to_string(rng() % 1000);
          const Decision d = rig.Decide("gpt-4o", id);
          if (!d.routed()) continue;
          records[t].push_back({d.key->id, rig.clock.now()});
          const int status = rng() % 10 == 0 ? 500 : 200;
          if (rng() % 20 != 0) rig.Settle(d, status);
        }
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& w : workers) w.join();

  std::map<std::string, std::vector<Time>> by_key;
  for (const auto& list : records) {
    for (const Record& r : list) by_key[r.key].push_back(r.at);
  }
  std::size_t total = 0;
  for (const KeySpec& k : keys) {
    auto& times = by_key[k.id];
    std::sort(times.begin(), times.end());
    total += times.size();
    ASSERT_FALSE(times.empty()) << k.id;
    std::size_t first = 0;
    for (std::size_t last = 0; last < times.size(); ++last) {
      while (times[first] <= times[last] - seconds(60)) ++first;
      ASSERT_LE(last - first + 1, k.rpm) << k.id << " over its rpm";
    }
    EXPECT_EQ(rig.Key(k.id).view(rig.clock.now()).admitted_total, times.size());
  }
  EXPECT_GT(total, 600u);  // ~400 s of rounds at 110 rpm in all
}

}  // namespace
}  // namespace keymux::router
