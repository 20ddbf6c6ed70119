#include "agent/spop/frame.h"

#include "agent/spop/reader.h"

namespace keymux::spop {

FrameScan scan_frame(std::string_view buffered, std::uint32_t max_frame_size) {
  FrameScan scan;
  Reader in(buffered);
  std::uint32_t length = 0;
  if (!in.read_u32be(length)) return scan;  // kNeedMore
  if (length == 0) {
    scan.kind = FrameScan::Kind::kError;
    scan.error = Status::kInvalidFrame;
    return scan;
  }
  if (length > max_frame_size) {
    scan.kind = FrameScan::Kind::kError;
    scan.error = Status::kTooBig;
    return scan;
  }
  if (in.remaining() < length) return scan;  // kNeedMore
  scan.kind = FrameScan::Kind::kFrame;
  scan.body = buffered.substr(kLengthPrefixSize, length);
  scan.consumed = kLengthPrefixSize + length;
  return scan;
}

Status decode_frame(std::string_view body, Frame& out) {
  Reader in(body);
  std::uint8_t type = 0;
  std::uint32_t flags = 0;
  std::uint64_t stream_id = 0;
  std::uint64_t frame_id = 0;
  if (!in.read_u8(type) || !in.read_u32be(flags) || !in.read_varint(stream_id) ||
      !in.read_varint(frame_id)) {
    return Status::kInvalidFrame;
  }
  out.type = static_cast<FrameType>(type);
  out.flags = flags;
  out.stream_id = stream_id;
  out.frame_id = frame_id;
  out.payload = in.rest();
  return Status::kNormal;
}

FrameEncoder::FrameEncoder(std::string& out, FrameType type, std::uint64_t stream_id,
                           std::uint64_t frame_id, std::uint32_t flags)
    : writer_(out), start_(out.size()) {
  writer_.u32be(0);  // patched by finish()
  writer_.u8(static_cast<std::uint8_t>(type));
  writer_.u32be(flags);
  writer_.varint(stream_id);
  writer_.varint(frame_id);
}

std::size_t FrameEncoder::body_size() const { return writer_.size() - start_ - kLengthPrefixSize; }

std::size_t FrameEncoder::finish() {
  const std::size_t size = body_size();
  writer_.patch_u32be(start_, static_cast<std::uint32_t>(size));
  return size;
}

void FrameEncoder::discard() { writer_.buffer().resize(start_); }

}  // namespace keymux::spop
