#include "tests/support/frame_list.h"

#include <stdexcept>
#include <string>

namespace keymux::testing {

std::vector<spop::Frame> split_frames(std::string_view bytes, std::uint32_t max_frame_size) {
  std::vector<spop::Frame> frames;
  while (!bytes.empty()) {
    const spop::FrameScan scan = spop::scan_frame(bytes, max_frame_size);
    if (scan.kind != spop::FrameScan::Kind::kFrame) {
      throw std::runtime_error("output is not a sequence of whole frames");
    }
    spop::Frame frame;
    if (spop::decode_frame(scan.body, frame) != spop::Status::kNormal) {
      throw std::runtime_error("output holds a malformed frame header");
    }
    frames.push_back(frame);
    bytes.remove_prefix(scan.consumed);
  }
  return frames;
}

}  // namespace keymux::testing
