// A route held for a shared slice: no ACK while it waits, other frames on the
// connection answered meanwhile, then one late ACK when the slice lands, at
// the deadline, or at the agent's stop; dropped with its connection.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/handler/decision_handler.h"
#include "agent/spop/disconnect.h"
#include "agent/spop/hello.h"
#include "tests/support/frame_list.h"
#include "tests/support/spop_client.h"
#include "tests/unit/fake_shared_budget.h"
#include "tests/unit/router_test_config.h"

namespace keymux::handler {
namespace {

using std::chrono::milliseconds;

std::string route_notify(std::uint64_t stream_id, std::uint64_t frame_id,
                         std::string_view second_message = {}) {
  std::string out;
  spop::FrameEncoder frame(out, spop::FrameType::kNotify, stream_id, frame_id, spop::kFlagFin);
  spop::NotifyPayloadEncoder messages(frame.payload());
  messages.begin_message("route", 4);
  messages.add_arg("method", spop::TypedValue::of_string("POST"));
  messages.add_arg("path", spop::TypedValue::of_string("/v1/chat/completions"));
  messages.add_arg("model", spop::TypedValue::of_string("gpt-4o"));
  messages.add_arg("body_size", spop::TypedValue::of_int64(400));
  if (!second_message.empty()) messages.begin_message(second_message, 0);
  frame.finish();
  return out;
}

std::string version_notify(std::uint64_t stream_id, std::uint64_t frame_id) {
  std::string out;
  spop::FrameEncoder frame(out, spop::FrameType::kNotify, stream_id, frame_id, spop::kFlagFin);
  spop::NotifyPayloadEncoder messages(frame.payload());
  messages.begin_message("version", 0);
  frame.finish();
  return out;
}

struct Ack {
  std::uint64_t stream_id;
  std::uint64_t frame_id;
  std::vector<testing::AckAction> actions;
};

class HeldRouteTest : public ::testing::Test {
 protected:
  HeldRouteTest() {
    rig.Key("a").set_shared_budget(&shared);
    std::string hello;
    spop::HaproxyHello h;
    h.supported_versions = "2.0";
    h.max_frame_size = 16380;
    h.capabilities = "pipelining";
    h.engine_id = "engine-1";
    spop::encode_haproxy_hello(hello, h);
    session.receive(hello);
    session.output().clear();
  }
  ~HeldRouteTest() override { rig.Key("a").set_shared_budget(nullptr); }

  // The ACKs the session has written since the last call.
  std::vector<Ack> TakeAcks() {
    std::vector<Ack> acks;
    for (const spop::Frame& f : testing::split_frames(session.output())) {
      EXPECT_EQ(f.type, spop::FrameType::kAck);
      testing::ReceivedFrame r;
      r.type = f.type;
      r.flags = f.flags;
      r.stream_id = f.stream_id;
      r.frame_id = f.frame_id;
      r.payload = std::string(f.payload);
      auto actions = testing::decode_ack(r);
      EXPECT_TRUE(actions.has_value());
      acks.push_back(
          {f.stream_id, f.frame_id, actions.value_or(std::vector<testing::AckAction>{})});
    }
    session.output().clear();
    return acks;
  }
  std::uint64_t Ended(metrics::WaitEnd why) const {
    return metrics.waits_ended[static_cast<std::size_t>(why)].load();
  }

  router::test::RouterRig rig{router::test::OneRoute({{.id = "a", .rpm = 100}})};
  router::test::FakeSharedBudget shared;
  metrics::DecisionMetrics metrics;
  DecisionHandler handler{rig.router, &metrics, {}, milliseconds(50)};
  spop::Session session{handler, {}};
  std::vector<spop::Session*> answered;
};

TEST_F(HeldRouteTest, HeldUntilTheSliceLandsWhileOtherFramesAreAnswered) {
  session.receive(route_notify(1, 1));
  EXPECT_TRUE(TakeAcks().empty());  // no ACK yet
  EXPECT_TRUE(handler.holding());
  EXPECT_EQ(handler.next_deadline_in(), milliseconds(50));
  EXPECT_EQ(metrics.waits_started.load(), 1u);

  // A later frame on the same connection is not held up by it.
  session.receive(version_notify(3, 1));
  const std::vector<Ack> now = TakeAcks();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].stream_id, 3u);

  // Woken, but the slice is not there yet: still held.
  handler.resume(true, answered);
  EXPECT_TRUE(answered.empty());
  EXPECT_TRUE(handler.holding());

  rig.clock.advance(milliseconds(11));
  shared.units = 1;
  handler.resume(true, answered);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0], &session);
  EXPECT_FALSE(handler.holding());
  const std::vector<Ack> late = TakeAcks();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].stream_id, 1u);
  EXPECT_EQ(late[0].frame_id, 1u);
  EXPECT_EQ(testing::find_var_text(late[0].actions, "key_id"), "a");
  EXPECT_EQ(Ended(metrics::WaitEnd::kRefill), 1u);
  EXPECT_EQ(metrics.wait_time.snapshot().count, 1u);
  EXPECT_EQ(metrics.by_outcome[static_cast<std::size_t>(router::Outcome::kRouted)].load(), 1u);
}

TEST_F(HeldRouteTest, AtTheDeadlineTheUsualRefusal) {
  session.receive(route_notify(1, 1));
  rig.clock.advance(milliseconds(49));
  handler.resume(false, answered);
  EXPECT_TRUE(handler.holding());
  EXPECT_EQ(handler.next_deadline_in(), milliseconds(1));
  rig.clock.advance(milliseconds(1));
  handler.resume(false, answered);
  EXPECT_FALSE(handler.holding());
  const std::vector<Ack> late = TakeAcks();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(testing::find_var_text(late[0].actions, "error_code"), "keys_exhausted");
  EXPECT_EQ(Ended(metrics::WaitEnd::kDeadline), 1u);
}

TEST_F(HeldRouteTest, StopAnswersAndCloseDrops) {
  session.receive(route_notify(1, 1));
  session.receive(route_notify(3, 1));
  shared.units = 1;
  handler.answer_held(session);  // the agent stops: decided now, in order
  EXPECT_FALSE(handler.holding());
  const std::vector<Ack> acks = TakeAcks();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(testing::find_var_text(acks[0].actions, "key_id"), "a");
  EXPECT_EQ(testing::find_var_text(acks[1].actions, "error_code"), "keys_exhausted");
  EXPECT_EQ(Ended(metrics::WaitEnd::kStop), 2u);

  session.receive(route_notify(5, 1));
  EXPECT_TRUE(handler.holding());
  handler.forget(session);  // the connection went: nothing was reserved
  EXPECT_FALSE(handler.holding());
  EXPECT_EQ(Ended(metrics::WaitEnd::kClosed), 1u);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).in_flight, 1u);  // only the one routed at stop
}

TEST_F(HeldRouteTest, AReloadWhileHeldIsDecidedOnTheNewConfiguration) {
  session.receive(route_notify(1, 1));
  ASSERT_TRUE(handler.holding());
  // The reload adds key "c" (not shared): at the deadline the request takes it.
  config::Config c = router::test::OneRoute({{.id = "a", .rpm = 100}, {.id = "c"}});
  rig.router.apply(router::Snapshot::build(c, rig.registry, rig.clients));
  rig.clock.advance(milliseconds(50));
  handler.resume(false, answered);
  const std::vector<Ack> late = TakeAcks();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(testing::find_var_text(late[0].actions, "key_id"), "c");
}

TEST_F(HeldRouteTest, ANotifyWithMoreThanTheRouteIsAnsweredAtOnce) {
  session.receive(route_notify(1, 1, "other"));
  EXPECT_FALSE(handler.holding());
  const std::vector<Ack> acks = TakeAcks();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(testing::find_var_text(acks[0].actions, "error_code"), "keys_exhausted");
}

TEST_F(HeldRouteTest, HaproxyDisconnectDropsWhatIsHeld) {
  session.receive(route_notify(1, 1));
  std::string bye;
  spop::encode_disconnect(bye, spop::Status::kNormal, "bye", spop::FrameType::kHaproxyDisconnect);
  session.receive(bye);
  EXPECT_TRUE(session.closing());
  shared.units = 1;
  handler.resume(true, answered);
  EXPECT_TRUE(answered.empty());
  EXPECT_FALSE(handler.holding());
  EXPECT_EQ(Ended(metrics::WaitEnd::kClosed), 1u);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).in_flight, 0u);
}

}  // namespace
}  // namespace keymux::handler
