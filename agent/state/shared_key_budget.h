// One key's shared budget on this gateway: the slices Redis granted (a
// LeaseLedger) and, while Redis is unreachable, the degraded local limit.
// The router takes from it under the key's lock; the Redis thread refills it.
// Pure: no I/O (agent/state/redis/ does the talking).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/router/key_state.h"
#include "agent/router/rate_window.h"
#include "agent/router/shared_budget.h"
#include "agent/state/degraded.h"
#include "agent/state/lease_ledger.h"

namespace keymux::state {

class SharedKeyBudget final : public router::SharedBudget {
 public:
  SharedKeyBudget(std::string key_id, LeasePolicy policy, DegradedMode mode);
  const std::string& key_id() const { return key_id_; }

  void set_limits(const router::KeyLimits& limits);
  router::KeyLimits limits() const;
  // Redis answers (healthy) or not; the live gateways, for the split (0:
  // unknown, Redis never answered yet: no local share, see take()).
  // `members_known`: the live-node count has had a member TTL to fill since
  // this node's first contact; until then an unanswered ask opens no local
  // share (a first heartbeat lists only the nodes that beat already).
  void set_healthy(bool healthy, std::uint32_t live_nodes, bool members_known = true);

  // The router's side.
  std::optional<router::SharedSpend> take(Time now, std::uint64_t tokens) override;
  // The real count: the slice's surplus or excess (LeaseLedger::settle), and
  // the same on the local share's token window, where the spend counts too.
  void settle(Time now, Time taken_at, const router::SharedSpend& spend,
              std::uint64_t actual_tokens) override;
  bool refill_expected(Time now) override;
  // Called (on the caller's thread, outside the lock) when a request starts
  // waiting for this key and no ask is on its way yet: the Redis thread may
  // ask at once instead of at its next tick. Set before the key uses it.
  void set_on_demand(std::function<void()> on_demand) { on_demand_ = std::move(on_demand); }

  // The Redis thread's side (see LeaseLedger).
  std::optional<LeaseAsk> want(Time now);
  void granted(Time asked_at, std::uint64_t id, std::uint32_t requests, std::uint64_t tokens);
  void ask_failed();  // also opens the degraded share until the next grant
  // Redis answered the ask with an error it recovers from at once (its
  // functions flushed: reloaded before the next ask on the same connection):
  // ask again, but open no local share, since the others' slices still count.
  void ask_answered_with_error();
  std::vector<LeaseReturn> take_returns(Time now);
  std::vector<LeaseReplay> replay(Time now);
  // What this node spent on its own (degraded share) and Redis has not
  // recorded yet, in batches of up to kSpentBatch, each aged by its last
  // spend; handed out once (to record after a recovery, before new asks).
  struct Spent {
    Duration age{};
    std::uint32_t requests = 0;
    std::uint64_t tokens = 0;
  };
  static constexpr Duration kSpentBatch = std::chrono::milliseconds(100);
  std::vector<Spent> take_unrecorded(Time now);

  struct View {
    std::uint32_t requests_granted = 0;  // the live slices' grants
    std::uint32_t requests_left = 0;
    std::uint64_t tokens_granted = 0;
    std::uint64_t tokens_left = 0;
    std::uint64_t taken_total = 0;           // requests this gateway took from slices
    std::uint64_t taken_degraded_total = 0;  // and from the degraded local limit
  };
  View view(Time now);

 private:
  bool take_degraded_locked(Time now, std::uint64_t tokens);
  // The local windows' limits: this node's degraded share (as last known).
  void configure_local_locked();

  const std::string key_id_;
  const DegradedMode mode_;
  mutable std::mutex mu_;
  router::KeyLimits limits_;
  LeaseLedger ledger_;
  bool healthy_ = false;         // until the first grant round works
  bool ask_unanswered_ = false;  // the last ask failed (deadline, no connection)
  bool ask_refused_ = false;     // Redis granted nothing to the last ask (the log is full)
  bool members_known_ = true;
  bool was_healthy_ = false;  // Redis answered once (a start-up is no recovery)
  bool recovered_ = false;    // healthy again: the next take() starts the cap
  // Until then the node's slice spends stay within its local share too.
  Time capped_until_{};
  bool capped_ = false;           // the last take() was refused by that cap
  std::uint32_t live_nodes_ = 0;  // unknown until Redis first answers
  router::RequestWindow local_requests_{0};
  router::TokenWindow local_tokens_{0};
  std::uint64_t taken_total_ = 0;
  std::uint64_t taken_degraded_total_ = 0;
  struct SpentBatch {
    Time first, last;
    std::uint32_t requests;
    std::uint64_t tokens;
  };
  std::vector<SpentBatch> unrecorded_;
  std::function<void()> on_demand_;
};

}  // namespace keymux::state
