// Every KeyState by key id: a reload that keeps a key id keeps its counters,
// cooldown and quarantine.
#pragma once

#include "agent/router/key_state.h"
#include "agent/router/state_registry.h"

namespace keymux::router {

using KeyRegistry = StateRegistry<KeyState>;

}  // namespace keymux::router
