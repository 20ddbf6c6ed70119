#include "agent/spop/typed_value.h"

#include <limits>

namespace keymux::spop {
namespace {

constexpr std::uint8_t kTypeMask = 0x0F;
constexpr std::uint8_t kMaxType = static_cast<std::uint8_t>(DataType::kBinary);
constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

// INT32 comes either zero-extended (the 32-bit pattern as an unsigned) or, as
// HAProxy writes its signed integers, sign-extended to 64 bits.
bool int32_from_wire(std::uint64_t wire, std::int64_t& out) {
  if (wire <= kU32Max) {
    out = static_cast<std::int32_t>(static_cast<std::uint32_t>(wire));
    return true;
  }
  const auto as_signed = static_cast<std::int64_t>(wire);
  if (as_signed >= std::numeric_limits<std::int32_t>::min() && as_signed < 0) {
    out = as_signed;
    return true;
  }
  return false;
}

void fixed_bytes(Writer& out, std::string_view bytes, std::size_t size) {
  // An address of the wrong size is cut or zero-padded so the frame stays well formed.
  const std::string_view head = bytes.substr(0, size);
  out.bytes(head);
  for (std::size_t i = head.size(); i < size; ++i) out.u8(0);
}

}  // namespace

TypedValue TypedValue::of_bool(bool v) {
  TypedValue t;
  t.type = DataType::kBool;
  t.boolean = v;
  return t;
}

TypedValue TypedValue::of_int32(std::int32_t v) {
  TypedValue t;
  t.type = DataType::kInt32;
  t.sint = v;
  return t;
}

TypedValue TypedValue::of_uint32(std::uint32_t v) {
  TypedValue t;
  t.type = DataType::kUint32;
  t.uint = v;
  return t;
}

TypedValue TypedValue::of_int64(std::int64_t v) {
  TypedValue t;
  t.type = DataType::kInt64;
  t.sint = v;
  return t;
}

TypedValue TypedValue::of_uint64(std::uint64_t v) {
  TypedValue t;
  t.type = DataType::kUint64;
  t.uint = v;
  return t;
}

TypedValue TypedValue::of_ipv4(std::string_view four_bytes) {
  TypedValue t;
  t.type = DataType::kIpv4;
  t.bytes = four_bytes;
  return t;
}

TypedValue TypedValue::of_ipv6(std::string_view sixteen_bytes) {
  TypedValue t;
  t.type = DataType::kIpv6;
  t.bytes = sixteen_bytes;
  return t;
}

TypedValue TypedValue::of_string(std::string_view v) {
  TypedValue t;
  t.type = DataType::kString;
  t.bytes = v;
  return t;
}

TypedValue TypedValue::of_binary(std::string_view v) {
  TypedValue t;
  t.type = DataType::kBinary;
  t.bytes = v;
  return t;
}

std::optional<std::uint64_t> TypedValue::as_uint() const {
  switch (type) {
    case DataType::kInt32:
    case DataType::kInt64:
      if (sint < 0) return std::nullopt;
      return static_cast<std::uint64_t>(sint);
    case DataType::kUint32:
    case DataType::kUint64:
      return uint;
    default:
      return std::nullopt;
  }
}

std::optional<std::string_view> TypedValue::as_text() const {
  if (type == DataType::kString || type == DataType::kBinary) return bytes;
  return std::nullopt;
}

bool decode_typed(Reader& in, TypedValue& out) {
  Reader r = in;  // committed only on success
  std::uint8_t type_byte = 0;
  if (!r.read_u8(type_byte)) return false;
  const std::uint8_t type = type_byte & kTypeMask;
  if (type > kMaxType) return false;

  TypedValue v;
  v.type = static_cast<DataType>(type);
  std::uint64_t wire = 0;
  switch (v.type) {
    case DataType::kNull:
      break;
    case DataType::kBool:
      v.boolean = (type_byte & kBoolTrueFlag) != 0;
      break;
    case DataType::kInt32:
      if (!r.read_varint(wire) || !int32_from_wire(wire, v.sint)) return false;
      break;
    case DataType::kUint32:
      if (!r.read_varint(wire) || wire > kU32Max) return false;
      v.uint = wire;
      break;
    case DataType::kInt64:
      if (!r.read_varint(wire)) return false;
      v.sint = static_cast<std::int64_t>(wire);
      break;
    case DataType::kUint64:
      if (!r.read_varint(wire)) return false;
      v.uint = wire;
      break;
    case DataType::kIpv4:
      if (!r.read_bytes(4, v.bytes)) return false;
      break;
    case DataType::kIpv6:
      if (!r.read_bytes(16, v.bytes)) return false;
      break;
    case DataType::kString:
    case DataType::kBinary:
      if (!r.read_length_prefixed(v.bytes)) return false;
      break;
  }
  in = r;
  out = v;
  return true;
}

void encode_typed(Writer& out, const TypedValue& value) {
  std::uint8_t type_byte = static_cast<std::uint8_t>(value.type) & kTypeMask;
  if (value.type == DataType::kBool && value.boolean) type_byte |= kBoolTrueFlag;
  out.u8(type_byte);
  switch (value.type) {
    case DataType::kNull:
    case DataType::kBool:
      break;
    case DataType::kInt32:
      // Sign-extended to 64 bits, as HAProxy encodes signed integers.
      out.varint(static_cast<std::uint64_t>(
          static_cast<std::int64_t>(static_cast<std::int32_t>(value.sint))));
      break;
    case DataType::kInt64:
      out.varint(static_cast<std::uint64_t>(value.sint));
      break;
    case DataType::kUint32:
      out.varint(value.uint & kU32Max);
      break;
    case DataType::kUint64:
      out.varint(value.uint);
      break;
    case DataType::kIpv4:
      fixed_bytes(out, value.bytes, 4);
      break;
    case DataType::kIpv6:
      fixed_bytes(out, value.bytes, 16);
      break;
    case DataType::kString:
    case DataType::kBinary:
      out.length_prefixed(value.bytes);
      break;
  }
}

}  // namespace keymux::spop
