// Server::stop(): answer what has arrived, AGENT-DISCONNECT status 0 everywhere, then close.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

// After its AGENT-DISCONNECT the agent waits a while for HAProxy to close:
// stop() runs beside the test, which plays HAProxy and closes on EOF.
class BackgroundStop {
 public:
  explicit BackgroundStop(RunningServer& server) : thread_([&server] { server.stop(); }) {}
  ~BackgroundStop() { thread_.join(); }

 private:
  std::thread thread_;
};

void expect_stop_disconnect_then_eof(SpopClient& client) {
  const std::optional<DisconnectInfo> d = client.read_disconnect();
  ASSERT_TRUE(d.has_value()) << client.last_error();
  EXPECT_EQ(d->status_code, 0u) << d->message;
  EXPECT_TRUE(client.wait_eof()) << client.last_error();
  client.close();
}

TEST(GracefulStop, EveryOpenConnectionGetsDisconnectStatus0) {
  TempDir dir;
  const std::string unix_address = "unix:" + dir.path() + "/agent.sock";
  RunningServer server(echo_factory(), test_options({"127.0.0.1:0", unix_address}));
  ASSERT_TRUE(server.ok()) << server.error();

  std::vector<SpopClient> clients(8);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    connect_and_handshake(clients[i], server.address(i % 2));
    ASSERT_TRUE(clients[i].send(simple_notify_frame(1, 1)));
    ASSERT_TRUE(clients[i].read_ack().has_value()) << clients[i].last_error();
  }
  BackgroundStop stop(server);
  for (SpopClient& client : clients) expect_stop_disconnect_then_eof(client);
}

TEST(GracefulStop, NotifyHandledBeforeStopIsAckedBeforeTheDisconnect) {
  NotifyLatch latch;
  RunningServer server([&](int) { return std::make_unique<LatchedEchoHandler>(latch); });
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());
  ASSERT_TRUE(client.send(simple_notify_frame(3, 4, "last")));
  ASSERT_TRUE(latch.wait_for(1, kDefaultTimeout));
  BackgroundStop stop(server);

  ReceivedFrame frame;
  const auto actions = client.read_ack(&frame);
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_EQ(frame.stream_id, 3u);
  EXPECT_EQ(frame.frame_id, 4u);
  EXPECT_EQ(find_var_text(*actions, "id"), "last");
  expect_stop_disconnect_then_eof(client);
}

// The NOTIFY is in the agent's socket buffer, maybe not yet read, when stop()
// is called: "answer what has arrived" covers it.
TEST(GracefulStop, NotifySentJustBeforeStopIsAckedBeforeTheDisconnect) {
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    RunningServer server(echo_factory());
    ASSERT_TRUE(server.ok()) << server.error();
    SpopClient client;
    connect_and_handshake(client, server.address());
    ASSERT_TRUE(client.send(simple_notify_frame(5, 6, "in-flight")));
    BackgroundStop stop(server);

    ReceivedFrame frame;
    const auto actions = client.read_ack(&frame);
    ASSERT_TRUE(actions.has_value()) << client.last_error();
    EXPECT_EQ(frame.frame_id, 6u);
    EXPECT_EQ(find_var_text(*actions, "id"), "in-flight");
    expect_stop_disconnect_then_eof(client);
  }
}

TEST(GracefulStop, ConnectionWithoutHelloIsClosed) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  SpopClient other;
  connect_and_handshake(other, server.address());
  BackgroundStop stop(server);
  expect_stop_disconnect_then_eof(other);
  // No SPOP conversation on `client`: nothing is owed but the close (EOF, or a
  // reset if the agent never got to accept it).
  ReceivedFrame frame;
  const SpopClient::ReadStatus status = client.read_frame(frame);
  if (status == SpopClient::ReadStatus::kFrame) {
    EXPECT_EQ(frame.type, spop::FrameType::kAgentDisconnect);
    EXPECT_TRUE(client.wait_eof()) << client.last_error();
  } else {
    EXPECT_NE(status, SpopClient::ReadStatus::kTimeout) << client.last_error();
  }
  client.close();
}

TEST(GracefulStop, NoNewConnectionsAfterStop) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string address = server.address();
  server.stop();
  SpopClient client;
  std::string error;
  EXPECT_FALSE(client.connect(address, error));
}

TEST(GracefulStop, WaitReturnsOnceStopHasCompleted) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  std::thread stopper([&] { server.stop(); });
  server.server().wait();
  stopper.join();
  SUCCEED();
}

}  // namespace
}  // namespace keymux::testing
