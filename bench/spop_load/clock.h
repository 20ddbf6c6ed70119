// Monotonic time in nanoseconds and the run's timeline, shared by every thread.
#pragma once

#include <cstdint>
#include <ctime>

namespace keymux::bench {

inline std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

struct Timeline {
  std::uint64_t start = 0;         // connections open; load starts after the hello
  std::uint64_t measure_from = 0;  // end of the warmup
  std::uint64_t measure_to = 0;    // end of the measured time: no new frames after it
  std::uint64_t drain_to = 0;      // frames still unanswered then are counted as errors

  bool measuring(std::uint64_t t) const { return t >= measure_from && t < measure_to; }
};

}  // namespace keymux::bench
