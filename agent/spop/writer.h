// Appends SPOP encodings to one output buffer (one per connection, reused).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keymux::spop {

constexpr std::size_t kMaxVarintSize = 10;

// Encodes `value` into `out` (at least kMaxVarintSize bytes); returns the byte count.
std::size_t encode_varint(std::uint64_t value, std::uint8_t* out);

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32be(std::uint32_t v);
  void varint(std::uint64_t v);
  void bytes(std::string_view v) { out_.append(v); }
  void length_prefixed(std::string_view v);
  // Overwrites 4 bytes at `offset` (used to back-patch frame lengths).
  void patch_u32be(std::size_t offset, std::uint32_t v);

  std::size_t size() const { return out_.size(); }
  std::string& buffer() { return out_; }

 private:
  std::string& out_;
};

}  // namespace keymux::spop
