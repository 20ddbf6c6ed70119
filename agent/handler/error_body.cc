#include "agent/handler/error_body.h"

namespace keymux::handler {

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;
        }
    }
  }
}

std::string openai_error_body(std::string_view message, std::string_view type,
                              std::string_view code) {
  std::string out = R"({"error":{"message":")";
  append_json_escaped(out, message);
  out += R"(","type":")";
  append_json_escaped(out, type);
  out += R"(","code":")";
  append_json_escaped(out, code);
  out += R"("}})";
  return out;
}

}  // namespace keymux::handler
