// SHA-256 of client tokens and `keymux-agent hash-token`.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "agent/config/hash_token.h"
#include "agent/config/token_sha256.h"

namespace keymux::config {
namespace {

TEST(TokenSha256, KnownVectors) {
  // FIPS 180-2 examples and the empty string.
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(to_hex(sha256(std::string(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(to_hex(sha256("keymux-demo-token")),
            "db065465ac29444afafcdc53b75579542cc1985a7ddeb99a47f03615f99e9742");
}

TEST(TokenSha256, HexRoundTrip) {
  const Sha256 digest = sha256("abc");
  Sha256 parsed{};
  ASSERT_TRUE(parse_hex_sha256(to_hex(digest), parsed));
  EXPECT_EQ(parsed, digest);
  ASSERT_TRUE(
      parse_hex_sha256("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", parsed));
  EXPECT_EQ(parsed, digest);
  EXPECT_FALSE(parse_hex_sha256("ba78", parsed));
  EXPECT_FALSE(parse_hex_sha256(std::string(63, '0') + "x", parsed));
}

TEST(HashToken, OneTrailingNewlineIsRemoved) {
  EXPECT_EQ(token_from_input("tok"), "tok");
  EXPECT_EQ(token_from_input("tok\n"), "tok");
  EXPECT_EQ(token_from_input("tok\r\n"), "tok");
  EXPECT_EQ(token_from_input("tok\n\n"), "tok\n");  // only one
  EXPECT_EQ(token_from_input(" tok "), " tok ");    // the token is taken as it is
  EXPECT_EQ(token_from_input(""), std::nullopt);
  EXPECT_EQ(token_from_input("\n"), std::nullopt);
  EXPECT_EQ(token_from_input("\r\n"), std::nullopt);
}

TEST(HashToken, PrintsTheConfigLine) {
  EXPECT_EQ(token_sha256_line("abc"),
            "token_sha256: \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
}

// Runs the command on `input`; returns its exit code, stdout and stderr.
struct CommandRun {
  int code;
  std::string out;
  std::string err;
};

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buffer[256];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  return text;
}

CommandRun RunHashToken(const std::string& input) {
  std::FILE* in = std::tmpfile();
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  std::fwrite(input.data(), 1, input.size(), in);
  std::rewind(in);
  const int code = run_hash_token(in, out, err);
  CommandRun run{code, read_all(out), read_all(err)};
  std::fclose(in);
  std::fclose(out);
  std::fclose(err);
  return run;
}

TEST(HashToken, Command) {
  const CommandRun ok = RunHashToken("keymux-demo-token\n");
  EXPECT_EQ(ok.code, 0);
  EXPECT_EQ(ok.out,
            "token_sha256: \"db065465ac29444afafcdc53b75579542cc1985a7ddeb99a47f03615f99e9742\"\n");
  EXPECT_EQ(ok.err, "");

  const CommandRun empty = RunHashToken("\n");
  EXPECT_EQ(empty.code, 2);
  EXPECT_EQ(empty.out, "");
  EXPECT_NE(empty.err.find("no token on stdin"), std::string::npos) << empty.err;
}

}  // namespace
}  // namespace keymux::config
