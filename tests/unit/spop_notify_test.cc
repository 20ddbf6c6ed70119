// NOTIFY payloads: several messages, every argument type, malformed input and captured frames.
#include <gtest/gtest.h>

#include <string>

#include "agent/spop/frame.h"
#include "agent/spop/notify.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using test::Hex;
using test::ReadFixture;

const std::string kV4 = B({10, 0, 0, 7});
const std::string kV6 = B({0xFE, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});

std::string TwoMessages() {
  std::string out;
  Writer w(out);
  NotifyPayloadEncoder enc(w);
  enc.begin_message("route", 10);
  enc.add_arg("null", TypedValue::null());
  enc.add_arg("yes", TypedValue::of_bool(true));
  enc.add_arg("i32", TypedValue::of_int32(-7));
  enc.add_arg("u32", TypedValue::of_uint32(7));
  enc.add_arg("i64", TypedValue::of_int64(-(1LL << 40)));
  enc.add_arg("u64", TypedValue::of_uint64(1ULL << 40));
  enc.add_arg("src", TypedValue::of_ipv4(kV4));
  enc.add_arg("src6", TypedValue::of_ipv6(kV6));
  enc.add_arg("path", TypedValue::of_string("/v1/chat/completions"));
  enc.add_arg("", TypedValue::of_binary(std::string_view("\0\1", 2)));
  enc.begin_message("settle", 1);
  enc.add_arg("status", TypedValue::of_int32(429));
  return out;
}

TEST(NotifyPayloadEncoderTest, ExactBytes) {
  std::string out;
  Writer w(out);
  NotifyPayloadEncoder enc(w);
  enc.begin_message("m", 2);
  enc.add_arg("a", TypedValue::of_bool(false));
  enc.add_arg("b", TypedValue::of_string("x"));
  enc.begin_message("n", 0);
  EXPECT_EQ(
      Hex(out),
      Hex(B({0x01, 'm', 0x02, 0x01, 'a', 0x01, 0x01, 'b', 0x08, 0x01, 'x', 0x01, 'n', 0x00})));
}

TEST(NotifyDecoderTest, SeveralMessagesWithEveryType) {
  const std::string payload = TwoMessages();
  NotifyDecoder dec;
  ASSERT_EQ(dec.decode(payload), Status::kNormal);
  ASSERT_EQ(dec.messages().size(), 2u);

  const Message& route = dec.messages()[0];
  EXPECT_EQ(route.name, "route");
  ASSERT_EQ(route.args.size(), 10u);
  EXPECT_TRUE(route.arg("null")->is_null());
  EXPECT_EQ(route.arg("yes")->type, DataType::kBool);
  EXPECT_TRUE(route.arg("yes")->boolean);
  EXPECT_EQ(route.arg("i32")->type, DataType::kInt32);
  EXPECT_EQ(route.arg("i32")->sint, -7);
  EXPECT_EQ(route.arg("u32")->type, DataType::kUint32);
  EXPECT_EQ(route.arg("u32")->uint, 7u);
  EXPECT_EQ(route.arg("i64")->type, DataType::kInt64);
  EXPECT_EQ(route.arg("i64")->sint, -(1LL << 40));
  EXPECT_EQ(route.arg("u64")->type, DataType::kUint64);
  EXPECT_EQ(route.arg("u64")->uint, 1ULL << 40);
  EXPECT_EQ(route.arg("src")->type, DataType::kIpv4);
  EXPECT_EQ(route.arg("src")->bytes, kV4);
  EXPECT_EQ(route.arg("src6")->type, DataType::kIpv6);
  EXPECT_EQ(route.arg("src6")->bytes, kV6);
  EXPECT_EQ(route.arg("path")->as_text(), "/v1/chat/completions");
  EXPECT_EQ(route.arg("")->type, DataType::kBinary);
  EXPECT_EQ(route.arg("")->bytes, std::string_view("\0\1", 2));
  EXPECT_EQ(route.arg("missing"), nullptr);
  EXPECT_EQ(route.args[0].key, "null");

  const Message& settle = dec.messages()[1];
  EXPECT_EQ(settle.name, "settle");
  ASSERT_EQ(settle.args.size(), 1u);
  EXPECT_EQ(settle.arg("status")->sint, 429);
  EXPECT_EQ(settle.arg("path"), nullptr);  // args do not leak across messages
}

TEST(NotifyDecoderTest, ViewsPointIntoThePayload) {
  const std::string payload = TwoMessages();
  NotifyDecoder dec;
  ASSERT_EQ(dec.decode(payload), Status::kNormal);
  const std::string_view name = dec.messages()[0].name;
  EXPECT_GE(name.data(), payload.data());
  EXPECT_LE(name.data() + name.size(), payload.data() + payload.size());
}

TEST(NotifyDecoderTest, MessagesWithoutArgsAndEmptyPayload) {
  NotifyDecoder dec;
  const std::string payload = B({0x01, 'a', 0x00, 0x01, 'b', 0x00});
  ASSERT_EQ(dec.decode(payload), Status::kNormal);
  ASSERT_EQ(dec.messages().size(), 2u);
  EXPECT_TRUE(dec.messages()[0].args.empty());
  EXPECT_EQ(dec.messages()[1].name, "b");
  ASSERT_EQ(dec.decode(""), Status::kNormal);
  EXPECT_TRUE(dec.messages().empty());
}

TEST(NotifyDecoderTest, ReusedAcrossFrames) {
  NotifyDecoder dec;
  const std::string first = TwoMessages();
  ASSERT_EQ(dec.decode(first), Status::kNormal);
  EXPECT_EQ(dec.messages().size(), 2u);
  const std::string second = B({0x04, 'o', 'n', 'l', 'y', 0x01, 0x01, 'k', 0x11});
  ASSERT_EQ(dec.decode(second), Status::kNormal);
  ASSERT_EQ(dec.messages().size(), 1u);
  EXPECT_EQ(dec.messages()[0].name, "only");
  ASSERT_EQ(dec.messages()[0].args.size(), 1u);
  EXPECT_TRUE(dec.messages()[0].arg("k")->boolean);
}

TEST(NotifyDecoderTest, MalformedPayloadsAreInvalid) {
  const std::string good = TwoMessages();
  const std::string cases[] = {
      // nb-args larger than what follows
      B({0x05, 'r', 'o', 'u', 't', 'e', 0x03, 0x01, 'a', 0x11, 0x01, 'b', 0x00}),
      // nb-args missing
      B({0x05, 'r', 'o', 'u', 't', 'e'}),
      // name longer than the payload
      B({0x09, 'r', 'o', 'u', 't', 'e'}),
      // an argument with an unknown type
      B({0x01, 'm', 0x01, 0x01, 'a', 0x0A}),
      // an argument name cut short
      B({0x01, 'm', 0x01, 0x05, 'a'}),
      // a good message followed by garbage
      good + B({0xF0}),
      // every truncation of a good payload that cuts inside a message
      good.substr(0, good.size() - 1),
  };
  for (const std::string& payload : cases) {
    SCOPED_TRACE(Hex(payload));
    NotifyDecoder dec;
    ASSERT_EQ(dec.decode(good), Status::kNormal);
    EXPECT_EQ(dec.decode(payload), Status::kInvalidFrame);
    EXPECT_TRUE(dec.messages().empty());
  }
}

TEST(NotifyDecoderTest, EveryTruncationIsInvalidOrAMessageBoundary) {
  const std::string good = TwoMessages();
  NotifyDecoder probe;
  ASSERT_EQ(probe.decode(good), Status::kNormal);
  // The only valid prefixes are the empty one, the end of message 1 and the whole payload.
  std::size_t valid = 0;
  for (std::size_t n = 0; n <= good.size(); ++n) {
    NotifyDecoder dec;
    if (dec.decode(std::string_view(good).substr(0, n)) == Status::kNormal) ++valid;
  }
  EXPECT_EQ(valid, 3u);
}

// NOTIFY frames captured from real HAProxy for the project's "route" message
// (tests/fixtures/README.md tells how).
struct CapturedNotify {
  const char* file;
  std::uint64_t stream_id;
};

class CapturedNotifyTest : public ::testing::TestWithParam<CapturedNotify> {};

TEST_P(CapturedNotifyTest, DecodesTheRouteMessage) {
  const std::string bytes = ReadFixture(GetParam().file);
  ASSERT_FALSE(bytes.empty());
  const FrameScan scan = scan_frame(bytes, 32764);
  ASSERT_EQ(scan.kind, FrameScan::Kind::kFrame);
  EXPECT_EQ(scan.consumed, bytes.size());
  Frame frame;
  ASSERT_EQ(decode_frame(scan.body, frame), Status::kNormal);
  EXPECT_EQ(frame.type, FrameType::kNotify);
  EXPECT_EQ(frame.flags, kFlagFin);
  EXPECT_EQ(frame.stream_id, GetParam().stream_id);
  EXPECT_EQ(frame.frame_id, 1u);

  NotifyDecoder dec;
  ASSERT_EQ(dec.decode(frame.payload), Status::kNormal);
  ASSERT_EQ(dec.messages().size(), 1u);
  const Message& route = dec.messages()[0];
  EXPECT_EQ(route.name, "route");
  ASSERT_EQ(route.args.size(), 9u);
  const char* names[] = {"src",        "method",      "path",
                         "request_id", "client_auth", "client_api_key",
                         "model",      "body_size",   "body"};
  for (std::size_t i = 0; i < route.args.size(); ++i) EXPECT_EQ(route.args[i].key, names[i]);

  ASSERT_EQ(route.arg("src")->type, DataType::kIpv4);
  EXPECT_EQ(Hex(route.arg("src")->bytes), "7f 00 00 01");
  EXPECT_EQ(route.arg("method")->as_text(), "POST");
  EXPECT_EQ(route.arg("path")->as_text(), "/v1/chat/completions");
  EXPECT_EQ(route.arg("request_id")->as_text(), "6f1c0e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(route.arg("client_auth")->as_text(), "Bearer km-client-0123456789abcdef");
  // A header that is absent arrives as NULL, not as an empty string.
  EXPECT_TRUE(route.arg("client_api_key")->is_null());
  EXPECT_EQ(route.arg("model")->type, DataType::kString);
  EXPECT_EQ(route.arg("model")->as_text(), "gpt-4o-mini");
  EXPECT_EQ(route.arg("body_size")->type, DataType::kInt64);
  EXPECT_EQ(route.arg("body_size")->as_uint(), 90u);
  ASSERT_EQ(route.arg("body")->type, DataType::kBinary);
  EXPECT_EQ(route.arg("body")->bytes.size(), 90u);
  EXPECT_TRUE(route.arg("body")->bytes.starts_with("{\"messages\":"));
}

INSTANTIATE_TEST_SUITE_P(Haproxy, CapturedNotifyTest,
                         ::testing::Values(CapturedNotify{"haproxy-2.6-notify.bin", 0},
                                           CapturedNotify{"haproxy-3.2-notify.bin", 1}));

}  // namespace
}  // namespace keymux::spop
