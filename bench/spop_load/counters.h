// What one generator thread counts; merged into the totals after the run.
#pragma once

#include <cstdint>

#include "bench/spop_load/histogram.h"

namespace keymux::bench {

struct Counters {
  std::uint64_t sent = 0;         // NOTIFY frames written
  std::uint64_t acked = 0;        // valid ACKs received
  std::uint64_t measured = 0;     // valid ACKs received within the measured time
  std::uint64_t errors = 0;       // bad ACKs, unexpected frames, disconnects, unanswered frames
  std::uint64_t unanswered = 0;   // frames still in flight at the end (also counted in errors)
  std::uint64_t disconnects = 0;  // connections the agent closed or disconnected mid-run
  Histogram latency;              // ns, ACKs within the measured time
  Histogram send_lag;             // open loop: ns from a frame's scheduled time to its write

  void merge(const Counters& other) {
    sent += other.sent;
    acked += other.acked;
    measured += other.measured;
    errors += other.errors;
    unanswered += other.unanswered;
    disconnects += other.disconnects;
    latency.merge(other.latency);
    send_lag.merge(other.send_lag);
  }
};

}  // namespace keymux::bench
