#include "tests/mock_upstream/json_scan.h"

#include <charconv>
#include <cmath>

namespace keymux::mock {
namespace {

constexpr std::size_t kNotFound = std::string_view::npos;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::size_t skip_blanks(std::string_view text, std::size_t i) {
  while (i < text.size() && is_blank(text[i])) ++i;
  return i;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

// `i` is at an opening quote; returns the index just past the closing one.
std::size_t skip_string(std::string_view text, std::size_t i) {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // whatever is escaped, it does not end the string
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return kNotFound;
}

// Skips one value starting at `i`; returns the index just past it. Nesting is
// counted, not recursed into, so deep input cannot exhaust the stack.
std::size_t skip_value(std::string_view text, std::size_t i) {
  if (i >= text.size()) return kNotFound;
  if (text[i] == '"') return skip_string(text, i);
  if (text[i] == '{' || text[i] == '[') {
    std::size_t depth = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '"') {
        i = skip_string(text, i);
        if (i == kNotFound) return kNotFound;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return kNotFound;
  }
  // A scalar: runs to the next delimiter.
  const std::size_t start = i;
  while (i < text.size() && !is_blank(text[i]) && text[i] != ',' && text[i] != '}' &&
         text[i] != ']') {
    ++i;
  }
  return i == start ? kNotFound : i;
}

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

std::optional<std::uint32_t> hex4(std::string_view text, std::size_t i) {
  if (i + 4 > text.size()) return std::nullopt;
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 4, value, 16);
  if (ec != std::errc{} || end != text.data() + i + 4) return std::nullopt;
  return value;
}

}  // namespace

JsonMembers::JsonMembers(std::string_view object) : text_(object) {
  at_ = skip_blanks(text_, 0);
  at_ = at_ < text_.size() && text_[at_] == '{' ? skip_blanks(text_, at_ + 1) : kNotFound;
}

bool JsonMembers::next(std::string_view& name, std::string_view& value) {
  if (at_ >= text_.size() || text_[at_] != '"') {
    at_ = kNotFound;  // the closing brace, or something malformed
    return false;
  }
  const std::size_t name_end = skip_string(text_, at_);
  std::size_t i = name_end == kNotFound ? kNotFound : skip_blanks(text_, name_end);
  if (i >= text_.size() || text_[i] != ':') {
    at_ = kNotFound;
    return false;
  }
  i = skip_blanks(text_, i + 1);
  const std::size_t value_end = skip_value(text_, i);
  if (value_end == kNotFound) {
    at_ = kNotFound;
    return false;
  }
  name = text_.substr(at_ + 1, name_end - at_ - 2);
  value = text_.substr(i, value_end - i);
  at_ = skip_blanks(text_, value_end);
  if (at_ < text_.size() && text_[at_] == ',') at_ = skip_blanks(text_, at_ + 1);
  return true;
}

std::optional<std::string_view> json_member(std::string_view object, std::string_view key) {
  JsonMembers members(object);
  std::string_view name;
  std::string_view value;
  while (members.next(name, value)) {
    if (name == key) return value;
  }
  return std::nullopt;
}

bool json_is_object(std::string_view text) {
  text = trim(text);
  return text.size() >= 2 && text.front() == '{' && text.back() == '}';
}

std::optional<bool> json_bool(std::string_view value) {
  value = trim(value);
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

bool json_only_members(std::string_view object, std::string_view allowed, std::string& error) {
  JsonMembers members(object);
  std::string_view name;
  std::string_view value;
  while (members.next(name, value)) {
    bool known = false;
    for (std::string_view rest = allowed; !rest.empty() && !known;) {
      const std::size_t comma = rest.find(", ");
      known = rest.substr(0, comma) == name;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
    }
    if (!known) {
      error = "unknown field \"" + std::string(name) + "\" (known: " + std::string(allowed) + ")";
      return false;
    }
  }
  return true;
}

std::optional<std::uint64_t> json_uint(std::string_view value) {
  const std::optional<double> number = json_number(value);
  if (!number || *number < 0 || *number >= 1.8e19 || std::floor(*number) != *number) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(*number);
}

std::optional<double> json_number(std::string_view value) {
  value = trim(value);
  if (value.empty() || value.front() == '+') return std::nullopt;
  double number = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc{} || end != value.data() + value.size() || !std::isfinite(number)) {
    return std::nullopt;
  }
  return number;
}

std::optional<std::string> json_string(std::string_view value) {
  value = trim(value);
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return std::nullopt;
  if (skip_string(value, 0) != value.size()) return std::nullopt;
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 1; i + 1 < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    ++i;  // skip_string guarantees a character after the backslash, before the quote
    switch (value[i]) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const std::optional<std::uint32_t> unit = hex4(value, i + 1);
        if (!unit) return std::nullopt;
        i += 4;
        std::uint32_t code = *unit;
        if (code >= 0xD800 && code <= 0xDBFF) {
          // A high surrogate wants "\uDC00".."\uDFFF" right after it.
          const std::optional<std::uint32_t> low =
              i + 2 < value.size() && value[i + 1] == '\\' && value[i + 2] == 'u'
                  ? hex4(value, i + 3)
                  : std::nullopt;
          if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
            code = 0x10000 + ((code - 0xD800) << 10) + (*low - 0xDC00);
            i += 6;
          } else {
            code = 0xFFFD;
          }
        } else if (code >= 0xDC00 && code <= 0xDFFF) {
          code = 0xFFFD;
        }
        append_utf8(out, code);
        break;
      }
      default:
        out += value[i];
        break;  // \" \\ \/ and, tolerantly, anything else
    }
  }
  return out;
}

}  // namespace keymux::mock
