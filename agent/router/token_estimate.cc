#include "agent/router/token_estimate.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <limits>

namespace keymux::router {
namespace {

constexpr std::uint64_t kBytesPerToken = 4;
constexpr std::array<std::string_view, 3> kOutputCapNames = {"max_tokens", "max_completion_tokens",
                                                             "max_output_tokens"};

constexpr std::size_t kMinNameSize = 10;  // "max_tokens"

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_spaces(std::string_view s, std::size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// The end of the JSON string starting at s[i] == '"' (one past the closing
// quote), or npos when the prefix ends inside it. Jumps quote to quote with
// memchr; a quote after an odd run of backslashes is escaped.
std::size_t skip_string(std::string_view s, std::size_t i) {
  const char* const begin = s.data();
  const char* const end = begin + s.size();
  const char* p = begin + i + 1;
  while (p < end) {
    const char* q =
        static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
    if (q == nullptr) return std::string_view::npos;
    std::size_t backslashes = 0;
    while (q - backslashes > begin + i + 1 &&
           q[-1 - static_cast<std::ptrdiff_t>(backslashes)] == '\\') {
      ++backslashes;
    }
    if (backslashes % 2 == 0) return static_cast<std::size_t>(q - begin) + 1;
    p = q + 1;
  }
  return std::string_view::npos;
}

// A whole non-negative integer value at s[i]; nullopt for anything else
// (null, fractions, exponents, a number cut by the end of the prefix).
std::optional<std::uint64_t> parse_integer(std::string_view s, std::size_t i) {
  std::uint64_t value = 0;
  const std::size_t start = i;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const std::uint64_t digit = static_cast<std::uint64_t>(s[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == start || i == s.size()) return std::nullopt;
  const char next = s[i];
  if (next != ',' && next != '}' && !is_space(next)) return std::nullopt;
  return value;
}

}  // namespace

std::uint64_t estimate_prompt_tokens(std::uint64_t body_size) {
  return body_size / kBytesPerToken + (body_size % kBytesPerToken != 0);
}

std::optional<std::uint64_t> find_max_output_tokens(std::string_view body) {
  // Every wanted name starts with "max_: without one in the prefix there is
  // nothing to find (names are compared raw, escapes and all).
  if (body.find(R"("max_)") == std::string_view::npos) return std::nullopt;
  // A small scanner that knows only strings and nesting, enough to find keys
  // of the top-level object without parsing (or allocating) anything.
  int depth = 0;
  std::size_t i = skip_spaces(body, 0);
  while (i < body.size()) {
    const char c = body[i];
    if (c == '"') {
      const std::size_t end = skip_string(body, i);
      if (end == std::string_view::npos) return std::nullopt;
      const std::string_view name = body.substr(i + 1, end - i - 2);
      i = skip_spaces(body, end);
      if (depth == 1 && i < body.size() && body[i] == ':') {
        if (name.size() < kMinNameSize || name.substr(0, 4) != "max_") {
          ++i;
          continue;
        }
        for (std::string_view wanted : kOutputCapNames) {
          if (name != wanted) continue;
          if (auto value = parse_integer(body, skip_spaces(body, i + 1))) return value;
        }
        ++i;
      }
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (depth <= 0 && i > 0) return std::nullopt;  // the top-level object ended
    ++i;
  }
  return std::nullopt;
}

std::uint64_t estimate_request_tokens(std::uint64_t body_size, std::string_view body_prefix,
                                      std::uint32_t default_max_tokens) {
  const std::uint64_t prompt = estimate_prompt_tokens(body_size);
  const std::uint64_t output = find_max_output_tokens(body_prefix).value_or(default_max_tokens);
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  return output > max - prompt ? max : prompt + output;
}

}  // namespace keymux::router
