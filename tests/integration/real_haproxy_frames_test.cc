// Frames captured from real HAProxy 2.6 and 3.2 (tests/fixtures/), replayed to the server.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(KEYMUX_FIXTURES_DIR) + "/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class RealHaproxyFrames : public ::testing::TestWithParam<const char*> {};

TEST_P(RealHaproxyFrames, HelloAndNotifyAreServed) {
  const std::string version = GetParam();
  const std::string hello = read_fixture("haproxy-" + version + "-hello.bin");
  const std::string notify = read_fixture("haproxy-" + version + "-notify.bin");
  if (hello.empty() || notify.empty()) GTEST_SKIP() << "fixtures for " << version << " missing";

  // What HAProxy sent, decoded by the test's own eyes: the ids to expect back.
  const spop::FrameScan scan = spop::scan_frame(notify, spop::kLargestMaxFrameSize);
  ASSERT_EQ(scan.kind, spop::FrameScan::Kind::kFrame);
  spop::Frame sent;
  ASSERT_EQ(spop::decode_frame(scan.body, sent), spop::Status::kNormal);

  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  ASSERT_TRUE(client.send(hello));
  ReceivedFrame frame;
  ASSERT_EQ(client.read_frame(frame), SpopClient::ReadStatus::kFrame) << client.last_error();
  const std::optional<AgentHelloInfo> info = decode_agent_hello(frame);
  ASSERT_TRUE(info.has_value()) << "frame type " << int(frame.type);
  EXPECT_EQ(info->version(), "2.0");
  EXPECT_EQ(info->capabilities(), "pipelining");
  EXPECT_EQ(info->max_frame_size(), 32764u) << "captured with tune.bufsize 32768";

  // The same NOTIFY twice, the second time a byte at a time.
  ASSERT_TRUE(client.send(notify));
  client.set_nodelay();
  ASSERT_TRUE(client.send_bytewise(notify));
  for (int i = 0; i < 2; ++i) {
    const auto actions = client.read_ack(&frame);
    ASSERT_TRUE(actions.has_value()) << client.last_error();
    EXPECT_EQ(frame.stream_id, sent.stream_id);
    EXPECT_EQ(frame.frame_id, sent.frame_id);
    EXPECT_EQ(find_var_text(*actions, "msg"), "route");
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, RealHaproxyFrames, ::testing::Values("2.6", "3.2"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '.' ? '_' : c;
                           return "haproxy_" + name;
                         });

}  // namespace
}  // namespace keymux::testing
