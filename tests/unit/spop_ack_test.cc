// ACK frames: AckEncoder's exact bytes and decode_actions.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/spop/ack.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using test::Hex;

TEST(AckEncoderTest, ExactBytes) {
  std::string out;
  AckEncoder ack(out, 3, 240);
  ack.set_var(VarScope::kTransaction, "backend", TypedValue::of_string("be_openai"));
  ack.unset_var(VarScope::kRequest, "secret");
  EXPECT_EQ(ack.action_count(), 2u);
  const std::size_t size = ack.finish();
  const std::string payload = B({0x01, 0x03, 0x02, 0x07}) + "backend" + B({0x08, 0x09}) +
                              "be_openai" + B({0x02, 0x02, 0x03, 0x06}) + "secret";
  const std::string header = B({0x67, 0x00, 0x00, 0x00, 0x01, 0x03, 0xF0, 0x00});
  EXPECT_EQ(size, header.size() + payload.size());
  EXPECT_EQ(Hex(out), Hex(B({0x00, 0x00, 0x00, static_cast<int>(size)}) + header + payload));
}

TEST(AckEncoderTest, RoundTrip) {
  const std::string v4 = B({1, 2, 3, 4});
  std::string out = "prefix";
  AckEncoder ack(out, 1ULL << 40, 7);
  ack.set_var(VarScope::kProcess, "p", TypedValue::of_int64(-5));
  ack.set_var(VarScope::kSession, "s", TypedValue::of_bool(true));
  ack.set_var(VarScope::kTransaction, "t", TypedValue::of_ipv4(v4));
  ack.set_var(VarScope::kRequest, "q", TypedValue::null());
  ack.set_var(VarScope::kResponse, "r", TypedValue::of_uint32(429));
  ack.unset_var(VarScope::kTransaction, "gone");
  EXPECT_EQ(ack.body_size(), out.size() - 6 - 4);
  ack.finish();

  const FrameScan scan = scan_frame(std::string_view(out).substr(6), 16380);
  ASSERT_EQ(scan.kind, FrameScan::Kind::kFrame);
  Frame frame;
  ASSERT_EQ(decode_frame(scan.body, frame), Status::kNormal);
  EXPECT_EQ(frame.type, FrameType::kAck);
  EXPECT_EQ(frame.flags, kFlagFin);
  EXPECT_EQ(frame.stream_id, 1ULL << 40);
  EXPECT_EQ(frame.frame_id, 7u);

  std::vector<Action> actions;
  ASSERT_EQ(decode_actions(frame.payload, actions), Status::kNormal);
  ASSERT_EQ(actions.size(), 6u);
  EXPECT_EQ(actions[0].type, ActionType::kSetVar);
  EXPECT_EQ(actions[0].scope, VarScope::kProcess);
  EXPECT_EQ(actions[0].name, "p");
  EXPECT_EQ(actions[0].value.sint, -5);
  EXPECT_EQ(actions[1].scope, VarScope::kSession);
  EXPECT_TRUE(actions[1].value.boolean);
  EXPECT_EQ(actions[2].value.type, DataType::kIpv4);
  EXPECT_EQ(actions[2].value.bytes, v4);
  EXPECT_EQ(actions[3].scope, VarScope::kRequest);
  EXPECT_TRUE(actions[3].value.is_null());
  EXPECT_EQ(actions[4].scope, VarScope::kResponse);
  EXPECT_EQ(actions[4].value.uint, 429u);
  EXPECT_EQ(actions[5].type, ActionType::kUnsetVar);
  EXPECT_EQ(actions[5].scope, VarScope::kTransaction);
  EXPECT_EQ(actions[5].name, "gone");
  EXPECT_TRUE(actions[5].value.is_null());
}

TEST(AckEncoderTest, DiscardLeavesTheBufferAsItWas) {
  std::string out = "earlier";
  AckEncoder ack(out, 1, 1);
  ack.set_var(VarScope::kTransaction, "x", TypedValue::of_string(std::string(500, 'x')));
  ack.discard();
  EXPECT_EQ(out, "earlier");
}

TEST(DecodeActionsTest, EmptyPayloadHasNoActions) {
  std::vector<Action> actions(3);
  ASSERT_EQ(decode_actions("", actions), Status::kNormal);
  EXPECT_TRUE(actions.empty());
}

TEST(DecodeActionsTest, MalformedIsInvalid) {
  const std::string cases[] = {
      B({0x03, 0x02, 0x02, 0x01, 'a'}),              // unknown action type
      B({0x01, 0x02, 0x02, 0x01, 'a', 0x11}),        // set-var with 2 args
      B({0x02, 0x03, 0x02, 0x01, 'a'}),              // unset-var with 3 args
      B({0x01, 0x03, 0x05, 0x01, 'a', 0x11}),        // unknown scope
      B({0x01, 0x03, 0x02, 0x04, 'a'}),              // name cut short
      B({0x01, 0x03, 0x02, 0x01, 'a'}),              // set-var without a value
      B({0x01, 0x03, 0x02, 0x01, 'a', 0x08, 0x05}),  // value cut short
      B({0x01}),                                     // nb-args missing
      B({0x02, 0x02}),                               // scope missing
  };
  for (const std::string& payload : cases) {
    SCOPED_TRACE(Hex(payload));
    std::vector<Action> actions;
    EXPECT_EQ(decode_actions(payload, actions), Status::kInvalidFrame);
    EXPECT_TRUE(actions.empty());
  }
}

}  // namespace
}  // namespace keymux::spop
