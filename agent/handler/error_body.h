// Error answers the gateway gives itself, in the OpenAI error shape:
//   {"error":{"message":"...","type":"...","code":"..."}}
#pragma once

#include <string>
#include <string_view>

namespace keymux::handler {

// Appends `text` JSON-escaped (quotes, backslash, control characters; bytes
// >= 0x80 are passed through, so UTF-8 stays UTF-8).
void append_json_escaped(std::string& out, std::string_view text);

std::string openai_error_body(std::string_view message, std::string_view type,
                              std::string_view code);

}  // namespace keymux::handler
