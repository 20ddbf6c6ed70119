// Turns HAProxy's outcome lines (router/outcome_line.h) into router settles:
// the success path's only report of an attempt (no second SPOE message), and
// a second report of failures, which the synchronous `settle` message already
// settled (the line then finds its ticket closed and changes nothing).
//
// Operators still see every failed or refused attempt: fe_inner's log goes
// only to the agent, so the agent logs those lines (info), never a secret.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/metrics/agent_metrics.h"
#include "agent/router/router.h"

namespace keymux::handler {

class OutcomeHandler {
 public:
  OutcomeHandler(router::Router& router, metrics::OutcomeMetrics& metrics)
      : router_(router), metrics_(metrics) {}

  // One datagram (one line). Called from one thread only.
  void on_line(std::string_view line);

 private:
  router::Router& router_;
  metrics::OutcomeMetrics& metrics_;
  std::string error_;
};

}  // namespace keymux::handler
