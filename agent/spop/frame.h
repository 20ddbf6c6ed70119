// SPOP frames: <LENGTH:4 bytes BE> then <TYPE:1><FLAGS:4
// BE><STREAM-ID:varint><FRAME-ID:varint><PAYLOAD>. LENGTH counts everything after itself; the
// max-frame-size applies to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/spop/status.h"
#include "agent/spop/writer.h"

namespace keymux::spop {

enum class FrameType : std::uint8_t {
  kUnset = 0,
  kHaproxyHello = 1,
  kHaproxyDisconnect = 2,
  kNotify = 3,
  kAgentHello = 101,
  kAgentDisconnect = 102,
  kAck = 103,
};

constexpr std::uint32_t kFlagFin = 0x00000001;
constexpr std::uint32_t kFlagAbort = 0x00000002;

constexpr std::size_t kLengthPrefixSize = 4;
// The smallest max-frame-size either peer may announce (doc/SPOE.txt).
constexpr std::uint32_t kMinFrameSize = 256;

struct Frame {
  FrameType type = FrameType::kUnset;
  std::uint32_t flags = 0;
  std::uint64_t stream_id = 0;
  std::uint64_t frame_id = 0;
  std::string_view payload;  // view into the frame's bytes
};

// Result of looking for one whole frame at the start of a receive buffer.
struct FrameScan {
  enum class Kind { kNeedMore, kFrame, kError };
  Kind kind = Kind::kNeedMore;
  std::string_view body;           // kFrame: the bytes after the length prefix
  std::size_t consumed = 0;        // kFrame: prefix + body
  Status error = Status::kNormal;  // kError: kTooBig or kInvalidFrame (zero length)
};

// Looks at the start of `buffered`. A length over `max_frame_size` is an error
// as soon as the 4 prefix bytes are in, so an oversized frame is never buffered.
FrameScan scan_frame(std::string_view buffered, std::uint32_t max_frame_size);

// Decodes the body (after the length prefix) of one frame. Returns kNormal or
// kInvalidFrame (header truncated or varints malformed). Type and flags are not
// judged here: what is legal depends on the connection's state.
Status decode_frame(std::string_view body, Frame& out);

// Starts a frame in `out` (FIN set) and back-patches its length on finish().
class FrameEncoder {
 public:
  FrameEncoder(std::string& out, FrameType type, std::uint64_t stream_id, std::uint64_t frame_id,
               std::uint32_t flags = kFlagFin);
  Writer& payload() { return writer_; }
  // Length of the frame so far, excluding the 4-byte prefix.
  std::size_t body_size() const;
  // Writes the length; returns the body size (what max-frame-size applies to).
  std::size_t finish();
  // Removes the unfinished frame from the buffer.
  void discard();

 private:
  Writer writer_;
  std::size_t start_;
};

}  // namespace keymux::spop
