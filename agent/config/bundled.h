// deploy/keymux.yaml, compiled into the agent so that it always starts:
// `keymux-agent` with no --config serves the local mock provider.
#pragma once

#include <string_view>

namespace keymux::config {

inline constexpr std::string_view kBundledConfigName = "<bundled deploy/keymux.yaml>";
std::string_view bundled_config_yaml();

}  // namespace keymux::config
