// Appending JSON pieces to a reused std::string: the mock's answers are built
// by hand, without a tree, so that a request costs no allocation once warm.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keymux::mock {

// `text` as a quoted JSON string; quotes, backslashes and control characters escaped.
void append_json_string(std::string& out, std::string_view text);
void append_uint(std::string& out, std::uint64_t value);
// Shortest text that reads back as `value` ("0.25", "1").
void append_double(std::string& out, double value);

}  // namespace keymux::mock
