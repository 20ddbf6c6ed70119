// What a client hears when no key took its request, and why:
//   429 keys_exhausted (retry-after: the soonest a key frees up) when keys
//       only lack budget (windows, in-flight, a 429 cooldown, reported 0 left);
//   503 keys_unavailable when every key is quarantined or disabled;
//   503 upstream_unavailable when every key already failed this request and
//       none lacks budget: the upstream is down, not busy.
// Ejection for failures is never a reason: selection routes around it.
#pragma once

#include "agent/router/decision.h"
#include "agent/router/selection.h"

namespace keymux::router {

void refuse_for_keys(const RouteEntry& route, const SelectionInput& in, Decision& d);

// Fills the error fields of a refusal.
void fail(Decision& d, Outcome outcome, int status, std::string_view type, std::string_view code,
          std::string message);

}  // namespace keymux::router
