#include "agent/spop/status.h"

namespace keymux::spop {

std::string_view status_text(Status status) {
  switch (status) {
    case Status::kNormal:
      return "normal";
    case Status::kIoError:
      return "I/O error";
    case Status::kTimeout:
      return "a timeout occurred";
    case Status::kTooBig:
      return "frame is too big";
    case Status::kInvalidFrame:
      return "invalid frame received";
    case Status::kNoVersion:
      return "version value not found";
    case Status::kNoMaxFrameSize:
      return "max-frame-size value not found";
    case Status::kNoCapabilities:
      return "capabilities value not found";
    case Status::kUnsupportedVersion:
      return "unsupported version";
    case Status::kBadMaxFrameSize:
      return "max-frame-size too big or too small";
    case Status::kFragmentationNotSupported:
      return "payload fragmentation is not supported";
    case Status::kInvalidInterlacedFrames:
      return "invalid interlaced frames";
    case Status::kFrameIdNotFound:
      return "frame-id not found";
    case Status::kResourceAllocation:
      return "resource allocation error";
    case Status::kUnknown:
      return "an unknown error occurred";
  }
  return "an unknown error occurred";
}

}  // namespace keymux::spop
