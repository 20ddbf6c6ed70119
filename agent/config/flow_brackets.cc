#include "agent/config/flow_brackets.h"

#include <algorithm>
#include <vector>

namespace keymux::config {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// A bracket or quote starts a new value only after one of these (or at the
// start of a line); elsewhere it is part of a plain scalar ("gpt[4]", "it's").
bool starts_value_after(char previous) {
  return previous == '\n' || is_blank(previous) || previous == ',' || previous == '[' ||
         previous == '{' || previous == ':' || previous == '-' || previous == '?';
}

}  // namespace

std::optional<OpenBracket> unclosed_flow_bracket(std::string_view text, std::size_t end) {
  std::vector<OpenBracket> open;
  int line = 1;
  int column = 1;
  char previous = '\n';
  char quote = 0;  // the quote of the scalar being read, 0 outside one
  bool comment = false;
  end = std::min(end, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    const char c = text[i];
    if (comment) {
      comment = c != '\n';
    } else if (quote == '"') {
      if (c == '\\' && i + 1 < end) {
        ++i;  // an escaped character, never the closing quote
        ++column;
      } else if (c == '"') {
        quote = 0;
      }
    } else if (quote == '\'') {
      if (c == '\'' && i + 1 < end && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside the scalar
        ++column;
      } else if (c == '\'') {
        quote = 0;
      }
    } else if (c == '#' && (previous == '\n' || is_blank(previous))) {
      comment = true;
    } else if ((c == '"' || c == '\'') && starts_value_after(previous)) {
      quote = c;
    } else if ((c == '[' || c == '{') && (!open.empty() || starts_value_after(previous))) {
      open.push_back({c, {line, column}});
    } else if ((c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    }
    previous = c;
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  if (open.empty()) return std::nullopt;
  return open.back();
}

}  // namespace keymux::config
