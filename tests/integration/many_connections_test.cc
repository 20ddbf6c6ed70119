// A thousand connections at once, all served.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

// Client and server ends share this process: two descriptors per connection.
bool ensure_open_files(rlim_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= wanted) return true;
  if (limit.rlim_max < wanted) return false;
  limit.rlim_cur = wanted;
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

TEST(ManyConnections, AThousandAtOnceAllGetHelloAndAck) {
  constexpr int kConnections = 1000;
  ASSERT_TRUE(ensure_open_files(2 * kConnections + 256))
      << "RLIMIT_NOFILE too low for " << kConnections << " connections";
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();

  std::vector<SpopClient> clients(kConnections);
  std::string error;
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(clients[i].connect(server.address(), error)) << "connection " << i << ": " << error;
  }
  // Every hello is in before any answer is read: all connections are open at once.
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(clients[i].send_hello()) << "connection " << i << ": " << clients[i].last_error();
  }
  for (int i = 0; i < kConnections; ++i) {
    ReceivedFrame frame;
    ASSERT_EQ(clients[i].read_frame(frame), SpopClient::ReadStatus::kFrame)
        << "connection " << i << ": " << clients[i].last_error();
    ASSERT_EQ(frame.type, spop::FrameType::kAgentHello) << "connection " << i;
  }
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(clients[i].send(simple_notify_frame(1, i + 1, "conn-" + std::to_string(i))))
        << "connection " << i << ": " << clients[i].last_error();
  }
  for (int i = 0; i < kConnections; ++i) {
    ReceivedFrame frame;
    const auto actions = clients[i].read_ack(&frame);
    ASSERT_TRUE(actions.has_value()) << "connection " << i << ": " << clients[i].last_error();
    EXPECT_EQ(frame.stream_id, 1u);
    EXPECT_EQ(frame.frame_id, static_cast<std::uint64_t>(i + 1));
    EXPECT_EQ(find_var_text(*actions, "id"), "conn-" + std::to_string(i));
  }
}

TEST(ManyConnections, ConnectionsComingAndGoingDoNotLeak) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  for (int i = 0; i < 300; ++i) {
    SpopClient client;
    connect_and_handshake(client, server.address());
    if (HasFatalFailure()) return;
    if (i % 3 == 0) {
      ASSERT_TRUE(client.send(haproxy_disconnect_frame()));
      ASSERT_TRUE(client.read_disconnect().has_value()) << client.last_error();
      ASSERT_TRUE(client.wait_eof()) << client.last_error();
    } else if (i % 3 == 1) {
      ASSERT_TRUE(client.send(simple_notify_frame(1, 1)));
      ASSERT_TRUE(client.read_ack().has_value()) << client.last_error();
    }  // else: the client just goes away, as HAProxy 3.x does with a reset
  }
}

}  // namespace
}  // namespace keymux::testing
