// The agent's own counters, beside the per-key and per-client ones that live
// in the router's states: decisions (one shard per worker, so that workers
// never share a written cache line) and reloads. Read by the /metrics page.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "agent/metrics/histogram.h"
#include "agent/router/outcome.h"

namespace keymux::metrics {

// What routed a request whose body's model the agent could not see (larger
// than HAProxy's buffer): keymux_requests_model_unseen_total{routed_by}, and
// HAProxy's model_from= log field. kNone: refused, no route served it.
enum class UnseenModelRoute : std::uint8_t { kHeader, kPath, kDefault, kNone };
inline constexpr std::array<std::string_view, 4> kUnseenModelRouteNames = {"header", "path",
                                                                           "default", "none"};

// How a route request held for a shared slice (state:) ended: answered when
// a slice (or the local share) came, at its deadline, at the agent's stop, or
// dropped with its connection (nothing reserved):
// keymux_shared_waits_ended_total{by}.
enum class WaitEnd : std::uint8_t { kRefill, kDeadline, kStop, kClosed };
inline constexpr std::array<std::string_view, 4> kWaitEndNames = {"refill", "deadline", "stop",
                                                                  "closed"};

// One worker's decisions: written by that worker only.
struct alignas(64) DecisionMetrics {
  std::array<std::atomic<std::uint64_t>, router::kOutcomeCount> by_outcome{};
  LatencyHistogram time;  // of each route message
  std::atomic<std::uint64_t> settles{0};
  // Settled 2xx answers whose key or client counts tokens, by whether their real token
  // count (usage) replaced the estimate ([1]) or the estimate stayed ([0]: a
  // body past HAProxy's buffer, no usage); and their tokens, as estimated at
  // the decision and as settled (the real count, else the estimate).
  std::array<std::atomic<std::uint64_t>, 2> token_settles{};
  std::atomic<std::uint64_t> tokens_estimated{0};
  std::atomic<std::uint64_t> tokens_settled{0};
  // Messages refused for the gateway secret: [0] none given, [1] a wrong one
  // (handler::GatewayRefusal).
  std::array<std::atomic<std::uint64_t>, 2> unauthenticated{};
  std::atomic<std::uint64_t> panic_routed{0};
  // Requests whose body HAProxy held only in part (larger than tune.bufsize):
  // sent once, never retried. Of those without a model in the part held, by
  // what routed them (UnseenModelRoute).
  std::atomic<std::uint64_t> not_retryable{0};
  std::array<std::atomic<std::uint64_t>, kUnseenModelRouteNames.size()> model_unseen{};
  // Route requests held for a shared slice, how each ended, and how long.
  std::atomic<std::uint64_t> waits_started{0};
  std::array<std::atomic<std::uint64_t>, kWaitEndNames.size()> waits_ended{};
  LatencyHistogram wait_time;

  void count(router::Outcome outcome) { bump(by_outcome[static_cast<std::size_t>(outcome)]); }
};

// The sum over the workers, for the page.
struct DecisionTotals {
  std::array<std::uint64_t, router::kOutcomeCount> by_outcome{};
  LatencyHistogram::Snapshot time;
  std::uint64_t settles = 0;
  std::array<std::uint64_t, 2> token_settles{};
  std::uint64_t tokens_estimated = 0;
  std::uint64_t tokens_settled = 0;
  std::array<std::uint64_t, 2> unauthenticated{};
  std::uint64_t panic_routed = 0;
  std::uint64_t not_retryable = 0;
  std::array<std::uint64_t, kUnseenModelRouteNames.size()> model_unseen{};
  std::uint64_t waits_started = 0;
  std::array<std::uint64_t, kWaitEndNames.size()> waits_ended{};
  LatencyHistogram::Snapshot wait_time;
};

// The outcome lines HAProxy logs for every attempt (one reader thread writes).
struct OutcomeMetrics {
  std::atomic<std::uint64_t> lines{0};            // received
  std::atomic<std::uint64_t> parse_errors{0};     // refused by the parser
  std::atomic<std::uint64_t> settled{0};          // closed a ticket
  std::atomic<std::uint64_t> unknown_tickets{0};  // already settled, expired or never ours
};

class AgentMetrics {
 public:
  // A new worker's shard. Called before the workers start (the server's
  // handler factory), never concurrently with totals().
  DecisionMetrics& add_worker() {
    return *workers_.emplace_back(std::make_unique<DecisionMetrics>());
  }

  DecisionTotals totals() const {
    DecisionTotals t;
    for (const auto& worker : workers_) {
      for (std::size_t i = 0; i < t.by_outcome.size(); ++i) {
        t.by_outcome[i] += worker->by_outcome[i].load(std::memory_order_relaxed);
      }
      t.time.add(worker->time.snapshot());
      t.settles += worker->settles.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < t.token_settles.size(); ++i) {
        t.token_settles[i] += worker->token_settles[i].load(std::memory_order_relaxed);
      }
      t.tokens_estimated += worker->tokens_estimated.load(std::memory_order_relaxed);
      t.tokens_settled += worker->tokens_settled.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < t.unauthenticated.size(); ++i) {
        t.unauthenticated[i] += worker->unauthenticated[i].load(std::memory_order_relaxed);
      }
      t.panic_routed += worker->panic_routed.load(std::memory_order_relaxed);
      t.not_retryable += worker->not_retryable.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < t.model_unseen.size(); ++i) {
        t.model_unseen[i] += worker->model_unseen[i].load(std::memory_order_relaxed);
      }
      t.waits_started += worker->waits_started.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < t.waits_ended.size(); ++i) {
        t.waits_ended[i] += worker->waits_ended[i].load(std::memory_order_relaxed);
      }
      t.wait_time.add(worker->wait_time.snapshot());
    }
    return t;
  }

  OutcomeMetrics outcomes;
  std::atomic<std::uint64_t> reloads_succeeded{0};
  std::atomic<std::uint64_t> reloads_failed{0};
  std::atomic<bool> last_reload_ok{true};
  // Unix seconds of the last configuration that went into service (start included).
  std::atomic<std::int64_t> last_reload_success_unix{0};

 private:
  std::vector<std::unique_ptr<DecisionMetrics>> workers_;
};

}  // namespace keymux::metrics
