// The placeholder handler, served for real: one agent_version variable per message.
#include "agent/handler/version_handler.h"

#include <gtest/gtest.h>

#include <string>

#include "agent/version.h"
#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

server::HandlerFactory version_factory() {
  return [](int) { return std::make_unique<handler::VersionHandler>(); };
}

TEST(VersionHandler, EachMessageGetsTheAgentVersion) {
  RunningServer server(version_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());

  ASSERT_TRUE(client.send_notify(9, 1,
                                 {{"route", {{"model", spop::TypedValue::of_string("gpt")}}},
                                  {"settle", {{"status", spop::TypedValue::of_int32(200)}}}}));
  ReceivedFrame frame;
  const auto actions = client.read_ack(&frame);
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_EQ(frame.stream_id, 9u);
  EXPECT_EQ(frame.frame_id, 1u);
  ASSERT_EQ(actions->size(), 2u);
  for (const AckAction& action : *actions) {
    EXPECT_EQ(action.type, spop::ActionType::kSetVar);
    EXPECT_EQ(action.scope, spop::VarScope::kTransaction);
    EXPECT_EQ(action.name, "agent_version");
    EXPECT_EQ(action.value.type, spop::DataType::kString);
    EXPECT_EQ(action.value.bytes, std::string(kAgentVersion));
  }
}

TEST(VersionHandler, NotifyWithoutMessagesStillGetsAnAction) {
  RunningServer server(version_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());
  ASSERT_TRUE(client.send_notify(1, 1, {}));
  const auto actions = client.read_ack();
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_GE(actions->size(), 1u);
}

TEST(VersionHandler, ServesEveryArgumentType) {
  RunningServer server(version_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());
  const std::string ipv4("\x7f\x00\x00\x01", 4);
  const std::string ipv6(16, '\x01');
  ASSERT_TRUE(
      client.send_notify(1, 1,
                         {{"types",
                           {{"null", spop::TypedValue::null()},
                            {"bool", spop::TypedValue::of_bool(true)},
                            {"i32", spop::TypedValue::of_int32(-5)},
                            {"u32", spop::TypedValue::of_uint32(5)},
                            {"i64", spop::TypedValue::of_int64(-(1ll << 40))},
                            {"u64", spop::TypedValue::of_uint64(~0ull)},
                            {"ipv4", spop::TypedValue::of_ipv4(ipv4)},
                            {"ipv6", spop::TypedValue::of_ipv6(ipv6)},
                            {"str", spop::TypedValue::of_string("")},
                            {"bin", spop::TypedValue::of_binary(std::string_view("\x00\x01", 2))},
                            {"", spop::TypedValue::of_string("unnamed")}}}}));
  const auto actions = client.read_ack();
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_EQ(actions->size(), 1u);
}

}  // namespace
}  // namespace keymux::testing
