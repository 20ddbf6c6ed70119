// Where a YAML flow collection ('[...]' or '{...}') that never closes was
// opened. yaml-cpp notices a missing ']' or '}' only where the text stops
// making sense (often the next line); the opening bracket is what the
// operator has to fix.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "agent/config/diagnostics.h"

namespace keymux::config {

struct OpenBracket {
  char bracket = '[';  // '[' or '{'
  Place place;
};

// The innermost bracket still open at byte `end` of `text` (quoted scalars
// and comments skipped); nullopt when every bracket before `end` is closed.
std::optional<OpenBracket> unclosed_flow_bracket(std::string_view text, std::size_t end);

}  // namespace keymux::config
