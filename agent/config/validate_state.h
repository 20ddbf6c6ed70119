// The checks of `state:` (shared state in Redis) that the YAML mapping cannot
// make: the address, the names, the ranges.
#pragma once

#include "agent/config/diagnostics.h"
#include "proto/keymux/config.pb.h"

namespace keymux::config {

// Runs on a `state` with its defaults filled, at path "state".
void validate_state(const State& state, Diagnostics& diagnostics);

}  // namespace keymux::config
