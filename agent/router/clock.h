// Time for the router: one timeline in microseconds since the Unix epoch, so
// relative resets ("6m0s") and absolute ones (RFC 3339) meet on one axis.
// The router never reads a system clock itself; tests pass a FakeClock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace keymux::router {

using Duration = std::chrono::microseconds;
using Time = std::chrono::sys_time<Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
};

// Monotonic (never steps back with the wall clock) but anchored to the wall
// clock when constructed, so absolute upstream reset times stay meaningful.
class SystemClock final : public Clock {
 public:
  SystemClock();
  Time now() const override;

 private:
  Time wall_at_start_;
  std::chrono::steady_clock::time_point steady_at_start_;
};

// A clock that moves only when told to; safe to read from several threads.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Time start = Time(std::chrono::seconds(1'700'000'000)))
      : now_us_(start.time_since_epoch().count()) {}
  Time now() const override { return Time(Duration(now_us_.load(std::memory_order_relaxed))); }
  void advance(Duration d) { now_us_.fetch_add(d.count(), std::memory_order_relaxed); }
  void set(Time t) { now_us_.store(t.time_since_epoch().count(), std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> now_us_;
};

}  // namespace keymux::router
