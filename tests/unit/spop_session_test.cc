// The protocol state machine, driven with bytes exactly as a socket would.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/spop/disconnect.h"
#include "agent/spop/hello.h"
#include "agent/spop/kv_list.h"
#include "agent/spop/session.h"
#include "tests/support/frame_list.h"

namespace keymux::spop {
namespace {

using keymux::testing::split_frames;

struct Seen {
  std::uint64_t stream_id;
  std::uint64_t frame_id;
  std::string first_message;
  std::size_t message_count;
};

// Records each NOTIFY; answers with one variable unless told to stay silent or defer.
class RecordingHandler : public NotifyHandler {
 public:
  Reply on_notify(Session& session, const NotifyRequest& request, AckEncoder& ack) override {
    seen.push_back(
        {request.stream_id, request.frame_id,
         request.messages.empty() ? std::string() : std::string(request.messages[0].name),
         request.messages.size()});
    if (defer_first && seen.size() == 1) {
      deferred = {request.stream_id, request.frame_id};
      return Reply::kLater;
    }
    if (defer_first && seen.size() == 2) {
      session.answer(deferred.first, deferred.second, [](AckEncoder& late) {
        late.set_var(VarScope::kTransaction, "late", TypedValue::of_bool(true));
      });
    }
    for (std::size_t i = 0; i < actions_per_ack; ++i) {
      ack.set_var(VarScope::kTransaction, "agent_version", TypedValue::of_string(value));
    }
    return Reply::kNow;
  }

  std::vector<Seen> seen;
  std::size_t actions_per_ack = 1;
  std::string value = "test";
  bool defer_first = false;
  std::pair<std::uint64_t, std::uint64_t> deferred;
};

std::string haproxy_hello(std::uint32_t max_frame_size = 16380, bool healthcheck = false,
                          std::string_view versions = "2.0") {
  std::string out;
  HaproxyHello hello;
  hello.supported_versions = versions;
  hello.max_frame_size = max_frame_size;
  hello.capabilities = "pipelining";
  hello.healthcheck = healthcheck;
  hello.engine_id = "engine-1";
  encode_haproxy_hello(out, hello);
  return out;
}

std::string notify(std::uint64_t stream_id, std::uint64_t frame_id, std::uint32_t flags = kFlagFin,
                   std::string_view message = "route") {
  std::string out;
  FrameEncoder frame(out, FrameType::kNotify, stream_id, frame_id, flags);
  NotifyPayloadEncoder messages(frame.payload());
  messages.begin_message(message, 2);
  messages.add_arg("method", TypedValue::of_string("POST"));
  messages.add_arg("body_size", TypedValue::of_int64(42));
  frame.finish();
  return out;
}

std::string raw_frame(FrameType type, std::uint32_t flags = kFlagFin) {
  std::string out;
  FrameEncoder frame(out, type, 0, 0, flags);
  frame.finish();
  return out;
}

Disconnect read_disconnect(const Frame& frame) {
  EXPECT_EQ(frame.type, FrameType::kAgentDisconnect);
  Disconnect disconnect;
  EXPECT_EQ(decode_disconnect(frame.payload, disconnect), Status::kNormal);
  return disconnect;
}

std::vector<Action> read_actions(const Frame& frame) {
  EXPECT_EQ(frame.type, FrameType::kAck);
  std::vector<Action> actions;
  EXPECT_EQ(decode_actions(frame.payload, actions), Status::kNormal);
  return actions;
}

class SessionTest : public ::testing::Test {
 protected:
  // Feeds bytes and returns what the session produced, emptying its output.
  // The bytes stay valid until the next feed() (decoded frames are views).
  const std::string& feed(std::string_view bytes) {
    session.receive(bytes);
    last_output = session.output();
    session.output().clear();
    return last_output;
  }
  void hello_done() {
    feed(haproxy_hello());
    ASSERT_EQ(session.state(), Session::State::kReady);
  }

  RecordingHandler handler;
  Session session{handler, SessionOptions{65536}};
  std::string last_output;
};

TEST_F(SessionTest, HelloIsAnsweredWithVersionPipeliningAndTheSmallerFrameSize) {
  const auto frames = split_frames(feed(haproxy_hello(16380)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::kAgentHello);
  EXPECT_EQ(frames[0].flags, kFlagFin);
  EXPECT_EQ(frames[0].stream_id, 0u);
  EXPECT_EQ(frames[0].frame_id, 0u);

  std::string version, capabilities;
  std::uint64_t max_frame_size = 0;
  KvListReader items(frames[0].payload);
  KeyValue item;
  while (items.next(item)) {
    if (item.key == "version") version = std::string(*item.value.as_text());
    if (item.key == "capabilities") capabilities = std::string(*item.value.as_text());
    if (item.key == "max-frame-size") {
      EXPECT_EQ(item.value.type, DataType::kUint32);
      max_frame_size = *item.value.as_uint();
    }
  }
  EXPECT_FALSE(items.failed());
  EXPECT_EQ(version, "2.0");
  EXPECT_EQ(capabilities, "pipelining");
  EXPECT_EQ(max_frame_size, 16380u);
  EXPECT_EQ(session.max_frame_size(), 16380u);
  EXPECT_EQ(session.state(), Session::State::kReady);
}

TEST_F(SessionTest, OurFrameSizeWinsWhenSmaller) {
  RecordingHandler h;
  Session small(h, SessionOptions{1024});
  small.receive(haproxy_hello(131068));
  EXPECT_EQ(small.max_frame_size(), 1024u);
}

TEST_F(SessionTest, HealthCheckHelloIsAnsweredThenClosed) {
  const auto frames = split_frames(feed(haproxy_hello(16380, /*healthcheck=*/true)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::kAgentHello);
  EXPECT_TRUE(session.closing());
  EXPECT_EQ(session.error(), Status::kNormal);
  EXPECT_EQ(session.counters().healthchecks, 1u);
}

TEST_F(SessionTest, NotifyIsAckedWithItsIds) {
  hello_done();
  const auto frames = split_frames(feed(notify(7, 3)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].stream_id, 7u);
  EXPECT_EQ(frames[0].frame_id, 3u);
  EXPECT_EQ(frames[0].flags, kFlagFin);
  const auto actions = read_actions(frames[0]);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].type, ActionType::kSetVar);
  EXPECT_EQ(actions[0].scope, VarScope::kTransaction);
  EXPECT_EQ(actions[0].name, "agent_version");
  EXPECT_EQ(*actions[0].value.as_text(), "test");
  ASSERT_EQ(handler.seen.size(), 1u);
  EXPECT_EQ(handler.seen[0].first_message, "route");
}

TEST_F(SessionTest, EmptyAnswerStillCarriesOneAction) {
  handler.actions_per_ack = 0;
  hello_done();
  const auto frames = split_frames(feed(notify(1, 1)));
  ASSERT_EQ(frames.size(), 1u);
  const auto actions = read_actions(frames[0]);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].type, ActionType::kUnsetVar);
}

TEST_F(SessionTest, PipelinedNotifiesInOneReadAreAllAnswered) {
  hello_done();
  std::string batch;
  for (std::uint64_t i = 1; i <= 20; ++i) batch += notify(2 * i + 1, i);
  const auto frames = split_frames(feed(batch));
  ASSERT_EQ(frames.size(), 20u);
  for (std::uint64_t i = 1; i <= 20; ++i) {
    EXPECT_EQ(frames[i - 1].stream_id, 2 * i + 1);
    EXPECT_EQ(frames[i - 1].frame_id, i);
  }
}

TEST_F(SessionTest, DeferredNotifyIsAnsweredLaterAndOutOfOrder) {
  handler.defer_first = true;
  hello_done();
  EXPECT_TRUE(feed(notify(11, 1)).empty());
  const auto frames = split_frames(feed(notify(13, 2)));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].stream_id, 13u);
  EXPECT_EQ(frames[1].stream_id, 11u);
  EXPECT_EQ(frames[1].frame_id, 1u);
  const auto late = read_actions(frames[1]);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].name, "late");
}

TEST_F(SessionTest, ByteAtATimeGivesTheSameAnswers) {
  const std::string input = haproxy_hello() + notify(5, 1) + notify(7, 2);
  std::string whole;
  {
    RecordingHandler h;
    Session s(h, SessionOptions{65536});
    s.receive(input);
    whole = s.output();
  }
  std::string split;
  for (char c : input) split += feed(std::string_view(&c, 1));
  EXPECT_EQ(split, whole);
  EXPECT_EQ(split_frames(split).size(), 3u);
}

TEST_F(SessionTest, OversizedLengthIsRefusedFromItsPrefixAlone) {
  hello_done();
  // Only the 4-byte length of a frame over 16380: no body is waited for.
  const std::string prefix("\x00\x01\x00\x00", 4);
  const auto frames = split_frames(feed(prefix));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(read_disconnect(frames[0]).status_code, static_cast<std::uint32_t>(Status::kTooBig));
  EXPECT_TRUE(session.closing());
  EXPECT_EQ(session.error(), Status::kTooBig);
}

TEST_F(SessionTest, ZeroLengthFrameIsInvalid) {
  hello_done();
  const auto frames = split_frames(feed(std::string(4, '\0')));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(read_disconnect(frames[0]).status_code,
            static_cast<std::uint32_t>(Status::kInvalidFrame));
}

TEST_F(SessionTest, NotifyBeforeHelloIsInvalid) {
  const auto frames = split_frames(feed(notify(1, 1)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(read_disconnect(frames[0]).status_code,
            static_cast<std::uint32_t>(Status::kInvalidFrame));
  EXPECT_TRUE(handler.seen.empty());
}

TEST_F(SessionTest, SecondHelloIsInvalid) {
  hello_done();
  const auto frames = split_frames(feed(haproxy_hello()));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(read_disconnect(frames[0]).status_code,
            static_cast<std::uint32_t>(Status::kInvalidFrame));
}

TEST_F(SessionTest, UnknownFrameTypeIsInvalid) {
  hello_done();
  const auto frames = split_frames(feed(raw_frame(static_cast<FrameType>(50))));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(read_disconnect(frames[0]).status_code,
            static_cast<std::uint32_t>(Status::kInvalidFrame));
}

TEST_F(SessionTest, FragmentedNotifyIsRefused) {
  for (std::uint32_t flags : {0u, kFlagAbort, kFlagFin | kFlagAbort}) {
    RecordingHandler h;
    Session s(h, SessionOptions{65536});
    s.receive(haproxy_hello());
    s.output().clear();
    s.receive(notify(1, 1, flags));
    const auto frames = split_frames(s.output());
    ASSERT_EQ(frames.size(), 1u) << flags;
    EXPECT_EQ(read_disconnect(frames[0]).status_code,
              static_cast<std::uint32_t>(Status::kFragmentationNotSupported))
        << flags;
    EXPECT_TRUE(h.seen.empty());
  }
}

TEST_F(SessionTest, UnsupportedVersionIsRefused) {
  const auto frames = split_frames(feed(haproxy_hello(16380, false, "1.0")));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(read_disconnect(frames[0]).status_code,
            static_cast<std::uint32_t>(Status::kUnsupportedVersion));
}

TEST_F(SessionTest, TooSmallFrameSizeIsRefused) {
  const auto frames = split_frames(feed(haproxy_hello(255)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(read_disconnect(frames[0]).status_code,
            static_cast<std::uint32_t>(Status::kBadMaxFrameSize));
}

TEST_F(SessionTest, HaproxyDisconnectIsAnsweredAndLaterBytesIgnored) {
  hello_done();
  std::string bytes = raw_frame(FrameType::kHaproxyDisconnect) + notify(1, 1);
  const auto frames = split_frames(feed(bytes));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(read_disconnect(frames[0]).status_code, 0u);
  EXPECT_TRUE(session.closing());
  EXPECT_EQ(session.error(), Status::kNormal);
  EXPECT_TRUE(feed(notify(3, 2)).empty());
  EXPECT_TRUE(handler.seen.empty());
}

TEST_F(SessionTest, ErrorStopsProcessingTheRestOfTheRead) {
  hello_done();
  std::string bytes = notify(1, 1) + std::string(4, '\0') + notify(3, 2);
  const auto frames = split_frames(feed(bytes));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, FrameType::kAck);
  EXPECT_EQ(frames[1].type, FrameType::kAgentDisconnect);
  EXPECT_EQ(handler.seen.size(), 1u);
}

TEST_F(SessionTest, ShutdownAnswersWhatArrivedThenDisconnects) {
  hello_done();
  // A NOTIFY and half of the next one are in when the stop comes.
  const std::string next = notify(3, 2);
  std::string out = feed(notify(1, 1) + next.substr(0, 5));
  session.shutdown();
  out += session.output();
  const auto frames = split_frames(out);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, FrameType::kAck);
  EXPECT_EQ(read_disconnect(frames[1]).status_code, 0u);
  EXPECT_TRUE(session.closing());
}

TEST_F(SessionTest, ShutdownBeforeHelloSendsNothing) {
  session.shutdown();
  EXPECT_TRUE(session.output().empty());
  EXPECT_TRUE(session.closing());
}

TEST_F(SessionTest, AckTooBigForTheFrameSizeBecomesAnErrorVariable) {
  handler.value = std::string(400, 'x');
  handler.actions_per_ack = 1;
  RecordingHandler& h = handler;
  Session small(h, SessionOptions{256});
  small.receive(haproxy_hello(256));
  small.output().clear();
  small.receive(notify(9, 4));
  const auto frames = split_frames(small.output());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].stream_id, 9u);
  const auto actions = read_actions(frames[0]);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].name, "ack_error");
}

TEST_F(SessionTest, CountersFollowTheConversation) {
  hello_done();
  feed(notify(1, 1) + notify(3, 2));
  feed(std::string(4, '\0'));
  EXPECT_EQ(session.counters().hellos, 1u);
  EXPECT_EQ(session.counters().notifies, 2u);
  EXPECT_EQ(session.counters().acks, 2u);
  EXPECT_EQ(session.counters().protocol_errors, 1u);
}

}  // namespace
}  // namespace keymux::spop
