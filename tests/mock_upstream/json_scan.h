// A small tolerant JSON reader for the few request fields the mock looks at.
// It never builds a tree: it finds a member's raw text and converts it. Pure
// and fuzzed: any input gives nullopt or a value, never a read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keymux::mock {

// Walks the members of the JSON object in `object`, in order:
//   JsonMembers members(text);
//   while (members.next(name, value)) ...
// Names are as written (escapes kept); values are raw text. next() is false at
// the end of the object and at the first malformed byte.
class JsonMembers {
 public:
  explicit JsonMembers(std::string_view object);
  bool next(std::string_view& name, std::string_view& value);

 private:
  std::string_view text_;
  std::size_t at_;  // npos once done
};

// The raw text of member `key` of the JSON object `object` (blanks around it
// allowed); the first one when repeated. Keys are compared as written, so a
// key spelled with escapes does not match.
std::optional<std::string_view> json_member(std::string_view object, std::string_view key);

// True when `text`, less surrounding blanks, is braced like an object.
bool json_is_object(std::string_view text);

// True when every member name of `object` is one of `allowed` (names separated
// by ", "); otherwise false with `error` naming the first unknown one.
bool json_only_members(std::string_view object, std::string_view allowed, std::string& error);

std::optional<bool> json_bool(std::string_view value);
// A non-negative integer ("16"; also "16.0").
std::optional<std::uint64_t> json_uint(std::string_view value);
std::optional<double> json_number(std::string_view value);
// A string, unescaped (\uXXXX as UTF-8; a lone surrogate becomes U+FFFD).
std::optional<std::string> json_string(std::string_view value);

}  // namespace keymux::mock
