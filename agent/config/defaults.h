// Fills the defaults that config.proto's comments state, so that the rest of
// the agent reads plain values.
#pragma once

#include "proto/keymux/config.pb.h"

namespace keymux::config {

// Only fields the file did not give are filled; a given 0 stays 0 (and is
// then reported by validation where 0 is not allowed).
void fill_defaults(Config& config);

}  // namespace keymux::config
