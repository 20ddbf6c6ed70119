// Every KeyState by key id, and every ProviderState by provider name: a
// reload that keeps a key id (a provider name) keeps its counters, cooldown,
// quarantine and health.
#pragma once

#include "agent/router/key_state.h"
#include "agent/router/provider_state.h"
#include "agent/router/state_registry.h"

namespace keymux::router {

using ProviderRegistry = StateRegistry<ProviderState>;

class KeyRegistry : public StateRegistry<KeyState> {
 public:
  ProviderRegistry& providers() { return providers_; }

 private:
  ProviderRegistry providers_;
};

}  // namespace keymux::router
