// SPOP varints and the bounds-checked Reader/Writer primitives.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "agent/spop/reader.h"
#include "agent/spop/writer.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using test::Hex;

std::string Encode(std::uint64_t v) {
  std::string out;
  Writer(out).varint(v);
  return out;
}

struct VarintCase {
  std::uint64_t value;
  std::string bytes;
};

TEST(VarintTest, EncodesAndDecodesExactBytes) {
  const VarintCase cases[] = {
      {0, B({0x00})},
      {1, B({0x01})},
      {239, B({0xEF})},
      {240, B({0xF0, 0x00})},
      {300, B({0xFC, 0x03})},
      {2287, B({0xFF, 0x7F})},
      {2288, B({0xF0, 0x80, 0x00})},
      {264431, B({0xFF, 0xFF, 0x7F})},
      {264432, B({0xF0, 0x80, 0x80, 0x00})},
      {33818863, B({0xFF, 0xFF, 0xFF, 0x7F})},
      {33818864, B({0xF0, 0x80, 0x80, 0x80, 0x00})},
      {4294967295ULL, B({0xFF, 0xF0, 0xFE, 0xFE, 0x7E})},
      {4294967296ULL, B({0xF0, 0xF1, 0xFE, 0xFE, 0x7E})},
      {4328786159ULL, B({0xFF, 0xFF, 0xFF, 0xFF, 0x7F})},
      {4328786160ULL, B({0xF0, 0x80, 0x80, 0x80, 0x80, 0x00})},
      {std::uint64_t{1} << 63, B({0xF0, 0xF1, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x06})},
      {std::numeric_limits<std::uint64_t>::max(),
       B({0xFF, 0xF0, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0E})},
  };
  for (const VarintCase& c : cases) {
    SCOPED_TRACE(c.value);
    EXPECT_EQ(Hex(Encode(c.value)), Hex(c.bytes));

    std::uint8_t raw[kMaxVarintSize];
    EXPECT_EQ(encode_varint(c.value, raw), c.bytes.size());

    Reader in(c.bytes);
    std::uint64_t decoded = 0;
    ASSERT_TRUE(in.read_varint(decoded));
    EXPECT_EQ(decoded, c.value);
    EXPECT_TRUE(in.empty());
  }
}

TEST(VarintTest, ByteCountsAtEveryBoundary) {
  const std::pair<std::uint64_t, std::size_t> cases[] = {
      {239, 1},        {240, 2},
      {2287, 2},       {2288, 3},
      {264431, 3},     {264432, 4},
      {33818863, 4},   {33818864, 5},
      {1ULL << 32, 5}, {std::numeric_limits<std::uint64_t>::max(), 10},
  };
  for (const auto& [value, size] : cases) {
    std::uint8_t raw[kMaxVarintSize];
    EXPECT_EQ(encode_varint(value, raw), size) << value;
  }
}

TEST(VarintTest, RoundTripsAcrossTheRange) {
  std::uint64_t v = 0;
  for (int i = 0; i < 2000; ++i) {
    for (const std::uint64_t x : {v, v + 1, v - 1, ~v}) {
      const std::string bytes = Encode(x);
      ASSERT_LE(bytes.size(), kMaxVarintSize);
      Reader in(bytes);
      std::uint64_t back = 0;
      ASSERT_TRUE(in.read_varint(back)) << x;
      ASSERT_EQ(back, x);
      ASSERT_TRUE(in.empty());
    }
    v = v * 3 + 7;
  }
}

TEST(VarintTest, LeavesTheRestUnread) {
  const std::string bytes = B({0xF0, 0x00, 0x2A});
  Reader in(bytes);
  std::uint64_t v = 0;
  ASSERT_TRUE(in.read_varint(v));
  EXPECT_EQ(v, 240u);
  EXPECT_EQ(in.position(), 2u);
  ASSERT_TRUE(in.read_varint(v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(in.empty());
}

TEST(VarintTest, TruncatedFailsAndLeavesTheCursor) {
  const std::string cases[] = {
      "",
      B({0xF0}),
      B({0xF0, 0x80}),
      B({0xFF, 0xFF, 0xFF}),
      B({0xFF, 0xF0, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE}),
  };
  for (const std::string& bytes : cases) {
    SCOPED_TRACE(Hex(bytes));
    Reader in(bytes);
    std::uint64_t v = 77;
    EXPECT_FALSE(in.read_varint(v));
    EXPECT_EQ(v, 77u);
    EXPECT_EQ(in.position(), 0u);
  }
}

TEST(VarintTest, OverflowBeyond64BitsFails) {
  const std::string cases[] = {
      // 2^64-1 with one more in the last byte.
      B({0xFF, 0xF0, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0F}),
      // The sum of the parts wraps although each part fits.
      B({0xFF, 0xF1, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0E}),
      // An 11th byte.
      B({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00}),
      // Continuation bytes forever.
      std::string(64, static_cast<char>(0xFF)),
  };
  for (const std::string& bytes : cases) {
    SCOPED_TRACE(Hex(bytes));
    Reader in(bytes);
    std::uint64_t v = 0;
    EXPECT_FALSE(in.read_varint(v));
    EXPECT_EQ(in.position(), 0u);
  }
}

TEST(ReaderTest, FixedWidthReadsCheckTheLength) {
  const std::string bytes = B({0x12, 0x34, 0x56, 0x78, 0x9A});
  Reader in(bytes);
  std::uint32_t u32 = 0;
  ASSERT_TRUE(in.read_u32be(u32));
  EXPECT_EQ(u32, 0x12345678u);
  EXPECT_FALSE(in.read_u32be(u32));
  EXPECT_EQ(in.position(), 4u);
  std::uint8_t u8 = 0;
  ASSERT_TRUE(in.read_u8(u8));
  EXPECT_EQ(u8, 0x9A);
  EXPECT_FALSE(in.read_u8(u8));
  EXPECT_TRUE(in.empty());
}

TEST(ReaderTest, ReadBytesChecksTheLength) {
  Reader in("abcdef");
  std::string_view out;
  EXPECT_FALSE(in.read_bytes(7, out));
  EXPECT_FALSE(in.read_bytes(std::numeric_limits<std::size_t>::max(), out));
  ASSERT_TRUE(in.read_bytes(2, out));
  EXPECT_EQ(out, "ab");
  EXPECT_EQ(in.rest(), "cdef");
  ASSERT_TRUE(in.read_bytes(0, out));
  EXPECT_EQ(out, "");
}

TEST(ReaderTest, LengthPrefixed) {
  const std::string bytes = B({0x03, 'a', 'b', 'c', 0x00, 0x05, 'x'});
  Reader in(bytes);
  std::string_view out;
  ASSERT_TRUE(in.read_length_prefixed(out));
  EXPECT_EQ(out, "abc");
  ASSERT_TRUE(in.read_length_prefixed(out));
  EXPECT_EQ(out, "");
  const std::size_t before = in.position();
  EXPECT_FALSE(in.read_length_prefixed(out));  // says 5, has 1
  EXPECT_EQ(in.position(), before);
}

TEST(ReaderTest, HugeLengthDoesNotWrap) {
  // A length of 2^64-1 must not overflow position + length.
  std::string bytes = B({0xFF, 0xF0, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0E});
  bytes += "payload";
  Reader in(bytes);
  std::string_view out;
  EXPECT_FALSE(in.read_length_prefixed(out));
  EXPECT_EQ(in.position(), 0u);
}

TEST(WriterTest, FixedWidthAndPatch) {
  std::string buf = "x";
  Writer w(buf);
  w.u32be(0xDEADBEEF);
  w.u8(0x7F);
  w.length_prefixed("hi");
  w.bytes("!");
  EXPECT_EQ(Hex(buf), Hex(B({'x', 0xDE, 0xAD, 0xBE, 0xEF, 0x7F, 0x02, 'h', 'i', '!'})));
  w.patch_u32be(1, 0x01020304);
  EXPECT_EQ(Hex(buf.substr(1, 4)), "01 02 03 04");
  EXPECT_EQ(w.size(), buf.size());
}

TEST(WriterTest, LongLengthPrefix) {
  std::string buf;
  Writer w(buf);
  const std::string value(300, 'z');
  w.length_prefixed(value);
  EXPECT_EQ(Hex(buf.substr(0, 2)), "fc 03");
  Reader in(buf);
  std::string_view out;
  ASSERT_TRUE(in.read_length_prefixed(out));
  EXPECT_EQ(out, value);
}

}  // namespace
}  // namespace keymux::spop
