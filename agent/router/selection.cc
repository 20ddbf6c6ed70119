#include "agent/router/selection.h"

#include <algorithm>
#include <array>
#include <limits>

namespace keymux::router {
namespace {

// Keys a scan must pass over. Almost always a handful: inline, no allocation.
class KeySet {
 public:
  KeySet() {}  // user-provided: the inline slots are not zeroed on every decision
  bool contains(const KeyState* key) const {
    if (std::find(inline_.begin(), inline_.begin() + inline_size_, key) !=
        inline_.begin() + inline_size_) {
      return true;
    }
    return std::find(spill_.begin(), spill_.end(), key) != spill_.end();
  }
  void insert(const KeyState* key) {
    if (inline_size_ < inline_.size()) {
      inline_[inline_size_++] = key;
    } else {
      spill_.push_back(key);
    }
  }

 private:
  std::array<const KeyState*, 8> inline_;  // the first inline_size_ are set
  std::size_t inline_size_ = 0;
  std::vector<const KeyState*> spill_;
};

template <typename T>
bool contains(const std::vector<const T*>& items, const T* item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// Which keys a pass may give the request.
enum class Among : std::uint8_t {
  kUntried,    // never given to this request
  kRetryable,  // given to it, answered with a 5xx or nothing
};

struct Scan {
  const SelectionInput& in;
  KeySet refused;    // no budget now (or taken by another thread): never in this decision
  KeySet unhealthy;  // found out of service under the lock: not in a healthy pass
  std::vector<const KeyEntry*> refills;  // refused, but a shared slice is on its way
  Among among = Among::kUntried;

  bool may_take(const KeyState* state) const {
    const bool tried = contains(in.tried, state);
    if (among == Among::kUntried ? tried : !tried || contains(in.spent, state)) return false;
    return !refused.contains(state);
  }
};

// Among the keys of one tier in service, the one furthest behind its weighted
// share that may take the request now; nullptr when none. A key more than one
// step behind every other eligible key (back from a cooldown, new in a
// reload) is lifted to just behind them: it rejoins the rotation instead of
// drawing every request until its count catches up. Not inlined: inside the
// caller the scan's loop variables were spilled to the stack, a third slower
// at 1,000 keys.
[[gnu::noinline]] const KeyEntry* pick_healthy(const Tier& tier, const Scan& scan,
                                               bool avoid_silent) {
  const Time now = scan.in.now;
  const Tier::Candidate* best = nullptr;
  double best_share = std::numeric_limits<double>::infinity();
  double second_share = std::numeric_limits<double>::infinity();
  for (const Tier::Candidate& c : tier.candidates) {
    const KeyState* state = c.state;
    // Shares are close to equal under load, so most keys stop at the first test.
    const double share = static_cast<double>(state->served()) * c.inverse_weight;
    if (share >= second_share) continue;
    if (!state->may_admit(now) || !state->healthy(now)) continue;
    const ProviderState* provider = c.key->provider->state;
    if (!provider->healthy(now)) continue;
    if (!c.key->allows_model(scan.in.model)) continue;
    if (!scan.may_take(state) || scan.unhealthy.contains(state)) continue;
    if (avoid_silent && contains(scan.in.silent, provider)) continue;
    if (share < best_share) {
      second_share = best_share;
      best = &c;
      best_share = share;
    } else {
      second_share = share;
    }
  }
  if (best == nullptr) return nullptr;
  const double floor = second_share - tier.max_inverse_weight;
  if (second_share != std::numeric_limits<double>::infinity() && best_share < floor) {
    best->state->lift_served(static_cast<std::uint64_t>(floor / best->inverse_weight));
  }
  return best->key;
}

// Panic: among the route's keys that have budget, in service or not, the one
// whose last provider fault is oldest (then the one furthest behind its
// share); nullptr when none.
const KeyEntry* pick_least_recently_failed(const RouteEntry& route, const Scan& scan) {
  const KeyEntry* best = nullptr;
  std::int64_t best_failure = 0;
  double best_share = 0;
  for (const KeyEntry* key : route.keys) {
    const KeyState* state = key->state;
    if (!state->may_admit(scan.in.now) || !key->allows_model(scan.in.model)) continue;
    if (!scan.may_take(state)) continue;
    const std::int64_t failure = state->last_failure_us();
    const double share = static_cast<double>(state->served()) / key->weight;
    if (best == nullptr || failure < best_failure ||
        (failure == best_failure && share < best_share)) {
      best = key;
      best_failure = failure;
      best_share = share;
    }
  }
  return best;
}

// The first key `pick` offers that takes the request under its lock.
template <typename Pick>
Selection admit_first(Scan& scan, bool panic, Pick&& pick) {
  while (const KeyEntry* key = pick()) {
    const KeyState::Admission a = key->state->try_admit(scan.in.now, scan.in.tokens, panic);
    if (a.admitted) return {key, a, panic, {}};
    if (a.unhealthy) {
      scan.unhealthy.insert(key->state);
    } else {
      scan.refused.insert(key->state);
      if (a.refill_expected) scan.refills.push_back(key);
    }
  }
  return {};
}

Selection healthy_pass(const RouteEntry& route, Scan& scan, bool avoid_silent) {
  for (const Tier& tier : route.tiers) {
    Selection s = admit_first(scan, false, [&] { return pick_healthy(tier, scan, avoid_silent); });
    if (s.key != nullptr) return s;
  }
  return {};
}

}  // namespace

Selection select_key(const RouteEntry& route, const SelectionInput& in) {
  Scan scan{in, {}, {}, {}, Among::kUntried};
  for (const Among among : {Among::kUntried, Among::kRetryable}) {
    if (among == Among::kRetryable && in.tried.empty()) break;
    scan.among = among;
    Selection s = healthy_pass(route, scan, !in.silent.empty());
    if (s.key == nullptr && !in.silent.empty()) s = healthy_pass(route, scan, false);
    if (s.key == nullptr) {
      s = admit_first(scan, true, [&] { return pick_least_recently_failed(route, scan); });
    }
    if (s.key != nullptr) return s;
  }
  Selection none;
  none.refills = std::move(scan.refills);
  return none;
}

}  // namespace keymux::router
