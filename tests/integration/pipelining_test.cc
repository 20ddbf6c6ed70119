// Pipelined NOTIFYs, ACKs out of order, and frames arriving in pieces.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

using spop::FrameType;

// Holds back every "defer" message and, when a "flush" message arrives,
// answers the held ones in reverse order through Session::answer(), each with
// txn var "id" = its own "id" argument.
class ReverseOrderHandler : public spop::NotifyHandler {
 public:
  Reply on_notify(spop::Session& session, const spop::NotifyRequest& request,
                  spop::AckEncoder& ack) override {
    if (request.messages.empty()) return Reply::kNow;
    const spop::Message& message = request.messages.front();
    const spop::TypedValue* id = message.arg("id");
    const std::string id_text(id != nullptr && id->as_text() ? *id->as_text() : "");
    std::vector<Deferred>& held = deferred_[&session];
    if (message.name == "defer") {
      held.push_back({request.stream_id, request.frame_id, id_text});
      return Reply::kLater;
    }
    for (auto it = held.rbegin(); it != held.rend(); ++it) {
      session.answer(it->stream_id, it->frame_id, [&](spop::AckEncoder& deferred_ack) {
        deferred_ack.set_var(spop::VarScope::kTransaction, "id",
                             spop::TypedValue::of_string(it->id));
        deferred_ack.set_var(spop::VarScope::kTransaction, "how",
                             spop::TypedValue::of_string("deferred"));
      });
    }
    held.clear();
    ack.set_var(spop::VarScope::kTransaction, "id", spop::TypedValue::of_string(id_text));
    ack.set_var(spop::VarScope::kTransaction, "how", spop::TypedValue::of_string("now"));
    return Reply::kNow;
  }

 private:
  struct Deferred {
    std::uint64_t stream_id;
    std::uint64_t frame_id;
    std::string id;
  };
  // Keyed by session: a worker's handler serves all of its connections.
  std::map<const spop::Session*, std::vector<Deferred>> deferred_;
};

std::string one_message_notify(std::uint64_t stream_id, std::uint64_t frame_id,
                               std::string_view name, std::string_view id) {
  return notify_frame(stream_id, frame_id,
                      {{std::string(name), {{"id", spop::TypedValue::of_string(id)}}}});
}

struct AckSeen {
  std::uint64_t stream_id;
  std::uint64_t frame_id;
  std::string id;
  std::string how;
};

std::vector<AckSeen> read_acks(SpopClient& client, std::size_t count) {
  std::vector<AckSeen> seen;
  for (std::size_t i = 0; i < count; ++i) {
    ReceivedFrame frame;
    const auto actions = client.read_ack(&frame);
    if (!actions) {
      ADD_FAILURE() << "ACK " << i << " of " << count << ": " << client.last_error();
      break;
    }
    EXPECT_EQ(frame.flags, spop::kFlagFin);
    EXPECT_FALSE(actions->empty());
    seen.push_back({frame.stream_id, frame.frame_id, find_var_text(*actions, "id").value_or("?"),
                    find_var_text(*actions, "how").value_or("?")});
  }
  return seen;
}

TEST(Pipelining, DeferredNotifiesAreAnsweredOutOfOrderWithTheirOwnIds) {
  RunningServer server([](int) { return std::make_unique<ReverseOrderHandler>(); });
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());

  // HAProxy 2.6 style: each NOTIFY on its own stream (the stream's unique id), frame-id 1.
  std::string burst;
  for (int i = 0; i < 5; ++i) {
    burst += one_message_notify(1000 + i, 1, "defer", "d" + std::to_string(i));
  }
  burst += one_message_notify(2000, 1, "flush", "f");
  ASSERT_TRUE(client.send(burst));

  const std::vector<AckSeen> seen = read_acks(client, 6);
  ASSERT_EQ(seen.size(), 6u);
  std::vector<std::string> deferred_order;
  std::set<std::uint64_t> streams;
  for (const AckSeen& ack : seen) {
    streams.insert(ack.stream_id);
    EXPECT_EQ(ack.frame_id, 1u);
    if (ack.stream_id == 2000) {
      EXPECT_EQ(ack.id, "f");
      EXPECT_EQ(ack.how, "now");
      continue;
    }
    // The content belongs to the NOTIFY whose ids the ACK carries.
    EXPECT_EQ(ack.id, "d" + std::to_string(ack.stream_id - 1000));
    EXPECT_EQ(ack.how, "deferred");
    deferred_order.push_back(ack.id);
  }
  EXPECT_EQ(streams.size(), 6u) << "every NOTIFY gets exactly one ACK";
  EXPECT_EQ(deferred_order, (std::vector<std::string>{"d4", "d3", "d2", "d1", "d0"}));

  // The connection carries on normally afterwards.
  ASSERT_TRUE(client.send(one_message_notify(3000, 1, "flush", "again")));
  const std::vector<AckSeen> after = read_acks(client, 1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].stream_id, 3000u);
  EXPECT_EQ(after[0].id, "again");
}

TEST(Pipelining, DeferredNotifiesOnOneStreamKeepTheirFrameIds) {
  RunningServer server([](int) { return std::make_unique<ReverseOrderHandler>(); });
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());

  // HAProxy 3.1+ style: one odd stream-id per connection, frame-ids counting up.
  std::string burst;
  for (std::uint64_t frame_id = 1; frame_id <= 19; ++frame_id) {
    burst += one_message_notify(1, frame_id, "defer", "frame-" + std::to_string(frame_id));
  }
  burst += one_message_notify(1, 20, "flush", "frame-20");
  ASSERT_TRUE(client.send(burst));

  const std::vector<AckSeen> seen = read_acks(client, 20);
  ASSERT_EQ(seen.size(), 20u);
  std::set<std::uint64_t> frames;
  std::vector<std::uint64_t> deferred_order;
  for (const AckSeen& ack : seen) {
    EXPECT_EQ(ack.stream_id, 1u);
    EXPECT_EQ(ack.id, "frame-" + std::to_string(ack.frame_id));
    EXPECT_EQ(ack.how, ack.frame_id == 20 ? "now" : "deferred");
    frames.insert(ack.frame_id);
    if (ack.frame_id != 20) deferred_order.push_back(ack.frame_id);
  }
  EXPECT_EQ(frames.size(), 20u);
  std::vector<std::uint64_t> reversed;
  for (std::uint64_t f = 19; f >= 1; --f) reversed.push_back(f);
  EXPECT_EQ(deferred_order, reversed);
}

TEST(Pipelining, TwentyInFlightAreAllAckedWithMatchingIds) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  constexpr int kConnections = 4;
  constexpr int kRounds = 50;
  constexpr int kDepth = 20;  // what HAProxy 3.1+ keeps in flight per connection

  std::vector<SpopClient> clients(kConnections);
  for (SpopClient& client : clients) connect_and_handshake(client, server.address());
  if (HasFatalFailure()) return;

  std::uint64_t next_frame_id = 1;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::map<std::uint64_t, std::string>> expected(kConnections);
    for (int c = 0; c < kConnections; ++c) {
      const std::uint64_t stream_id = 2 * c + 1;  // odd, per connection
      std::string burst;
      for (int i = 0; i < kDepth; ++i) {
        const std::uint64_t frame_id = next_frame_id++;
        const std::string id = "c" + std::to_string(c) + "-f" + std::to_string(frame_id);
        burst += simple_notify_frame(stream_id, frame_id, id);
        expected[c][frame_id] = id;
      }
      ASSERT_TRUE(clients[c].send(burst)) << clients[c].last_error();
    }
    for (int c = 0; c < kConnections; ++c) {
      for (const AckSeen& ack : read_acks(clients[c], kDepth)) {
        EXPECT_EQ(ack.stream_id, static_cast<std::uint64_t>(2 * c + 1));
        const auto it = expected[c].find(ack.frame_id);
        ASSERT_NE(it, expected[c].end()) << "unknown or repeated frame-id " << ack.frame_id;
        EXPECT_EQ(ack.id, it->second);
        expected[c].erase(it);
      }
      ASSERT_TRUE(expected[c].empty()) << expected[c].size() << " NOTIFYs not ACKed";
    }
  }
}

TEST(Pipelining, LargeStreamAndFrameIdsAreEchoedExactly) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> ids = {
      {0, 0},          {239, 240},    {2287, 2288}, {264431, 264432}, {33818863, 33818864},
      {1ull << 32, 7}, {~0ull, ~0ull}};
  std::string burst;
  for (const auto& [stream_id, frame_id] : ids) burst += simple_notify_frame(stream_id, frame_id);
  ASSERT_TRUE(client.send(burst));
  for (const auto& [stream_id, frame_id] : ids) {
    ReceivedFrame frame;
    ASSERT_TRUE(client.read_ack(&frame).has_value()) << client.last_error();
    EXPECT_EQ(frame.stream_id, stream_id);
    EXPECT_EQ(frame.frame_id, frame_id);
  }
}

// A peer that sends much faster than it reads: the agent's writes go out in
// pieces, it stops reading while megabytes of answers are queued, and resumes.
TEST(Pipelining, SlowReaderGetsEveryAckThroughPartialWrites) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  client.set_receive_buffer(4096);
  connect_and_handshake(client, server.address());

  constexpr int kNotifies = 10000;
  const std::string padding(1000, 'p');  // echoed: ~10 MB of ACKs in all
  std::mutex mutex;
  std::condition_variable progressed;
  int sent = 0;
  bool send_failed = false;
  std::thread writer([&] {
    for (int i = 1; i <= kNotifies; ++i) {
      const bool ok = client.send(simple_notify_frame(1, i, padding + std::to_string(i)),
                                  std::chrono::seconds(30));
      std::lock_guard lock(mutex);
      if (!ok) {
        send_failed = true;
        progressed.notify_all();
        return;
      }
      sent = i;
      progressed.notify_all();
    }
  });
  {
    // Let ~3 MB of answers pile up before reading any.
    std::unique_lock lock(mutex);
    EXPECT_TRUE(progressed.wait_for(lock, std::chrono::seconds(10),
                                    [&] { return sent >= 3000 || send_failed; }));
  }
  for (int i = 1; i <= kNotifies; ++i) {
    ReceivedFrame frame;
    const auto actions = client.read_ack(&frame, std::chrono::seconds(30));
    const bool ok = actions.has_value() && frame.frame_id == static_cast<std::uint64_t>(i) &&
                    find_var_text(*actions, "id") == padding + std::to_string(i);
    if (!ok) {
      ADD_FAILURE() << "ACK " << i << " missing or wrong: " << client.last_error();
      ::shutdown(client.fd(), SHUT_RDWR);  // unblocks the writer
      break;
    }
  }
  writer.join();
  EXPECT_FALSE(send_failed);
}

TEST(Pipelining, EveryAckHasAnActionEvenWhenTheHandlerAddsNone) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());
  ASSERT_TRUE(client.send(notify_frame(3, 4, {{"empty", {}}}) + notify_frame(3, 5, {})));
  for (std::uint64_t frame_id : {4u, 5u}) {
    ReceivedFrame frame;
    const auto actions = client.read_ack(&frame);
    ASSERT_TRUE(actions.has_value()) << client.last_error();
    EXPECT_EQ(frame.frame_id, frame_id);
    EXPECT_GE(actions->size(), 1u);
  }
}

TEST(Pipelining, FramesArrivingOneByteAtATime) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  std::string error;
  ASSERT_TRUE(client.connect(server.address(), error)) << error;
  client.set_nodelay();

  ASSERT_TRUE(client.send_bytewise(hello_frame())) << client.last_error();
  ReceivedFrame frame;
  ASSERT_EQ(client.read_frame(frame), SpopClient::ReadStatus::kFrame) << client.last_error();
  ASSERT_EQ(frame.type, FrameType::kAgentHello);

  ASSERT_TRUE(client.send_bytewise(simple_notify_frame(11, 12, "one-byte")));
  const auto actions = client.read_ack(&frame);
  ASSERT_TRUE(actions.has_value()) << client.last_error();
  EXPECT_EQ(frame.stream_id, 11u);
  EXPECT_EQ(frame.frame_id, 12u);
  EXPECT_EQ(find_var_text(*actions, "id"), "one-byte");

  // Two frames back to back, still a byte at a time: the boundary falls mid-send stream.
  ASSERT_TRUE(
      client.send_bytewise(simple_notify_frame(11, 13, "a") + simple_notify_frame(11, 14, "b")));
  for (const auto& [frame_id, id] :
       std::vector<std::pair<std::uint64_t, std::string>>{{13, "a"}, {14, "b"}}) {
    const auto acked = client.read_ack(&frame);
    ASSERT_TRUE(acked.has_value()) << client.last_error();
    EXPECT_EQ(frame.frame_id, frame_id);
    EXPECT_EQ(find_var_text(*acked, "id"), id);
  }

  // A disconnect in pieces too.
  ASSERT_TRUE(client.send_bytewise(haproxy_disconnect_frame()));
  const auto d = client.read_disconnect();
  ASSERT_TRUE(d.has_value()) << client.last_error();
  EXPECT_EQ(d->status_code, 0u);
  EXPECT_TRUE(client.wait_eof()) << client.last_error();
}

TEST(Pipelining, FramesSplitAtEveryPossiblePoint) {
  RunningServer server(echo_factory());
  ASSERT_TRUE(server.ok()) << server.error();
  SpopClient client;
  connect_and_handshake(client, server.address());
  client.set_nodelay();
  const std::string two = simple_notify_frame(1, 1, "x") + simple_notify_frame(1, 2, "y");
  std::uint64_t frame_id = 1;
  for (std::size_t cut = 1; cut < two.size(); ++cut) {
    const std::string pair =
        simple_notify_frame(1, frame_id, "x") + simple_notify_frame(1, frame_id + 1, "y");
    ASSERT_TRUE(client.send(std::string_view(pair).substr(0, cut)));
    ASSERT_TRUE(client.send(std::string_view(pair).substr(cut)));
    for (const char* id : {"x", "y"}) {
      ReceivedFrame frame;
      const auto actions = client.read_ack(&frame);
      ASSERT_TRUE(actions.has_value()) << "cut at " << cut << ": " << client.last_error();
      EXPECT_EQ(frame.frame_id, frame_id++);
      EXPECT_EQ(find_var_text(*actions, "id"), id);
    }
  }
}

}  // namespace
}  // namespace keymux::testing
