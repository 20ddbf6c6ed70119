#include "agent/router/octet_framing.h"

namespace keymux::router {

bool OctetFramer::next(std::size_t& pos, std::string_view& message) {
  const std::string_view rest = std::string_view(buffer_).substr(pos);
  // LEN: 1-9 digits, no leading zero (RFC 6587: NONZERO-DIGIT *DIGIT).
  std::size_t digits = 0;
  std::size_t length = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
    if (digits == 0 && rest[0] == '0') {
      error_ = "frame length with a leading zero";
      return false;
    }
    length = length * 10 + static_cast<std::size_t>(rest[digits] - '0');
    if (++digits > 9 || length > max_message_) {
      error_ = "frame longer than " + std::to_string(max_message_) + " bytes";
      return false;
    }
  }
  if (digits == rest.size()) return false;  // the length is still arriving
  if (digits == 0 || rest[digits] != ' ') {
    error_ = "not an octet-counted frame (LEN SP MSG)";
    return false;
  }
  if (rest.size() - digits - 1 < length) return false;  // the message is still arriving
  message = rest.substr(digits + 1, length);
  pos += digits + 1 + length;
  return true;
}

}  // namespace keymux::router
