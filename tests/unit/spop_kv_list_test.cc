// KV lists (HELLO and DISCONNECT payloads).
#include <gtest/gtest.h>

#include <string>

#include "agent/spop/kv_list.h"
#include "tests/unit/spop_test_bytes.h"

namespace keymux::spop {
namespace {

using test::B;
using test::Hex;

TEST(KvListTest, EncodeExactBytes) {
  std::string out;
  Writer w(out);
  encode_kv(w, "version", TypedValue::of_string("2.0"));
  encode_kv(w, "healthcheck", TypedValue::of_bool(true));
  EXPECT_EQ(Hex(out),
            Hex(B({0x07, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x08, 0x03, '2', '.', '0',
                   0x0B, 'h', 'e', 'a', 'l', 't', 'h', 'c', 'h',  'e',  'c', 'k', 0x11})));
}

TEST(KvListTest, ReadsEveryItemThenStops) {
  std::string out;
  Writer w(out);
  encode_kv(w, "a", TypedValue::of_uint32(1));
  encode_kv(w, "", TypedValue::null());
  encode_kv(w, "c", TypedValue::of_string("x"));
  KvListReader r(out);
  KeyValue kv;
  ASSERT_TRUE(r.next(kv));
  EXPECT_EQ(kv.key, "a");
  EXPECT_EQ(kv.value.uint, 1u);
  ASSERT_TRUE(r.next(kv));
  EXPECT_EQ(kv.key, "");
  EXPECT_TRUE(kv.value.is_null());
  ASSERT_TRUE(r.next(kv));
  EXPECT_EQ(kv.key, "c");
  EXPECT_EQ(kv.value.bytes, "x");
  EXPECT_FALSE(r.next(kv));
  EXPECT_FALSE(r.failed());
  EXPECT_FALSE(r.next(kv));
}

TEST(KvListTest, EmptyListIsNotAFailure) {
  KvListReader r("");
  KeyValue kv;
  EXPECT_FALSE(r.next(kv));
  EXPECT_FALSE(r.failed());
}

TEST(KvListTest, MalformedItemsFail) {
  const std::string cases[] = {
      B({0x05, 'a', 'b'}),              // key longer than what follows
      B({0x01, 'a'}),                   // key without a value
      B({0x01, 'a', 0x0C}),             // unknown type
      B({0x01, 'a', 0x08, 0x09, 'x'}),  // value longer than what follows
      B({0xF0}),                        // truncated key length
  };
  for (const std::string& bytes : cases) {
    SCOPED_TRACE(Hex(bytes));
    KvListReader r(bytes);
    KeyValue kv;
    EXPECT_FALSE(r.next(kv));
    EXPECT_TRUE(r.failed());
    EXPECT_FALSE(r.next(kv));
    EXPECT_TRUE(r.failed());
  }
}

TEST(KvListTest, FailureAfterGoodItems) {
  std::string bytes;
  Writer w(bytes);
  encode_kv(w, "ok", TypedValue::of_bool(false));
  bytes += B({0x02, 'n', 'o', 0x03});  // uint32 without its varint
  KvListReader r(bytes);
  KeyValue kv;
  ASSERT_TRUE(r.next(kv));
  EXPECT_EQ(kv.key, "ok");
  EXPECT_FALSE(r.next(kv));
  EXPECT_TRUE(r.failed());
}

}  // namespace
}  // namespace keymux::spop
