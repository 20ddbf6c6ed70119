// The hello exchange, health checks, disconnects and listeners, through a real server.
#include <gtest/gtest.h>

#include <string>

#include "agent/spop/kv_list.h"
#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

using spop::FrameType;
using spop::Status;

std::uint32_t code(Status s) { return static_cast<std::uint32_t>(s); }

// Expects an AGENT-DISCONNECT with `status`, then the connection closed.
void expect_disconnect_then_eof(SpopClient& client, Status status) {
  ReceivedFrame frame;
  ASSERT_EQ(client.read_frame(frame), SpopClient::ReadStatus::kFrame) << client.last_error();
  ASSERT_EQ(frame.type, FrameType::kAgentDisconnect);
  EXPECT_EQ(frame.flags, spop::kFlagFin);
  EXPECT_EQ(frame.stream_id, 0u);
  EXPECT_EQ(frame.frame_id, 0u);
  const std::optional<DisconnectInfo> d = decode_agent_disconnect(frame);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->status_code, code(status)) << d->message;
  EXPECT_FALSE(d->message.empty());
  EXPECT_TRUE(client.wait_eof()) << client.last_error();
}

TEST(Handshake, AgentHelloFollowsTheRules) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.send_hello());
  ReceivedFrame frame;
  ASSERT_EQ(client.read_frame(frame), SpopClient::ReadStatus::kFrame) << client.last_error();
  EXPECT_EQ(frame.type, FrameType::kAgentHello);
  EXPECT_EQ(frame.flags, spop::kFlagFin);
  EXPECT_EQ(frame.stream_id, 0u);
  EXPECT_EQ(frame.frame_id, 0u);
  const std::optional<AgentHelloInfo> hello = decode_agent_hello(frame);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->version(), "2.0");
  EXPECT_EQ(hello->capabilities(), "pipelining");
  EXPECT_EQ(hello->max_frame_size(), 16380u);
  EXPECT_EQ(hello->items.size(), 3u) << "announce version, max-frame-size, capabilities only";

  ASSERT_TRUE(client.send(simple_notify_frame(1, 1, "first")));
  ReceivedFrame ack_frame;
  const auto actions = client.read_ack(&ack_frame);
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_EQ(ack_frame.flags, spop::kFlagFin);
  EXPECT_EQ(find_var_text(*actions, "id"), "first");
}

TEST(Handshake, HelloListingSeveralVersionsIsAccepted) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  spop::HaproxyHello hello = default_hello();
  hello.supported_versions = "1.0, 2.0";
  hello.capabilities = "pipelining,async";  // what 2.6 announces
  SpopClient client;
  AgentHelloInfo info;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.handshake(hello, &info)) << client.last_error();
  EXPECT_EQ(info.version(), "2.0");
  EXPECT_EQ(info.capabilities(), "pipelining");
}

TEST(Handshake, UnsupportedVersionGetsStatus8) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  spop::HaproxyHello hello = default_hello();
  hello.supported_versions = "1.0";
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.send_hello(hello));
  expect_disconnect_then_eof(client, Status::kUnsupportedVersion);
}

TEST(Handshake, MaxFrameSizeBelow256GetsStatus9) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.send_hello(default_hello(255)));
  expect_disconnect_then_eof(client, Status::kBadMaxFrameSize);
}

TEST(Handshake, HelloWithoutVersionGetsStatus5) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  std::string hello;
  spop::FrameEncoder frame(hello, FrameType::kHaproxyHello, 0, 0);
  spop::encode_kv(frame.payload(), "max-frame-size", spop::TypedValue::of_uint32(16380));
  spop::encode_kv(frame.payload(), "capabilities", spop::TypedValue::of_string("pipelining"));
  frame.finish();
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.send(hello));
  expect_disconnect_then_eof(client, Status::kNoVersion);
}

TEST(Handshake, HealthCheckGetsHelloThenClose) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  spop::HaproxyHello hello = default_hello();
  hello.healthcheck = true;
  SpopClient client;
  AgentHelloInfo info;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.handshake(hello, &info)) << client.last_error();
  EXPECT_EQ(info.version(), "2.0");
  EXPECT_TRUE(client.wait_eof()) << client.last_error();
}

TEST(Handshake, HaproxyDisconnectGetsAgentDisconnectThenClose) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());
  ASSERT_TRUE(client.send(haproxy_disconnect_frame()));
  expect_disconnect_then_eof(client, Status::kNormal);
}

TEST(Handshake, MaxFrameSizeIsTheSmallerOfBoth) {
  server::ServerOptions options = test_options();
  options.max_frame_size = 4096;
  RunningServer server(echo_factory(), options);
  ASSERT_TRUE(server.ok()) << server.error();

  for (const auto& [haproxy, agreed] :
       std::vector<std::pair<std::uint32_t, std::uint32_t>>{{16380, 4096},
                                                            {1024, 1024},
                                                            {256, 256},
                                                            {4096, 4096},
                                                            {4097, 4096},
                                                            {0xffffffff, 4096}}) {
    SCOPED_TRACE("haproxy announces " + std::to_string(haproxy));
    SpopClient client;
    AgentHelloInfo info;
    std::string error;
    ASSERT_TRUE(client.connect(server.address(), error)) << error;
    ASSERT_TRUE(client.handshake(default_hello(haproxy), &info)) << client.last_error();
    EXPECT_EQ(info.max_frame_size(), agreed);
  }
}

TEST(Handshake, NotifyAboveTheNegotiatedSizeGetsStatus3) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  AgentHelloInfo info;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.handshake(default_hello(1024), &info)) << client.last_error();
  ASSERT_EQ(info.max_frame_size(), 1024u);

  // Exactly the agreed size is fine (the echo handler does not echo "pad",
  // so the ACK stays small)...
  auto padded_notify = [](std::uint64_t frame_id, std::size_t pad) {
    const std::string blob(pad, 'a');
    return notify_frame(1, frame_id, {{"pad", {{"blob", spop::TypedValue::of_string(blob)}}}});
  };
  std::size_t pad = 300;
  while (padded_notify(1, pad).size() - spop::kLengthPrefixSize < 1024) ++pad;
  const std::string notify = padded_notify(1, pad);
  ASSERT_EQ(notify.size() - spop::kLengthPrefixSize, 1024u);
  ASSERT_TRUE(client.send(notify));
  const auto actions = client.read_ack();
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_EQ(find_var_text(*actions, "msg"), "pad");

  // ...one byte more is not.
  ASSERT_TRUE(client.send(padded_notify(2, pad + 1)));
  expect_disconnect_then_eof(client, Status::kTooBig);
}

TEST(Handshake, AckThatWouldExceedTheNegotiatedSizeStillAnswersWithinIt) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  AgentHelloInfo info;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.handshake(default_hello(256), &info)) << client.last_error();
  ASSERT_EQ(info.max_frame_size(), 256u);

  // The echo handler repeats the id: 220 bytes fit in a NOTIFY of 256, not in its ACK.
  const std::string id(220, 'i');
  const std::string notify = simple_notify_frame(1, 1, id);
  ASSERT_LE(notify.size() - spop::kLengthPrefixSize, 256u);
  ASSERT_TRUE(client.send(notify));
  ReceivedFrame frame;
  const auto actions = client.read_ack(&frame);
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_EQ(frame.stream_id, 1u);
  EXPECT_EQ(frame.frame_id, 1u);
  EXPECT_GE(actions->size(), 1u);
  EXPECT_LE(frame.body_size, 256u);

  // The connection is still in service.
  ASSERT_TRUE(client.send(simple_notify_frame(1, 2, "small")));
  const auto next = client.read_ack(&frame);
  ASSERT_TRUE(next.has_value()) << client.last_error();
  EXPECT_EQ(find_var_text(*next, "id"), "small");
}

TEST(Handshake, UnixSocketListenerServes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string unix_address = "unix:" + dir.path() + "/agent.sock";
  RunningServer server(echo_factory(), test_options({"127.0.0.1:0", unix_address}));
  ASSERT_TRUE(server.ok()) << server.error();
  ASSERT_EQ(server.address_count(), 2u);
  EXPECT_EQ(server.address(1), unix_address);

  for (std::size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(server.address(i));
    SpopClient client;
    connect_and_handshake(client, server.address(i));
    ASSERT_TRUE(client.send(simple_notify_frame(7, 9, "over-" + std::to_string(i))));
    ReceivedFrame frame;
    const auto actions = client.read_ack(&frame);
    ASSERT_TRUE(actions.has_value()) << client.last_error();
    EXPECT_EQ(frame.stream_id, 7u);
    EXPECT_EQ(frame.frame_id, 9u);
    EXPECT_EQ(find_var_text(*actions, "id"), "over-" + std::to_string(i));
  }
}

TEST(Handshake, BoundAddressesReportRealPorts) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  EXPECT_TRUE(server.address().starts_with("127.0.0.1:"));
  EXPECT_NE(server.address(), "127.0.0.1:0");
}

TEST(Handshake, UnbindableListenerFailsToStart) {
  server::Server server(test_options({"unix:/nonexistent-dir/keymux/agent.sock"}), echo_factory());
  std::string error;
  EXPECT_FALSE(server.start(error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace keymux::testing
