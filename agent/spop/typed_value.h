// SPOP typed data: one type byte (low nibble type, high nibble flags) then the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/spop/reader.h"
#include "agent/spop/writer.h"

namespace keymux::spop {

enum class DataType : std::uint8_t {
  kNull = 0,
  kBool = 1,
  kInt32 = 2,
  kUint32 = 3,
  kInt64 = 4,
  kUint64 = 5,
  kIpv4 = 6,
  kIpv6 = 7,
  kString = 8,
  kBinary = 9,
};

constexpr std::uint8_t kBoolTrueFlag = 0x10;

// A decoded value. Strings, binaries and addresses are views into the frame
// they came from: valid only while that frame's bytes are.
struct TypedValue {
  DataType type = DataType::kNull;
  bool boolean = false;
  std::int64_t sint = 0;   // kInt32, kInt64
  std::uint64_t uint = 0;  // kUint32, kUint64
  std::string_view bytes;  // kString, kBinary, kIpv4 (4 bytes), kIpv6 (16 bytes)

  static TypedValue null() { return {}; }
  static TypedValue of_bool(bool v);
  static TypedValue of_int32(std::int32_t v);
  static TypedValue of_uint32(std::uint32_t v);
  static TypedValue of_int64(std::int64_t v);
  static TypedValue of_uint64(std::uint64_t v);
  static TypedValue of_ipv4(std::string_view four_bytes);
  static TypedValue of_ipv6(std::string_view sixteen_bytes);
  static TypedValue of_string(std::string_view v);
  static TypedValue of_binary(std::string_view v);

  bool is_null() const { return type == DataType::kNull; }
  // Any integer type holding a value >= 0.
  std::optional<std::uint64_t> as_uint() const;
  // kString or kBinary.
  std::optional<std::string_view> as_text() const;
};

// False on a truncated value, an unknown type, or an integer out of its type's range.
bool decode_typed(Reader& in, TypedValue& out);
void encode_typed(Writer& out, const TypedValue& value);

}  // namespace keymux::spop
