// HAPROXY-DISCONNECT / AGENT-DISCONNECT and the status texts.
#include <gtest/gtest.h>

#include <string>

#include "agent/spop/disconnect.h"
#include "agent/spop/kv_list.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using test::Hex;

TEST(DisconnectTest, AgentDisconnectExactBytes) {
  std::string out;
  encode_disconnect(out, Status::kTooBig, "too big");
  const std::string want = B({0x00, 0x00, 0x00, 0x26, 0x66, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}) +
                           B({0x0B}) + "status-code" + B({0x03, 0x03}) + B({0x07}) + "message" +
                           B({0x08, 0x07}) + "too big";
  EXPECT_EQ(Hex(out), Hex(want));
}

TEST(DisconnectTest, RoundTrip) {
  for (const FrameType type : {FrameType::kAgentDisconnect, FrameType::kHaproxyDisconnect}) {
    std::string out;
    encode_disconnect(out, Status::kUnknown, status_text(Status::kUnknown), type);
    const FrameScan scan = scan_frame(out, 16380);
    ASSERT_EQ(scan.kind, FrameScan::Kind::kFrame);
    EXPECT_EQ(scan.consumed, out.size());
    Frame frame;
    ASSERT_EQ(decode_frame(scan.body, frame), Status::kNormal);
    EXPECT_EQ(frame.type, type);
    EXPECT_EQ(frame.flags, kFlagFin);
    EXPECT_EQ(frame.stream_id, 0u);
    EXPECT_EQ(frame.frame_id, 0u);
    Disconnect d;
    ASSERT_EQ(decode_disconnect(frame.payload, d), Status::kNormal);
    EXPECT_EQ(d.status_code, 99u);
    EXPECT_EQ(d.message, status_text(Status::kUnknown));
  }
}

TEST(DisconnectTest, MissingItemsKeepDefaults) {
  Disconnect d{42, "stale"};
  ASSERT_EQ(decode_disconnect("", d), Status::kNormal);
  EXPECT_EQ(d.status_code, 0u);
  EXPECT_EQ(d.message, "");

  std::string payload;
  Writer w(payload);
  encode_kv(w, "message", TypedValue::of_string("bye"));
  ASSERT_EQ(decode_disconnect(payload, d), Status::kNormal);
  EXPECT_EQ(d.status_code, 0u);
  EXPECT_EQ(d.message, "bye");
}

TEST(DisconnectTest, OtherIntegerTypesForTheStatus) {
  std::string payload;
  Writer w(payload);
  encode_kv(w, "status-code", TypedValue::of_int32(2));
  encode_kv(w, "extra", TypedValue::of_bool(true));
  Disconnect d;
  ASSERT_EQ(decode_disconnect(payload, d), Status::kNormal);
  EXPECT_EQ(d.status_code, 2u);
}

TEST(DisconnectTest, MalformedIsInvalid) {
  Disconnect d;
  EXPECT_EQ(decode_disconnect(B({0x0B, 's', 't'}), d), Status::kInvalidFrame);
  std::string payload;
  Writer w(payload);
  encode_kv(w, "status-code", TypedValue::of_uint32(1));
  payload += B({0x07, 'm', 'e', 's', 's', 'a', 'g', 'e', 0x08, 0x10, 'x'});
  EXPECT_EQ(decode_disconnect(payload, d), Status::kInvalidFrame);
}

TEST(StatusTest, EveryStatusHasAText) {
  const Status all[] = {Status::kNormal,
                        Status::kIoError,
                        Status::kTimeout,
                        Status::kTooBig,
                        Status::kInvalidFrame,
                        Status::kNoVersion,
                        Status::kNoMaxFrameSize,
                        Status::kNoCapabilities,
                        Status::kUnsupportedVersion,
                        Status::kBadMaxFrameSize,
                        Status::kFragmentationNotSupported,
                        Status::kInvalidInterlacedFrames,
                        Status::kFrameIdNotFound,
                        Status::kResourceAllocation,
                        Status::kUnknown};
  for (const Status s : all) EXPECT_FALSE(status_text(s).empty()) << static_cast<int>(s);
  EXPECT_EQ(status_text(Status::kNormal), "normal");
  EXPECT_EQ(status_text(Status::kTooBig), "frame is too big");
  EXPECT_EQ(status_text(static_cast<Status>(1234)), status_text(Status::kUnknown));
}

}  // namespace
}  // namespace keymux::spop
