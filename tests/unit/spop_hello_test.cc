// HAPROXY-HELLO decoding, negotiation and AGENT-HELLO, including frames captured from HAProxy.
#include <gtest/gtest.h>

#include <string>

#include "agent/spop/frame.h"
#include "agent/spop/hello.h"
#include "agent/spop/kv_list.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using test::Hex;
using test::ReadFixture;

std::string Payload(std::initializer_list<std::pair<std::string_view, TypedValue>> items) {
  std::string out;
  Writer w(out);
  for (const auto& [key, value] : items) encode_kv(w, key, value);
  return out;
}

// The payload of a whole frame produced by one of the encoders.
std::string_view PayloadOf(std::string_view whole, Frame& frame) {
  const FrameScan scan = scan_frame(whole, 1 << 20);
  EXPECT_EQ(scan.kind, FrameScan::Kind::kFrame);
  EXPECT_EQ(scan.consumed, whole.size());
  EXPECT_EQ(decode_frame(scan.body, frame), Status::kNormal);
  return frame.payload;
}

TEST(HaproxyHelloTest, DecodesEveryItem) {
  const std::string payload = Payload({
      {"supported-versions", TypedValue::of_string("2.0")},
      {"max-frame-size", TypedValue::of_uint32(16380)},
      {"capabilities", TypedValue::of_string("pipelining,async")},
      {"healthcheck", TypedValue::of_bool(true)},
      {"engine-id", TypedValue::of_string("e-1")},
      {"future-item", TypedValue::of_int64(7)},
  });
  HaproxyHello hello;
  ASSERT_EQ(decode_haproxy_hello(payload, hello), Status::kNormal);
  EXPECT_EQ(hello.supported_versions, "2.0");
  EXPECT_EQ(hello.max_frame_size, 16380u);
  EXPECT_EQ(hello.capabilities, "pipelining,async");
  EXPECT_TRUE(hello.healthcheck);
  EXPECT_EQ(hello.engine_id, "e-1");
}

TEST(HaproxyHelloTest, MissingItemsGiveTheirStatus) {
  const auto versions =
      std::pair<std::string_view, TypedValue>{"supported-versions", TypedValue::of_string("2.0")};
  const auto size =
      std::pair<std::string_view, TypedValue>{"max-frame-size", TypedValue::of_uint32(16380)};
  const auto caps =
      std::pair<std::string_view, TypedValue>{"capabilities", TypedValue::of_string("pipelining")};
  HaproxyHello hello;
  EXPECT_EQ(decode_haproxy_hello(Payload({size, caps}), hello), Status::kNoVersion);
  EXPECT_EQ(decode_haproxy_hello(Payload({versions, caps}), hello), Status::kNoMaxFrameSize);
  EXPECT_EQ(decode_haproxy_hello(Payload({versions, size}), hello), Status::kNoCapabilities);
  EXPECT_EQ(decode_haproxy_hello("", hello), Status::kNoVersion);
  EXPECT_EQ(static_cast<int>(Status::kNoVersion), 5);
  EXPECT_EQ(static_cast<int>(Status::kNoMaxFrameSize), 6);
  EXPECT_EQ(static_cast<int>(Status::kNoCapabilities), 7);
  EXPECT_EQ(decode_haproxy_hello(Payload({caps, size, versions}), hello), Status::kNormal);
}

TEST(HaproxyHelloTest, WrongTypesCountAsMissing) {
  const auto size =
      std::pair<std::string_view, TypedValue>{"max-frame-size", TypedValue::of_uint32(16380)};
  const auto versions =
      std::pair<std::string_view, TypedValue>{"supported-versions", TypedValue::of_string("2.0")};
  const auto caps =
      std::pair<std::string_view, TypedValue>{"capabilities", TypedValue::of_string("pipelining")};
  HaproxyHello hello;
  EXPECT_EQ(decode_haproxy_hello(
                Payload({{"supported-versions", TypedValue::of_uint32(2)}, size, caps}), hello),
            Status::kNoVersion);
  EXPECT_EQ(
      decode_haproxy_hello(
          Payload({versions, {"max-frame-size", TypedValue::of_string("16380")}, caps}), hello),
      Status::kNoMaxFrameSize);
  EXPECT_EQ(decode_haproxy_hello(
                Payload({versions, {"max-frame-size", TypedValue::of_int32(-1)}, caps}), hello),
            Status::kNoMaxFrameSize);
  EXPECT_EQ(
      decode_haproxy_hello(
          Payload({versions, {"max-frame-size", TypedValue::of_uint64(1ULL << 32)}, caps}), hello),
      Status::kNoMaxFrameSize);
  EXPECT_EQ(
      decode_haproxy_hello(Payload({versions, size, {"capabilities", TypedValue::null()}}), hello),
      Status::kNoCapabilities);
}

TEST(HaproxyHelloTest, AnyNonNegativeIntegerFitting32BitsIsAMaxFrameSize) {
  const TypedValue sizes[] = {TypedValue::of_int32(16380), TypedValue::of_int64(16380),
                              TypedValue::of_uint64(16380), TypedValue::of_uint32(16380)};
  for (const TypedValue& v : sizes) {
    const std::string payload = Payload({{"supported-versions", TypedValue::of_string("2.0")},
                                         {"max-frame-size", v},
                                         {"capabilities", TypedValue::of_string("")}});
    HaproxyHello hello;
    ASSERT_EQ(decode_haproxy_hello(payload, hello), Status::kNormal);
    EXPECT_EQ(hello.max_frame_size, 16380u);
    EXPECT_EQ(hello.capabilities, "");
  }
}

TEST(HaproxyHelloTest, MalformedListIsInvalid) {
  std::string payload = Payload({{"supported-versions", TypedValue::of_string("2.0")},
                                 {"max-frame-size", TypedValue::of_uint32(16380)},
                                 {"capabilities", TypedValue::of_string("pipelining")}});
  HaproxyHello hello;
  EXPECT_EQ(decode_haproxy_hello(payload + B({0x03, 'a', 'b'}), hello), Status::kInvalidFrame);
  EXPECT_EQ(decode_haproxy_hello(payload.substr(0, payload.size() - 1), hello),
            Status::kInvalidFrame);
}

TEST(HaproxyHelloTest, HealthcheckFalseOrAbsent) {
  HaproxyHello hello;
  ASSERT_EQ(decode_haproxy_hello(Payload({{"supported-versions", TypedValue::of_string("2.0")},
                                          {"max-frame-size", TypedValue::of_uint32(300)},
                                          {"capabilities", TypedValue::of_string("")},
                                          {"healthcheck", TypedValue::of_bool(false)}}),
                                 hello),
            Status::kNormal);
  EXPECT_FALSE(hello.healthcheck);
}

TEST(NegotiateHelloTest, VersionMustBeOffered) {
  struct Case {
    std::string_view versions;
    Status want;
  };
  const Case cases[] = {
      {"2.0", Status::kNormal},
      {"1.0, 2.0", Status::kNormal},
      {"1.0,2.0", Status::kNormal},
      {" 2.0 ", Status::kNormal},
      {"2.0,3.0", Status::kNormal},
      {"1.0", Status::kUnsupportedVersion},
      {"", Status::kUnsupportedVersion},
      {"2.00", Status::kUnsupportedVersion},
      {"12.0", Status::kUnsupportedVersion},
      {"2.0.1", Status::kUnsupportedVersion},
      {",", Status::kUnsupportedVersion},
  };
  for (const Case& c : cases) {
    HaproxyHello hello;
    hello.supported_versions = c.versions;
    hello.max_frame_size = 16380;
    std::uint32_t agreed = 0;
    EXPECT_EQ(negotiate_hello(hello, 131068, agreed), c.want) << "'" << c.versions << "'";
  }
  EXPECT_EQ(static_cast<int>(Status::kUnsupportedVersion), 8);
}

TEST(NegotiateHelloTest, MaxFrameSizeRules) {
  HaproxyHello hello;
  hello.supported_versions = "2.0";
  std::uint32_t agreed = 0;

  hello.max_frame_size = 255;
  EXPECT_EQ(negotiate_hello(hello, 131068, agreed), Status::kBadMaxFrameSize);
  EXPECT_EQ(static_cast<int>(Status::kBadMaxFrameSize), 9);
  hello.max_frame_size = 0;
  EXPECT_EQ(negotiate_hello(hello, 131068, agreed), Status::kBadMaxFrameSize);

  hello.max_frame_size = 256;
  ASSERT_EQ(negotiate_hello(hello, 131068, agreed), Status::kNormal);
  EXPECT_EQ(agreed, 256u);

  hello.max_frame_size = 16380;  // HAProxy's is smaller
  ASSERT_EQ(negotiate_hello(hello, 131068, agreed), Status::kNormal);
  EXPECT_EQ(agreed, 16380u);

  hello.max_frame_size = 1048576;  // ours is smaller
  ASSERT_EQ(negotiate_hello(hello, 131068, agreed), Status::kNormal);
  EXPECT_EQ(agreed, 131068u);
}

TEST(NegotiateHelloTest, VersionIsJudgedBeforeFrameSize) {
  HaproxyHello hello;
  hello.supported_versions = "1.0";
  hello.max_frame_size = 10;
  std::uint32_t agreed = 0;
  EXPECT_EQ(negotiate_hello(hello, 131068, agreed), Status::kUnsupportedVersion);
}

TEST(AgentHelloTest, ExactBytes) {
  std::string out;
  encode_agent_hello(out, 16380);
  const std::string want = B({0x00, 0x00, 0x00, 0x40, 0x65, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}) +
                           B({0x07}) + "version" + B({0x08, 0x03}) + "2.0" + B({0x0E}) +
                           "max-frame-size" + B({0x03, 0xFC, 0xF0, 0x06}) + B({0x0C}) +
                           "capabilities" + B({0x08, 0x0A}) + "pipelining";
  EXPECT_EQ(Hex(out), Hex(want));
}

TEST(AgentHelloTest, DecodesBack) {
  std::string out = "x";
  encode_agent_hello(out, 131068);
  Frame frame;
  const std::string_view payload = PayloadOf(std::string_view(out).substr(1), frame);
  EXPECT_EQ(frame.type, FrameType::kAgentHello);
  EXPECT_EQ(frame.flags, kFlagFin);
  EXPECT_EQ(frame.stream_id, 0u);
  EXPECT_EQ(frame.frame_id, 0u);
  KvListReader items(payload);
  KeyValue kv;
  ASSERT_TRUE(items.next(kv));
  EXPECT_EQ(kv.key, "version");
  EXPECT_EQ(kv.value.as_text(), "2.0");
  ASSERT_TRUE(items.next(kv));
  EXPECT_EQ(kv.key, "max-frame-size");
  EXPECT_EQ(kv.value.type, DataType::kUint32);
  EXPECT_EQ(kv.value.uint, 131068u);
  ASSERT_TRUE(items.next(kv));
  EXPECT_EQ(kv.key, "capabilities");
  EXPECT_EQ(kv.value.as_text(), "pipelining");
  EXPECT_FALSE(items.next(kv));
  EXPECT_FALSE(items.failed());
}

TEST(EncodeHaproxyHelloTest, RoundTrip) {
  for (const bool healthcheck : {false, true}) {
    HaproxyHello in;
    in.supported_versions = "1.0, 2.0";
    in.max_frame_size = 16380;
    in.capabilities = "pipelining,async";
    in.healthcheck = healthcheck;
    in.engine_id = healthcheck ? "" : "a-b-c";
    std::string out;
    encode_haproxy_hello(out, in);
    Frame frame;
    const std::string_view payload = PayloadOf(out, frame);
    EXPECT_EQ(frame.type, FrameType::kHaproxyHello);
    EXPECT_EQ(frame.flags, kFlagFin);
    HaproxyHello back;
    ASSERT_EQ(decode_haproxy_hello(payload, back), Status::kNormal);
    EXPECT_EQ(back.supported_versions, in.supported_versions);
    EXPECT_EQ(back.max_frame_size, in.max_frame_size);
    EXPECT_EQ(back.capabilities, in.capabilities);
    EXPECT_EQ(back.healthcheck, in.healthcheck);
    EXPECT_EQ(back.engine_id, in.engine_id);
  }
}

// Frames captured from real HAProxy (tests/fixtures/README.md): tune.bufsize 32768, no healthcheck.
struct CapturedHello {
  const char* file;
  std::string_view capabilities;
};

class CapturedHelloTest : public ::testing::TestWithParam<CapturedHello> {};

TEST_P(CapturedHelloTest, DecodesAndNegotiates) {
  const std::string bytes = ReadFixture(GetParam().file);
  ASSERT_FALSE(bytes.empty());
  const FrameScan scan = scan_frame(bytes, 32764);
  ASSERT_EQ(scan.kind, FrameScan::Kind::kFrame);
  EXPECT_EQ(scan.consumed, bytes.size());
  Frame frame;
  ASSERT_EQ(decode_frame(scan.body, frame), Status::kNormal);
  EXPECT_EQ(frame.type, FrameType::kHaproxyHello);
  EXPECT_EQ(frame.flags, kFlagFin);
  EXPECT_EQ(frame.stream_id, 0u);
  EXPECT_EQ(frame.frame_id, 0u);

  HaproxyHello hello;
  ASSERT_EQ(decode_haproxy_hello(frame.payload, hello), Status::kNormal);
  EXPECT_EQ(hello.supported_versions, "2.0");
  EXPECT_EQ(hello.max_frame_size, 32764u);  // tune.bufsize - 4
  EXPECT_EQ(hello.capabilities, GetParam().capabilities);
  EXPECT_FALSE(hello.healthcheck);
  EXPECT_EQ(hello.engine_id.size(), 36u);  // a UUID

  std::uint32_t agreed = 0;
  ASSERT_EQ(negotiate_hello(hello, 131068, agreed), Status::kNormal);
  EXPECT_EQ(agreed, 32764u);
}

INSTANTIATE_TEST_SUITE_P(Haproxy, CapturedHelloTest,
                         ::testing::Values(CapturedHello{"haproxy-2.6-hello.bin",
                                                         "pipelining,async"},
                                           CapturedHello{"haproxy-3.2-hello.bin", "pipelining"}));

}  // namespace
}  // namespace keymux::spop
