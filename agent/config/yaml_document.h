// Parses the YAML text of a configuration: exactly one document.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string_view>

#include "agent/config/diagnostics.h"

namespace keymux::config {

// The document's root (null for an empty file), or nullopt after reporting a
// syntax error or a second document to `diagnostics`.
std::optional<YAML::Node> parse_yaml_document(std::string_view text, Diagnostics& diagnostics);

}  // namespace keymux::config
