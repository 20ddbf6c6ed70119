// Model-name patterns: '*' matches any run of characters, '?' one character.
// The one matcher of routes, keys, clients and providers, and of the checks
// between them.
#pragma once

#include <string_view>

namespace keymux::config {

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace keymux::config
