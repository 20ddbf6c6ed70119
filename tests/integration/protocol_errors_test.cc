// Bad input gets AGENT-DISCONNECT with the matching status, then that connection alone closes.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

using spop::FrameType;
using spop::Status;

// Expects an AGENT-DISCONNECT with `status`, then the connection closed.
void expect_disconnect_then_eof(SpopClient& client, Status status,
                                std::chrono::milliseconds timeout = kDefaultTimeout) {
  ReceivedFrame frame;
  ASSERT_EQ(client.read_frame(frame, timeout), SpopClient::ReadStatus::kFrame)
      << client.last_error();
  ASSERT_EQ(frame.type, FrameType::kAgentDisconnect) << "frame type " << int(frame.type);
  EXPECT_EQ(frame.flags, spop::kFlagFin);
  const std::optional<DisconnectInfo> d = decode_agent_disconnect(frame);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->status_code, static_cast<std::uint32_t>(status)) << d->message;
  EXPECT_FALSE(d->message.empty());
  EXPECT_TRUE(client.wait_eof()) << client.last_error();
}

// A length prefix with no body behind it.
std::string length_prefix(std::uint32_t length) {
  std::string out;
  spop::Writer(out).u32be(length);
  return out;
}

class ProtocolErrors : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << server_.error(); }
  const std::string& address() const { return server_.address(); }

  RunningServer server_{echo_factory()};
};

TEST_F(ProtocolErrors, MalformedFrameClosesOnlyThatConnection) {
  SpopClient good;
  connect_and_handshake(good, address());
  ASSERT_TRUE(good.send(simple_notify_frame(1, 1, "before")));
  ASSERT_TRUE(good.read_ack().has_value()) << good.last_error();

  SpopClient bad;
  connect_and_handshake(bad, address());
  // A message announcing 3 arguments and carrying none.
  std::string payload;
  spop::Writer writer(payload);
  writer.length_prefixed("route");
  writer.u8(3);
  ASSERT_TRUE(bad.send(raw_frame(FrameType::kNotify, spop::kFlagFin, 1, 1, payload)));
  expect_disconnect_then_eof(bad, Status::kInvalidFrame);

  // The other connection never noticed.
  for (std::uint64_t frame_id = 2; frame_id < 12; ++frame_id) {
    const std::string id = "after-" + std::to_string(frame_id);
    ASSERT_TRUE(good.send(simple_notify_frame(1, frame_id, id)));
    ReceivedFrame frame;
    const auto actions = good.read_ack(&frame);
    ASSERT_TRUE(actions.has_value()) << good.last_error();
    EXPECT_EQ(frame.frame_id, frame_id);
    EXPECT_EQ(find_var_text(*actions, "id"), id);
  }
}

TEST_F(ProtocolErrors, MalformedFrameWhileAnotherConnectionIsMidFrame) {
  SpopClient good;
  connect_and_handshake(good, address());
  const std::string notify = simple_notify_frame(5, 6, "split");
  ASSERT_TRUE(good.send(std::string_view(notify).substr(0, 7)));

  SpopClient bad;
  connect_and_handshake(bad, address());
  ASSERT_TRUE(bad.send(raw_frame(FrameType::kNotify, spop::kFlagFin, 1, 1, "\x05rou")));
  expect_disconnect_then_eof(bad, Status::kInvalidFrame);

  ASSERT_TRUE(good.send(std::string_view(notify).substr(7)));
  ReceivedFrame frame;
  const auto actions = good.read_ack(&frame);
  ASSERT_TRUE(actions.has_value()) << good.last_error();
  EXPECT_EQ(frame.stream_id, 5u);
  EXPECT_EQ(frame.frame_id, 6u);
}

TEST_F(ProtocolErrors, TruncatedVarintInHeaderGetsStatus4) {
  SpopClient client;
  connect_and_handshake(client, address());
  // type NOTIFY, flags FIN, then a stream-id varint that never ends.
  std::string frame = length_prefix(7);
  frame += std::string("\x03\x00\x00\x00\x01\xf0\xf0", 7);
  ASSERT_TRUE(client.send(frame));
  expect_disconnect_then_eof(client, Status::kInvalidFrame);
}

TEST_F(ProtocolErrors, UnknownFrameTypeGetsStatus4) {
  SpopClient client;
  connect_and_handshake(client, address());
  ASSERT_TRUE(client.send(raw_frame(static_cast<FrameType>(42), spop::kFlagFin, 0, 0, "")));
  expect_disconnect_then_eof(client, Status::kInvalidFrame);
}

TEST_F(ProtocolErrors, SecondHelloGetsStatus4) {
  SpopClient client;
  connect_and_handshake(client, address());
  ASSERT_TRUE(client.send_hello());
  expect_disconnect_then_eof(client, Status::kInvalidFrame);
}

TEST_F(ProtocolErrors, OversizedLengthIsRefusedWithoutWaitingForTheBody) {
  SpopClient client;
  connect_and_handshake(client, address());  // agreed size 16380
  // Only the prefix is sent: the answer must come without the body.
  ASSERT_TRUE(client.send(length_prefix(16381)));
  expect_disconnect_then_eof(client, Status::kTooBig);
}

TEST_F(ProtocolErrors, HugeLengthBeforeHelloGetsStatus3) {
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(address(), error)) << error;
  ASSERT_TRUE(client.send(length_prefix(0xffffffff)));
  expect_disconnect_then_eof(client, Status::kTooBig);
}

TEST_F(ProtocolErrors, ZeroLengthFrameGetsStatus4) {
  SpopClient client;
  connect_and_handshake(client, address());
  ASSERT_TRUE(client.send(length_prefix(0)));
  expect_disconnect_then_eof(client, Status::kInvalidFrame);
}

TEST_F(ProtocolErrors, ZeroLengthFrameBeforeHelloGetsStatus4) {
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(address(), error)) << error;
  ASSERT_TRUE(client.send(length_prefix(0)));
  expect_disconnect_then_eof(client, Status::kInvalidFrame);
}

TEST_F(ProtocolErrors, NotifyBeforeHelloGetsStatus4) {
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(address(), error)) << error;
  ASSERT_TRUE(client.send(simple_notify_frame(1, 1)));
  expect_disconnect_then_eof(client, Status::kInvalidFrame);
}

TEST_F(ProtocolErrors, NotifyWithoutFinGetsStatus10) {
  SpopClient client;
  connect_and_handshake(client, address());
  ASSERT_TRUE(client.send(notify_frame(1, 1, {{"check", {}}}, /*flags=*/0)));
  expect_disconnect_then_eof(client, Status::kFragmentationNotSupported);
}

TEST_F(ProtocolErrors, AbortedNotifyGetsStatus10) {
  SpopClient client;
  connect_and_handshake(client, address());
  ASSERT_TRUE(client.send(notify_frame(1, 1, {{"check", {}}}, spop::kFlagFin | spop::kFlagAbort)));
  expect_disconnect_then_eof(client, Status::kFragmentationNotSupported);
}

TEST_F(ProtocolErrors, FramesAfterTheErrorAreNotAnswered) {
  SpopClient client;
  connect_and_handshake(client, address());
  // The error and two valid NOTIFYs in one segment: only the disconnect comes back.
  ASSERT_TRUE(
      client.send(length_prefix(0) + simple_notify_frame(1, 1) + simple_notify_frame(1, 2)));
  expect_disconnect_then_eof(client, Status::kInvalidFrame);
}

TEST_F(ProtocolErrors, PeerClosingMidFrameDoesNotDisturbTheServer) {
  {
    SpopClient client;
    connect_and_handshake(client, address());
    const std::string notify = simple_notify_frame(1, 1);
    ASSERT_TRUE(client.send(std::string_view(notify).substr(0, notify.size() / 2)));
  }  // closed mid-frame
  SpopClient client;
  connect_and_handshake(client, address());
  ASSERT_TRUE(client.send(simple_notify_frame(1, 1, "still-here")));
  const auto actions = client.read_ack();
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_EQ(find_var_text(*actions, "id"), "still-here");
}

}  // namespace
}  // namespace keymux::testing
