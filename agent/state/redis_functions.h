// The FUNCTION library (agent/state/keymux_functions.lua), compiled in.
#pragma once

#include <string_view>

namespace keymux::state {

// The library's source, for FUNCTION LOAD REPLACE.
std::string_view redis_functions_lua();

}  // namespace keymux::state
