// A key's budget shared with other gateways (state: in the config): the
// router asks it, under the key's lock and after its own exact windows, for
// one request of `tokens`, and settles that request's real token count once
// the answer tells it. Implemented by agent/state (slices granted through
// Redis); without `state:` no key has one and nothing changes.
#pragma once

#include <cstdint>
#include <optional>

#include "agent/router/clock.h"

namespace keymux::router {

// Where one request's tokens were taken from, kept on its ticket to settle.
struct SharedSpend {
  std::uint64_t slice = 0;   // the slice (lease) that paid; 0: this node's degraded share
  std::uint64_t tokens = 0;  // what was charged (the estimate, at most the limit)
};

class SharedBudget {
 public:
  virtual ~SharedBudget() = default;
  // Takes one request of `tokens` from what this gateway holds; nullopt when
  // it holds none now (the router picks another key). Never waits.
  virtual std::optional<SharedSpend> take(Time now, std::uint64_t tokens) = 0;
  // The request `spend` (taken at `taken_at`) really cost `actual_tokens`:
  // a surplus goes back, an excess is charged. Never waits.
  virtual void settle(Time now, Time taken_at, const SharedSpend& spend,
                      std::uint64_t actual_tokens) = 0;
  // After take() found nothing: true when a slice for this key is on its way
  // (Redis healthy, the ask sent or due at the next tick, the last one not
  // refused), so the request may wait for it (Decision::wait_for) rather
  // than be refused. Asked only on that refusal path, never per decision.
  virtual bool refill_expected(Time now) = 0;
};

// How soon a key refused for want of a shared slice is worth another look:
// a refill is usually a Redis round trip away.
inline constexpr Duration kSharedBudgetRetry = std::chrono::milliseconds(50);

}  // namespace keymux::router
