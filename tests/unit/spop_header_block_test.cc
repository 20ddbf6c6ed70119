// HAProxy's binary header block (req.hdrs_bin / res.hdrs_bin).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/spop/header_block.h"
#include "agent/spop/writer.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Encodes headers as HAProxy does, with or without the two-zero-byte terminator.
std::string Block(const Headers& headers, bool terminated = true) {
  std::string out;
  Writer w(out);
  for (const auto& [name, value] : headers) {
    w.length_prefixed(name);
    w.length_prefixed(value);
  }
  if (terminated) {
    w.u8(0);
    w.u8(0);
  }
  return out;
}

struct Collected {
  bool ok = false;
  Headers headers;
};

Collected Collect(std::string_view block) {
  Collected c;
  c.ok = for_each_header(block, [&](std::string_view name, std::string_view value) {
    c.headers.emplace_back(std::string(name), std::string(value));
  });
  return c;
}

TEST(HeaderBlockTest, DeliversEveryHeaderInOrder) {
  const Headers headers = {{"content-type", "application/json"},
                           {"x-ratelimit-remaining-requests", "59"},
                           {"x-empty", ""},
                           {"retry-after", "30"}};
  const Collected c = Collect(Block(headers));
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.headers, headers);
}

TEST(HeaderBlockTest, ExactBytes) {
  const Collected c = Collect(B({0x01, 'a', 0x02, 'b', 'c', 0x00, 0x00}));
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.headers, (Headers{{"a", "bc"}}));
}

TEST(HeaderBlockTest, ViewsPointIntoTheBlock) {
  const std::string block = Block({{"name", "value"}});
  bool inside = false;
  EXPECT_TRUE(for_each_header(block, [&](std::string_view name, std::string_view value) {
    inside = name.data() == block.data() + 1 && value.data() == block.data() + 6;
  }));
  EXPECT_TRUE(inside);
}

TEST(HeaderBlockTest, LongValueUsesAMultiByteLength) {
  const Headers headers = {{"x-long", std::string(5000, 'v')}, {"x-after", "1"}};
  const Collected c = Collect(Block(headers));
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.headers, headers);
}

TEST(HeaderBlockTest, EmptyBlockIsJustTheTerminator) {
  const Collected c = Collect(B({0x00, 0x00}));
  EXPECT_TRUE(c.ok);
  EXPECT_TRUE(c.headers.empty());
}

TEST(HeaderBlockTest, NothingAtAllIsMalformed) {
  const Collected c = Collect("");
  EXPECT_FALSE(c.ok);
  EXPECT_TRUE(c.headers.empty());
}

TEST(HeaderBlockTest, MissingTerminator) {
  const Headers headers = {{"a", "1"}, {"b", "2"}};
  const Collected c = Collect(Block(headers, /*terminated=*/false));
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.headers, headers);  // delivered before the fault was found
}

TEST(HeaderBlockTest, HalfATerminator) {
  std::string block = Block({{"a", "1"}});
  block.pop_back();
  const Collected c = Collect(block);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.headers, (Headers{{"a", "1"}}));
}

TEST(HeaderBlockTest, TruncatedAnywhereFails) {
  const Headers headers = {{"content-type", "text/plain"}, {"x-ratelimit-reset-tokens", "6m0s"}};
  const std::string block = Block(headers);
  // Every strict prefix is malformed, and never delivers a header it has not seen whole.
  for (std::size_t size = 0; size < block.size(); ++size) {
    const Collected c = Collect(std::string_view(block).substr(0, size));
    EXPECT_FALSE(c.ok) << "prefix of " << size << " bytes";
    ASSERT_LE(c.headers.size(), headers.size());
    for (std::size_t i = 0; i < c.headers.size(); ++i) EXPECT_EQ(c.headers[i], headers[i]);
  }
}

TEST(HeaderBlockTest, LengthBeyondTheBlockFails) {
  EXPECT_FALSE(Collect(B({0x05, 'a', 'b'})).ok);                    // name cut short
  EXPECT_FALSE(Collect(B({0x01, 'a', 0x09, 'x', 0x00, 0x00})).ok);  // value cut short
  EXPECT_FALSE(Collect(B({0xF0})).ok);                              // truncated varint
  // A length close to 2^64 must not wrap around.
  EXPECT_FALSE(Collect(B({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})).ok);
}

TEST(HeaderBlockTest, EmptyNameWithAValueIsMalformed) {
  const Collected c = Collect(B({0x00, 0x01, 'x'}));
  EXPECT_FALSE(c.ok);
  EXPECT_TRUE(c.headers.empty());
}

}  // namespace
}  // namespace keymux::spop
