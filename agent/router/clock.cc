#include "agent/router/clock.h"

namespace keymux::router {

SystemClock::SystemClock()
    : wall_at_start_(std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now())),
      steady_at_start_(std::chrono::steady_clock::now()) {}

Time SystemClock::now() const {
  return wall_at_start_ +
         std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - steady_at_start_);
}

}  // namespace keymux::router
