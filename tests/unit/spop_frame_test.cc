// Frame scanning (length prefix), header decoding and FrameEncoder.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "agent/spop/frame.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using test::Hex;

// NOTIFY, FIN, stream-id 240 (2-byte varint), frame-id 1, payload "xy".
const std::string kBody = B({0x03, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00, 0x01, 'x', 'y'});
const std::string kFrame = B({0x00, 0x00, 0x00, 0x0A}) + kBody;

TEST(ScanFrameTest, NeedsTheWholeLengthPrefix) {
  for (std::size_t n = 0; n < 4; ++n) {
    const FrameScan scan = scan_frame(kFrame.substr(0, n), 16380);
    EXPECT_EQ(scan.kind, FrameScan::Kind::kNeedMore) << n;
  }
}

TEST(ScanFrameTest, NeedsTheWholeBody) {
  for (std::size_t n = 4; n < kFrame.size(); ++n) {
    const FrameScan scan = scan_frame(kFrame.substr(0, n), 16380);
    EXPECT_EQ(scan.kind, FrameScan::Kind::kNeedMore) << n;
  }
}

TEST(ScanFrameTest, FindsOneFrameAndLeavesTheRest) {
  const std::string buffered = kFrame + B({0x00, 0x00});
  const FrameScan scan = scan_frame(buffered, 16380);
  ASSERT_EQ(scan.kind, FrameScan::Kind::kFrame);
  EXPECT_EQ(scan.consumed, kFrame.size());
  EXPECT_EQ(scan.body, kBody);
  EXPECT_EQ(scan.body.data(), buffered.data() + 4);
}

TEST(ScanFrameTest, ZeroLengthIsInvalid) {
  const FrameScan scan = scan_frame(B({0x00, 0x00, 0x00, 0x00}), 16380);
  EXPECT_EQ(scan.kind, FrameScan::Kind::kError);
  EXPECT_EQ(scan.error, Status::kInvalidFrame);
}

TEST(ScanFrameTest, TooBigIsReportedFromThePrefixAlone) {
  // 16381 > 16380: an error before any of the body arrives.
  const FrameScan scan = scan_frame(B({0x00, 0x00, 0x3F, 0xFD}), 16380);
  EXPECT_EQ(scan.kind, FrameScan::Kind::kError);
  EXPECT_EQ(scan.error, Status::kTooBig);

  const FrameScan huge = scan_frame(B({0xFF, 0xFF, 0xFF, 0xFF, 0x03}), 16380);
  EXPECT_EQ(huge.kind, FrameScan::Kind::kError);
  EXPECT_EQ(huge.error, Status::kTooBig);
}

TEST(ScanFrameTest, ExactlyTheMaximumIsAccepted) {
  std::string buffered = B({0x00, 0x00, 0x01, 0x00}) + std::string(256, 'a');
  const FrameScan scan = scan_frame(buffered, 256);
  ASSERT_EQ(scan.kind, FrameScan::Kind::kFrame);
  EXPECT_EQ(scan.body.size(), 256u);
  EXPECT_EQ(scan.consumed, 260u);
}

TEST(ScanFrameTest, LargestLengthWithoutOverflow) {
  const std::uint32_t max = std::numeric_limits<std::uint32_t>::max();
  const FrameScan scan = scan_frame(B({0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0x00}), max);
  EXPECT_EQ(scan.kind, FrameScan::Kind::kNeedMore);
}

TEST(DecodeFrameTest, ExactHeader) {
  Frame frame;
  ASSERT_EQ(decode_frame(kBody, frame), Status::kNormal);
  EXPECT_EQ(frame.type, FrameType::kNotify);
  EXPECT_EQ(frame.flags, kFlagFin);
  EXPECT_EQ(frame.stream_id, 240u);
  EXPECT_EQ(frame.frame_id, 1u);
  EXPECT_EQ(frame.payload, "xy");
  EXPECT_EQ(frame.payload.data(), kBody.data() + 8);
}

TEST(DecodeFrameTest, EveryFlagCombinationIsReportedAsIs) {
  const std::uint32_t combos[] = {0,           kFlagFin,   kFlagAbort, kFlagFin | kFlagAbort,
                                  0x80000000u, 0xFFFFFFFFu};
  for (const std::uint32_t flags : combos) {
    SCOPED_TRACE(flags);
    std::string out;
    FrameEncoder enc(out, FrameType::kNotify, 5, 6, flags);
    enc.payload().bytes("p");
    enc.finish();
    EXPECT_EQ(Hex(out.substr(5, 4)),
              Hex(B({static_cast<int>(flags >> 24), static_cast<int>((flags >> 16) & 0xFF),
                     static_cast<int>((flags >> 8) & 0xFF), static_cast<int>(flags & 0xFF)})));
    const FrameScan scan = scan_frame(out, 16380);
    ASSERT_EQ(scan.kind, FrameScan::Kind::kFrame);
    Frame frame;
    ASSERT_EQ(decode_frame(scan.body, frame), Status::kNormal);
    EXPECT_EQ(frame.flags, flags);
    EXPECT_EQ(frame.stream_id, 5u);
    EXPECT_EQ(frame.frame_id, 6u);
    EXPECT_EQ(frame.payload, "p");
  }
}

TEST(DecodeFrameTest, EmptyPayloadIsFine) {
  Frame frame;
  ASSERT_EQ(decode_frame(B({0x65, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}), frame), Status::kNormal);
  EXPECT_EQ(frame.type, FrameType::kAgentHello);
  EXPECT_TRUE(frame.payload.empty());
}

TEST(DecodeFrameTest, TruncatedHeaderIsInvalid) {
  // Every strict prefix of the 8 header bytes.
  for (std::size_t n = 0; n < 8; ++n) {
    Frame frame;
    EXPECT_EQ(decode_frame(kBody.substr(0, n), frame), Status::kInvalidFrame) << n;
  }
}

TEST(DecodeFrameTest, MalformedIdsAreInvalid) {
  Frame frame;
  // stream-id overflows 64 bits
  EXPECT_EQ(decode_frame(B({0x03, 0, 0, 0, 1, 0xFF, 0xF0, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE,
                            0x0F, 0x01}),
                         frame),
            Status::kInvalidFrame);
  // frame-id truncated
  EXPECT_EQ(decode_frame(B({0x03, 0, 0, 0, 1, 0x01, 0xF5}), frame), Status::kInvalidFrame);
}

TEST(DecodeFrameTest, LargestIds) {
  std::string out;
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  FrameEncoder enc(out, FrameType::kAck, max, max - 1);
  enc.finish();
  EXPECT_EQ(out.size(), 4u + 1 + 4 + 10 + 10);
  Frame frame;
  ASSERT_EQ(decode_frame(std::string_view(out).substr(4), frame), Status::kNormal);
  EXPECT_EQ(frame.stream_id, max);
  EXPECT_EQ(frame.frame_id, max - 1);
}

TEST(FrameEncoderTest, ExactBytes) {
  std::string out;
  FrameEncoder enc(out, FrameType::kNotify, 240, 1);
  enc.payload().bytes("xy");
  EXPECT_EQ(enc.body_size(), kBody.size());
  EXPECT_EQ(enc.finish(), kBody.size());
  EXPECT_EQ(Hex(out), Hex(kFrame));
}

TEST(FrameEncoderTest, AppendsAfterWhatIsBuffered) {
  std::string out = "earlier";
  FrameEncoder first(out, FrameType::kAck, 1, 2);
  first.payload().u8(0x42);
  first.finish();
  FrameEncoder second(out, FrameType::kAck, 3, 4);
  second.finish();
  EXPECT_EQ(out.substr(0, 7), "earlier");
  std::string_view rest = std::string_view(out).substr(7);
  const FrameScan a = scan_frame(rest, 16380);
  ASSERT_EQ(a.kind, FrameScan::Kind::kFrame);
  EXPECT_EQ(Hex(a.body), "67 00 00 00 01 01 02 42");
  rest.remove_prefix(a.consumed);
  const FrameScan b = scan_frame(rest, 16380);
  ASSERT_EQ(b.kind, FrameScan::Kind::kFrame);
  EXPECT_EQ(Hex(b.body), "67 00 00 00 01 03 04");
  EXPECT_EQ(b.consumed, rest.size());
}

TEST(FrameEncoderTest, DiscardRemovesTheUnfinishedFrame) {
  std::string out = "keep";
  FrameEncoder enc(out, FrameType::kAck, 9, 9);
  enc.payload().bytes(std::string(100, 'z'));
  enc.discard();
  EXPECT_EQ(out, "keep");
}

TEST(FrameEncoderTest, LengthPrefixCountsTheBodyOnly) {
  std::string out;
  FrameEncoder enc(out, FrameType::kAgentDisconnect, 0, 0);
  enc.payload().bytes(std::string(300, 'm'));
  const std::size_t size = enc.finish();
  EXPECT_EQ(size, 1u + 4 + 1 + 1 + 300);
  EXPECT_EQ(out.size(), size + kLengthPrefixSize);
  EXPECT_EQ(Hex(out.substr(0, 4)), "00 00 01 33");
}

}  // namespace
}  // namespace keymux::spop
