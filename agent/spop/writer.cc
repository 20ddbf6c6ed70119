#include "agent/spop/writer.h"

namespace keymux::spop {

std::size_t encode_varint(std::uint64_t value, std::uint8_t* out) {
  if (value < 240) {
    out[0] = static_cast<std::uint8_t>(value);
    return 1;
  }
  std::size_t n = 0;
  out[n++] = static_cast<std::uint8_t>(value | 0xF0);
  value = (value - 240) >> 4;
  while (value >= 128) {
    out[n++] = static_cast<std::uint8_t>(value | 0x80);
    value = (value - 128) >> 7;
  }
  out[n++] = static_cast<std::uint8_t>(value);
  return n;
}

void Writer::u32be(std::uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out_.append(bytes, sizeof bytes);
}

void Writer::varint(std::uint64_t v) {
  std::uint8_t buf[kMaxVarintSize];
  const std::size_t n = encode_varint(v, buf);
  out_.append(reinterpret_cast<const char*>(buf), n);
}

void Writer::length_prefixed(std::string_view v) {
  varint(v.size());
  out_.append(v);
}

void Writer::patch_u32be(std::size_t offset, std::uint32_t v) {
  out_[offset] = static_cast<char>(v >> 24);
  out_[offset + 1] = static_cast<char>(v >> 16);
  out_[offset + 2] = static_cast<char>(v >> 8);
  out_[offset + 3] = static_cast<char>(v);
}

}  // namespace keymux::spop
