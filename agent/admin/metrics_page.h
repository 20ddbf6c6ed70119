// The agent's /metrics page: its own counters, SPOP traffic, and one series
// per configured key and client (never a label taken from a request, so the
// cardinality is the configuration's).
#pragma once

#include <string>

#include "agent/metrics/agent_metrics.h"
#include "agent/router/clock.h"
#include "agent/router/snapshot.h"
#include "agent/server/spop_stats.h"

namespace keymux::admin {

struct MetricsSources {
  const router::Snapshot& snapshot;
  router::Time now;
  const metrics::AgentMetrics& agent;
  const server::SpopStats* spop = nullptr;  // nullptr: no SPOP families
};

std::string render_metrics(const MetricsSources& sources);

}  // namespace keymux::admin
