// Bounds-checked cursor over received bytes. Every read checks the remaining
// length first; on failure the cursor is left where it was and false is returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keymux::spop {

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool read_u8(std::uint8_t& out);
  bool read_u32be(std::uint32_t& out);
  // SPOP variable-length integer, up to 64 bits; fails on truncation or overflow.
  bool read_varint(std::uint64_t& out);
  bool read_bytes(std::size_t n, std::string_view& out);
  // A varint length followed by that many bytes (SPOP STRING/BINARY, keys, names).
  bool read_length_prefixed(std::string_view& out);

  bool empty() const { return pos_ == data_.size(); }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }
  std::string_view rest() const { return data_.substr(pos_); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

}  // namespace keymux::spop
