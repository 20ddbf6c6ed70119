// The live state of one client (an application calling the gateway): its
// sliding request and token windows (policy.limit_window), requests in flight, tokens spent
// today (UTC), and counts by outcome for metrics. Lives in the ClientRegistry
// and survives config reloads (by client name).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "agent/router/clock.h"
#include "agent/router/outcome.h"
#include "agent/router/rate_window.h"
#include "agent/router/state_registry.h"

namespace keymux::router {

struct ClientLimits {
  WindowLimits window;
  std::uint64_t tokens_per_day = 0;  // 0: no limit
};

// A consistent copy for the admin API and metrics.
struct ClientView {
  std::uint32_t in_flight = 0;
  std::uint32_t requests_in_window = 0;
  std::uint64_t tokens_in_window = 0;
  std::uint64_t tokens_today = 0;
  std::uint32_t requests_today = 0;  // admitted since 00:00 UTC (the status page shows it)
  std::array<std::uint64_t, kOutcomeCount> requests_by_outcome{};
  std::uint64_t tokens_reserved_total = 0;
};

class ClientState {
 public:
  explicit ClientState(std::string name);
  const std::string& name() const { return name_; }

  // Applies (new) limits; the history is kept.
  void configure(const ClientLimits& limits);

  // Exact check and reservation of one new request of `tokens`: a request in
  // every window, the tokens in the minute and the day, an in-flight slot.
  struct Admission {
    bool admitted = false;
    Time next_chance{};               // on refusal: the soonest moment it would fit
    bool daily_budget_spent = false;  // on refusal: the day budget is what stops it
  };
  Admission try_admit(Time now, std::uint64_t tokens);
  // Takes back a try_admit(now, tokens) that no upstream key could serve.
  void cancel(Time now, std::uint64_t tokens);
  // A retry of a request admitted already: an in-flight slot, nothing counted
  // again and no limit checked (the client was charged for the request once).
  void admit_retry();
  // Frees the in-flight slot of an admitted attempt (settle, timeout or retry).
  void release();
  // The request admitted at `at` for `estimated` tokens really cost `actual`
  // (its answer's usage): the token window and the day's count take the
  // difference, both where the estimate was counted.
  void settle_tokens(Time at, std::uint64_t estimated, std::uint64_t actual);

  // The final outcome of one decision for this client (metrics).
  void record(Outcome outcome, std::uint64_t tokens_reserved);

  ClientView view(Time now);

 private:
  // Starts a new day's budget when `now` is past the day counted.
  void roll_day_locked(Time now);
  // What a request of `tokens` adds to tokens_today_.
  std::uint64_t daily_charge_locked(std::uint64_t tokens) const;

  const std::string name_;
  std::atomic<std::uint32_t> in_flight_{0};
  std::array<std::atomic<std::uint64_t>, kOutcomeCount> by_outcome_{};
  std::atomic<std::uint64_t> tokens_reserved_total_{0};

  std::mutex mu_;
  ClientLimits limits_;
  RequestWindow requests_;
  TokenWindow tokens_;
  std::int64_t day_ = 0;  // days since the Unix epoch (UTC) that the *_today_ count
  std::uint64_t tokens_today_ = 0;
  std::uint32_t requests_today_ = 0;
};

using ClientRegistry = StateRegistry<ClientState>;

}  // namespace keymux::router
