// A key's shared budget whose slices and refill the test sets (router and
// handler tests; the real one is agent/state/shared_key_budget.h).
#pragma once

#include "agent/router/shared_budget.h"

namespace keymux::router::test {

class FakeSharedBudget final : public SharedBudget {
 public:
  std::optional<SharedSpend> take(Time, std::uint64_t tokens) override {
    ++takes;
    if (units == 0) return std::nullopt;
    --units;
    return SharedSpend{1, tokens};
  }
  void settle(Time, Time, const SharedSpend&, std::uint64_t) override {}
  bool refill_expected(Time) override { return refill; }

  int units = 0;       // requests it holds
  bool refill = true;  // a slice is on its way
  int takes = 0;
};

}  // namespace keymux::router::test
