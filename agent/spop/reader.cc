#include "agent/spop/reader.h"

#include <limits>

namespace keymux::spop {

bool Reader::read_u8(std::uint8_t& out) {
  if (remaining() < 1) return false;
  out = static_cast<std::uint8_t>(data_[pos_]);
  ++pos_;
  return true;
}

bool Reader::read_u32be(std::uint32_t& out) {
  if (remaining() < 4) return false;
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    v = (v << 8) | static_cast<std::uint8_t>(data_[pos_ + i]);
  }
  out = v;
  pos_ += 4;
  return true;
}

// The first byte carries 4 bits once it is >= 240; each following byte is
// added whole (continuation bit included) shifted by 4, 11, 18, ... bits, and a
// byte < 128 ends the number. 2^64-1 takes 10 bytes.
bool Reader::read_varint(std::uint64_t& out) {
  std::size_t pos = pos_;
  if (pos >= data_.size()) return false;
  std::uint64_t value = static_cast<std::uint8_t>(data_[pos++]);
  if (value < 240) {
    out = value;
    pos_ = pos;
    return true;
  }
  unsigned shift = 4;
  for (;;) {
    if (pos >= data_.size()) return false;  // truncated
    const std::uint64_t byte = static_cast<std::uint8_t>(data_[pos++]);
    if (shift >= 64 || byte > (std::numeric_limits<std::uint64_t>::max() >> shift)) return false;
    const std::uint64_t add = byte << shift;
    if (value > std::numeric_limits<std::uint64_t>::max() - add) return false;  // overflow
    value += add;
    if (byte < 128) break;
    shift += 7;
  }
  out = value;
  pos_ = pos;
  return true;
}

bool Reader::read_bytes(std::size_t n, std::string_view& out) {
  if (n > remaining()) return false;
  out = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool Reader::read_length_prefixed(std::string_view& out) {
  const std::size_t start = pos_;
  std::uint64_t length = 0;
  if (!read_varint(length)) return false;
  // Compared as uint64 first, so a huge length cannot wrap size_t.
  if (length > remaining()) {
    pos_ = start;
    return false;
  }
  out = data_.substr(pos_, static_cast<std::size_t>(length));
  pos_ += static_cast<std::size_t>(length);
  return true;
}

}  // namespace keymux::spop
