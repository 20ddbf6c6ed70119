// A request for a shared key nobody used yet waits for its first slice
// instead of being refused: spoken over SPOP to a real server with a real
// redis-server (free loopback port). The held NOTIFY gets its ACK when the
// slice lands; other frames on the same connection are answered meanwhile;
// a connection closed while a frame is held leaves nothing reserved.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>

#include "agent/handler/decision_handler.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/state/redis/shared_state.h"
#include "tests/integration/server_fixture.h"
#include "tests/support/redis_server.h"
#include "tests/support/redis_state.h"
#include "tests/unit/router_test_config.h"

namespace keymux::testing {
namespace {

using namespace std::chrono_literals;
using spop::TypedValue;
using test::WaitFor;

constexpr auto kWaitDeadline = 150ms;  // roomy on a loaded machine; the default is 50ms

// Route "cold" has only key "a" (rpm 40, shared, never used); route "free"
// only key "b" (no limits: its shared budget never runs dry).
config::Config TwoRoutes() {
  config::Config c;
  router::test::AddProvider(c, "p", {{.id = "a", .rpm = 40}});
  router::test::AddProvider(c, "q", {{.id = "b"}});
  router::test::AddRoute(c, {"cold"}, {{"p", 0, 1}});
  router::test::AddRoute(c, {"free"}, {{"q", 0, 1}});
  router::test::SetTestDefaults(c);
  return c;
}

config::State StateAt(const std::string& address) { return test::RedisState(address, "w:"); }

std::vector<TestMessage> Route(std::string_view model, std::string_view request_id) {
  return {{"route",
           {{"method", TypedValue::of_string("POST")},
            {"path", TypedValue::of_string("/v1/chat/completions")},
            {"request_id", TypedValue::of_string(request_id)},
            {"model", TypedValue::of_string(model)},
            {"body_size", TypedValue::of_int64(60)}}}};
}

class SharedWaitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redis_.ok()) GTEST_SKIP() << "redis-server did not start";
    server_ = std::make_unique<RunningServer>([this](int) {
      return std::make_unique<handler::DecisionHandler>(rig_.router, &metrics_.add_worker(),
                                                        handler::GatewaySecret{}, kWaitDeadline);
    });
    ASSERT_TRUE(server_->ok()) << server_->error();
    shared_ = std::make_unique<state::SharedState>(StateAt(redis_.address()), "gw-1", rig_.router);
    shared_->set_on_refill([this] { server_->server().wake_held(); });
    std::string error;
    ASSERT_TRUE(shared_->start(error)) << error;
    ASSERT_TRUE(WaitFor([&] { return shared_->healthy() && shared_->live_nodes() >= 1; }, 3s));
    connect_and_handshake(client_, server_->address());
  }
  void TearDown() override {
    if (server_) server_->stop();  // first: the workers decide with the shared budgets
    if (shared_) shared_->stop();
  }

  // Redis holds writes (asks) for a while: a frame stays held until the ask's
  // command_timeout (100 ms here) instead of ~1 ms.
  void PauseRedisWrites() {
    const std::string cmd =
        "redis-cli -p " + std::to_string(redis_.port()) + " CLIENT PAUSE 400 WRITE > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  std::uint64_t Ended(metrics::WaitEnd why) const {
    return metrics_.totals().waits_ended[static_cast<std::size_t>(why)];
  }

  test::RedisServer redis_;
  router::test::BasicRouterRig<router::SystemClock> rig_{TwoRoutes()};
  metrics::AgentMetrics metrics_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<state::SharedState> shared_;
  SpopClient client_;
};

TEST_F(SharedWaitTest, AColdKeysFirstRequestIsServedByItAfterTheWait) {
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client_.send_notify(1, 1, Route("cold", "r-1"))) << client_.last_error();
  ReceivedFrame frame;
  const auto actions = client_.read_ack(&frame, 2s);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(actions.has_value()) << client_.last_error();
  EXPECT_EQ(frame.stream_id, 1u);
  EXPECT_EQ(frame.frame_id, 1u);
  EXPECT_EQ(find_var_text(*actions, "key_id"), "a");
  EXPECT_EQ(find_var_text(*actions, "error_code"), std::nullopt);
  EXPECT_LT(waited, kWaitDeadline);  // woken by the slice (asked at once), not by the deadline
  const metrics::DecisionTotals totals = metrics_.totals();
  EXPECT_EQ(totals.waits_started, 1u);
  EXPECT_EQ(Ended(metrics::WaitEnd::kRefill), 1u);
  EXPECT_EQ(Ended(metrics::WaitEnd::kDeadline), 0u);
  EXPECT_EQ(totals.by_outcome[static_cast<std::size_t>(router::Outcome::kRouted)], 1u);
  std::printf("first request on a cold shared key answered after %.1f ms\n",
              std::chrono::duration<double, std::milli>(waited).count());

  // The first slice is small (the key had no rate yet): the next requests
  // may wait a round trip too, and are served by the key all the same.
  for (std::uint64_t stream = 3; stream < 13; stream += 2) {
    ASSERT_TRUE(client_.send_notify(stream, 1, Route("cold", "r-" + std::to_string(stream))));
    const auto next = client_.read_ack(&frame, 2s);
    ASSERT_TRUE(next.has_value()) << client_.last_error();
    EXPECT_EQ(find_var_text(*next, "key_id"), "a");
  }
  EXPECT_EQ(Ended(metrics::WaitEnd::kDeadline), 0u);
}

TEST_F(SharedWaitTest, AHeldFrameDoesNotHoldUpLaterFramesOnItsConnection) {
  // One write with both NOTIFYs: the worker reads them in one batch.
  const std::string both = notify_frame(1, 1, Route("cold", "r-cold")) +
                           notify_frame(3, 1, Route("free", "r-free")) +
                           notify_frame(5, 1, Route("free", "r-free-2"));
  ASSERT_TRUE(client_.send(both));
  std::vector<std::uint64_t> order;
  std::vector<std::string> keys;
  for (int i = 0; i < 3; ++i) {
    ReceivedFrame frame;
    const auto actions = client_.read_ack(&frame, 2s);
    ASSERT_TRUE(actions.has_value()) << client_.last_error();
    order.push_back(frame.stream_id);
    keys.push_back(find_var_text(*actions, "key_id").value_or("(none)"));
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{3, 5, 1}));
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "b", "a"}));
  EXPECT_EQ(Ended(metrics::WaitEnd::kRefill), 1u);
}

TEST_F(SharedWaitTest, AConnectionClosedWhileAFrameIsHeldLeavesNothingReserved) {
  PauseRedisWrites();
  ASSERT_TRUE(client_.send_notify(1, 1, Route("cold", "r-gone")));
  ASSERT_TRUE(WaitFor([&] { return metrics_.totals().waits_started == 1; }, 1s));
  client_.close();
  ASSERT_TRUE(WaitFor([&] { return Ended(metrics::WaitEnd::kClosed) == 1; }, 1s));
  const router::KeyView a = rig_.Key("a").view(rig_.clock.now());
  EXPECT_EQ(a.in_flight, 0u);
  EXPECT_EQ(a.admitted_total, 0u);
  EXPECT_EQ(metrics_.totals().by_outcome[static_cast<std::size_t>(router::Outcome::kRouted)], 0u);
}

TEST_F(SharedWaitTest, AStopAnswersAHeldFrameBeforeItsDisconnect) {
  // Stopped while the frame is held: it is answered before the goodbye.
  PauseRedisWrites();
  ASSERT_TRUE(client_.send_notify(1, 1, Route("cold", "r-stop")));
  ASSERT_TRUE(WaitFor([&] { return metrics_.totals().waits_started == 1; }, 1s));
  server_->stop();
  ReceivedFrame frame;
  const auto actions = client_.read_ack(&frame, 2s);
  ASSERT_TRUE(actions.has_value()) << client_.last_error();
  EXPECT_EQ(frame.stream_id, 1u);
  EXPECT_TRUE(client_.read_disconnect(2s).has_value()) << client_.last_error();
  EXPECT_EQ(find_var_text(*actions, "error_code"), "keys_exhausted");  // no slice came
  EXPECT_EQ(Ended(metrics::WaitEnd::kStop), 1u);
}

}  // namespace
}  // namespace keymux::testing
