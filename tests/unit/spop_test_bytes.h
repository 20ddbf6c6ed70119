// Byte-vector helpers shared by the SPOP codec tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>

namespace keymux::spop::test {

// Bytes from integers: B({0x01, 0xF0, 0x00}).
inline std::string B(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out.push_back(static_cast<char>(static_cast<std::uint8_t>(v)));
  return out;
}

// "01 f0 00": readable in failure messages.
inline std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto b = static_cast<std::uint8_t>(c);
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

// A file from tests/fixtures; fails the test when it cannot be read.
inline std::string ReadFixture(std::string_view name) {
  const std::string path = std::string(KEYMUX_FIXTURES_DIR) + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace keymux::spop::test
