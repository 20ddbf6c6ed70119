// Helpers for the mock upstream's tests: strict JSON checks (through
// protobuf's JSON parser) and HTTP responses taken apart.
#pragma once

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <optional>
#include <string>
#include <string_view>

namespace keymux::mock::testing {

// The JSON object in `text`, or nullopt when `text` is not valid JSON.
inline std::optional<google::protobuf::Struct> parse_json(std::string_view text) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(std::string(text), &object).ok()) {
    return std::nullopt;
  }
  return object;
}

// The value of `name` in `object`, or a null Value. `name` is a string_view by value: a
// `const std::string&` bound to the temporary of a literal made GCC 14's -Wdangling-reference
// take every `const auto& v = field(object, "x")...` for a reference into that temporary.
inline const google::protobuf::Value& field(const google::protobuf::Struct& object,
                                            std::string_view name) {
  static const google::protobuf::Value kMissing;
  const auto found = object.fields().find(std::string(name));
  return found == object.fields().end() ? kMissing : found->second;
}

struct Response {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;  // chunked bodies are decoded
};

// One complete response as the mock writes it.
inline Response split_response(std::string_view text) {
  Response r;
  const std::size_t end = text.find("\r\n\r\n");
  if (end == std::string_view::npos || text.size() < 12) return r;
  r.head = std::string(text.substr(0, end + 2));
  r.status = std::stoi(std::string(text.substr(9, 3)));
  std::string_view rest = text.substr(end + 4);
  if (r.head.find("transfer-encoding: chunked") == std::string::npos) {
    r.body = std::string(rest);
    return r;
  }
  while (!rest.empty()) {
    const std::size_t nl = rest.find("\r\n");
    const std::size_t size = std::stoul(std::string(rest.substr(0, nl)), nullptr, 16);
    if (size == 0) break;
    r.body += rest.substr(nl + 2, size);
    rest.remove_prefix(nl + 2 + size + 2);
  }
  return r;
}

// The value of header `name` (written lower-case by the mock), or "".
inline std::string header(const Response& r, std::string_view name) {
  const std::string key = "\r\n" + std::string(name) + ": ";
  const std::size_t at = r.head.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return r.head.substr(start, r.head.find("\r\n", start) - start);
}

}  // namespace keymux::mock::testing
