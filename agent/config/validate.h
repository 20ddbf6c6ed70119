// The rules config.proto states that the YAML mapping cannot check: names,
// uniqueness, references between routes and providers, ranges.
#pragma once

#include "agent/config/diagnostics.h"
#include "proto/keymux/config.pb.h"

namespace keymux::config {

// Runs on a config with its defaults filled; reports every problem found.
void validate(const Config& config, Diagnostics& diagnostics);

}  // namespace keymux::config
