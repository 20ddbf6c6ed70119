// Which key takes a request, in the order that keeps it away from trouble:
//   1. a key in service (its outlier detector and its provider's say so)
//      that this request has not tried, tier by tier, furthest behind its
//      weighted share; after a no-response, keys of another provider first;
//   2. panic: when no such key can take it, the least recently failed of the
//      route's untried keys that are otherwise eligible (not quarantined, not
//      cooling after a 429, within rpm/tpm/in-flight), ejected or not;
//   3. again, 1 then 2, among keys this request already tried whose answer
//      was a 5xx or none (never a key that answered it 429, 401 or 403).
// Ejection for failures never refuses by itself; only budget and standing do.
// The chosen key is checked and reserved exactly under its own lock; if
// another thread took the last room first, the scan goes on without it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "agent/router/clock.h"
#include "agent/router/key_state.h"
#include "agent/router/snapshot.h"

namespace keymux::router {

struct SelectionInput {
  Time now{};
  std::string_view model;
  std::uint64_t tokens = 0;
  const std::vector<const KeyState*>& tried;  // keys given to this request before
  const std::vector<const KeyState*>& spent;  // of those, the ones never to retry
  // Providers that gave this request no response at all: avoided while
  // another provider can take it.
  const std::vector<const ProviderState*>& silent;
};

struct Selection {
  const KeyEntry* key = nullptr;  // nullptr: no key can take the request now
  KeyState::Admission admission;  // when key is set: admitted, and how
  bool panic = false;             // every eligible key was ejected
  // When key is nullptr: the keys refused only for want of a shared slice
  // that is on its way (KeyState::Admission::refill_expected).
  std::vector<const KeyEntry*> refills;
};

Selection select_key(const RouteEntry& route, const SelectionInput& in);

}  // namespace keymux::router
