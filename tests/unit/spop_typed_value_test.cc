// SPOP typed data: exact bytes both ways for every type, and what is refused.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "agent/spop/typed_value.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using test::Hex;

std::string Encode(const TypedValue& v) {
  std::string out;
  Writer w(out);
  encode_typed(w, v);
  return out;
}

TypedValue Decode(const std::string& bytes) {
  Reader in(bytes);
  TypedValue v;
  EXPECT_TRUE(decode_typed(in, v)) << Hex(bytes);
  EXPECT_TRUE(in.empty()) << Hex(bytes);
  return v;
}

bool Refused(const std::string& bytes) {
  Reader in(bytes);
  TypedValue v;
  const bool ok = decode_typed(in, v);
  EXPECT_EQ(in.position(), 0u) << "a failed decode must not move the cursor";
  return !ok;
}

const std::string kMinusOne = B({0xFF, 0xF0, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0E});

TEST(TypedValueTest, Null) {
  EXPECT_EQ(Hex(Encode(TypedValue::null())), "00");
  EXPECT_TRUE(Decode(B({0x00})).is_null());
}

TEST(TypedValueTest, Bool) {
  EXPECT_EQ(Hex(Encode(TypedValue::of_bool(true))), "11");
  EXPECT_EQ(Hex(Encode(TypedValue::of_bool(false))), "01");
  const TypedValue t = Decode(B({0x11}));
  EXPECT_EQ(t.type, DataType::kBool);
  EXPECT_TRUE(t.boolean);
  const TypedValue f = Decode(B({0x01}));
  EXPECT_EQ(f.type, DataType::kBool);
  EXPECT_FALSE(f.boolean);
}

TEST(TypedValueTest, Int32) {
  EXPECT_EQ(Hex(Encode(TypedValue::of_int32(42))), "02 2a");
  EXPECT_EQ(Hex(Encode(TypedValue::of_int32(std::numeric_limits<std::int32_t>::max()))),
            Hex(B({0x02, 0xFF, 0xF0, 0xFE, 0xFE, 0x3E})));
  // Negative values are sign-extended to 64 bits, as HAProxy writes them.
  EXPECT_EQ(Hex(Encode(TypedValue::of_int32(-1))), Hex(B({0x02}) + kMinusOne));
  EXPECT_EQ(Hex(Encode(TypedValue::of_int32(std::numeric_limits<std::int32_t>::min()))),
            Hex(B({0x02, 0xF0, 0xF1, 0xFE, 0xFE, 0xBE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0E})));

  EXPECT_EQ(Decode(B({0x02, 0x2A})).sint, 42);
  EXPECT_EQ(Decode(B({0x02}) + kMinusOne).sint, -1);
  EXPECT_EQ(Decode(B({0x02, 0xF0, 0xF1, 0xFE, 0xFE, 0xBE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0E})).sint,
            std::numeric_limits<std::int32_t>::min());
  // The zero-extended 32-bit form is accepted too.
  EXPECT_EQ(Decode(B({0x02, 0xFF, 0xF0, 0xFE, 0xFE, 0x7E})).sint, -1);
  EXPECT_EQ(Decode(B({0x02, 0xF0, 0xF1, 0xFE, 0xFE, 0x3E})).sint,
            std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(Decode(B({0x02, 0x2A})).type, DataType::kInt32);
}

TEST(TypedValueTest, Int32OutOfRangeIsRefused) {
  // 2^32: neither form.
  EXPECT_TRUE(Refused(B({0x02, 0xF0, 0xF1, 0xFE, 0xFE, 0x7E})));
  // INT32_MIN - 1, sign-extended.
  EXPECT_TRUE(Refused(B({0x02, 0xFF, 0xF0, 0xFE, 0xFE, 0xBE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0E})));
  // 2^63.
  EXPECT_TRUE(Refused(B({0x02, 0xF0, 0xF1, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x06})));
}

TEST(TypedValueTest, Uint32) {
  EXPECT_EQ(Hex(Encode(TypedValue::of_uint32(16380))), "03 fc f0 06");
  EXPECT_EQ(Hex(Encode(TypedValue::of_uint32(std::numeric_limits<std::uint32_t>::max()))),
            "03 ff f0 fe fe 7e");
  const TypedValue v = Decode(B({0x03, 0xFF, 0xF0, 0xFE, 0xFE, 0x7E}));
  EXPECT_EQ(v.type, DataType::kUint32);
  EXPECT_EQ(v.uint, 0xFFFFFFFFu);
  EXPECT_TRUE(Refused(B({0x03, 0xF0, 0xF1, 0xFE, 0xFE, 0x7E})));  // 2^32
  EXPECT_TRUE(Refused(B({0x03}) + kMinusOne));
}

TEST(TypedValueTest, Int64) {
  EXPECT_EQ(Hex(Encode(TypedValue::of_int64(-1))), Hex(B({0x04}) + kMinusOne));
  EXPECT_EQ(Hex(Encode(TypedValue::of_int64(std::numeric_limits<std::int64_t>::min()))),
            Hex(B({0x04, 0xF0, 0xF1, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x06})));
  EXPECT_EQ(Hex(Encode(TypedValue::of_int64(90))), "04 5a");
  EXPECT_EQ(Decode(B({0x04}) + kMinusOne).sint, -1);
  EXPECT_EQ(Decode(B({0x04, 0xFF, 0xF0, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x06})).sint,
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(Decode(B({0x04, 0x5A})).type, DataType::kInt64);
}

TEST(TypedValueTest, Uint64) {
  EXPECT_EQ(Hex(Encode(TypedValue::of_uint64(std::numeric_limits<std::uint64_t>::max()))),
            Hex(B({0x05}) + kMinusOne));
  EXPECT_EQ(Hex(Encode(TypedValue::of_uint64(1ULL << 32))), "05 f0 f1 fe fe 7e");
  const TypedValue v = Decode(B({0x05}) + kMinusOne);
  EXPECT_EQ(v.type, DataType::kUint64);
  EXPECT_EQ(v.uint, std::numeric_limits<std::uint64_t>::max());
}

TEST(TypedValueTest, Ipv4) {
  const std::string addr = B({127, 0, 0, 1});
  EXPECT_EQ(Hex(Encode(TypedValue::of_ipv4(addr))), "06 7f 00 00 01");
  const std::string bytes = B({0x06, 10, 1, 2, 3});
  const TypedValue v = Decode(bytes);
  EXPECT_EQ(v.type, DataType::kIpv4);
  EXPECT_EQ(Hex(v.bytes), "0a 01 02 03");
}

TEST(TypedValueTest, Ipv6) {
  const std::string addr = B({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  EXPECT_EQ(Hex(Encode(TypedValue::of_ipv6(addr))), Hex(B({0x07}) + addr));
  const std::string bytes = B({0x07}) + addr;
  const TypedValue v = Decode(bytes);
  EXPECT_EQ(v.type, DataType::kIpv6);
  EXPECT_EQ(v.bytes, addr);
}

TEST(TypedValueTest, AddressOfTheWrongSizeStillEncodesItsFixedWidth) {
  EXPECT_EQ(Hex(Encode(TypedValue::of_ipv4("ab"))), "06 61 62 00 00");
  EXPECT_EQ(Encode(TypedValue::of_ipv6("x")).size(), 17u);
}

TEST(TypedValueTest, StringAndBinary) {
  EXPECT_EQ(Hex(Encode(TypedValue::of_string("abc"))), "08 03 61 62 63");
  EXPECT_EQ(Hex(Encode(TypedValue::of_string(""))), "08 00");
  EXPECT_EQ(Hex(Encode(TypedValue::of_binary(B({0x00, 0xFF})))), "09 02 00 ff");

  const std::string s_bytes = B({0x08, 0x03, 'a', 'b', 'c'});
  const TypedValue s = Decode(s_bytes);
  EXPECT_EQ(s.type, DataType::kString);
  EXPECT_EQ(s.bytes, "abc");
  const std::string b_bytes = B({0x09, 0x02, 0x00, 0xFF});
  const TypedValue b = Decode(b_bytes);
  EXPECT_EQ(b.type, DataType::kBinary);
  EXPECT_EQ(Hex(b.bytes), "00 ff");

  const std::string long_value(5000, 'q');
  const std::string encoded = Encode(TypedValue::of_string(long_value));
  EXPECT_EQ(Hex(encoded.substr(0, 4)), "08 f8 a9 01");  // 5000 is a 3-byte varint
  EXPECT_EQ(Decode(encoded).bytes, long_value);
}

TEST(TypedValueTest, DecodedBytesAreViewsIntoTheInput) {
  const std::string bytes = B({0x08, 0x02, 'h', 'i'});
  const TypedValue v = Decode(bytes);
  EXPECT_EQ(v.bytes.data(), bytes.data() + 2);
}

TEST(TypedValueTest, UnknownTypesAreRefused) {
  for (int type = 10; type <= 15; ++type) {
    EXPECT_TRUE(Refused(B({type, 0x00, 0x00}))) << type;
    EXPECT_TRUE(Refused(B({0x10 | type, 0x00}))) << type;
  }
}

TEST(TypedValueTest, TruncatedValuesAreRefused) {
  const std::string cases[] = {
      "",
      B({0x02}),
      B({0x03, 0xF0}),
      B({0x04, 0xFF, 0xF0}),
      B({0x05}),
      B({0x06, 127, 0, 0}),
      B({0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
      B({0x08}),
      B({0x08, 0x04, 'a', 'b', 'c'}),
      B({0x09, 0xF0}),
      B({0x09, 0xF0, 0x00}),  // says 240 bytes, has none
  };
  for (const std::string& bytes : cases) EXPECT_TRUE(Refused(bytes)) << Hex(bytes);
}

TEST(TypedValueTest, RoundTripOfEveryType) {
  const std::string v4 = B({192, 168, 1, 1});
  const std::string v6(16, '\x11');
  const TypedValue values[] = {
      TypedValue::null(),
      TypedValue::of_bool(true),
      TypedValue::of_bool(false),
      TypedValue::of_int32(-123456),
      TypedValue::of_int32(123456),
      TypedValue::of_uint32(4000000000u),
      TypedValue::of_int64(-(1LL << 40)),
      TypedValue::of_uint64(1ULL << 40),
      TypedValue::of_ipv4(v4),
      TypedValue::of_ipv6(v6),
      TypedValue::of_string("route"),
      TypedValue::of_binary(std::string_view("\0\1\2", 3)),
  };
  std::string buf;
  Writer w(buf);
  for (const TypedValue& v : values) encode_typed(w, v);
  Reader in(buf);
  for (const TypedValue& want : values) {
    TypedValue got;
    ASSERT_TRUE(decode_typed(in, got));
    EXPECT_EQ(got.type, want.type);
    EXPECT_EQ(got.boolean, want.boolean);
    EXPECT_EQ(got.sint, want.sint);
    EXPECT_EQ(got.uint, want.uint);
    EXPECT_EQ(got.bytes, want.bytes);
  }
  EXPECT_TRUE(in.empty());
}

TEST(TypedValueTest, AsUintAndAsText) {
  EXPECT_EQ(TypedValue::of_int32(5).as_uint(), 5u);
  EXPECT_EQ(TypedValue::of_int64(0).as_uint(), 0u);
  EXPECT_EQ(TypedValue::of_int32(-5).as_uint(), std::nullopt);
  EXPECT_EQ(TypedValue::of_int64(-1).as_uint(), std::nullopt);
  EXPECT_EQ(TypedValue::of_uint32(7).as_uint(), 7u);
  EXPECT_EQ(TypedValue::of_uint64(1ULL << 50).as_uint(), 1ULL << 50);
  EXPECT_EQ(TypedValue::of_string("7").as_uint(), std::nullopt);
  EXPECT_EQ(TypedValue::of_bool(true).as_uint(), std::nullopt);
  EXPECT_EQ(TypedValue::null().as_uint(), std::nullopt);

  EXPECT_EQ(TypedValue::of_string("s").as_text(), "s");
  EXPECT_EQ(TypedValue::of_binary("b").as_text(), "b");
  EXPECT_EQ(TypedValue::of_ipv4("abcd").as_text(), std::nullopt);
  EXPECT_EQ(TypedValue::null().as_text(), std::nullopt);
}

}  // namespace
}  // namespace keymux::spop
