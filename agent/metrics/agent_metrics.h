// The agent's own counters, beside the per-key and per-client ones that live
// in the router's states: decisions, reloads. Written by the workers and the
// reloader, read by the /metrics page.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "agent/metrics/histogram.h"
#include "agent/router/outcome.h"

namespace keymux::metrics {

struct AgentMetrics {
  std::array<std::atomic<std::uint64_t>, router::kOutcomeCount> decisions_by_outcome{};
  LatencyHistogram decision_time;
  std::atomic<std::uint64_t> settles{0};

  std::atomic<std::uint64_t> reloads_succeeded{0};
  std::atomic<std::uint64_t> reloads_failed{0};
  std::atomic<bool> last_reload_ok{true};
  // Unix seconds of the last configuration that went into service (start included).
  std::atomic<std::int64_t> last_reload_success_unix{0};

  void count_decision(router::Outcome outcome) {
    decisions_by_outcome[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace keymux::metrics
